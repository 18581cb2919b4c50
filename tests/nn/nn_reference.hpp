#pragma once
// Float64 references of the transformer layers and of the whole model, as plain loops written
// from the formulas (nn/*.hpp comments), sharing no code with the library. The MoE blocks use the
// MoE layer's own reference (tests/moe/moe_reference.hpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "moe/moe_reference.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/layers/rope.hpp"

namespace rlmoe::test {

/// y = x / sqrt(mean(x^2) + eps) * w, rows of width d.
inline std::vector<double> reference_rmsnorm(const std::vector<double>& x, const std::vector<double>& w, index_t d, double eps) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / d; ++r) {
    double squares = 0.0;
    for (index_t c = 0; c < d; ++c) squares += x[r * d + c] * x[r * d + c];
    const double inv = 1.0 / std::sqrt(squares / d + eps);
    for (index_t c = 0; c < d; ++c) y[r * d + c] = x[r * d + c] * inv * w[c];
  }
  return y;
}

/// Half-split rotary embedding of rows [R, H dh] at the given positions.
/// The angle per position of rotated pair j (of dh / 2) with `base`, scaled as transformers'
/// modeling_rope_utils does, written from the scaling methods' own descriptions.
inline double reference_inverse_frequency(index_t j, index_t dh, double base, const layers::RopeScaling& s = {}) {
  const double theta = 1.0 / std::pow(base, static_cast<double>(2 * j) / static_cast<double>(dh));
  const double pi = 3.14159265358979323846, original = static_cast<double>(s.original_max_position);
  switch (s.type) {
    case layers::RopeType::Default: return theta;
    case layers::RopeType::Linear: return theta / s.factor;
    case layers::RopeType::Llama3: {
      // Wavelengths shorter than original / high_freq_factor kept, longer than original /
      // low_freq_factor interpolated, a linear blend in original / wavelength between.
      const double wavelength = 2.0 * pi / theta, rotations = original / wavelength;
      if (rotations > s.high_freq_factor) return theta;
      if (rotations < s.low_freq_factor) return theta / s.factor;
      const double blend = (rotations - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      return blend * theta + (1.0 - blend) * theta / s.factor;
    }
    case layers::RopeType::Yarn: {
      // The pair that turns b times over the original context: original theta_j = 2 pi b, solved
      // for j (as a real index), rounded outwards; pairs below the fast end keep theta, above the
      // slow end are interpolated, a linear ramp in j between.
      const auto pair_of = [&](double turns) { return dh / 2.0 * std::log(original / (2.0 * pi * turns)) / std::log(base); };
      double fast = pair_of(s.beta_fast), slow = pair_of(s.beta_slow);
      if (s.truncate) fast = std::floor(fast), slow = std::ceil(slow);
      fast = std::max(fast, 0.0);
      slow = std::min(slow, static_cast<double>(dh - 1));
      if (fast == slow) slow += 0.001;
      const double interpolated = std::clamp((static_cast<double>(j) - fast) / (slow - fast), 0.0, 1.0);
      return (1.0 - interpolated) * theta + interpolated * theta / s.factor;
    }
  }
  return theta;
}

/// YaRN's scale of cos and sin (1 for the other types).
inline double reference_rope_attention_factor(const layers::RopeScaling& s) {
  if (s.type != layers::RopeType::Yarn) return 1.0;
  const auto m = [&](double x) { return s.factor <= 1.0 ? 1.0 : 0.1 * x * std::log(s.factor) + 1.0; };
  if (s.attention_factor > 0.0) return s.attention_factor;
  return s.mscale != 0.0 && s.mscale_all_dim != 0.0 ? m(s.mscale) / m(s.mscale_all_dim) : m(1.0);
}

inline std::vector<double> reference_rope(std::vector<double> x, const std::vector<std::int32_t>& positions, index_t heads,
                                          index_t dh, double base, const layers::RopeScaling& scaling = {}) {
  const index_t width = heads * dh;
  const double factor = reference_rope_attention_factor(scaling);
  for (std::size_t r = 0; r < positions.size(); ++r)
    for (index_t h = 0; h < heads; ++h)
      for (index_t j = 0; j < dh / 2; ++j) {
        const double angle = positions[r] * reference_inverse_frequency(j, dh, base, scaling);
        double& a = x[r * width + h * dh + j];
        double& b = x[r * width + h * dh + j + dh / 2];
        const double a0 = a, b0 = b;
        a = factor * (a0 * std::cos(angle) - b0 * std::sin(angle));
        b = factor * (a0 * std::sin(angle) + b0 * std::cos(angle));
      }
  return x;
}

/// Causal attention with key lengths over rows b L + t of q [B L, H dh], k [B L, Hkv dh] and
/// v [B L, Hkv dv] (query head h reads key/value head h / (H / Hkv)); dv 0: dh. The scores are
/// scale_factor q.k / sqrt(dh). chunk > 0: a (real) query i sees only the keys j with
/// j / chunk == i / chunk.
inline std::vector<double> reference_attention(const std::vector<double>& q, const std::vector<double>& k,
                                               const std::vector<double>& v, const std::vector<std::int32_t>& lengths,
                                               index_t length, index_t heads, index_t dh, index_t kv_heads = 0, index_t dv = 0,
                                               double scale_factor = 1.0, index_t chunk = 0) {
  if (kv_heads == 0) kv_heads = heads;
  if (dv == 0) dv = dh;
  const index_t width = heads * dh, kv_width = kv_heads * dh, batch = static_cast<index_t>(lengths.size());
  const index_t out_width = heads * dv, v_width = kv_heads * dv;
  std::vector<double> out(static_cast<std::size_t>(batch * length * out_width), 0.0);
  for (index_t b = 0; b < batch; ++b)
    for (index_t h = 0; h < heads; ++h)
      for (index_t i = 0; i < length; ++i) {
        const index_t g = h / (heads / kv_heads);
        const index_t valid = std::min<index_t>(i + 1, lengths[b]);
        const auto visible = [&](index_t j) { return chunk == 0 || i >= lengths[b] || j / chunk == i / chunk; };
        std::vector<double> s(static_cast<std::size_t>(valid), -1e300);
        double max = -1e300;
        for (index_t j = 0; j < valid; ++j) {
          if (!visible(j)) continue;
          double dot = 0.0;
          for (index_t c = 0; c < dh; ++c) dot += q[(b * length + i) * width + h * dh + c] * k[(b * length + j) * kv_width + g * dh + c];
          s[j] = scale_factor * dot / std::sqrt(static_cast<double>(dh));
          max = std::max(max, s[j]);
        }
        double sum = 0.0;
        for (index_t j = 0; j < valid; ++j) sum += (s[j] = visible(j) ? std::exp(s[j] - max) : 0.0);
        for (index_t j = 0; j < valid; ++j)
          for (index_t c = 0; c < dv; ++c)
            out[(b * length + i) * out_width + h * dv + c] += s[j] / sum * v[(b * length + j) * v_width + g * dv + c];
      }
  return out;
}

/// Rows x [R, d] times W [d, m] (row-major).
inline std::vector<double> reference_matmul(const std::vector<double>& x, const std::vector<double>& w, index_t d, index_t m) {
  const std::size_t rows = x.size() / d;
  std::vector<double> y(rows * m, 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < d; ++c)
      for (index_t j = 0; j < m; ++j) y[r * m + j] += x[r * d + c] * w[c * m + j];
  return y;
}

/// Dense SwiGLU: rows x [R, d] -> [R, d] with W_gate_up [d, 2h], W_down [h, d].
inline std::vector<double> reference_swiglu(const std::vector<double>& x, const std::vector<double>& w_gate_up,
                                            const std::vector<double>& w_down, index_t d, index_t h) {
  std::vector<double> y(x.size(), 0.0);
  for (std::size_t r = 0; r < x.size() / d; ++r) add_swiglu(&x[r * d], w_gate_up.data(), w_down.data(), d, h, 1.0, &y[r * d]);
  return y;
}

/// log p(target) and the entropy of softmax(logits).
inline std::pair<double, double> reference_log_softmax(const double* logits, index_t vocab, index_t target) {
  double max = logits[0];
  for (index_t v = 1; v < vocab; ++v) max = std::max(max, logits[v]);
  double sum = 0.0;
  for (index_t v = 0; v < vocab; ++v) sum += std::exp(logits[v] - max);
  const double lse = max + std::log(sum);
  double entropy = 0.0;
  for (index_t v = 0; v < vocab; ++v) {
    const double p = std::exp(logits[v] - lse);
    entropy -= p * (logits[v] - lse);
  }
  return {logits[target] - lse, entropy};
}

}  // namespace rlmoe::test
