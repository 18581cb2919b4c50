// A program that fails on one rank on purpose, for the fault tests (check_faults.cmake): every
// other rank waits in a collective that the failing rank never enters.
//   fault_probe throw RANK   RANK throws a ConfigError; MpiSession::run must end the job at once
//   fault_probe hang RANK    RANK sleeps; the others' collective times out (RLMOE_COLLECTIVE_TIMEOUT_S),
//                            names RANK, and ends the job
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "rlmoe/core/error.hpp"
#include "rlmoe/dist/mpi.hpp"

int main(int argc, char** argv) {
  rlmoe::dist::MpiSession mpi(argc, argv);
  return mpi.run([&] {
    RLMOE_CHECK(argc == 3, rlmoe::ConfigError, "usage: fault_probe throw|hang RANK");
    const std::string mode = argv[1];
    const int failing = std::atoi(argv[2]);
    const rlmoe::dist::Mpi world = mpi.world();
    rlmoe::dist::barrier(world);
    if (world.rank() == failing) {
      if (mode == "throw")
        throw rlmoe::ConfigError("GrpoConfig: prompts_per_step is 0 but must be >= 1 (refused on purpose by the fault test)");
      std::this_thread::sleep_for(std::chrono::seconds(600));
    }
    rlmoe::dist::barrier(world);  // the failing rank never gets here
  });
}
