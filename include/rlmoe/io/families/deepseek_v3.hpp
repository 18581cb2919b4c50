#pragma once
// DeepSeek-V3 and DeepSeek-R1 (model_type deepseek_v3): Multi-head Latent Attention (q_lora_rank
// may be null), sigmoid router with e_score_correction_bias, group-limited top-k, routed scaling,
// shared experts, the first first_k_dense_replace layers dense; rotary pairs interleaved or not
// (rope_interleave: the loader permutes), YaRN rope scaling (the published 128k context) with its
// mscale correction of the softmax scale. The multi-token-prediction layers
// (num_nextn_predict_layers) are skipped.
//
// Tensors (nn/latent_attention.hpp): kv_a_proj_with_mqa [r + dr, d] is rlmoe's wkv_a and wk_rope,
// kv_b_proj [H (dn + dv), r] its wk_nope and wv, each parameter taking its rows (TransposedRows).
// With rope_interleave (DeepSeek's own layout), the checkpoint's rotary columns pair (0, 1),
// (2, 3), ...: they are de-interleaved into rlmoe's half-split pairs (i, i + dr/2) on load and
// interleaved again on save, which leaves every dot product, so every logit, unchanged. The
// router's e_score_correction_bias is the MoE layer's selection bias (not a trained parameter;
// aux-loss-free balancing updates it), kept in F32.
#include <algorithm>
#include <string>
#include <vector>

#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

