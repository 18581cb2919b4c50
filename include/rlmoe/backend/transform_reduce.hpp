#pragma once
// transform_reduce(backend, n, f, output, op, init): output[0] = init op f(0) op f(1) ... op f(n-1)
// for a HOST_DEVICE functor f and an associative op. f(i) is called exactly once per i, so it may
// also write per-item results: a fused kernel computes a value per element (say a loss gradient
// per token), writes it, and returns what is to be summed (the loss and its metrics) in one pass.
//
// The value type may be any trivially copyable struct with an op, so several statistics reduce
// together. The order of combination is fixed (chunks folded pairwise on Host; per-thread, then
// per-block trees, then the block partials in index order on Cuda), so results are deterministic
// on a given device and thread-count independent on Host.
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct TransformReduce {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("transform_reduce"));
};

template <>
struct TransformReduce<Host> {
  static constexpr index_t kChunk = 4096;

  template <class T, class F, class Op>
  static T run(const Host& host, index_t n, const F& f, const Op& op, const T& init) {
    const index_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<T> partial(static_cast<std::size_t>(chunks));
    const int threads = host.threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (index_t c = 0; c < chunks; ++c) {
      const index_t begin = c * kChunk;
      const index_t end = begin + kChunk < n ? begin + kChunk : n;
      T acc = f(begin);
      for (index_t i = begin + 1; i < end; ++i) acc = op(acc, f(i));
      partial[static_cast<std::size_t>(c)] = acc;
    }
    return op(init, pairwise_fold(partial, op));
  }
};

}  // namespace impl

namespace detail {

template <class T>
struct StoreValue {
  T* destination;
  T value;
  RLMOE_HOST_DEVICE void operator()(index_t) const { *destination = value; }
};

}  // namespace detail

template <Backend B, class F, class T, class Op = Sum>
  requires std::is_trivially_copyable_v<T> && std::is_convertible_v<std::invoke_result_t<const F&, index_t>, T>
void transform_reduce(const B& backend, index_t n, const F& f, VectorView<T> output, const Op& op = {},
                      std::type_identity_t<T> init = T{}) {
  RLMOE_CHECK(n >= 0, ShapeError, "transform_reduce: n is ", n, " but must be >= 0");
  require_shape(output, Extents<1>{1}, "transform_reduce: output");
  if (n == 0) {
    parallel_for(backend, 1, detail::StoreValue<T>{output.data(), init});
    return;
  }
  if constexpr (B::kIsDevice) {
    impl::TransformReduce<B>::run(backend, n, f, op, init, output.data());
  } else {
    output[0] = impl::TransformReduce<B>::run(backend, n, f, op, init);
  }
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/transform_reduce.cuh"
#endif
