// The longer examples' main(): run on the GPU when the program was built by nvcc and a CUDA
// device is present, else on the CPU, saying so; an rlmoe::Error (a refused input, a failed CUDA
// call) becomes one line on stderr and exit status 1. Not part of the library: examples 00, 02
// and 03 spell the same choice out.
#pragma once

#include <cstdio>

#include <rlmoe/rlmoe.hpp>

namespace examples {

/// run(backend) on the best backend present; its return value is the program's exit status.
template <class Run>
int run_on_available_backend(Run&& run) {
  try {
#if defined(__CUDACC__)
    if (rlmoe::cuda_device_count() > 0) return run(rlmoe::Cuda{});
    std::printf("(no CUDA device: running on the CPU)\n");
#endif
    return run(rlmoe::Host{});
  } catch (const rlmoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace examples
