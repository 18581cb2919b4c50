#pragma once
// CUB's stable radix sort of key/value pairs, with temporary storage from the backend's workspace.
#include <cub/device/device_radix_sort.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/sort.hpp"

namespace rlmoe::impl {

template <>
struct SortPairs<Cuda> {
  template <class K, class V>
  static void run(const Cuda& cuda, const K* keys_in, const V* values_in, K* keys_out, V* values_out, index_t n,
                  int key_bits) {
    std::size_t bytes = 0;
    RLMOE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys_in, keys_out, values_in, values_out, n, 0,
                                                     key_bits, cuda.stream()));
    void* temp = cuda.workspace(bytes);
    RLMOE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, bytes, keys_in, keys_out, values_in, values_out, n, 0,
                                                     key_bits, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
