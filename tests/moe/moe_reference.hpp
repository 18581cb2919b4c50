#pragma once
// A float64 reference of the MoE layer written as plain loops from the equations of
// DeepSeek-V3 (and docs/moe.md), sharing no code with the library: routing with std::sort-based
// top-k, every expert evaluated per token, the balance and z losses. The gradient tests take
// central finite differences of reference_moe_objective().
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rlmoe/moe/config.hpp"

namespace rlmoe::test {

/// Host copies of the layer's tensors, row-major.
struct MoeWeights {
  std::vector<double> router;          // [E, d]
  std::vector<double> expert_gate_up;  // [E, d, 2h]
  std::vector<double> expert_down;     // [E, h, d]
  std::vector<double> shared_gate_up;  // [d, 2Hs]
  std::vector<double> shared_down;     // [Hs, d]
};

struct MoeReferenceOutput {
  std::vector<double> y;               // [T, d]
  std::vector<std::int32_t> ids;       // [T, K]
  std::vector<double> gates;           // [T, K]
  std::vector<double> scores;          // [T, E]
  double aux_loss = 0.0;
};

inline double silu(double g) { return g / (1.0 + std::exp(-g)); }

/// One SwiGLU block on vector u: sum_j silu(u.Wg_j) (u.Wu_j) Wd_j, with Wgu [d, 2w], Wd [w, d].
inline void add_swiglu(const double* u, const double* w_gate_up, const double* w_down, index_t d, index_t w,
                       double scale, double* out) {
  for (index_t j = 0; j < w; ++j) {
    double gate = 0.0, up = 0.0;
    for (index_t c = 0; c < d; ++c) {
      gate += u[c] * w_gate_up[c * 2 * w + j];
      up += u[c] * w_gate_up[c * 2 * w + w + j];
    }
    const double a = silu(gate) * up;
    for (index_t c = 0; c < d; ++c) out[c] += scale * a * w_down[j * d + c];
  }
}

/// Indices of the `count` largest values, larger first, ties to the lower index.
inline std::vector<index_t> top_indices(const std::vector<double>& values, index_t count,
                                             const std::vector<bool>& allowed) {
  std::vector<index_t> order;
  for (index_t i = 0; i < static_cast<index_t>(values.size()); ++i)
    if (allowed[static_cast<std::size_t>(i)]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return values[a] > values[b]; });
  order.resize(static_cast<std::size_t>(count));
  return order;
}