namespace detail {

/// Multi-head Latent Attention's fields (DeepSeek-V2 and V3 share them).
inline void read_latent_attention(const ConfigReader& r, ArchitectureValues& v) {
  r.require(v.kv_heads == v.heads, "num_key_value_heads", "must equal num_attention_heads: latent attention has a key per head");
  v.kv_lora_rank = r.integer("kv_lora_rank");
  r.require(v.kv_lora_rank >= 1, "kv_lora_rank", "must be >= 1");
  v.q_lora_rank = r.integer_or("q_lora_rank", 0);  // null: q projected directly
  v.qk_nope_head_dim = r.integer("qk_nope_head_dim");
  v.qk_rope_head_dim = r.integer("qk_rope_head_dim");
  r.require(v.qk_rope_head_dim >= 2 && v.qk_rope_head_dim % 2 == 0, "qk_rope_head_dim", "must be even and >= 2");
  v.v_head_dim = r.integer("v_head_dim");
  v.head_dim = v.qk_nope_head_dim + v.qk_rope_head_dim;
  // transformers derives these two; a config that carries them must agree.
  r.require(r.integer_or("head_dim", v.qk_rope_head_dim) == v.qk_rope_head_dim, "head_dim", "must equal qk_rope_head_dim (transformers' meaning)");
  r.require(r.integer_or("qk_head_dim", v.head_dim) == v.head_dim, "qk_head_dim", "must equal qk_nope_head_dim + qk_rope_head_dim");
  v.rope_interleave = r.boolean_or("rope_interleave", true);
  v.first_moe_layer = std::min(r.integer_or("first_k_dense_replace", 0), v.layers);
  r.require(r.integer_or("moe_layer_freq", 1) == 1, "moe_layer_freq", "must be 1: every layer after the dense ones is MoE");
  v.routed_experts = routed_expert_count(r, "n_routed_experts");
  v.routed_experts_key = "n_routed_experts";
  v.top_k = r.integer("num_experts_per_tok");
  v.expert_hidden = r.integer("moe_intermediate_size");
  v.shared_experts = r.integer_or("n_shared_experts", 0);
  v.groups = r.integer_or("n_group", 1);
  v.topk_groups = r.integer_or("topk_group", 1);
  v.routed_scaling = static_cast<float>(r.number_or("routed_scaling_factor", 1.0));
  // Training-only: the auxiliary balance loss and expert-parallel size of DeepSeek's own trainer.
  r.ignore({"aux_loss_alpha", "seq_aux", "ep_size"});
}

/// The fields read_latent_attention reads, written back.
inline void write_latent_attention(const ArchitectureValues& v, ConfigWriter& w) {
  const bool moe = v.has_moe_layers();
  w.set("intermediate_size", v.dense_hidden > 0 ? v.dense_hidden : v.expert_hidden);
  w.set("kv_lora_rank", v.kv_lora_rank);
  w.set("q_lora_rank", v.q_lora_rank > 0 ? Json(static_cast<std::int64_t>(v.q_lora_rank)) : Json());
  w.set("qk_nope_head_dim", v.qk_nope_head_dim);
  w.set("qk_rope_head_dim", v.qk_rope_head_dim);
  w.set("v_head_dim", v.v_head_dim);
  if (w.has("head_dim")) w.set("head_dim", v.qk_rope_head_dim);
  if (w.has("qk_head_dim")) w.set("qk_head_dim", v.head_dim);
  if (!w.has("rope_interleave")) w.set("rope_interleave", true);  // DeepSeek's own layout
  w.set("first_k_dense_replace", v.first_moe_layer);
  w.set("moe_layer_freq", index_t{1});
  w.set("n_routed_experts", moe ? v.routed_experts : 1);
  if (w.has("num_local_experts")) w.set("num_local_experts", moe ? v.routed_experts : 1);
  w.set("num_experts_per_tok", moe ? v.top_k : 1);
  w.set("moe_intermediate_size", v.expert_hidden);
  w.set("n_shared_experts", v.shared_experts);
  w.set("n_group", v.groups);
  w.set("topk_group", v.topk_groups);
  w.set_float("routed_scaling_factor", v.routed_scaling);
  w.set("norm_topk_prob", v.norm_topk_prob);
}

/// The recipes of a latent-attention model (v.rope_interleave: the checkpoint's rotary layout);
/// `moe_extras(rlmoe prefix, hf prefix, layer)` adds what a MoE layer has besides its routed experts.
template <class MoeExtras>
std::vector<TensorRecipe> latent_attention_recipes(const ArchitectureValues& v, const MoeExtras& moe_extras) {
  using A = TensorRecipe::Arrangement;
  RecipeList r;
  const std::int64_t d = v.model_dim, heads = v.heads, rank = v.kv_lora_rank, rq = v.q_lora_rank, dn = v.qk_nope_head_dim;
  const std::int64_t dr = v.qk_rope_head_dim, dv = v.v_head_dim, qk = dn + dr;
  // The checkpoint row of rotary column c: de-interleaved when the checkpoint pairs neighbours.
  const auto rope_row = [&](std::int64_t c) { return v.rope_interleave ? (c < dr / 2 ? 2 * c : 2 * (c - dr / 2) + 1) : c; };
  const auto rows = [](std::int64_t count, const auto& row_of) {
    std::vector<std::int64_t> out(static_cast<std::size_t>(count));
    for (std::int64_t c = 0; c < count; ++c) out[static_cast<std::size_t>(c)] = row_of(c);
    return out;
  };
  const auto q_rows = rows(heads * qk, [&](std::int64_t c) {
    const std::int64_t h = c / qk, j = c % qk;
    return h * qk + (j < dn ? j : dn + rope_row(j - dn));
  });
  r.embedding(v);
  for (index_t l = 0; l < v.layers; ++l) {
    const std::string p = RecipeList::layer(l), hf = RecipeList::hf_layer(l);
    r.add(p + "attn_norm", {d}, A::Same, {hf + "input_layernorm.weight"}, {{d}});
    if (rq > 0) {
      r.add(p + "wq_a", {d, rq}, A::Transposed, {hf + "self_attn.q_a_proj.weight"}, {{rq, d}});
      r.add(p + "q_a_norm", {rq}, A::Same, {hf + "self_attn.q_a_layernorm.weight"}, {{rq}});
      r.add(p + "wq", {rq, heads * qk}, A::TransposedRows, {hf + "self_attn.q_b_proj.weight"}, {{heads * qk, rq}}, q_rows);
    } else {
      r.add(p + "wq", {d, heads * qk}, A::TransposedRows, {hf + "self_attn.q_proj.weight"}, {{heads * qk, d}}, q_rows);
    }
    const std::string kv_a = hf + "self_attn.kv_a_proj_with_mqa.weight", kv_b = hf + "self_attn.kv_b_proj.weight";
    r.add(p + "wkv_a", {d, rank}, A::TransposedRows, {kv_a}, {{rank + dr, d}}, rows(rank, [](std::int64_t c) { return c; }));
    r.add(p + "wk_rope", {d, dr}, A::TransposedRows, {kv_a}, {{rank + dr, d}}, rows(dr, [&](std::int64_t c) { return rank + rope_row(c); }));
    r.add(p + "kv_a_norm", {rank}, A::Same, {hf + "self_attn.kv_a_layernorm.weight"}, {{rank}});
    r.add(p + "wk_nope", {rank, heads * dn}, A::TransposedRows, {kv_b}, {{heads * (dn + dv), rank}},
          rows(heads * dn, [&](std::int64_t c) { return c / dn * (dn + dv) + c % dn; }));
    r.add(p + "wv", {rank, heads * dv}, A::TransposedRows, {kv_b}, {{heads * (dn + dv), rank}},
          rows(heads * dv, [&](std::int64_t c) { return c / dv * (dn + dv) + dn + c % dv; }));
    r.add(p + "wo", {heads * dv, d}, A::Transposed, {hf + "self_attn.o_proj.weight"}, {{d, heads * dv}});
    r.feed_forward(v, l, [&](const std::string& moe, const std::string& hf_moe) {
      moe_extras(r, moe, hf_moe, l);
      if (v.shared_experts > 0) r.swiglu(moe + "moe.shared.", hf_moe + "mlp.shared_experts.", d, v.shared_experts * v.expert_hidden);
    });
  }
  r.final_norm_and_head(v);
  return r.take();
}

}  // namespace detail

