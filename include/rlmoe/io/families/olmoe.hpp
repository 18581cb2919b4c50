#pragma once
// OLMoE (model_type olmoe): as Qwen3-MoE, but the q/k norms span all of q and all of k (not each
// head), every layer is MoE and the experts are intermediate_size wide; clip_qkv is refused.
#include <string>
#include <vector>

#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

struct Olmoe {
  static constexpr const char* kModelType = "olmoe";
  static constexpr const char* kArchitecture = "OlmoeForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = common_architecture(r);
    v.head_dim = v.model_dim / v.heads;
    r.require(r.integer_or("head_dim", v.head_dim) == v.head_dim && v.head_dim * v.heads == v.model_dim, "head_dim",
              "must be hidden_size / num_attention_heads: OLMoE's q norm spans hidden_size values");
    r.require(r.find("clip_qkv") == nullptr, "clip_qkv", "is set; rlmoe does not clamp q, k and v");
    v.qk_norm = v.qk_norm_full_width = true;
    v.score_function = moe::ScoreFunction::Softmax;
    v.routed_experts = routed_expert_count(r, "num_experts");
    v.top_k = r.integer("num_experts_per_tok");
    v.expert_hidden = v.dense_hidden;  // OLMoE's experts are intermediate_size wide; it has no dense layer
    v.dense_hidden = 0;
    v.first_moe_layer = 0;
    v.norm_topk_prob = r.boolean_or("norm_topk_prob", false);
    r.ignore({"router_aux_loss_coef"});
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (!v.qk_norm_full_width) return "it needs kQkNormFullWidth (q/k norms over whole rows)";
    if (v.has_dense_layers() || !v.plain_router() || v.heads * v.head_dim != v.model_dim)
      return "it needs every layer MoE, Softmax scores, no shared experts, one group, kRoutedScaling 1, kHeadDim = kModelDim / kHeads";
    return "";
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    w.set("intermediate_size", v.expert_hidden);
    w.set("num_experts", v.routed_experts);
    if (w.has("num_local_experts")) w.set("num_local_experts", v.routed_experts);
    w.set("num_experts_per_tok", v.top_k);
    w.set("norm_topk_prob", v.norm_topk_prob);
    w.set("clip_qkv", Json());
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {
    RecipeList r;
    r.embedding(v);
    for (index_t l = 0; l < v.layers; ++l) {
      r.attention(v, l);
      r.feed_forward(v, l, [](const std::string&, const std::string&) {});
    }
    r.final_norm_and_head(v);
    return r.take();
  }
};

}  // namespace rlmoe::io::hf::families
