// rl/: rewards, advantage estimators, KL estimators and policy losses on the Host backend,
// against float64 references and central finite differences.
#define BOOST_TEST_MODULE rlmoe rl host
#include "support/boost_test.hpp"

#include "rl/grm_checks.hpp"
#include "rl/rl_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Host;

BOOST_AUTO_TEST_SUITE(rl_rewards)
BOOST_AUTO_TEST_CASE(rules_custom_weighted_and_host_rewards) { t::check_score(Host{}); }
BOOST_AUTO_TEST_CASE(non_finite_rewards_and_bad_configurations) { t::check_score_errors(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_grm)
BOOST_AUTO_TEST_CASE(extracts_scores_from_judgments) { t::check_grm_extraction(); }
BOOST_AUTO_TEST_CASE(judgment_correctness_eq10) { t::check_grm_correctness(); }
BOOST_AUTO_TEST_CASE(rule_reward_eq11_and_batch_extraction) { t::check_grm_reward_and_batch_extraction(Host{}); }
BOOST_AUTO_TEST_CASE(voting_eq14_and_meta_rm_voting) { t::check_grm_voting(Host{}); }
BOOST_AUTO_TEST_CASE(arithmetic_judging_task) { t::check_arithmetic_judging(Host{}); }
BOOST_AUTO_TEST_CASE(arithmetic_judging_by_checks) { t::check_arithmetic_judging_by_checks(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_advantages)
BOOST_AUTO_TEST_CASE(float32) { t::check_advantages<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(float64) { t::check_advantages<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(custom_estimator) { t::check_custom_estimator(Host{}); }
BOOST_AUTO_TEST_CASE(refused_inputs) { t::check_advantage_errors(Host{}); }
BOOST_AUTO_TEST_CASE(non_finite_and_unwritten_advantages_name_the_estimator) { t::check_advantage_blame(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_kl)
BOOST_AUTO_TEST_CASE(k1) { t::check_kl_estimator<rlmoe::rl::K1>(t::Kl::K1); }
BOOST_AUTO_TEST_CASE(k2) { t::check_kl_estimator<rlmoe::rl::K2>(t::Kl::K2); }
BOOST_AUTO_TEST_CASE(k3) { t::check_kl_estimator<rlmoe::rl::K3>(t::Kl::K3); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_policy_loss)
BOOST_AUTO_TEST_CASE(float64_against_reference_and_finite_differences) { t::check_policy_loss<Host, double>(Host{}); }
BOOST_AUTO_TEST_CASE(float32_against_reference) { t::check_policy_loss<Host, float>(Host{}); }
BOOST_AUTO_TEST_CASE(on_policy_empty_and_deterministic) { t::check_policy_loss_edge_cases(Host{}); }
BOOST_AUTO_TEST_CASE(refused_configurations) { t::check_policy_loss_errors(Host{}); }
BOOST_AUTO_TEST_SUITE_END()
