#pragma once
// A grid-stride loop: enough blocks to fill every SM several times over, each thread visiting
// i, i + gridDim.x * blockDim.x, ... so that any n (up to 2^63) runs with one launch.
#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/parallel_for.hpp"

namespace rlmoe::impl {

template <class F>
__global__ void parallel_for_kernel(index_t n, F f) {
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

template <>
struct ParallelFor<Cuda> {
  static constexpr int kThreadsPerBlock = 256;
  static constexpr int kBlocksPerMultiprocessor = 8;  // 2048 resident threads per SM on Hopper

  template <class F>
  static void run(const Cuda& cuda, index_t n, const F& f) {
    const index_t needed = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
    const index_t cap = static_cast<index_t>(cuda.multiprocessor_count()) * kBlocksPerMultiprocessor;
    const auto blocks = static_cast<unsigned>(needed < cap ? needed : cap);
    parallel_for_kernel<<<blocks, kThreadsPerBlock, 0, cuda.stream()>>>(n, f);
    RLMOE_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace rlmoe::impl
