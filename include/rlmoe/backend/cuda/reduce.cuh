#pragma once
// CUB's device-wide reduction, with its temporary storage taken from the backend's workspace.
#include <cub/device/device_reduce.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/reduce.hpp"

namespace rlmoe::impl {

template <>
struct Reduce<Cuda> {
  template <class T, class Op>
  static void run(const Cuda& cuda, const T* input, index_t n, T* output, const Op& op, T init) {
    std::size_t bytes = 0;
    RLMOE_CUDA_CHECK(cub::DeviceReduce::Reduce(nullptr, bytes, input, output, n, op, init, cuda.stream()));
    void* temp = cuda.workspace(bytes);
    RLMOE_CUDA_CHECK(cub::DeviceReduce::Reduce(temp, bytes, input, output, n, op, init, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
