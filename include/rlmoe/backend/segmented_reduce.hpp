#pragma once
// segmented_reduce(backend, values, offsets, out, ddof): for each segment s, the elements
// values[offsets[s] .. offsets[s + 1]) are summed, averaged and their standard deviation taken,
// in one pass over the data. This is what group statistics (GRPO advantages over the G
// completions of a prompt) and per-sequence means reduce to.
//
// Sums accumulate in double; the standard deviation is computed from the deviations around the
// mean (two passes over each segment, the second from cache), not from E[x^2] - E[x]^2, which
// cancels catastrophically when the spread is small against the mean.
// Conventions: an empty segment has sum, mean and stddev 0; a segment with count <= ddof has
// stddev 0.
#include <cmath>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {

/// Where segmented_reduce writes; each view is either empty (that statistic is skipped) or has one
/// element per segment.
template <class T>
struct SegmentStats {
  VectorView<T> sum;
  VectorView<T> mean;
  VectorView<T> stddev;
};

namespace detail {

/// Finishes one segment's statistics from its count, sum and sum of squared deviations.
template <class T>
RLMOE_HOST_DEVICE inline void write_segment_stats(const SegmentStats<T>& out, index_t segment, index_t count,
                                                  double sum, double squared_deviation, int ddof) {
  if (out.sum.data() != nullptr) out.sum[segment] = static_cast<T>(sum);
  if (out.mean.data() != nullptr) out.mean[segment] = static_cast<T>(count > 0 ? sum / static_cast<double>(count) : 0.0);
  if (out.stddev.data() != nullptr)
    out.stddev[segment] = static_cast<T>(count > ddof ? ::sqrt(squared_deviation / static_cast<double>(count - ddof)) : 0.0);
}

}  // namespace detail

namespace impl {

template <class B>
struct SegmentedReduce {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("segmented_reduce"));
};

template <>
struct SegmentedReduce<Host> {
  // Independent accumulators break the chain of dependent additions, so long segments run at
  // memory speed rather than at the latency of one floating-point add per element.
  static constexpr int kLanes = 8;

  template <class T, class F>
  static double lane_sum(const T* values, index_t begin, index_t end, const F& term) {
    double lane[kLanes] = {};
    index_t i = begin;
    for (; i + kLanes <= end; i += kLanes)
      for (int l = 0; l < kLanes; ++l) lane[l] += term(static_cast<double>(values[i + l]));
    for (; i < end; ++i) lane[0] += term(static_cast<double>(values[i]));
    double total = 0.0;
    for (double x : lane) total += x;
    return total;
  }

  template <class T>
  static void run(const Host& host, const T* values, const index_t* offsets, index_t num_segments,
                  const SegmentStats<T>& out, int ddof, index_t num_values) {
    const int threads = host.threads();
    // Dynamic scheduling balances ragged segments; chunks of up to 64 segments keep its overhead
    // small when segments are many and short (and measured faster than large static blocks),
    // while a handful of long segments still spread over every thread.
    const index_t per_thread = num_segments / (4 * static_cast<index_t>(threads));
    const int chunk = static_cast<int>(per_thread < 1 ? 1 : per_thread > 64 ? 64 : per_thread);
    (void)chunk;  // used by the pragma only, which nvcc's front end does not see
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads) if (num_values >= 65536 && num_segments > 1)
    for (index_t s = 0; s < num_segments; ++s) {
      const index_t begin = offsets[s];
      const index_t end = offsets[s + 1];
      const double sum = lane_sum(values, begin, end, [](double x) { return x; });
      const double mean = end > begin ? sum / static_cast<double>(end - begin) : 0.0;
      const double squared_deviation = lane_sum(values, begin, end, [mean](double x) { return (x - mean) * (x - mean); });
      detail::write_segment_stats(out, s, end - begin, sum, squared_deviation, ddof);
    }
  }
};

}  // namespace impl

/// Offsets must be non-decreasing with offsets[0] >= 0 and offsets[num_segments] <= values.size();
/// the Host backend checks this, the Cuda backend (where offsets live on the device) trusts it.
template <Backend B, class T>
void segmented_reduce(const B& backend, std::type_identity_t<VectorView<const T>> values,
                      VectorView<const index_t> offsets, const SegmentStats<T>& out, int ddof = 0) {
  static_assert(std::is_floating_point_v<T>, "segmented_reduce computes means and deviations of floating-point values");
  RLMOE_CHECK(offsets.size() >= 1, ShapeError, "segmented_reduce: offsets has shape ", offsets.shape(),
              " but needs num_segments + 1 >= 1 elements");
  RLMOE_CHECK(ddof == 0 || ddof == 1, ConfigError, "segmented_reduce: ddof is ", ddof,
              " but must be 0 (population) or 1 (Bessel-corrected)");
  require_contiguous(values, "segmented_reduce: values");
  require_contiguous(offsets, "segmented_reduce: offsets");
  const index_t num_segments = offsets.size() - 1;
  const VectorView<T>* outputs[] = {&out.sum, &out.mean, &out.stddev};
  const char* names[] = {"sum", "mean", "stddev"};
  for (int k = 0; k < 3; ++k) {
    if (outputs[k]->data() == nullptr) continue;
    RLMOE_CHECK(outputs[k]->size() == num_segments, ShapeError, "segmented_reduce: output ", names[k],
                " has shape ", outputs[k]->shape(), " but there are ", num_segments, " segments");
  }
  if constexpr (!B::kIsDevice) {
    for (index_t s = 0; s <= num_segments; ++s) {
      const index_t previous = s == 0 ? 0 : offsets[s - 1];
      RLMOE_CHECK(offsets[s] >= previous && offsets[s] <= values.size(), ShapeError,
                  "segmented_reduce: offsets[", s, "] = ", offsets[s], " must lie in [", previous, ", ",
                  values.size(), "] (non-decreasing, within the ", values.size(), " values)");
    }
  }
  if (num_segments == 0) return;
  impl::SegmentedReduce<B>::run(backend, values.data(), offsets.data(), num_segments, out, ddof, values.size());
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/segmented_reduce.cuh"
#endif
