#pragma once
// Dropless token dispatch and combine. Each token t has K slots s = t K + k, one per picked
// expert. A stable sort of the slots by expert id puts every expert's slots together, in token
// order; a histogram and a scan of the ids give each expert's range. Rows are gathered into that
// order for the expert GEMMs and scattered back to slot order afterwards, where each token sums
// its K rows in a fixed order: every write has one writer, so no atomics, and the result is the
// same bits run to run. Rows are stored as T; gates and sums are compute_t<T> (float for bf16).
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::moe {

/// slots[s] = s: the values sorted along with the expert ids.
struct SlotIndices {
  VectorView<std::int32_t> slots;
  RLMOE_HOST_DEVICE void operator()(index_t s) const { slots[s] = static_cast<std::int32_t>(s); }
};

/// out[p, :] = w_p in[token of sorted slot p, :], with w_p the slot's gate when gates are given
/// (the backward pass: dL/d expert output) and 1 otherwise (the forward pass: expert input).
template <class T>
struct GatherSlotRows {
  MatrixView<const T> in;                       ///< [T, d]
  VectorView<const std::int32_t> sorted_slots;  ///< [T K]
  index_t k_count;
  MatrixView<const compute_t<T>> gates;         ///< [T, K], or empty
  MatrixView<T> out;                            ///< [T K, d]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    using C = compute_t<T>;
    const index_t d = out.extent(1), p = i / d, c = i - p * d;
    const index_t slot = sorted_slots[p], token = slot / k_count;
    const C weight = gates.data() != nullptr ? gates(token, slot - token * k_count) : C(1);
    out(p, c) = weight * static_cast<C>(in(token, c));
  }
};

/// out[sorted_slots[p], :] = in[p, :]: rows from expert order back to slot order.
template <class T>
struct ScatterToSlots {
  MatrixView<const T> in;                       ///< [T K, d], expert order
  VectorView<const std::int32_t> sorted_slots;  ///< [T K]
  MatrixView<T> out;                            ///< [T K, d], slot order

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t d = in.extent(1), p = i / d, c = i - p * d;
    out(sorted_slots[p], c) = in(p, c);
  }
};

/// y[t, :] = beta y[t, :] + sum_k w_tk rows[t K + k, :] with w the gates (forward) or 1 (backward,
/// summing each token's K input gradients); beta is 0 or 1.
template <class T>
struct CombineSlots {
  using C = compute_t<T>;
  MatrixView<const T> rows;   ///< [T K, d], slot order
  MatrixView<const C> gates;  ///< [T, K], or empty for weights of 1
  index_t k_count;
  C beta;
  MatrixView<T> y;            ///< [T, d]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t d = y.extent(1), t = i / d, c = i - t * d;
    C sum = beta == C(0) ? C(0) : static_cast<C>(y(t, c));
    for (index_t k = 0; k < k_count; ++k)
      sum += (gates.data() != nullptr ? gates(t, k) : C(1)) * static_cast<C>(rows(t * k_count + k, c));
    y(t, c) = sum;
  }
};

/// d gate[t, k] = <expert output row of slot t K + k, dy[t, :]>.
template <class T>
struct GateGradients {
  using C = compute_t<T>;
  MatrixView<const T> rows;  ///< [T K, d], slot order
  MatrixView<const T> dy;    ///< [T, d]
  MatrixView<C> d_gates;     ///< [T, K]

  RLMOE_HOST_DEVICE void operator()(index_t s) const {
    const index_t k_count = d_gates.extent(1), t = s / k_count, d = dy.extent(1);
    C dot = C(0);
    for (index_t c = 0; c < d; ++c) dot += static_cast<C>(rows(s, c)) * static_cast<C>(dy(t, c));
    d_gates(t, s - t * k_count) = dot;
  }
};

}  // namespace rlmoe::moe
