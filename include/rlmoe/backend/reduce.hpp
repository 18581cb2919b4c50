#pragma once
// reduce(backend, input, output, op, init): output[0] = init op x_0 op x_1 op ... over every
// element of a contiguous input, for an associative HOST_DEVICE op (Sum, Max, Min or your own).
// The result stays in backend memory, so a chain of device work needs no host round-trip.
//
// The Host backend reduces fixed chunks in parallel and folds the partial results pairwise, so
// its result does not depend on the thread count, and float sums grow error like log(n), not n.
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct Reduce {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("reduce"));
};

/// Folds values[0..n) pairwise into values[0]: the shape of a reduction tree, deterministic.
template <class T, class Op>
T pairwise_fold(std::vector<T>& values, const Op& op) {
  for (std::size_t width = 1; width < values.size(); width *= 2)
    for (std::size_t i = 0; i + width < values.size(); i += 2 * width) values[i] = op(values[i], values[i + width]);
  return values.front();
}

template <>
struct Reduce<Host> {
  static constexpr index_t kChunk = 4096;
  static constexpr int kLanes = 8;  // independent accumulators per chunk: vectorisable, shorter chains

  template <class T, class Op>
  static T reduce_chunk(const T* x, index_t n, const Op& op) {
    if (n < kLanes) {
      T acc = x[0];
      for (index_t i = 1; i < n; ++i) acc = op(acc, x[i]);
      return acc;
    }
    T lane[kLanes];
    for (int l = 0; l < kLanes; ++l) lane[l] = x[l];
    index_t i = kLanes;
    for (; i + kLanes <= n; i += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] = op(lane[l], x[i + l]);
    for (; i < n; ++i) lane[0] = op(lane[0], x[i]);
    for (int width = 1; width < kLanes; width *= 2)
      for (int l = 0; l + width < kLanes; l += 2 * width) lane[l] = op(lane[l], lane[l + width]);
    return lane[0];
  }

  template <class T, class Op>
  static void run(const Host& host, const T* input, index_t n, T* output, const Op& op, T init) {
    const index_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<T> partial(static_cast<std::size_t>(chunks));
    const int threads = host.threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (index_t c = 0; c < chunks; ++c) {
      const index_t begin = c * kChunk;
      const index_t count = n - begin < kChunk ? n - begin : kChunk;
      partial[static_cast<std::size_t>(c)] = reduce_chunk(input + begin, count, op);
    }
    *output = op(init, pairwise_fold(partial, op));
  }
};

}  // namespace impl

template <Backend B, class S, int Rank, class T, class Op = Sum>
  requires std::is_same_v<std::remove_const_t<S>, T>
void reduce(const B& backend, TensorView<S, Rank> input, VectorView<T> output, const Op& op = {},
            std::type_identity_t<T> init = Op::template identity<T>()) {
  require_contiguous(input, "reduce: input");
  require_shape(output, Extents<1>{1}, "reduce: output");
  if (input.empty()) {
    fill(backend, output, init);
    return;
  }
  impl::Reduce<B>::run(backend, static_cast<const T*>(input.data()), input.size(), output.data(), op, init);
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/reduce.cuh"
#endif
