#pragma once
// The Host backend: OpenMP threads on the CPU, Eigen for matrix products. It runs the same
// host/device functors as the Cuda backend and is the reference the Cuda backend is tested against.
#include <string_view>

#include <omp.h>

namespace rlmoe {

struct Host {
  static constexpr std::string_view kName = "host";
  static constexpr bool kIsDevice = false;

  /// Threads for parallel loops; 0 means OpenMP's default (OMP_NUM_THREADS or all cores).
  int num_threads = 0;

  [[nodiscard]] int threads() const { return num_threads > 0 ? num_threads : omp_get_max_threads(); }
};

/// Host work is complete when the call returns.
inline void synchronize(const Host&) {}

}  // namespace rlmoe
