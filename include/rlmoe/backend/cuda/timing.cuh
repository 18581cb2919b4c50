#pragma once
// CUDA events around the work enqueued on the backend's stream.
#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/timing.hpp"

namespace rlmoe::impl {

template <>
struct Timing<Cuda> {
  template <class F>
  static double elapsed_ms(const Cuda& cuda, F&& f) {
    cudaEvent_t start = nullptr, stop = nullptr;
    RLMOE_CUDA_CHECK(cudaEventCreate(&start));
    RLMOE_CUDA_CHECK(cudaEventCreate(&stop));
    float ms = 0.0f;
    try {
      RLMOE_CUDA_CHECK(cudaEventRecord(start, cuda.stream()));
      f();
      RLMOE_CUDA_CHECK(cudaEventRecord(stop, cuda.stream()));
      RLMOE_CUDA_CHECK(cudaEventSynchronize(stop));
      RLMOE_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    } catch (...) {
      cudaEventDestroy(start);
      cudaEventDestroy(stop);
      throw;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return static_cast<double>(ms);
  }
};

}  // namespace rlmoe::impl
