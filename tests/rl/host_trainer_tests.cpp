// rl/: the group sampler and the GRPO trainer on the Host backend.
#define BOOST_TEST_MODULE rlmoe trainer host
#include "support/boost_test.hpp"

#include "rl/grm_model_checks.hpp"
#include "rl/letter_task.hpp"

namespace t = rlmoe::test;
using rlmoe::Host;

BOOST_AUTO_TEST_SUITE(rl_sampling)
BOOST_AUTO_TEST_CASE(greedy_top_k_top_p_min_p) { t::check_choose_token(); }
BOOST_AUTO_TEST_CASE(recorded_rollouts_match_the_policy) { t::check_sampler_records(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_trainer)
BOOST_AUTO_TEST_CASE(one_step) { t::check_trainer_step(Host{}); }
BOOST_AUTO_TEST_CASE(deterministic) { t::check_trainer_determinism(Host{}); }
BOOST_AUTO_TEST_CASE(same_bits_for_every_thread_count) { t::check_trainer_thread_independence(); }
BOOST_AUTO_TEST_CASE(learns_a_one_token_task) { t::check_one_token_task(Host{}); }
BOOST_AUTO_TEST_CASE(resumes_exactly) { t::check_resume(Host{}); }
BOOST_AUTO_TEST_CASE(refuses_other_runs_untouched_and_survives_a_torn_log) { t::check_resume_refusals(Host{}); }
BOOST_AUTO_TEST_CASE(refuses_invalid_configurations) { t::check_trainer_refusals(Host{}); }
BOOST_AUTO_TEST_CASE(grm_rejective_fine_tuning) { t::check_rejective_fine_tuning(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_grm_models)
BOOST_AUTO_TEST_CASE(judge_shuffles_samples_and_unshuffles) { t::check_grm_judge(Host{}); }
BOOST_AUTO_TEST_CASE(meta_rm_scalar_and_training) { t::check_meta_rm(Host{}); }
BOOST_AUTO_TEST_CASE(meta_rm_gradient_against_finite_differences) { t::check_meta_rm_gradient(); }
BOOST_AUTO_TEST_CASE(grm_reward_and_rollout_rewards) { t::check_grm_reward(Host{}); }
BOOST_AUTO_TEST_CASE(voting_evaluator_against_packed_votes) { t::check_voting_evaluator(Host{}); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rl_own_vocabulary)
BOOST_AUTO_TEST_CASE(sampling_ends_at_the_task_eos_and_pads_with_its_pad) { t::check_sampling_with_own_vocabulary(Host{}); }
BOOST_AUTO_TEST_CASE(a_40_token_task_trains) { t::check_training_with_own_vocabulary(Host{}); }
BOOST_AUTO_TEST_SUITE_END()
