#pragma once
// Rotary position embedding (RoFormer), in the half-split convention of Hugging Face's Llama and
// DeepSeek models: within each head of width dh, element i pairs with i + dh/2 and the pair is
// rotated by the angle p * f_i for a token at position p, where f_i = base^(-2i / dh) unscaled.
// The backward rotates the gradient back by the same angle. Angles are computed in double so that
// long positions keep their precision in float32 models; the rotation in compute_t<T> (float for
// bfloat16, rounded once when stored). Applied in place.
//
// Scaled rotary embeddings (config.json's rope_scaling / rope_parameters) change f_i, as
// transformers' modeling_rope_utils does, so that a model runs past the context it was trained on:
//   linear  f_i / factor
//   yarn    (YaRN, DeepSeek-V3/R1) between the extrapolated f_i and the interpolated f_i / factor
//           along a linear ramp over the pair index, from the pair that turns beta_fast times over
//           the original context to the one that turns beta_slow times; and cos and sin scaled by
//           the attention factor (0.1 ln(factor) + 1, or the ratio of the mscale / mscale_all_dim
//           forms, or given). Latent attention also multiplies its softmax scale by
//           (0.1 mscale_all_dim ln(factor) + 1)^2 (softmax_scale_factor below).
//   llama3  (Llama 3.1, Llama 4) f_i / factor for wavelengths above original / low_freq_factor,
//           f_i below original / high_freq_factor, a smooth mix between them
// Prefill and decode both go through RotaryEmbedding, so they use the same frequencies.
//
// With a head_stride wider than head_dim (DeepSeek's Multi-head Latent Attention), each head is
// head_stride columns of which only the last head_dim are rotated (the first carry no position).
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

inline constexpr double kTwoPi = 6.283185307179586476925;

enum class RopeType { Default, Linear, Yarn, Llama3 };

/// How a rotary embedding is scaled: config.json's rope_scaling, as a literal a Spec can hold
/// (`static constexpr rlmoe::layers::RopeScaling kRopeScaling{...}`). Fields a type does not use
/// keep their defaults.
struct RopeScaling {
  RopeType type = RopeType::Default;
  double factor = 1.0;
  index_t original_max_position = 0;  ///< original_max_position_embeddings (yarn, llama3)
  double beta_fast = 32.0, beta_slow = 1.0;           ///< yarn: the ramp's ends, in turns over the original context
  double mscale = 0.0, mscale_all_dim = 0.0;          ///< yarn: 0 when absent
  double attention_factor = 0.0;                      ///< yarn: 0 derives it from factor and the mscales
  bool truncate = true;                               ///< yarn: round the ramp's ends outwards
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  ///< llama3

  constexpr bool operator==(const RopeScaling&) const = default;
};

/// YaRN's mscale: 0.1 m ln(s) + 1 for s > 1, else 1.
inline double yarn_mscale(double scale, double m = 1.0) { return scale <= 1.0 ? 1.0 : 0.1 * m * std::log(scale) + 1.0; }

/// What cos and sin are multiplied by (YaRN's attention factor; 1 for the other types).
inline double rope_attention_factor(const RopeScaling& s) {
  if (s.type != RopeType::Yarn) return 1.0;
  if (s.attention_factor > 0.0) return s.attention_factor;
  if (s.mscale != 0.0 && s.mscale_all_dim != 0.0) return yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim);
  return yarn_mscale(s.factor);
}

/// What Multi-head Latent Attention multiplies its softmax scale 1 / sqrt(dn + dr) by:
/// mscale(factor, mscale_all_dim)^2 for a scaled rotary embedding with mscale_all_dim, else 1.
inline double softmax_scale_factor(const RopeScaling& s) {
  if (s.type == RopeType::Default || s.mscale_all_dim == 0.0) return 1.0;
  const double m = yarn_mscale(s.factor, s.mscale_all_dim);
  return m * m;
}

