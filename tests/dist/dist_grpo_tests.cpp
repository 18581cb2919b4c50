// dist/: data-parallel GRPO over MPI ranks against one process on the same global batch.
#include "support/boost_test.hpp"

#include "dist/data_parallel_checks.hpp"
#include "rlmoe/dist/mpi.hpp"

namespace t = rlmoe::test;
namespace rl = rlmoe::rl;

namespace {

rlmoe::dist::Mpi world() { return rlmoe::dist::Mpi(MPI_COMM_WORLD, "world", std::chrono::seconds(60)); }

// float32: the ranks' gradient sums round differently from one process's.
constexpr double kFloatTolerance = 1e-5;

template <class Aggregation>
using Surrogate = rl::ClippedSurrogate<rl::K3, Aggregation>;

}  // namespace

BOOST_AUTO_TEST_SUITE(dist_data_parallel)
BOOST_AUTO_TEST_CASE(token_mean_group_normalized) {
  t::check_data_parallel_grpo<rl::GroupNormalized, Surrogate<rl::TokenMean>>(world(), "token-mean, GroupNormalized", kFloatTolerance);
}
BOOST_AUTO_TEST_CASE(seq_mean_token_mean_group_mean) {
  t::check_data_parallel_grpo<rl::GroupMean, Surrogate<rl::SeqMeanTokenMean>>(world(), "seq-mean-token-mean, GroupMean",
                                                                             kFloatTolerance);
}
BOOST_AUTO_TEST_CASE(seq_mean_token_sum_norm_leave_one_out) {
  t::check_data_parallel_grpo<rl::LeaveOneOut, Surrogate<rl::SeqMeanTokenSumNorm>>(
      world(), "seq-mean-token-sum-norm, LeaveOneOut", kFloatTolerance);
}
BOOST_AUTO_TEST_CASE(token_mean_batch_normalized) {
  t::check_data_parallel_grpo<rl::BatchNormalized, Surrogate<rl::TokenMean>>(world(), "token-mean, BatchNormalized",
                                                                            kFloatTolerance);
}
BOOST_AUTO_TEST_SUITE_END()