struct DeepseekV3 {
  static constexpr const char* kModelType = "deepseek_v3";
  static constexpr const char* kArchitecture = "DeepseekV3ForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = common_architecture(r);
    detail::read_latent_attention(r, v);
    v.mtp_layers = r.find("num_nextn_predict_layers") ? r.integer("num_nextn_predict_layers") : r.integer_or("num_mtp_layers", 0);
    r.require(r.string_or("scoring_func", "sigmoid") == "sigmoid", "scoring_func", "must be \"sigmoid\" (DeepSeek-V3's router)");
    r.require(r.string_or("topk_method", "noaux_tc") == "noaux_tc", "topk_method",
              "must be \"noaux_tc\" (group-limited selection by score + e_score_correction_bias)");
    v.score_function = moe::ScoreFunction::Sigmoid;
    v.norm_topk_prob = r.boolean_or("norm_topk_prob", true);
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (!v.latent_attention()) return "it needs latent attention (kKvLoraRank)";
    if (v.moe_layer_step != 1) return "its MoE layers are interleaved with dense ones (kMoeLayerStep); DeepSeek-V3's all follow its dense layers";
    if (v.has_moe_layers() && v.score_function != moe::ScoreFunction::Sigmoid) return "its router scores are Softmax; DeepSeek-V3's are Sigmoid";
    if (v.has_moe_layers() && v.groups > 1 && v.group_score != moe::GroupScore::TopTwoSum)
      return "its expert groups are ranked by their best score (kGroupScore = Max); DeepSeek-V3's by the sum of their top 2";
    return "";
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    detail::write_latent_attention(v, w);
    w.set("num_nextn_predict_layers", index_t{0});  // rlmoe keeps no multi-token-prediction layers
    w.set("scoring_func", "sigmoid");
    w.set("topk_method", "noaux_tc");
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {
    return detail::latent_attention_recipes(v, [&](RecipeList& r, const std::string& moe, const std::string& hf, index_t l) {
      TensorRecipe& bias = r.add(moe + "moe.bias", {v.routed_experts}, TensorRecipe::Arrangement::Same,
                                 {hf + "mlp.gate.e_score_correction_bias"}, {{v.routed_experts}});
      bias.target = TensorRecipe::Target::RoutingBias;
      bias.layer = l;
    });
  }
};

}  // namespace rlmoe::io::hf::families
