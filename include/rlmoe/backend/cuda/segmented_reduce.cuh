#pragma once
// Segment statistics with one team of threads per segment: a warp when segments are short (GRPO
// groups hold 4 to 64 completions), a whole block when they are long. Each thread strides over its
// segment, the team sums with shuffles (warp) or cub::BlockReduce (block), broadcasts the mean and
// repeats for the squared deviations. The order of additions is fixed, so results are bitwise
// reproducible run to run.
#include <cub/block/block_reduce.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/segmented_reduce.hpp"

namespace rlmoe::impl {

namespace segmented_reduce_detail {

constexpr int kBlockThreads = 256;
constexpr int kWarpThreads = 32;
// Mean segment length from which a whole block per segment pays off.
constexpr index_t kBlockTeamMinLength = 1024;

__device__ inline double warp_sum(double value) {
  for (int offset = kWarpThreads / 2; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;  // every lane holds the total
}

template <int kTeam>
__device__ inline double team_sum(double value) {
  if constexpr (kTeam == kWarpThreads) {
    return warp_sum(value);
  } else {
    using BlockReduce = cub::BlockReduce<double, kBlockThreads>;
    __shared__ typename BlockReduce::TempStorage storage;
    __shared__ double total;
    const double reduced = BlockReduce(storage).Sum(value);
    if (threadIdx.x == 0) total = reduced;
    __syncthreads();
    const double result = total;
    __syncthreads();  // storage and total are reused by the next call
    return result;
  }
}

template <int kTeam, class T>
__global__ void __launch_bounds__(kBlockThreads)
    segment_stats_kernel(const T* values, const index_t* offsets, index_t num_segments, SegmentStats<T> out, int ddof) {
  constexpr int kSegmentsPerBlock = kBlockThreads / kTeam;
  const int lane = static_cast<int>(threadIdx.x) % kTeam;
  const index_t segment = static_cast<index_t>(blockIdx.x) * kSegmentsPerBlock + threadIdx.x / kTeam;
  // A whole team shares one segment, so a team past the end leaves together and the collective
  // operations of the teams that stay are unaffected (block teams are never past the end).
  if (segment >= num_segments) return;
  const index_t begin = offsets[segment];
  const index_t end = offsets[segment + 1];

  double sum = 0.0;
  for (index_t i = begin + lane; i < end; i += kTeam) sum += static_cast<double>(values[i]);
  sum = team_sum<kTeam>(sum);
  const double mean = end > begin ? sum / static_cast<double>(end - begin) : 0.0;

  double squared_deviation = 0.0;
  for (index_t i = begin + lane; i < end; i += kTeam) {
    const double d = static_cast<double>(values[i]) - mean;
    squared_deviation += d * d;
  }
  squared_deviation = team_sum<kTeam>(squared_deviation);
  if (lane == 0) rlmoe::detail::write_segment_stats(out, segment, end - begin, sum, squared_deviation, ddof);
}

}  // namespace segmented_reduce_detail

template <>
struct SegmentedReduce<Cuda> {
  template <class T>
  static void run(const Cuda& cuda, const T* values, const index_t* offsets, index_t num_segments,
                  const SegmentStats<T>& out, int ddof, index_t num_values) {
    using namespace segmented_reduce_detail;
    if (num_values >= kBlockTeamMinLength * num_segments) {
      segment_stats_kernel<kBlockThreads, T>
          <<<static_cast<unsigned>(num_segments), kBlockThreads, 0, cuda.stream()>>>(values, offsets, num_segments, out, ddof);
    } else {
      constexpr index_t kSegmentsPerBlock = kBlockThreads / kWarpThreads;
      const auto blocks = static_cast<unsigned>((num_segments + kSegmentsPerBlock - 1) / kSegmentsPerBlock);
      segment_stats_kernel<kWarpThreads, T><<<blocks, kBlockThreads, 0, cuda.stream()>>>(values, offsets, num_segments, out, ddof);
    }
    RLMOE_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace rlmoe::impl
