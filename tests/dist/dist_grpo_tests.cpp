// dist/: data-parallel GRPO over MPI ranks against one process on the same global batch, in
// float64 (the ranks' sums differ from one process's only by rounding: 1e-12) and float32 (1e-5);
// ZeRO; and a run checkpointed on N ranks and resumed on N/2.
#include "support/boost_test.hpp"

#include <unistd.h>

#include <cstdint>
#include <filesystem>

#include "dist/data_parallel_checks.hpp"
#include "rlmoe/dist/mpi.hpp"

namespace t = rlmoe::test;
namespace rl = rlmoe::rl;

namespace {

rlmoe::dist::Mpi world() { return rlmoe::dist::Mpi(MPI_COMM_WORLD, "world", std::chrono::seconds(60)); }

template <class Aggregation>
using Surrogate = rl::ClippedSurrogate<rl::K3, Aggregation>;

/// Both precisions of one estimator and loss.
template <class Estimator, class Loss>
void check_both(const char* what) {
  t::check_data_parallel_grpo<t::TrainerSpec64, Estimator, Loss>(world(), what, 1e-12);
  t::check_data_parallel_grpo<t::TrainerSpec, Estimator, Loss>(world(), what, 1e-5);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dist_data_parallel)
BOOST_AUTO_TEST_CASE(token_mean_group_normalized) {
  check_both<rl::GroupNormalized, Surrogate<rl::TokenMean>>("token-mean, GroupNormalized");
}
BOOST_AUTO_TEST_CASE(seq_mean_token_mean_group_mean) {
  check_both<rl::GroupMean, Surrogate<rl::SeqMeanTokenMean>>("seq-mean-token-mean, GroupMean");
}
BOOST_AUTO_TEST_CASE(seq_mean_token_sum_norm_leave_one_out) {
  check_both<rl::LeaveOneOut, Surrogate<rl::SeqMeanTokenSumNorm>>("seq-mean-token-sum-norm, LeaveOneOut");
}
BOOST_AUTO_TEST_CASE(token_mean_batch_normalized) {
  check_both<rl::BatchNormalized, Surrogate<rl::TokenMean>>("token-mean, BatchNormalized");
}
// DAPO's dynamic sampling: every rank samples a share of the oversampled prompts, and the kept
// groups move to the ranks that hold their places in the batch.
BOOST_AUTO_TEST_CASE(dynamic_sampling) {
  using Loss = Surrogate<rl::TokenMean>;
  t::check_data_parallel_grpo<t::TrainerSpec64, rl::GroupNormalized, Loss, 0, t::ReverseForHighFirstDigit>(
      world(), "dynamic sampling, token-mean, GroupNormalized", 1e-12);
  t::check_data_parallel_grpo<t::TrainerSpec, rl::GroupNormalized, Loss, 0, t::ReverseForHighFirstDigit>(
      world(), "dynamic sampling, token-mean, GroupNormalized", 1e-5);
}
BOOST_AUTO_TEST_SUITE_END()

// ZeRO: the optimizer state split across the ranks, the same trajectory.
BOOST_AUTO_TEST_SUITE(dist_zero)
BOOST_AUTO_TEST_CASE(stage_1_sharded_optimizer_state) {
  t::check_data_parallel_grpo<t::TrainerSpec64, rl::GroupNormalized, Surrogate<rl::TokenMean>, 1>(world(), "token-mean", 1e-12);
  t::check_data_parallel_grpo<t::TrainerSpec, rl::GroupNormalized, Surrogate<rl::TokenMean>, 1>(world(), "token-mean", 1e-5);
}
BOOST_AUTO_TEST_CASE(stage_2_reduce_scattered_gradients) {
  t::check_data_parallel_grpo<t::TrainerSpec64, rl::BatchNormalized, Surrogate<rl::SeqMeanTokenMean>, 2>(
      world(), "seq-mean-token-mean, BatchNormalized", 1e-12);
  t::check_data_parallel_grpo<t::TrainerSpec, rl::LeaveOneOut, Surrogate<rl::SeqMeanTokenSumNorm>, 2>(
      world(), "seq-mean-token-sum-norm, LeaveOneOut", 1e-5);
}
BOOST_AUTO_TEST_SUITE_END()

// Checkpoints: written by rank 0, read by every rank, on however many ranks resume.
BOOST_AUTO_TEST_SUITE(dist_resume)
BOOST_AUTO_TEST_CASE(checkpoint_on_n_ranks_resume_on_half) {
  const rlmoe::dist::Mpi comm = world();
  std::int64_t job = ::getpid();  // rank 0's: one directory for the job, on every rank
  rlmoe::dist::broadcast(comm, rlmoe::Host{1}, rlmoe::VectorView<std::int64_t>(&job, rlmoe::Extents<1>{1}), 0);
  const std::filesystem::path directory = std::filesystem::temp_directory_path() / ("rlmoe_dist_resume_" + std::to_string(job));
  t::check_resume_on_fewer_ranks(comm, (directory / "data_parallel").string());
  // The checkpoint holds the whole model: experts split over N ranks, resumed split over N/2.
  t::check_resume_on_fewer_ranks<true>(comm, (directory / "expert_parallel").string());
  rlmoe::dist::barrier(comm);
  if (comm.rank() == 0) std::filesystem::remove_all(directory);
}
BOOST_AUTO_TEST_SUITE_END()