/// The frequency of each rotated pair, as a small value a kernel carries: built once on the host
/// (RotaryFrequencies::of, or from a base alone: unscaled) and evaluated per pair.
struct RotaryFrequencies {
  RotaryFrequencies(double unscaled_base = 10000.0) : base(unscaled_base) {}  // NOLINT: a base is unscaled frequencies

  double base = 10000.0;
  RopeType type = RopeType::Default;
  double factor = 1.0;
  double low = 0.0, high = 0.0;  ///< yarn: the ramp's pair indices; llama3: the two wavelengths
  double low_freq_factor = 1.0, high_freq_factor = 4.0, original = 0.0;  ///< llama3
  double attention_factor = 1.0;

  /// The frequencies of a dim-wide rotation with `base`, scaled by `s`.
  static RotaryFrequencies of(double base, index_t dim, const RopeScaling& s = {}) {
    RotaryFrequencies f(base);
    f.type = s.type;
    f.factor = s.factor;
    f.attention_factor = rope_attention_factor(s);
    const double original = static_cast<double>(s.original_max_position);
    if (s.type == RopeType::Yarn) {
      // The pair index that turns `turns` times over the original context (YaRN's correction dim).
      const auto pair_turning = [&](double turns) {
        return static_cast<double>(dim) * std::log(original / (turns * kTwoPi)) / (2.0 * std::log(base));
      };
      double low = pair_turning(s.beta_fast), high = pair_turning(s.beta_slow);
      if (s.truncate) low = std::floor(low), high = std::ceil(high);
      f.low = std::max(low, 0.0);
      f.high = std::min(high, static_cast<double>(dim - 1));
      if (f.low == f.high) f.high += 0.001;  // transformers' guard against a zero-width ramp
    } else if (s.type == RopeType::Llama3) {
      f.original = original;
      f.low_freq_factor = s.low_freq_factor;
      f.high_freq_factor = s.high_freq_factor;
      f.low = original / s.low_freq_factor;    // longer wavelengths are interpolated
      f.high = original / s.high_freq_factor;  // shorter ones kept
    }
    return f;
  }

  /// f_j for pair j of a dim-wide rotation.
  RLMOE_HOST_DEVICE double operator()(index_t j, index_t dim) const {
    const double unscaled = math::pow(base, -2.0 * static_cast<double>(j) / static_cast<double>(dim));
    switch (type) {
      case RopeType::Default: return unscaled;
      case RopeType::Linear: return unscaled / factor;
      case RopeType::Yarn: {
        const double ramp = math::min(math::max((static_cast<double>(j) - low) / (high - low), 0.0), 1.0);
        return unscaled / factor * ramp + unscaled * (1.0 - ramp);
      }
      case RopeType::Llama3: {
        const double wavelength = 6.283185307179586476925 / unscaled;  // kTwoPi (a host constant)
        if (wavelength < high) return unscaled;
        if (wavelength > low) return unscaled / factor;
        if (high_freq_factor == low_freq_factor) return unscaled;  // no band between (Llama 4 Scout: both 1)
        const double smooth = (original / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor);
        return (1.0 - smooth) * unscaled / factor + smooth * unscaled;
      }
    }
    return unscaled;
  }
};

template <class T>
struct RotaryEmbedding {
  using C = compute_t<T>;
  MatrixView<T> x;                          ///< [rows, heads * dh]
  VectorView<const std::int32_t> positions; ///< [rows]
  index_t head_dim;
  RotaryFrequencies frequencies;
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
    const double angle = static_cast<double>(positions[r]) * frequencies(j, head_dim);
    C c = static_cast<C>(math::cos(angle));
    C s = static_cast<C>(inverse ? -math::sin(angle) : math::sin(angle));
    if (frequencies.attention_factor != 1.0) {
      c = static_cast<C>(math::cos(angle) * frequencies.attention_factor);
      s = static_cast<C>((inverse ? -math::sin(angle) : math::sin(angle)) * frequencies.attention_factor);
    }
    T& a = x(r, first + j);
    T& b = x(r, first + j + half);
    const C a0 = a, b0 = b;
    a = a0 * c - b0 * s;
    b = a0 * s + b0 * c;
  }
};

}  // namespace rlmoe::layers
