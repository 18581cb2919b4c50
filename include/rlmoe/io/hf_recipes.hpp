#pragma once
// How rlmoe's parameters are made of a Hugging Face checkpoint's tensors (TensorRecipe), and the
// pieces Llama-style families share (RecipeList). transformers keeps each projection as [out, in]
// (y = x W^T) where rlmoe keeps [in, out] (y = x W), so projections are transposed; a SwiGLU's
// gate_proj and up_proj [h, d] become the columns of rlmoe's fused [d, 2h] gate_up, per expert for
// the MoE layers ([E, d, 2h]), and down_proj [d, h] becomes [h, d]. Norm weights, the embedding
// and the router [E, d] are the same. A family (io/families/*.hpp) lists its recipes in the order
// of rlmoe's parameter layout; the loader and the exporter (io/hf_checkpoint.hpp) run them either way.
#include <cstdint>
#include <string>
#include <vector>

#include "rlmoe/core/types.hpp"
#include "rlmoe/io/hf_architecture.hpp"

namespace rlmoe::io::hf {

using Shape = std::vector<std::int64_t>;

/// One rlmoe parameter and the checkpoint tensors it is made of.
struct TensorRecipe {
  enum class Arrangement {
    Same,           ///< one tensor, the same shape
    Transposed,     ///< parameter [R, C] from [C, R]
    TransposedRows, ///< parameter [R, C] from some rows of [S, R]: column c from row rows[c]
    GateUp,         ///< parameter [d, 2h] from gate [h, d] and up [h, d]
    ExpertsGateUp,  ///< parameter [E, d, 2h] from gate_0, up_0, gate_1, ... each [h, d]
    ExpertsDown,    ///< parameter [E, h, d] from down_0, down_1, ... each [d, h]
  };
  std::string parameter;
  Shape parameter_shape;
  Arrangement arrangement = Arrangement::Same;
  std::vector<std::string> sources;
  std::vector<Shape> source_shapes;
  std::vector<std::int64_t> rows;  ///< TransposedRows: the source row of each parameter column
  /// What the recipe fills: a parameter of the layout, or the selection bias of MoE layer `layer`.
  enum class Target { Parameter, RoutingBias } target = Target::Parameter;
  index_t layer = 0;

  /// Calls f(parameter element, source k, element of source k) for every element.
  template <class F>
  void for_each_element(F&& f) const {
    const auto& p = parameter_shape;
    switch (arrangement) {
      case Arrangement::Same: {
        std::int64_t n = 1;
        for (std::int64_t e : p) n *= e;
        for (std::int64_t i = 0; i < n; ++i) f(i, 0, i);
        break;
      }
      case Arrangement::Transposed:
        for (std::int64_t r = 0; r < p[0]; ++r)
          for (std::int64_t c = 0; c < p[1]; ++c) f(r * p[1] + c, 0, c * p[0] + r);
        break;
      case Arrangement::TransposedRows:
        for (std::int64_t r = 0; r < p[0]; ++r)
          for (std::int64_t c = 0; c < p[1]; ++c) f(r * p[1] + c, 0, rows[static_cast<std::size_t>(c)] * p[0] + r);
        break;
      case Arrangement::GateUp:
      case Arrangement::ExpertsGateUp: {
        const bool experts = arrangement == Arrangement::ExpertsGateUp;
        const std::int64_t count = experts ? p[0] : 1, d = p[experts ? 1 : 0], h = p[experts ? 2 : 1] / 2;
        for (std::int64_t e = 0; e < count; ++e)
          for (std::int64_t r = 0; r < d; ++r)
            for (std::int64_t c = 0; c < 2 * h; ++c)
              f((e * d + r) * 2 * h + c, static_cast<std::size_t>(2 * e + (c >= h ? 1 : 0)), (c % h) * d + r);
        break;
      }
      case Arrangement::ExpertsDown:
        for (std::int64_t e = 0; e < p[0]; ++e)
          for (std::int64_t r = 0; r < p[1]; ++r)
            for (std::int64_t c = 0; c < p[2]; ++c) f((e * p[1] + r) * p[2] + c, static_cast<std::size_t>(e), c * p[1] + r);
        break;
    }
  }
};

/// What a family calls a MoE layer's tensors: layer.<block><router>, layer.<block>experts.N.<gate>.weight, ...
struct ExpertNames {
  std::string block = "mlp.", router = "gate.weight", gate = "gate_proj", up = "up_proj", down = "down_proj";
};

/// A recipe list being built, with the pieces every family shares (the names transformers gives
/// Llama-style decoders).
class RecipeList {
 public:
  using A = TensorRecipe::Arrangement;