inline MoeReferenceOutput reference_moe(const moe::MoeConfig& c, const MoeWeights& w, const std::vector<double>& x,
                                        index_t tokens, const std::vector<float>& bias,
                                        const std::vector<std::int32_t>& replay, index_t sequence_length) {
  const index_t d = c.model_dim, e = c.routed_experts, k = c.top_k, h = c.expert_hidden, hs = c.shared_width();
  const index_t per_group = e / c.groups;
  MoeReferenceOutput out;
  out.y.assign(static_cast<std::size_t>(tokens * d), 0.0);
  out.scores.assign(static_cast<std::size_t>(tokens * e), 0.0);
  double z_sum = 0.0;
  for (index_t t = 0; t < tokens; ++t) {
    const double* u = &x[static_cast<std::size_t>(t * d)];
    std::vector<double> logits(static_cast<std::size_t>(e), 0.0);
    for (index_t i = 0; i < e; ++i)
      for (index_t col = 0; col < d; ++col) logits[i] += u[col] * w.router[i * d + col];
    const double max_logit = *std::max_element(logits.begin(), logits.end());
    double exp_sum = 0.0;
    for (double l : logits) exp_sum += std::exp(l - max_logit);
    const double lse = max_logit + std::log(exp_sum);
    z_sum += lse * lse;
    std::vector<double> s(static_cast<std::size_t>(e));
    for (index_t i = 0; i < e; ++i)
      s[i] = c.score_function == moe::ScoreFunction::Softmax ? std::exp(logits[i] - lse) : 1.0 / (1.0 + std::exp(-logits[i]));
    std::copy(s.begin(), s.end(), out.scores.begin() + t * e);

    std::vector<index_t> picked;
    if (!replay.empty()) {
      for (index_t j = 0; j < k; ++j) picked.push_back(replay[t * k + j]);
    } else {
      std::vector<double> choice(s);
      if (!bias.empty())
        for (index_t i = 0; i < e; ++i) choice[i] += bias[i];
      std::vector<bool> allowed(static_cast<std::size_t>(e), true);
      if (c.groups > 1) {
        std::vector<double> group_scores(static_cast<std::size_t>(c.groups));
        for (index_t g = 0; g < c.groups; ++g) {
          std::vector<double> members(choice.begin() + g * per_group, choice.begin() + (g + 1) * per_group);
          std::sort(members.rbegin(), members.rend());
          group_scores[g] = c.group_score == moe::GroupScore::Max ? members[0] : members[0] + members[1];
        }
        const auto groups = top_indices(group_scores, c.topk_groups, std::vector<bool>(c.groups, true));
        for (index_t i = 0; i < e; ++i)
          allowed[i] = std::find(groups.begin(), groups.end(), i / per_group) != groups.end();
      }
      picked = top_indices(choice, k, allowed);
    }
    double selected = 0.0;
    for (index_t i : picked) selected += s[i];
    for (index_t j = 0; j < k; ++j) {
      const index_t i = picked[j];
      const double gate = c.routed_scaling * s[i] / (c.normalize_gates ? selected : 1.0);
      out.ids.push_back(static_cast<std::int32_t>(i));
      out.gates.push_back(gate);
      if (c.gate_placement == moe::GatePlacement::Output) {
        add_swiglu(u, &w.expert_gate_up[i * d * 2 * h], &w.expert_down[i * h * d], d, h, gate, &out.y[t * d]);
      } else {
        std::vector<double> scaled(u, u + d);
        for (double& value : scaled) value *= gate;
        add_swiglu(scaled.data(), &w.expert_gate_up[i * d * 2 * h], &w.expert_down[i * h * d], d, h, 1.0, &out.y[t * d]);
      }
    }
    if (hs > 0) add_swiglu(u, w.shared_gate_up.data(), w.shared_down.data(), d, hs, 1.0, &out.y[t * d]);
  }
  out.aux_loss = c.z_loss_coef * z_sum / static_cast<double>(tokens);
  if (c.balancing == moe::Balancing::SequenceAux || c.balancing == moe::Balancing::SwitchAux) {
    const index_t length = c.balancing == moe::Balancing::SwitchAux || sequence_length == 0 ? tokens : sequence_length;
    const index_t segments = tokens / length;
    for (index_t b = 0; b < segments; ++b)
      for (index_t i = 0; i < e; ++i) {
        double count = 0.0, p = 0.0;
        for (index_t t = b * length; t < (b + 1) * length; ++t) {
          for (index_t j = 0; j < k; ++j) count += out.ids[t * k + j] == i ? 1.0 : 0.0;
          double total = 0.0;
          for (index_t q = 0; q < e; ++q) total += out.scores[t * e + q];
          p += out.scores[t * e + i] / total;
        }
        const double f = static_cast<double>(e) * count / (static_cast<double>(k) * length);
        out.aux_loss += c.aux_loss_coef * f * (p / length) / segments;
      }
  }
  return out;
}

/// J = sum_tc dy[t, c] y[t, c] + aux loss: backward(dy) is its gradient.
inline double reference_moe_objective(const moe::MoeConfig& c, const MoeWeights& w, const std::vector<double>& x,
                                      index_t tokens, const std::vector<float>& bias, const std::vector<double>& dy,
                                      index_t sequence_length) {
  const MoeReferenceOutput out = reference_moe(c, w, x, tokens, bias, {}, sequence_length);
  return std::inner_product(out.y.begin(), out.y.end(), dy.begin(), 0.0) + out.aux_loss;
}

}  // namespace rlmoe::test
