#pragma once
// Routing: router logits -> scores -> top-K selection -> gates, and the backward pass from the
// gates (and the auxiliary losses) to the logits. One thread per token.
//
// Scores are softmax over the experts or an independent sigmoid per expert, in the layer's
// precision. Selection takes the top K of score + bias, where the bias (aux-loss-free balancing)
// steers which experts are picked but never enters the gates. With group-limited routing, the
// experts are split into `groups` groups, each scored by the sum of its two best score + bias (or
// by its best, DeepSeek-V2's group_limited_greedy), and
// a token picks its experts only inside its topk_groups best groups. Ties go to the lower index,
// so routing is deterministic. Gates are the raw scores of the picked experts, normalised to sum
// to one when configured, times the routed scaling factor. Routing replay skips the selection and
// takes the experts given, with gates recomputed from the live scores.
#include <cstdint>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/swiglu.hpp"
#include "rlmoe/moe/config.hpp"

namespace rlmoe::moe {

/// Upper bound on topk_groups for the per-thread list of chosen groups.
inline constexpr int kMaxTopkGroups = 64;

struct RoutingRule {
  ScoreFunction score_function = ScoreFunction::Sigmoid;
  bool normalize_gates = true;
  float routed_scaling = 1.0f;
  index_t groups = 1;
  index_t topk_groups = 1;
  GroupScore group_by = GroupScore::TopTwoSum;

  static RoutingRule from(const MoeConfig& c) {
    return {c.score_function, c.normalize_gates, c.routed_scaling, c.groups, c.topk_groups, c.group_score};
  }
};

/// Forward routing of token t. Returns its z-loss term logsumexp(logits_t)^2 (for the mean).
template <class T>
struct RouteTokens {
  RoutingRule rule;
  MatrixView<const T> logits;                ///< [T, E]
  VectorView<const float> bias;              ///< [E], or empty
  MatrixView<const std::int32_t> replay;     ///< [T, K], or empty: select
  MatrixView<T> scores;                      ///< [T, E]
  VectorView<T> score_sums;                  ///< [T]: sum_e s_te, normaliser of the balance loss
  MatrixView<std::int32_t> ids;              ///< [T, K]
  MatrixView<T> gates;                       ///< [T, K]

  RLMOE_HOST_DEVICE T choice(index_t t, index_t e) const {
    return scores(t, e) + (bias.data() != nullptr ? static_cast<T>(bias[e]) : T(0));
  }

  /// Sum of the two largest choice values among the experts of group g (or the largest alone).
  RLMOE_HOST_DEVICE T group_score(index_t t, index_t g, index_t per_group) const {
    if (rule.group_by == GroupScore::Max) {
      T best = choice(t, g * per_group);
      for (index_t e = g * per_group + 1; e < (g + 1) * per_group; ++e) best = math::max(best, choice(t, e));
      return best;
    }
    T first = choice(t, g * per_group), second = choice(t, g * per_group + 1);
    if (second > first) {
      const T swap = first;
      first = second;
      second = swap;
    }
    for (index_t e = g * per_group + 2; e < (g + 1) * per_group; ++e) {
      const T c = choice(t, e);
      if (c > first) {
        second = first;
        first = c;
      } else if (c > second) {
        second = c;
      }
    }
    return first + second;
  }

  RLMOE_HOST_DEVICE double operator()(index_t t) const {
    const index_t experts = logits.extent(1), k_count = ids.extent(1);
    // Scores, and the log-sum-exp of the logits for the z-loss.
    T max_logit = logits(t, 0);
    for (index_t e = 1; e < experts; ++e) max_logit = math::max(max_logit, logits(t, e));
    T exp_sum = T(0);
    for (index_t e = 0; e < experts; ++e) exp_sum += math::exp(logits(t, e) - max_logit);
    const T lse = max_logit + math::log(exp_sum);
    T score_sum = T(0);
    for (index_t e = 0; e < experts; ++e) {
      const T s = rule.score_function == ScoreFunction::Softmax ? math::exp(logits(t, e) - max_logit) / exp_sum
                                                                : layers::sigmoid(logits(t, e));
      scores(t, e) = s;
      score_sum += s;
    }
    score_sums[t] = score_sum;

    if (replay.data() != nullptr) {
      for (index_t k = 0; k < k_count; ++k) ids(t, k) = replay(t, k);
    } else {
      select(t, experts, k_count);
    }
    T selected_sum = T(0);
    for (index_t k = 0; k < k_count; ++k) selected_sum += scores(t, ids(t, k));
    const T scale = static_cast<T>(rule.routed_scaling) / (rule.normalize_gates ? selected_sum : T(1));
    for (index_t k = 0; k < k_count; ++k) gates(t, k) = scores(t, ids(t, k)) * scale;
    return static_cast<double>(lse) * static_cast<double>(lse);
  }

