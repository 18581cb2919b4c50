// dist/: expert parallelism over MPI ranks against one process, in float64 (1e-12): the MoE
// layer's forward and backward with its experts split over 2 and 4 ranks (and, on 4 ranks, over
// 2 expert groups of 2), uneven loads, an expert no token picks and a rank without tokens; whole
// GRPO steps with expert x data parallelism (float64 1e-12, float32 1e-5).
#include "support/boost_test.hpp"

#include <chrono>

#include "dist/expert_parallel_checks.hpp"
#include "rlmoe/dist/mpi.hpp"
#include "rlmoe/nn/training.hpp"

namespace t = rlmoe::test;

namespace {
rlmoe::dist::Mpi world() { return rlmoe::dist::Mpi(MPI_COMM_WORLD, "world", std::chrono::seconds(60)); }
}  // namespace

BOOST_AUTO_TEST_SUITE(dist_expert_parallel)
BOOST_AUTO_TEST_CASE(moe_layer_experts_over_every_rank) {
  const rlmoe::dist::Mpi comm = world();
  t::check_expert_parallel_moe_layer(comm, comm.size(), -1, "every rank with tokens");
  if (comm.size() > 1) t::check_expert_parallel_moe_layer(comm, comm.size(), comm.size() - 1, "the last rank without tokens");
}
BOOST_AUTO_TEST_CASE(moe_layer_expert_groups_of_two) {
  const rlmoe::dist::Mpi comm = world();
  if (comm.size() % 2 != 0) {
    BOOST_TEST_MESSAGE("one rank: no groups of two (the case above is the whole of it)");
    return;
  }
  t::check_expert_parallel_moe_layer(comm, 2, -1, "expert groups of 2");
  t::check_expert_parallel_moe_layer(comm, 2, 0, "expert groups of 2, rank 0 without tokens");
}
BOOST_AUTO_TEST_CASE(grpo_steps_expert_by_data_parallel) {
  const rlmoe::dist::Mpi comm = world();
  for (const int ep_size : {comm.size(), 2}) {
    if (4 % ep_size != 0 || comm.size() % ep_size != 0) continue;  // TrainerSpec has 4 routed experts
    t::check_expert_parallel_grpo<t::TrainerSpec64>(comm, ep_size, 1e-12);
    t::check_expert_parallel_grpo<t::TrainerSpec>(comm, ep_size, 1e-5);
    if (ep_size == comm.size() && comm.size() <= 2) break;  // groups of 2 are the same as above
  }
}
// Sizes that do not fit are refused by name on every rank, before any rank waits in a collective.
BOOST_AUTO_TEST_CASE(refusals_name_the_sizes) {
  const rlmoe::dist::Mpi comm = world();
  const rlmoe::Host host{1};
  if (comm.size() > 1) {
    BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { rlmoe::moe::ExpertParallel<rlmoe::Host>(host, comm, comm.size() + 1); },
                                                  {"expert-parallel ranks do not divide the", "ranks of 'world'"}));
    // A model whose experts are split over `comm` steps with all of it, not with one process.
    const rlmoe::moe::ExpertParallel<rlmoe::Host> ep(host, comm, comm.size());
    rlmoe::nn::Transformer<rlmoe::Host, t::TrainerSpec> policy(host, {}, ep);
    rlmoe::optim::AdamW<rlmoe::Host> adam(host, policy.parameters().size(), {});
    BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { rlmoe::nn::optimizer_step(policy, adam, 1e-3, rlmoe::dist::SingleProcess{}); },
                                                  {"the model's experts are split over", "pass the world the ExpertParallel was made from"}));
    BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)ep.local_experts(4 * comm.size() + 1); },
                                                  {"routed experts cannot be split evenly over the"}));
  }
  const rlmoe::moe::ExpertParallel<rlmoe::Host> one;
  BOOST_TEST(one.size() == 1);
  BOOST_TEST(one.local_experts(7) == 7);
  rlmoe::dist::barrier(comm);
}
BOOST_AUTO_TEST_SUITE_END()
