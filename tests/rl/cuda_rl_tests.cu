// rl/: the GRPO pieces on the Cuda backend, against the float64 references and against the Host
// backend on the same inputs.
#include "support/cuda_test_main.hpp"

#include "rl/grm_checks.hpp"
#include "rl/rl_checks.hpp"

namespace t = rlmoe::test;
using rlmoe::Cuda;
using rlmoe::Host;

using rlmoe::test::gpu;

BOOST_AUTO_TEST_SUITE(cuda_rl_rewards)
BOOST_AUTO_TEST_CASE(rules_custom_weighted_and_host_rewards) { t::check_score(gpu()); }
BOOST_AUTO_TEST_CASE(non_finite_rewards_and_bad_configurations) { t::check_score_errors(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_grm)
BOOST_AUTO_TEST_CASE(rule_reward_eq11_and_batch_extraction) { t::check_grm_reward_and_batch_extraction(gpu()); }
BOOST_AUTO_TEST_CASE(voting_eq14_and_meta_rm_voting) { t::check_grm_voting(gpu()); }
BOOST_AUTO_TEST_CASE(arithmetic_judging_task) { t::check_arithmetic_judging(gpu()); }
BOOST_AUTO_TEST_CASE(arithmetic_judging_by_checks) { t::check_arithmetic_judging_by_checks(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_advantages)
BOOST_AUTO_TEST_CASE(float32) { t::check_advantages<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(float64) { t::check_advantages<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_CASE(custom_estimator) { t::check_custom_estimator(gpu()); }
BOOST_AUTO_TEST_CASE(refused_inputs) { t::check_advantage_errors(gpu()); }
BOOST_AUTO_TEST_CASE(non_finite_and_unwritten_advantages_name_the_estimator) { t::check_advantage_blame(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_policy_loss)
BOOST_AUTO_TEST_CASE(float64_against_reference_and_finite_differences) { t::check_policy_loss<Cuda, double>(gpu()); }
BOOST_AUTO_TEST_CASE(float32_against_reference) { t::check_policy_loss<Cuda, float>(gpu()); }
BOOST_AUTO_TEST_CASE(on_policy_empty_and_deterministic) { t::check_policy_loss_edge_cases(gpu()); }
BOOST_AUTO_TEST_CASE(refused_configurations) { t::check_policy_loss_errors(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_vs_host)

BOOST_AUTO_TEST_CASE(advantages) {
  const auto rewards = t::group_rewards<float>(4096, 16, 5);
  const auto [host, host_stats] = t::advantages_on(Host{}, rlmoe::rl::GroupNormalized{}, rewards, 16);
  const auto [cuda, cuda_stats] = t::advantages_on(gpu(), rlmoe::rl::GroupNormalized{}, rewards, 16);
  t::check_close(cuda, host, 2.0 * FLT_EPSILON, 0.0, "GroupNormalized");
  BOOST_TEST(cuda_stats.zero_variance_groups == host_stats.zero_variance_groups);
}

BOOST_AUTO_TEST_CASE(policy_loss_on_a_large_batch) {
  // 1024 sequences of 300 tokens: many blocks, every reduction path.
  const t::LossBatch batch = t::random_loss_batch(77, 1024, 300);
  for (bool sequence_ratio : {false, true}) {
    t::LossConfig c;
    c.sequence_ratio = sequence_ratio;
    c.beta = 0.04;
    c.epsilon_high = 0.28;
    t::with_loss_type(c, [&]<class Loss>() {
      const auto loss = t::make_loss<Loss>(c);
      const auto host = t::loss_on<Loss, float>(Host{}, loss, batch, 0);
      const auto cuda = t::loss_on<Loss, float>(gpu(), loss, batch, 0);
      // The same formula in float on both; expf may differ by an ulp or two between libm and the
      // device, and the order of the final sums differs.
      BOOST_TEST(std::abs(cuda.metrics.loss - host.metrics.loss) <= 1e-6 * (1.0 + std::abs(host.metrics.loss)));
      BOOST_TEST(cuda.metrics.active_tokens == host.metrics.active_tokens);
      BOOST_TEST(cuda.metrics.clipped_low == host.metrics.clipped_low);
      BOOST_TEST(cuda.metrics.clipped_high == host.metrics.clipped_high);
      t::check_close(cuda.grad, host.grad, 8.0 * FLT_EPSILON, 1e-12, c.describe());
    });
  }
}

BOOST_AUTO_TEST_SUITE_END()
