#pragma once
// CUB's device-wide exclusive prefix sum, with temporary storage from the backend's workspace.
#include <cub/device/device_scan.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/scan.hpp"

namespace rlmoe::impl {

template <>
struct ExclusiveScan<Cuda> {
  template <class T>
  static void run(const Cuda& cuda, const T* input, T* output, index_t n) {
    std::size_t bytes = 0;
    RLMOE_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, input, output, n, cuda.stream()));
    void* temp = cuda.workspace(bytes);
    RLMOE_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp, bytes, input, output, n, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
