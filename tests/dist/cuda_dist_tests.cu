// dist/ on GPUs: the Nccl communicator's collectives, and Mpi's staging of Cuda buffers, against
// the references every rank computes itself (the same checks as the Host tests run over Mpi).
// One rank per GPU; exits 77 (skipped) on every rank when there are fewer GPUs than ranks.
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include "support/boost_test.hpp"

#include <cstdio>
#include <optional>

#include "dist/collective_checks.hpp"
#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/dist/mpi.hpp"
#include "rlmoe/dist/nccl.hpp"

namespace t = rlmoe::test;
namespace dist = rlmoe::dist;

namespace {

std::optional<dist::MpiSession> session;

const rlmoe::Cuda& gpu() {
  static const rlmoe::Cuda backend(session->rank());
  return backend;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_dist_nccl)
BOOST_AUTO_TEST_CASE(every_collective_against_the_ranks_data) {
  const dist::Nccl nccl(session->world(), gpu());
  t::check_every_collective(nccl, gpu());
}
BOOST_AUTO_TEST_CASE(sub_communicators) { t::check_split(dist::Nccl(session->world(), gpu()), gpu()); }
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cuda_dist_mpi_staging)
BOOST_AUTO_TEST_CASE(every_collective_against_the_ranks_data) { t::check_every_collective(session->world(), gpu()); }
BOOST_AUTO_TEST_SUITE_END()

inline bool init_unit_test() {
  boost::unit_test::framework::master_test_suite().p_name.value = "rlmoe dist CUDA tests";
  return true;
}

int main(int argc, char* argv[]) {
  session.emplace(argc, argv);
  const int devices = rlmoe::cuda_device_count();
  if (devices < session->size()) {
    if (session->rank() == 0) std::printf("%d CUDA devices for %d ranks: skipping the NCCL tests\n", devices, session->size());
    session.reset();
    return 77;
  }
  const int status = boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
  session.reset();
  return status;
}
