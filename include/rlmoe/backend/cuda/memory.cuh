#pragma once
// Cuda memory: stream-ordered allocation from the device's memory pool (cudaMallocAsync), and
// stream-ordered copies. cudaMemcpyDefault lets unified addressing tell host from device
// pointers, so one copy covers every direction.
#include <cstddef>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/memory.hpp"

namespace rlmoe::impl {

template <>
struct Memory<Cuda> {
  using Context = cudaStream_t;

  static Context context(const Cuda& cuda) { return cuda.stream(); }
  static void* allocate(const Cuda& cuda, std::size_t bytes) {
    void* pointer = nullptr;
    if (bytes != 0) RLMOE_CUDA_CHECK(cudaMallocAsync(&pointer, bytes, cuda.stream()));
    return pointer;
  }
  static void deallocate(Context stream, void* pointer) noexcept { cudaFreeAsync(pointer, stream); }
  static void copy(const Cuda& cuda, void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) RLMOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