  RLMOE_HOST_DEVICE void select(index_t t, index_t experts, index_t k_count) const {
    const index_t per_group = experts / rule.groups;
    index_t chosen_groups[kMaxTopkGroups];
    if (rule.groups > 1) {
      for (index_t j = 0; j < rule.topk_groups; ++j) {
        index_t best = -1;
        T best_score = T(0);
        for (index_t g = 0; g < rule.groups; ++g) {
          bool taken = false;
          for (index_t i = 0; i < j; ++i) taken = taken || chosen_groups[i] == g;
          if (taken) continue;
          const T score = group_score(t, g, per_group);
          if (best < 0 || score > best_score) {
            best = g;
            best_score = score;
          }
        }
        chosen_groups[j] = best;
      }
    }
    for (index_t k = 0; k < k_count; ++k) {
      index_t best = -1;
      T best_choice = T(0);
      for (index_t e = 0; e < experts; ++e) {
        if (rule.groups > 1) {
          bool allowed = false;
          for (index_t j = 0; j < rule.topk_groups; ++j) allowed = allowed || chosen_groups[j] == e / per_group;
          if (!allowed) continue;
        }
        bool taken = false;
        for (index_t i = 0; i < k; ++i) taken = taken || ids(t, i) == e;
        if (taken) continue;
        const T c = choice(t, e);
        if (best < 0 || c > best_choice) {
          best = e;
          best_choice = c;
        }
      }
      ids(t, k) = static_cast<std::int32_t>(best);
    }
  }
};

/// Backward routing of token t: d logits from the gate gradients, the balance loss and the z-loss.
///
/// Gates g_k = c s_k / Z (Z = sum of the selected scores when normalised, else 1), so
///   dL/ds_j = c (dg_j - sum_k dg_k s_k / Z) / Z   for selected j when normalised, c dg_j otherwise.
/// The balance loss depends on s' = s / S (S = sum over all experts); with G_e = dAux/ds'_te,
///   dAux/ds_te = (G_e - sum_j G_j s'_tj) / S.
/// Then through the score function: sigmoid ds * s (1 - s); softmax s (ds - sum_j ds_j s_j).
/// The z-loss coef/T sum_t lse_t^2 adds 2 coef / T lse_t softmax(logits_t).
template <class T>
struct RouteTokensBackward {
  RoutingRule rule;
  MatrixView<const T> logits;            ///< [T, E]
  MatrixView<const T> scores;            ///< [T, E]
  VectorView<const T> score_sums;        ///< [T]
  MatrixView<const std::int32_t> ids;    ///< [T, K]
  MatrixView<const T> d_gates;           ///< [T, K]
  MatrixView<const T> balance_grad;      ///< [segments, E]: dAux/ds' for the tokens of each segment; or empty
  index_t segment_length;                ///< tokens per balance segment
  double z_loss_scale;                   ///< 2 coef / T, or 0
  MatrixView<T> d_logits;                ///< [T, E]

  RLMOE_HOST_DEVICE T selected_gradient(index_t t, index_t e, T numerator_dot, T z) const {
    const index_t k_count = ids.extent(1);
    for (index_t k = 0; k < k_count; ++k)
      if (ids(t, k) == e) {
        const T c = static_cast<T>(rule.routed_scaling);
        return rule.normalize_gates ? c * (d_gates(t, k) - numerator_dot / z) / z : c * d_gates(t, k);
      }
    return T(0);
  }

  RLMOE_HOST_DEVICE T balance_gradient(index_t t, index_t e, T balance_dot) const {
    if (balance_grad.data() == nullptr) return T(0);
    return (balance_grad(t / segment_length, e) - balance_dot) / score_sums[t];
  }

  RLMOE_HOST_DEVICE void operator()(index_t t) const {
    const index_t experts = scores.extent(1), k_count = ids.extent(1);
    T z = T(0), numerator_dot = T(0);
    for (index_t k = 0; k < k_count; ++k) {
      const T s = scores(t, ids(t, k));
      z += s;
      numerator_dot += d_gates(t, k) * s;
    }
    T balance_dot = T(0);
    if (balance_grad.data() != nullptr)
      for (index_t e = 0; e < experts; ++e)
        balance_dot += balance_grad(t / segment_length, e) * scores(t, e) / score_sums[t];

    // For softmax scores: sum_j ds_j s_j.
    T ds_dot_s = T(0);
    if (rule.score_function == ScoreFunction::Softmax)
      for (index_t e = 0; e < experts; ++e)
        ds_dot_s += (selected_gradient(t, e, numerator_dot, z) + balance_gradient(t, e, balance_dot)) * scores(t, e);

    // For the z-loss: softmax of the logits.
    T max_logit = logits(t, 0), exp_sum = T(0);
    if (z_loss_scale != 0.0) {
      for (index_t e = 1; e < experts; ++e) max_logit = math::max(max_logit, logits(t, e));
      for (index_t e = 0; e < experts; ++e) exp_sum += math::exp(logits(t, e) - max_logit);
    }
    const T lse = z_loss_scale != 0.0 ? max_logit + math::log(exp_sum) : T(0);

    for (index_t e = 0; e < experts; ++e) {
      const T s = scores(t, e);
      const T ds = selected_gradient(t, e, numerator_dot, z) + balance_gradient(t, e, balance_dot);
      T dl = rule.score_function == ScoreFunction::Softmax ? s * (ds - ds_dot_s) : ds * s * (T(1) - s);
      if (z_loss_scale != 0.0)
        dl += static_cast<T>(z_loss_scale) * lse * math::exp(logits(t, e) - max_logit) / exp_sum;
      d_logits(t, e) = dl;
    }
  }
};

}  // namespace rlmoe::moe
