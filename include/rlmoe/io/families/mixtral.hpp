#pragma once
// Mixtral (model_type mixtral): Llama-style grouped-query attention without q/k norms, every
// layer a block_sparse_moe of num_local_experts SwiGLU experts (w1 the gate, w3 the up, w2 the
// down projection) intermediate_size wide, softmax scores, top-k renormalised, no shared expert.
// Sliding-window attention and router jitter (a training-time perturbation) are refused.
#include <string>
#include <vector>

#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

struct Mixtral {
  static constexpr const char* kModelType = "mixtral";
  static constexpr const char* kArchitecture = "MixtralForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = common_architecture(r);
    v.head_dim = r.integer_or("head_dim", v.model_dim / v.heads);
    r.require(r.find("sliding_window") == nullptr, "sliding_window", "is set; rlmoe attends to the whole sequence");
    r.require(r.number_or("router_jitter_noise", 0.0) == 0.0, "router_jitter_noise", "is not 0; rlmoe does not perturb the router's input");
    v.routed_experts = routed_expert_count(r, "num_local_experts");
    v.routed_experts_key = "num_local_experts";
    v.top_k = r.integer("num_experts_per_tok");
    v.expert_hidden = v.dense_hidden;  // the experts are intermediate_size wide; there is no dense layer
    v.dense_hidden = 0;
    v.first_moe_layer = 0;
    v.score_function = moe::ScoreFunction::Softmax;
    v.norm_topk_prob = true;
    r.ignore({"router_aux_loss_coef"});
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (v.qk_norm || v.latent_attention()) return "it needs plain attention (no q/k norm, no latent attention)";
    if (v.has_dense_layers() || !v.plain_router() || !v.norm_topk_prob)
      return "it needs every layer MoE, Softmax scores renormalised (kNormTopkProb), no shared experts, one group, kRoutedScaling 1";
    return "";
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    w.set("head_dim", v.head_dim);
    w.set("intermediate_size", v.expert_hidden);
    w.set("num_local_experts", v.routed_experts);
    w.set("num_experts_per_tok", v.top_k);
    w.set("sliding_window", Json());
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {
    RecipeList r;
    const ExpertNames names{"block_sparse_moe.", "gate.weight", "w1", "w3", "w2"};
    r.embedding(v);
    for (index_t l = 0; l < v.layers; ++l) {
      r.attention(v, l);
      r.feed_forward(v, l, [](const std::string&, const std::string&) {}, names);
    }
    r.final_norm_and_head(v);
    return r.take();
  }
};

}  // namespace rlmoe::io::hf::families
