#pragma once
// Two launches: each thread folds f over its grid-stride indices, each block reduces its threads
// with cub::BlockReduce into one partial; one block then folds the partials in index order and
// writes init op total. No atomics, so the result is the same run to run. Every thread that runs
// has at least one index (the grid never exceeds ceil(n / block)), and a block's threads with
// indices form a prefix, which BlockReduce's num_valid form expects.
#include <cub/block/block_reduce.cuh>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/transform_reduce.hpp"

namespace rlmoe::impl {

namespace transform_reduce_detail {

constexpr int kThreads = 256;
constexpr int kBlocksPerMultiprocessor = 4;

template <class T, class F, class Op>
__global__ void __launch_bounds__(kThreads) partial_kernel(index_t n, F f, Op op, T* partials) {
  const index_t first = static_cast<index_t>(blockIdx.x) * kThreads + threadIdx.x;
  const index_t stride = static_cast<index_t>(gridDim.x) * kThreads;
  T acc{};
  if (first < n) {
    acc = f(first);
    for (index_t i = first + stride; i < n; i += stride) acc = op(acc, f(i));
  }
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  const index_t block_first = static_cast<index_t>(blockIdx.x) * kThreads;
  const int valid = static_cast<int>(n - block_first < kThreads ? n - block_first : kThreads);
  const T block_total = BlockReduce(storage).Reduce(acc, op, valid);
  if (threadIdx.x == 0) partials[blockIdx.x] = block_total;
}

template <class T, class Op>
__global__ void __launch_bounds__(kThreads) final_kernel(const T* partials, int count, Op op, T init, T* output) {
  T acc{};
  if (static_cast<int>(threadIdx.x) < count) {
    acc = partials[threadIdx.x];
    for (int i = threadIdx.x + kThreads; i < count; i += kThreads) acc = op(acc, partials[i]);
  }
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage storage;
  const T total = BlockReduce(storage).Reduce(acc, op, count < kThreads ? count : kThreads);
  if (threadIdx.x == 0) *output = op(init, total);
}

}  // namespace transform_reduce_detail

template <>
struct TransformReduce<Cuda> {
  template <class T, class F, class Op>
  static void run(const Cuda& cuda, index_t n, const F& f, const Op& op, const T& init, T* output) {
    using namespace transform_reduce_detail;
    const index_t needed = (n + kThreads - 1) / kThreads;
    const index_t cap = static_cast<index_t>(cuda.multiprocessor_count()) * kBlocksPerMultiprocessor;
    const int blocks = static_cast<int>(needed < cap ? needed : cap);
    T* partials = static_cast<T*>(cuda.workspace(static_cast<std::size_t>(blocks) * sizeof(T)));
    partial_kernel<T><<<blocks, kThreads, 0, cuda.stream()>>>(n, f, op, partials);
    RLMOE_CUDA_CHECK_LAUNCH();
    final_kernel<T><<<1, kThreads, 0, cuda.stream()>>>(partials, blocks, op, init, output);
    RLMOE_CUDA_CHECK_LAUNCH();
  }
};

}  // namespace rlmoe::impl
