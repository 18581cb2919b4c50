// dist/: the communicators' collectives against references every rank computes itself, on one
// process (SingleProcess) and over real MPI processes (ctest runs this program under mpirun with
// 2 and 4 ranks); sub-communicators; a collective that times out names the ranks it waited for.
#define BOOST_TEST_MODULE rlmoe dist
#include "support/boost_test.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include "dist/collective_checks.hpp"
#include "rlmoe/dist/mpi.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "support/test_data.hpp"

namespace t = rlmoe::test;
namespace dist = rlmoe::dist;
using rlmoe::Host;

namespace {

/// MPI for the whole program, started before the first test and ended after the last.
struct MpiForTests {
  MpiForTests() {
    auto& suite = boost::unit_test::framework::master_test_suite();
    session.emplace(suite.argc, suite.argv);
  }
  ~MpiForTests() { session.reset(); }  // MPI_Finalize after the last test, before static destruction
  static inline std::optional<dist::MpiSession> session;
};

dist::Mpi world() { return MpiForTests::session->world(std::chrono::seconds(60)); }

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(MpiForTests);

BOOST_AUTO_TEST_SUITE(dist_single_process)
BOOST_AUTO_TEST_CASE(every_collective_is_the_identity) {
  t::check_every_collective(dist::SingleProcess{}, Host{});
  t::check_split(dist::SingleProcess{}, Host{});
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dist_mpi)
BOOST_AUTO_TEST_CASE(every_collective_against_the_ranks_data) {
  const dist::Mpi comm = world();
  BOOST_TEST_MESSAGE("rank " << comm.rank() << " of " << comm.size());
  t::check_every_collective(comm, Host{});
}
BOOST_AUTO_TEST_CASE(sub_communicators) { t::check_split(world(), Host{}); }
BOOST_AUTO_TEST_CASE(mismatched_buffers_are_refused_before_any_rank_waits) {
  const dist::Mpi comm = world();
  std::vector<float> in(static_cast<std::size_t>(3 * comm.size() + 1)), out(3);
  BOOST_TEST(t::throws_with<rlmoe::ShapeError>(
      [&] { dist::reduce_scatter(comm, Host{}, rlmoe::make_view<const float>(in.data(), in.size()), rlmoe::make_view(out.data(), 3), rlmoe::Sum{}); },
      {"reduce_scatter on 'world'", "must hold size x output"}));
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { dist::broadcast(comm, Host{}, rlmoe::make_view(out.data(), 3), comm.size()); },
                                                {"root is", "must lie in [0,"}));
  dist::barrier(comm);
}
BOOST_AUTO_TEST_CASE(a_late_rank_is_named_by_the_ranks_that_time_out) {
  const dist::Mpi comm = world();
  if (comm.size() < 2) {
    BOOST_TEST_MESSAGE("one rank: nobody to wait for");
    return;
  }
  dist::Mpi group = comm.split(0, comm.rank(), "timeout test");
  group.set_timeout(std::chrono::milliseconds(800));
  const int late = comm.size() - 1;
  if (comm.rank() == late) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    dist::barrier(group);  // completes the barrier the others gave up on
  } else {
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST(t::throws_with<dist::CommunicationError>(
        [&] { dist::barrier(group); },
        {"barrier (collective #1) on 'timeout test'", "waited 0.8 s for ranks " + std::to_string(late) + " (at collective #0)"}));
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(waited < 2.0);
  }
  dist::barrier(comm);
}
BOOST_AUTO_TEST_SUITE_END()
