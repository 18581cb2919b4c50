#pragma once
// exclusive_scan(backend, input, output): output[i] = input[0] + ... + input[i - 1], output[0] = 0.
// output has either n elements, or n + 1, in which case the last holds the total: the CSR offsets
// of segments from their sizes, as MoE dispatch needs them (tokens per expert -> expert offsets).
// input and output may be the same array when output has n elements.
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct ExclusiveScan {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("exclusive_scan"));
};

template <>
struct ExclusiveScan<Host> {
  static constexpr index_t kChunk = 16384;

  // Chunk totals in parallel, a serial scan over the chunk totals, then each chunk scanned from
  // its offset in parallel. Chunk boundaries depend on n only, so results do not depend on the
  // thread count.
  template <class T>
  static void run(const Host& host, const T* input, T* output, index_t n) {
    const index_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<T> chunk_offset(static_cast<std::size_t>(chunks));
    const int threads = host.threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (index_t c = 0; c < chunks; ++c) {
      const index_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
      T total = 0;
      for (index_t i = c * kChunk; i < end; ++i) total += input[i];
      chunk_offset[static_cast<std::size_t>(c)] = total;
    }
    T running = 0;
    for (T& offset : chunk_offset) {
      const T total = offset;
      offset = running;
      running += total;
    }
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1)
    for (index_t c = 0; c < chunks; ++c) {
      const index_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
      T prefix = chunk_offset[static_cast<std::size_t>(c)];
      for (index_t i = c * kChunk; i < end; ++i) {
        const T x = input[i];  // read before writing: input and output may alias
        output[i] = prefix;
        prefix += x;
      }
    }
  }
};

}  // namespace impl

namespace detail {

template <class T>
struct AppendScanTotal {
  const T* input;
  T* output;
  index_t n;
  RLMOE_HOST_DEVICE void operator()(index_t) const { output[n] = output[n - 1] + input[n - 1]; }
};

}  // namespace detail

template <Backend B, class S, class T>
  requires std::is_same_v<std::remove_const_t<S>, T> && std::is_arithmetic_v<T>
void exclusive_scan(const B& backend, VectorView<S> input, VectorView<T> output) {
  const index_t n = input.size();
  RLMOE_CHECK(output.size() == n || output.size() == n + 1, ShapeError, "exclusive_scan: output has shape ",
              output.shape(), " but input has shape ", input.shape(), "; output needs ", n, " or ", n + 1,
              " elements");
  require_contiguous(input, "exclusive_scan: input");
  require_contiguous(output, "exclusive_scan: output");
  RLMOE_CHECK(output.size() == n || static_cast<const void*>(output.data()) != static_cast<const void*>(input.data()),
              ShapeError, "exclusive_scan: in-place scans need an output of n elements, not n + 1");
  if (n == 0) {
    fill(backend, output, T(0));
    return;
  }
  impl::ExclusiveScan<B>::run(backend, static_cast<const T*>(input.data()), output.data(), n);
  if (output.size() == n + 1)
    parallel_for(backend, 1, detail::AppendScanTotal<T>{static_cast<const T*>(input.data()), output.data(), n});
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/scan.cuh"
#endif
