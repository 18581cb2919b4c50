#pragma once
// CUB's even-width histogram with one bin per integer key, temporary storage from the workspace.
#include <cub/device/device_histogram.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/histogram.hpp"

namespace rlmoe::impl {

template <>
struct Histogram<Cuda> {
  template <class K>
  static void run(const Cuda& cuda, const K* keys, index_t n, std::int32_t* counts, index_t bins) {
    // Levels [0, 1, ..., bins]: bin b counts keys in [b, b + 1), i.e. equal to b. Keys are read
    // as 64-bit levels so that the bin arithmetic cannot overflow for any key type.
    using Level = long long;
    const auto levels = static_cast<int>(bins + 1);
    std::size_t bytes = 0;
    RLMOE_CUDA_CHECK(cub::DeviceHistogram::HistogramEven(nullptr, bytes, keys, counts, levels, Level{0},
                                                         static_cast<Level>(bins), n, cuda.stream()));
    void* temp = cuda.workspace(bytes);
    RLMOE_CUDA_CHECK(cub::DeviceHistogram::HistogramEven(temp, bytes, keys, counts, levels, Level{0},
                                                         static_cast<Level>(bins), n, cuda.stream()));
  }
};

}  // namespace rlmoe::impl
