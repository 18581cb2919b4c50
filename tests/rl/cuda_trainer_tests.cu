// rl/: the group sampler and the GRPO trainer on the Cuda backend.
#include "support/cuda_test_main.hpp"

#include "rl/grm_model_checks.hpp"
#include "rl/letter_task.hpp"

namespace t = rlmoe::test;
using rlmoe::Cuda;

using rlmoe::test::gpu;

BOOST_AUTO_TEST_SUITE(cuda_rl_sampling)
BOOST_AUTO_TEST_CASE(recorded_rollouts_match_the_policy) { t::check_sampler_records(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_trainer)
BOOST_AUTO_TEST_CASE(one_step) { t::check_trainer_step(gpu()); }
BOOST_AUTO_TEST_CASE(deterministic) { t::check_trainer_determinism(gpu()); }
BOOST_AUTO_TEST_CASE(learns_a_one_token_task) { t::check_one_token_task(gpu()); }
BOOST_AUTO_TEST_CASE(resumes_exactly) { t::check_resume(gpu()); }
BOOST_AUTO_TEST_CASE(refuses_other_runs_untouched_and_survives_a_torn_log) { t::check_resume_refusals(gpu()); }
BOOST_AUTO_TEST_CASE(grm_rejective_fine_tuning) { t::check_rejective_fine_tuning(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_grm_models)
BOOST_AUTO_TEST_CASE(judge_shuffles_samples_and_unshuffles) { t::check_grm_judge(gpu()); }
BOOST_AUTO_TEST_CASE(meta_rm_scalar_and_training) { t::check_meta_rm(gpu()); }
BOOST_AUTO_TEST_CASE(grm_reward_and_rollout_rewards) { t::check_grm_reward(gpu()); }
BOOST_AUTO_TEST_CASE(voting_evaluator_against_packed_votes) { t::check_voting_evaluator(gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_rl_own_vocabulary)
BOOST_AUTO_TEST_CASE(sampling_ends_at_the_task_eos_and_pads_with_its_pad) { t::check_sampling_with_own_vocabulary(gpu()); }
BOOST_AUTO_TEST_CASE(a_40_token_task_trains) { t::check_training_with_own_vocabulary(gpu()); }
BOOST_AUTO_TEST_SUITE_END()
