#pragma once
// Load balancing of the routed experts.
//
// Auxiliary balance loss over segments of L tokens (DeepSeek-V3 eq. 17-20 with L the sequence
// length; the Switch/GShard loss with one segment of the whole batch):
//   f_i = E / (K L) * (tokens of the segment that picked expert i)
//   P_i = 1/L sum_t s'_ti,   s'_t = s_t / sum_j s_tj   (the scores normalised per token)
//   L_bal = alpha / segments * sum_segments sum_i f_i P_i
// f is a count and carries no gradient; dL_bal / ds'_ti = alpha f_i / (L segments) for the tokens
// of the segment, which RouteTokensBackward turns into d logits.
//
// Aux-loss-free balancing (DeepSeek-V3): after each optimizer step, with load_i the tokens expert i
// received since the last update, b_i += gamma * sign(mean_j load_j - load_i). The bias only
// steers selection (router.hpp), so it needs no gradient; it stays in float32.
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::moe {

/// For item i = segment * E + expert: writes dL_bal/ds' of that expert in that segment and returns
/// the item's share of L_bal.
template <class T>
struct BalanceLossTerms {
  MatrixView<const T> scores;          ///< [T, E]
  VectorView<const T> score_sums;      ///< [T]
  MatrixView<const std::int32_t> ids;  ///< [T, K]
  index_t segment_length;
  float coef;
  MatrixView<T> balance_grad;          ///< [segments, E]

  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const index_t experts = scores.extent(1), k_count = ids.extent(1), segments = balance_grad.extent(0);
    const index_t segment = i / experts, e = i - segment * experts;
    index_t count = 0;
    double score_share = 0.0;
    for (index_t t = segment * segment_length; t < (segment + 1) * segment_length; ++t) {
      for (index_t k = 0; k < k_count; ++k) count += ids(t, k) == e ? 1 : 0;
      score_share += static_cast<double>(scores(t, e)) / static_cast<double>(score_sums[t]);
    }
    const double length = static_cast<double>(segment_length);
    const double f = static_cast<double>(experts) * static_cast<double>(count) / (static_cast<double>(k_count) * length);
    const double p = score_share / length;
    balance_grad(segment, e) = static_cast<T>(coef * f / (length * static_cast<double>(segments)));
    return coef * f * p / static_cast<double>(segments);
  }
};

/// load[e] += counts[e]: the load since the last bias update.
struct AccumulateLoad {
  VectorView<const std::int32_t> counts;
  VectorView<std::int64_t> load;
  RLMOE_HOST_DEVICE void operator()(index_t e) const { load[e] += counts[e]; }
};

/// b_e += gamma * sign(mean load - load_e), then the load restarts from zero.
struct UpdateBias {
  VectorView<std::int64_t> load;
  VectorView<float> bias;
  double mean_load;
  float rate;
  RLMOE_HOST_DEVICE void operator()(index_t e) const {
    const double gap = mean_load - static_cast<double>(load[e]);
    bias[e] += gap > 0.0 ? rate : (gap < 0.0 ? -rate : 0.0f);
    load[e] = 0;
  }
};

}  // namespace rlmoe::moe
