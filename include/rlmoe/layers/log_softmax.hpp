#pragma once
// Log-probabilities of given tokens, and the entropy of each distribution, straight from the
// logits: one pass per row computes max, log-sum-exp and sum p l without storing the softmax;
// the backward recomputes p from the logits and writes d logits for the rows that were asked for:
//   logp = l_target - lse                       d logp / d l_v = 1[v = target] - p_v
//   H = lse - sum_j p_j l_j                     d H / d l_v = -p_v (l_v - sum_j p_j l_j)
// Output element i reads logits row rows[i] (-1: no row, output 0) and target targets[i]; each
// logits row serves at most one output element, so the backward writes without collisions.
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
struct RowStatistics {
  T max, lse, mean_logit;  ///< mean_logit = sum_j p_j l_j
};

template <class T>
RLMOE_HOST_DEVICE RowStatistics<T> row_statistics(const MatrixView<const T>& logits, index_t row) {
  const index_t vocab = logits.extent(1);
  T max = logits(row, 0);
  for (index_t v = 1; v < vocab; ++v) max = math::max(max, logits(row, v));
  T sum = T(0), weighted = T(0);
  for (index_t v = 0; v < vocab; ++v) {
    const T e = math::exp(logits(row, v) - max);
    sum += e;
    weighted += e * logits(row, v);
  }
  return {max, max + math::log(sum), weighted / sum};
}

template <class T>
struct TokenLogProbs {
  MatrixView<const T> logits;              ///< [N, V]
  VectorView<const std::int32_t> rows;     ///< [M]
  VectorView<const std::int32_t> targets;  ///< [M]
  VectorView<T> logp;                      ///< [M]
  VectorView<T> entropy;                   ///< [M], or empty

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t row = rows[i];
    if (row < 0) {
      logp[i] = T(0);
      if (entropy.data() != nullptr) entropy[i] = T(0);
      return;
    }
    const RowStatistics<T> s = row_statistics(logits, row);
    logp[i] = logits(row, targets[i]) - s.lse;
    if (entropy.data() != nullptr) entropy[i] = s.lse - s.mean_logit;
  }
};

/// d logits for the rows that were asked for (the caller zeroes the others).
template <class T>
struct TokenLogProbsBackward {
  MatrixView<const T> logits;
  VectorView<const std::int32_t> rows;
  VectorView<const std::int32_t> targets;
  VectorView<const T> d_logp;
  VectorView<const T> d_entropy;  ///< or empty
  MatrixView<T> d_logits;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t row = rows[i];
    if (row < 0) return;
    const RowStatistics<T> s = row_statistics(logits, row);
    const T dl = d_logp[i];
    const T dh = d_entropy.data() != nullptr ? d_entropy[i] : T(0);
    for (index_t v = 0; v < logits.extent(1); ++v) {
      const T p = math::exp(logits(row, v) - s.lse);
      d_logits(row, v) = dl * ((v == targets[i] ? T(1) : T(0)) - p) - dh * p * (logits(row, v) - s.mean_logit);
    }
  }
};

}  // namespace rlmoe::layers
