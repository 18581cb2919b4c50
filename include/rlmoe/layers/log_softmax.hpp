#pragma once
// Log-probabilities of given tokens, and the entropy of each distribution, straight from the
// logits: one pass per row computes max, log-sum-exp and sum p l without storing the softmax;
// the backward recomputes p from the logits and writes d logits for the rows that were asked for:
//   logp = l_target - lse                       d logp / d l_v = 1[v = target] - p_v
//   H = lse - sum_j p_j l_j                     d H / d l_v = -p_v (l_v - sum_j p_j l_j)
// Output element i reads logits row rows[i] (-1: no row, output 0) and target targets[i]; each
// logits row serves at most one output element, so the backward writes without collisions.
// Logits stored as T (bfloat16 too) are computed on in compute_t<T> (float), and the
// log-probabilities, entropies and their gradients are kept in it.
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
struct RowStatistics {
  T max, lse, mean_logit;  ///< mean_logit = sum_j p_j l_j
};

template <class T>
RLMOE_HOST_DEVICE RowStatistics<compute_t<T>> row_statistics(const MatrixView<const T>& logits, index_t row) {
  using C = compute_t<T>;
  const index_t vocab = logits.extent(1);
  C max = logits(row, 0);
  for (index_t v = 1; v < vocab; ++v) max = math::max(max, static_cast<C>(logits(row, v)));
  C sum = C(0), weighted = C(0);
  for (index_t v = 0; v < vocab; ++v) {
    const C l = logits(row, v), e = math::exp(l - max);
    sum += e;
    weighted += e * l;
  }
  return {max, max + math::log(sum), weighted / sum};
}

template <class T>
struct TokenLogProbs {
  using C = compute_t<T>;
  MatrixView<const T> logits;              ///< [N, V]
  VectorView<const std::int32_t> rows;     ///< [M]
  VectorView<const std::int32_t> targets;  ///< [M]
  VectorView<C> logp;                      ///< [M]
  VectorView<C> entropy;                   ///< [M], or empty

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t row = rows[i];
    if (row < 0) {
      logp[i] = C(0);
      if (entropy.data() != nullptr) entropy[i] = C(0);
      return;
    }
    const RowStatistics<C> s = row_statistics(logits, row);
    logp[i] = static_cast<C>(logits(row, targets[i])) - s.lse;
    if (entropy.data() != nullptr) entropy[i] = s.lse - s.mean_logit;
  }
};

/// d logits for the rows that were asked for (the caller zeroes the others), stored as D (the
/// logits' type, or bf16 for a bf16 model's products).
template <class T, class D = T>
struct TokenLogProbsBackward {
  using C = compute_t<T>;
  MatrixView<const T> logits;
  VectorView<const std::int32_t> rows;
  VectorView<const std::int32_t> targets;
  VectorView<const C> d_logp;
  VectorView<const C> d_entropy;  ///< or empty
  MatrixView<D> d_logits;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t row = rows[i];
    if (row < 0) return;
    const RowStatistics<C> s = row_statistics(logits, row);
    const C dl = d_logp[i];
    const C dh = d_entropy.data() != nullptr ? d_entropy[i] : C(0);
    for (index_t v = 0; v < logits.extent(1); ++v) {
      const C l = logits(row, v), p = math::exp(l - s.lse);
      d_logits(row, v) = dl * ((v == targets[i] ? C(1) : C(0)) - p) - dh * p * (l - s.mean_logit);
    }
  }
};

}  // namespace rlmoe::layers
