#pragma once
// Attention temperature tuning (Llama 4's layers without rotary embedding, after "Scalable-Softmax
// Is Superior for Attention", arXiv 2501.19399): the query of the token at position p is scaled by
//   tau(p) = 1 + scale * ln(1 + floor((p + 1) / floor_scale))
// so that attention over a long context stays sharp. tau depends on the position only, so the
// backward pass scales the query's gradient by the same factor.
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

struct AttentionTemperature {
  double floor_scale = 0.0;  ///< positions per step of the logarithm; 0: no tuning
  double scale = 0.0;        ///< attn_scale

  [[nodiscard]] constexpr bool enabled() const { return floor_scale > 0.0; }
  [[nodiscard]] RLMOE_HOST_DEVICE double factor(std::int32_t position) const {
    return 1.0 + scale * math::log1p(math::floor((static_cast<double>(position) + 1.0) / floor_scale));
  }
  constexpr bool operator==(const AttentionTemperature&) const = default;
};

/// rows[r, :] *= tau(positions[r]): the queries [N, H dh] in the forward pass, their gradients in
/// the backward.
template <class T>
struct ScaleByTemperature {
  MatrixView<T> rows;
  VectorView<const std::int32_t> positions;  ///< [N]
  AttentionTemperature temperature;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    using C = compute_t<T>;
    const index_t width = rows.extent(1), r = i / width, c = i - r * width;
    rows(r, c) = static_cast<C>(rows(r, c)) * static_cast<C>(temperature.factor(positions[r]));
  }
};

}  // namespace rlmoe::layers