  TensorRecipe& add(std::string parameter, Shape parameter_shape, A arrangement, std::vector<std::string> sources,
                    std::vector<Shape> source_shapes, std::vector<std::int64_t> rows = {}) {
    return out_.emplace_back(TensorRecipe{std::move(parameter), std::move(parameter_shape), arrangement, std::move(sources),
                                          std::move(source_shapes), std::move(rows)});
  }
  /// A SwiGLU of width h: hf's gate_proj, up_proj, down_proj as rlmoe's gate_up [d, 2h] and down [h, d].
  void swiglu(const std::string& p, const std::string& hf, std::int64_t d, std::int64_t h) {
    add(p + "gate_up", {d, 2 * h}, A::GateUp, {hf + "gate_proj.weight", hf + "up_proj.weight"}, {{h, d}, {h, d}});
    add(p + "down", {h, d}, A::Transposed, {hf + "down_proj.weight"}, {{d, h}});
  }
  /// A MoE layer's router [e, d] and its e routed SwiGLUs (hf's mlp.experts.N.*, or as `names` says).
  void routed_experts(const std::string& p, const std::string& hf, std::int64_t d, std::int64_t e, std::int64_t h,
                      const ExpertNames& names = {}) {
    add(p + "moe.router", {e, d}, A::Same, {hf + names.block + names.router}, {{e, d}});
    std::vector<std::string> gate_up, down;
    for (std::int64_t x = 0; x < e; ++x) {
      const std::string expert = hf + names.block + "experts." + std::to_string(x) + ".";
      gate_up.push_back(expert + names.gate + ".weight");
      gate_up.push_back(expert + names.up + ".weight");
      down.push_back(expert + names.down + ".weight");
    }
    add(p + "moe.experts.gate_up", {e, d, 2 * h}, A::ExpertsGateUp, gate_up, std::vector<Shape>(gate_up.size(), Shape{h, d}));
    add(p + "moe.experts.down", {e, h, d}, A::ExpertsDown, down, std::vector<Shape>(down.size(), Shape{d, h}));
  }
  /// The feed-forward half of layer l: its norm, then the MoE layer (`moe_extras` adds what a
  /// family has besides the routed experts) or the dense SwiGLU.
  template <class MoeExtras>
  void feed_forward(const ArchitectureValues& v, index_t l, const MoeExtras& moe_extras, const ExpertNames& names = {}) {
    const std::string p = layer(l), hf = hf_layer(l);
    const std::int64_t d = v.model_dim;
    add(p + "ffn_norm", {d}, A::Same, {hf + "post_attention_layernorm.weight"}, {{d}});
    if (v.is_moe_layer(l)) {
      routed_experts(p, hf, d, v.routed_experts, v.expert_hidden, names);
      moe_extras(p, hf);
    } else {
      swiglu(p + "ffn.", hf + "mlp.", d, v.dense_hidden);
    }
  }
  /// A Llama-style attention: input_layernorm, q/k/v/o_proj (and q/k norms, with qk_norm).
  void attention(const ArchitectureValues& v, index_t l) {
    const std::string p = layer(l), hf = hf_layer(l);
    const std::int64_t d = v.model_dim, q = v.heads * v.head_dim, kv = v.kv_heads * v.head_dim;
    add(p + "attn_norm", {d}, A::Same, {hf + "input_layernorm.weight"}, {{d}});
    add(p + "wq", {d, q}, A::Transposed, {hf + "self_attn.q_proj.weight"}, {{q, d}});
    add(p + "wk", {d, kv}, A::Transposed, {hf + "self_attn.k_proj.weight"}, {{kv, d}});
    add(p + "wv", {d, kv}, A::Transposed, {hf + "self_attn.v_proj.weight"}, {{kv, d}});
    add(p + "wo", {q, d}, A::Transposed, {hf + "self_attn.o_proj.weight"}, {{d, q}});
    if (!v.qk_norm) return;
    add(p + "q_norm", {v.q_norm_width()}, A::Same, {hf + "self_attn.q_norm.weight"}, {{v.q_norm_width()}});
    add(p + "k_norm", {v.k_norm_width()}, A::Same, {hf + "self_attn.k_norm.weight"}, {{v.k_norm_width()}});
  }
  void embedding(const ArchitectureValues& v) { add("embed", {v.vocab, v.model_dim}, A::Same, {"model.embed_tokens.weight"}, {{v.vocab, v.model_dim}}); }
  void final_norm_and_head(const ArchitectureValues& v) {
    const std::int64_t d = v.model_dim;
    add("final_norm", {d}, A::Same, {"model.norm.weight"}, {{d}});
    if (!v.tied_embeddings) add("lm_head", {d, v.vocab}, A::Transposed, {"lm_head.weight"}, {{v.vocab, d}});
  }

  static std::string layer(index_t l) { return "layers." + std::to_string(l) + "."; }
  static std::string hf_layer(index_t l) { return "model.layers." + std::to_string(l) + "."; }
  std::vector<TensorRecipe> take() { return std::move(out_); }

 private:
  std::vector<TensorRecipe> out_;
};

}  // namespace rlmoe::io::hf
