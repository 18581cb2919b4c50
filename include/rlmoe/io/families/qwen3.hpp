#pragma once
// Qwen3 (model_type qwen3) and Qwen3-MoE (qwen3_moe): grouped-query attention with a per-head
// RMSNorm on q and k, softmax router, top-k (renormalised when norm_topk_prob), no shared expert;
// Qwen3-MoE's dense layers come first (mlp_only_layers = [0, k), decoder_sparse_step = 1).
// Sliding-window attention (use_sliding_window) is refused.
#include <string>
#include <vector>

#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

namespace detail {

/// What Qwen3 and Qwen3-MoE share: the attention and its fields.
inline ArchitectureValues qwen3_attention(const ConfigReader& r) {
  ArchitectureValues v = common_architecture(r);
  v.head_dim = r.integer_or("head_dim", v.model_dim / v.heads);
  v.qk_norm = true;
  r.require(!r.boolean_or("use_sliding_window", false), "use_sliding_window", "is true; rlmoe attends to the whole sequence");
  r.ignore({"sliding_window", "max_window_layers"});  // used only with use_sliding_window
  require_layer_types(r, "full_attention");
  v.score_function = moe::ScoreFunction::Softmax;
  return v;
}

inline std::string qwen3_mismatch(const ArchitectureValues& v) {
  if (!v.qk_norm || v.qk_norm_full_width) return "it needs kQkNorm over each head (not kQkNormFullWidth)";
  if (v.latent_attention()) return "it has no latent attention";
  if (!v.plain_router()) return "it needs Softmax scores, no shared experts, one group and kRoutedScaling 1";
  return "";
}

inline std::vector<TensorRecipe> qwen3_recipes(const ArchitectureValues& v) {
  RecipeList r;
  r.embedding(v);
  for (index_t l = 0; l < v.layers; ++l) {
    r.attention(v, l);
    r.feed_forward(v, l, [](const std::string&, const std::string&) {});
  }
  r.final_norm_and_head(v);
  return r.take();
}

}  // namespace detail

struct Qwen3Moe {
  static constexpr const char* kModelType = "qwen3_moe";
  static constexpr const char* kArchitecture = "Qwen3MoeForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = detail::qwen3_attention(r);
    v.routed_experts = routed_expert_count(r, "num_experts");
    v.top_k = r.integer("num_experts_per_tok");
    v.expert_hidden = r.integer("moe_intermediate_size");
    v.norm_topk_prob = r.boolean_or("norm_topk_prob", false);
    v.moe_layer_step = r.integer_or("decoder_sparse_step", 1);  // layer l is MoE when (l + 1) % step == 0
    r.require(v.moe_layer_step >= 1, "decoder_sparse_step", "must be >= 1");
    if (const Json* dense = r.find("mlp_only_layers")) {
      const auto& layers = dense->array(r.path + ": \"mlp_only_layers\"");
      for (std::size_t i = 0; i < layers.size(); ++i)
        r.require(layers[i].integer(r.path + ": \"mlp_only_layers\"") == static_cast<std::int64_t>(i), "mlp_only_layers",
                  "must be [0, 1, ..., k - 1]: rlmoe's dense layers come first");
      v.first_moe_layer = static_cast<index_t>(layers.size());
    }
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (!v.has_moe_layers()) return "it has no MoE layer (that is qwen3)";
    return detail::qwen3_mismatch(v);
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    w.set("head_dim", v.head_dim);
    w.set("intermediate_size", v.dense_hidden > 0 ? v.dense_hidden : v.expert_hidden);
    w.set("use_sliding_window", false);
    w.set("num_experts", v.routed_experts);
    if (w.has("num_local_experts")) w.set("num_local_experts", v.routed_experts);  // transformers 5's name
    w.set("num_experts_per_tok", v.top_k);
    w.set("moe_intermediate_size", v.expert_hidden);
    w.set("norm_topk_prob", v.norm_topk_prob);
    w.set("decoder_sparse_step", v.moe_layer_step);
    Json::Array dense;
    for (index_t l = 0; l < v.first_moe_layer; ++l) dense.emplace_back(static_cast<std::int64_t>(l));
    w.set("mlp_only_layers", Json(std::move(dense)));
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) { return detail::qwen3_recipes(v); }
};

struct Qwen3 {
  static constexpr const char* kModelType = "qwen3";
  static constexpr const char* kArchitecture = "Qwen3ForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = detail::qwen3_attention(r);
    v.first_moe_layer = v.layers;
    v.routed_experts = v.top_k = v.expert_hidden = 1;  // what a Spec without MoE layers declares
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (v.has_moe_layers()) return "it has MoE layers (that is qwen3_moe)";
    return detail::qwen3_mismatch(v);
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    w.set("head_dim", v.head_dim);
    w.set("intermediate_size", v.dense_hidden);
    w.set("use_sliding_window", false);
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) { return detail::qwen3_recipes(v); }
};

}  // namespace rlmoe::io::hf::families
