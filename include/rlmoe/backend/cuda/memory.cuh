#pragma once
// Cuda memory: cudaMalloc'd device buffers and stream-ordered copies. cudaMemcpyDefault lets
// unified addressing tell host from device pointers, so one copy covers every direction.
#include <cstddef>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/memory.hpp"

namespace rlmoe::impl {

template <>
struct Memory<Cuda> {
  static void* allocate(const Cuda&, std::size_t bytes) {
    void* pointer = nullptr;
    if (bytes != 0) RLMOE_CUDA_CHECK(cudaMalloc(&pointer, bytes));
    return pointer;
  }
  static void deallocate(void* pointer) noexcept { cudaFree(pointer); }
  static void copy(const Cuda& cuda, void* dst, const void* src, std::size_t bytes) {
    if (bytes != 0) RLMOE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
