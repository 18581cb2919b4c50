#pragma once
// histogram(backend, keys, counts): counts[b] = number of keys equal to b, for b in
// [0, counts.size()); keys outside that range are not counted. MoE routing counts tokens per
// expert with it. Counts are integers, so the result is exact and independent of scheduling.
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct Histogram {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("histogram"));
};

template <>
struct Histogram<Host> {
  // Each thread counts a contiguous share of the keys into its own histogram; the histograms are
  // then added bin by bin.
  template <class K>
  static void run(const Host& host, const K* keys, index_t n, std::int32_t* counts, index_t bins) {
    const int threads = n >= 65536 ? host.threads() : 1;
    std::vector<std::int32_t> partial(static_cast<std::size_t>(threads * bins), 0);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int t = 0; t < threads; ++t) {
      std::int32_t* mine = partial.data() + static_cast<std::ptrdiff_t>(t) * bins;
      const index_t begin = n * t / threads, end = n * (t + 1) / threads;
      for (index_t i = begin; i < end; ++i) {
        const K key = keys[i];
        bool in_range = static_cast<std::uint64_t>(key) < static_cast<std::uint64_t>(bins);
        if constexpr (std::is_signed_v<K>) in_range = in_range && key >= 0;
        if (in_range) ++mine[key];
      }
    }
    for (index_t b = 0; b < bins; ++b) {
      std::int32_t total = 0;
      for (int t = 0; t < threads; ++t) total += partial[static_cast<std::size_t>(t * bins + b)];
      counts[b] = total;
    }
  }
};

}  // namespace impl

template <Backend B, class K>
  requires std::is_integral_v<K>
void histogram(const B& backend, std::type_identity_t<VectorView<const K>> keys, VectorView<std::int32_t> counts) {
  require_contiguous(keys, "histogram: keys");
  require_contiguous(counts, "histogram: counts");
  if (counts.empty()) return;
  if (keys.empty()) {
    fill(backend, counts, 0);
    return;
  }
  impl::Histogram<B>::run(backend, keys.data(), keys.size(), counts.data(), counts.size());
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/histogram.cuh"
#endif
