#pragma once
// The configuration of a DeepSeek-style Mixture-of-Experts feed-forward layer:
//   y = sum_{shared s} FFN_s(u) + sum_{i in TopK} g_i FFN_i(u)    (or FFN_i(g_i u): GatePlacement)
// with SwiGLU experts. Sizes and hyperparameters are runtime values checked at construction
// (validate()), so one compiled layer serves every size: on two build cores, an instantiation per
// size would cost more than the checks.
#include <cmath>
#include <string_view>
#include <utility>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe::moe {

/// How router logits become scores: softmax over the experts, or an independent sigmoid per
/// expert (DeepSeek-V3).
enum class ScoreFunction { Softmax, Sigmoid };

/// How group-limited routing scores a group: the sum of its two best scores (DeepSeek-V3's
/// noaux_tc, with the selection bias), or its best score (DeepSeek-V2's group_limited_greedy).
enum class GroupScore { TopTwoSum, Max };

/// Where a routed expert's gate multiplies: its output, g_i FFN_i(u) (DeepSeek, Qwen, Mixtral,
/// OLMoE), or its input, FFN_i(g_i u) (Llama 4, whose top-1 sigmoid score scales the token).
enum class GatePlacement { Output, Input };

/// How expert load is balanced.
enum class Balancing {
  None,           ///< nothing balances; the selection bias stays as set (zero, or a checkpoint's)
  AuxLossFree,    ///< DeepSeek-V3: bias b steers selection, b_i += gamma * sign(mean load - load_i) per update
  SequenceAux,    ///< DeepSeek-V3 eq. 17-20: alpha * sum_i f_i P_i per sequence, averaged over sequences
  SwitchAux,      ///< Switch/GShard: the same product over the whole batch
};

struct MoeConfig {
  index_t model_dim = 0;      ///< d
  index_t expert_hidden = 0;  ///< h, the SwiGLU width of each routed expert
  index_t routed_experts = 0; ///< E
  index_t top_k = 0;          ///< K experts per token
  index_t shared_experts = 0; ///< always-on experts, fused into one SwiGLU of width shared_experts * shared_hidden
  index_t shared_hidden = 0;  ///< width of each shared expert; 0: expert_hidden

  ScoreFunction score_function = ScoreFunction::Sigmoid;
  bool normalize_gates = true;  ///< g_i = s_i / sum_{TopK} s_j (DeepSeek-V3 with sigmoid scores)
  float routed_scaling = 1.0f;  ///< multiplies the gates (DeepSeek-V3: 2.5)
  GatePlacement gate_placement = GatePlacement::Output;

  index_t groups = 1;       ///< n_group: experts split into this many groups for group-limited routing
  index_t topk_groups = 1;  ///< topk_group: tokens route only into this many groups (by the sum of each group's top-2)
  GroupScore group_score = GroupScore::TopTwoSum;  ///< what ranks the groups

  Balancing balancing = Balancing::AuxLossFree;
  float bias_update_rate = 1e-3f;  ///< gamma of the aux-loss-free update
  float aux_loss_coef = 1e-4f;     ///< alpha of the sequence-wise or Switch auxiliary loss
  float z_loss_coef = 0.0f;        ///< router z-loss: coef * mean_t logsumexp(logits_t)^2; 0: off

  [[nodiscard]] index_t shared_width() const { return shared_experts * (shared_hidden > 0 ? shared_hidden : expert_hidden); }
  [[nodiscard]] index_t experts_per_group() const { return routed_experts / groups; }

  void validate() const {
    RLMOE_CHECK(model_dim >= 1, ConfigError, "MoeConfig: model_dim is ", model_dim, " but must be >= 1");
    RLMOE_CHECK(expert_hidden >= 1, ConfigError, "MoeConfig: expert_hidden is ", expert_hidden, " but must be >= 1");
    RLMOE_CHECK(routed_experts >= 1 && routed_experts <= 4096, ConfigError, "MoeConfig: routed_experts is ",
                routed_experts, " but must lie in [1, 4096]");
    RLMOE_CHECK(top_k >= 1 && top_k <= routed_experts && top_k <= 64, ConfigError, "MoeConfig: top_k is ", top_k,
                " but must lie in [1, min(routed_experts = ", routed_experts, ", 64)]");
    RLMOE_CHECK(shared_experts >= 0 && shared_hidden >= 0, ConfigError,
                "MoeConfig: shared_experts and shared_hidden must be >= 0");
    RLMOE_CHECK(groups >= 1 && routed_experts % groups == 0, ConfigError, "MoeConfig: groups is ", groups,
                " but must be >= 1 and divide routed_experts = ", routed_experts);
    RLMOE_CHECK(groups == 1 || group_score == GroupScore::Max || experts_per_group() >= 2, ConfigError, "MoeConfig: groups = ", groups,
                " leaves ", experts_per_group(), " expert per group; a group's score is the sum of its top 2");
    RLMOE_CHECK(topk_groups >= 1 && topk_groups <= groups, ConfigError, "MoeConfig: topk_groups is ", topk_groups,
                " but must lie in [1, groups = ", groups, "]");
    RLMOE_CHECK(top_k <= topk_groups * experts_per_group(), ConfigError, "MoeConfig: top_k = ", top_k,
                " exceeds the ", topk_groups * experts_per_group(), " experts in the topk_groups chosen groups");
    RLMOE_CHECK(routed_scaling > 0.0f && std::isfinite(routed_scaling), ConfigError, "MoeConfig: routed_scaling is ",
                routed_scaling, " but must be finite and > 0");
    for (const auto& [name, value] : {std::pair{"bias_update_rate", bias_update_rate}, std::pair{"aux_loss_coef", aux_loss_coef},
                                      std::pair{"z_loss_coef", z_loss_coef}})
      RLMOE_CHECK(value >= 0.0f && std::isfinite(value), ConfigError, "MoeConfig: ", name, " is ", value,
                  " but must be finite and >= 0");
  }
};

}  // namespace rlmoe::moe
