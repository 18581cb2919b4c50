#pragma once
// DeepSeek-V2 and V2-Lite (model_type deepseek_v2): DeepSeek-V3's Multi-head Latent Attention
// (q_lora_rank null in V2-Lite) with its rotary pairs always interleaved, YaRN with mscale, and a
// softmax router without selection bias: topk_method "greedy" picks the top k of all experts,
// "group_limited_greedy" first keeps the topk_group groups with the best single score (GroupScore
// Max). The gates are the raw softmax scores times routed_scaling_factor: transformers' DeepSeek-V2
// never renormalises them, so norm_topk_prob true is refused rather than silently not applied.
// Shared experts and the first first_k_dense_replace dense layers as in V3; the same tensors.
#include <string>
#include <vector>

#include "rlmoe/io/families/deepseek_v3.hpp"
#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

struct DeepseekV2 {
  static constexpr const char* kModelType = "deepseek_v2";
  static constexpr const char* kArchitecture = "DeepseekV2ForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = common_architecture(r);
    detail::read_latent_attention(r, v);
    r.require(v.rope_interleave, "rope_interleave", "is false, but DeepSeek-V2 always pairs neighbouring rotary columns");
    r.require(!r.boolean_or("mlp_bias", false), "mlp_bias", "is true; rlmoe's projections have no biases");
    r.require(r.string_or("scoring_func", "softmax") == "softmax", "scoring_func", "must be \"softmax\" (DeepSeek-V2's router)");
    const std::string method = r.string_or("topk_method", "greedy");
    if (method == "greedy") {
      v.groups = v.topk_groups = 1;  // transformers ignores n_group and topk_group here
    } else {
      r.require(method == "group_limited_greedy", "topk_method",
                rlmoe::detail::message("is \"", method, "\"; DeepSeek-V2 routes by \"greedy\" or \"group_limited_greedy\""));
      r.require(v.groups >= 1 && v.routed_experts % v.groups == 0, "n_group", "must divide n_routed_experts");
      r.require(v.topk_groups >= 1 && v.topk_groups <= v.groups, "topk_group", "must lie in [1, n_group]");
      if (v.groups > 1) v.group_score = moe::GroupScore::Max;
    }
    r.require(!r.boolean_or("norm_topk_prob", false), "norm_topk_prob",
              "is true, but transformers' DeepSeek-V2 never renormalises the gates (the model was trained without it)");
    v.score_function = moe::ScoreFunction::Softmax;
    v.norm_topk_prob = false;
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (!v.latent_attention()) return "it needs latent attention (kKvLoraRank)";
    if (v.moe_layer_step != 1) return "its MoE layers are interleaved with dense ones (kMoeLayerStep); DeepSeek-V2's all follow its dense layers";
    if (!v.has_moe_layers()) return "";
    if (v.score_function != moe::ScoreFunction::Softmax) return "its router scores are Sigmoid; DeepSeek-V2's are Softmax";
    if (v.norm_topk_prob) return "it renormalises the gates (kNormTopkProb); DeepSeek-V2 does not";
    if (v.groups > 1 && v.group_score != moe::GroupScore::Max)
      return "its expert groups are ranked by their top 2; DeepSeek-V2's by their best (kGroupScore = Max)";
    return "";
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    detail::write_latent_attention(v, w);
    w.remove("rope_interleave");  // not a DeepSeek-V2 field: its pairs are always interleaved
    w.set("scoring_func", "softmax");
    w.set("topk_method", v.groups > 1 ? "group_limited_greedy" : "greedy");
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {  // v.rope_interleave: read() requires it
    return detail::latent_attention_recipes(v, [](RecipeList&, const std::string&, const std::string&, index_t) {});
  }
};

}  // namespace rlmoe::io::hf::families
