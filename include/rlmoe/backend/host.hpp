#pragma once
// The Host backend: OpenMP threads on the CPU, Eigen for matrix products. It runs the same
// host/device functors as the Cuda backend and is the reference the Cuda backend is tested against.
#include <string_view>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rlmoe {

struct Host {
  static constexpr std::string_view kName = "host";
  static constexpr bool kIsDevice = false;

  /// Threads for parallel loops; 0 means OpenMP's default (OMP_NUM_THREADS or all cores). Built
  /// without OpenMP, everything runs on the calling thread.
  int num_threads = 0;

  [[nodiscard]] int threads() const {
#if defined(_OPENMP)
    return num_threads > 0 ? num_threads : omp_get_max_threads();
#else
    return 1;
#endif
  }
};

/// Host work is complete when the call returns.
inline void synchronize(const Host&) {}

}  // namespace rlmoe
