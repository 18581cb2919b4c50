#pragma once
// Rotary position embedding (RoFormer), in the half-split convention of Hugging Face's Llama and
// DeepSeek models: within each head of width dh, element i pairs with i + dh/2 and the pair is
// rotated by the angle p * base^(-2i / dh) for a token at position p. The backward rotates the
// gradient back by the same angle. Angles are computed in double so that long positions keep
// their precision in float32 models; the rotation in compute_t<T> (float for bfloat16, rounded
// once when stored). Applied in place.
//
// With a head_stride wider than head_dim (DeepSeek's Multi-head Latent Attention), each head is
// head_stride columns of which only the last head_dim are rotated (the first carry no position).
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
struct RotaryEmbedding {
  using C = compute_t<T>;
  MatrixView<T> x;                          ///< [rows, heads * dh]
  VectorView<const std::int32_t> positions; ///< [rows]
  index_t head_dim;
  double base;
  bool inverse;  ///< rotate by -angle (the backward pass)
  index_t head_stride = 0;  ///< a head's columns; 0: head_dim

  [[nodiscard]] index_t stride() const { return head_stride > 0 ? head_stride : head_dim; }
  /// How many threads to run: one per rotated pair.
  [[nodiscard]] index_t pairs() const { return x.extent(0) * (x.extent(1) / stride()) * (head_dim / 2); }

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t half = head_dim / 2, stride = head_stride > 0 ? head_stride : head_dim;
    const index_t pairs_per_row = x.extent(1) / stride * half;
    const index_t r = i / pairs_per_row, pair = i - r * pairs_per_row;
    const index_t head = pair / half, j = pair - head * half, first = head * stride + stride - head_dim;
    const double angle = static_cast<double>(positions[r]) * math::pow(base, -2.0 * static_cast<double>(j) / static_cast<double>(head_dim));
    const C c = static_cast<C>(math::cos(angle));
    const C s = static_cast<C>(inverse ? -math::sin(angle) : math::sin(angle));
    T& a = x(r, first + j);
    T& b = x(r, first + j + half);
    const C a0 = a, b0 = b;
    a = a0 * c - b0 * s;
    b = a0 * s + b0 * c;
  }
};

}  // namespace rlmoe::layers
