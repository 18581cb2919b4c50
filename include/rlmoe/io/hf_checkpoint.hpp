#pragma once
// Hugging Face checkpoints in and out: a directory with config.json and model.safetensors (or
// shards listed by model.safetensors.index.json), in F32, BF16, F16 or F64, as transformers writes
// them for Qwen3-MoE, Qwen3, OLMoE and DeepSeek-V3.
//
//   load_hf_checkpoint(model, directory)   checks config.json against the Spec (hf_config.hpp),
//                                          then fills every parameter; every missing, unexpected,
//                                          mis-shaped or non-float tensor is named, all at once
//   save_hf_checkpoint(model, directory)   config.json + safetensors (sharded past a size, with
//                                          the index), each file written atomically; transformers
//                                          loads it and computes the same logits
//
// How rlmoe's parameters are made of the checkpoint's tensors (TensorRecipe): transformers keeps
// each projection as [out, in] (y = x W^T) where rlmoe keeps [in, out] (y = x W), so projections
// are transposed; a SwiGLU's gate_proj and up_proj [h, d] become the columns of rlmoe's fused
// [d, 2h] gate_up, per expert for the MoE layers ([E, d, 2h]), and down_proj [d, h] becomes
// [h, d]. Norm weights, the embedding and the router [E, d] are the same. The rotary embedding is
// the same half-split one, so Qwen3's q and k need no permutation.
//
// DeepSeek-V3 (Multi-head Latent Attention, nn/latent_attention.hpp): kv_a_proj_with_mqa
// [r + dr, d] is rlmoe's wkv_a and wk_rope, kv_b_proj [H (dn + dv), r] its wk_nope and wv, each
// parameter taking its rows (TransposedRows). With rope_interleave (DeepSeek's own layout), the
// checkpoint's rotary columns pair (0, 1), (2, 3), ...: they are de-interleaved into rlmoe's
// half-split pairs (i, i + dr/2) on load and interleaved again on save, which leaves every dot
// product, so every logit, unchanged. The router's e_score_correction_bias is the MoE layer's
// selection bias (not a trained parameter; aux-loss-free balancing updates it), kept in F32.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/io/atomic_file.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/safetensors.hpp"
#include "rlmoe/nn/transformer.hpp"

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
  /// A MoE layer's router [e, d] and its e routed SwiGLUs (hf's mlp.experts.N.*).
  void routed_experts(const std::string& p, const std::string& hf, std::int64_t d, std::int64_t e, std::int64_t h) {
    add(p + "moe.router", {e, d}, A::Same, {hf + "mlp.gate.weight"}, {{e, d}});
    std::vector<std::string> gate_up, down;
    for (std::int64_t x = 0; x < e; ++x) {
      const std::string expert = hf + "mlp.experts." + std::to_string(x) + ".";
      gate_up.push_back(expert + "gate_proj.weight");
      gate_up.push_back(expert + "up_proj.weight");
      down.push_back(expert + "down_proj.weight");
    }
    add(p + "moe.experts.gate_up", {e, d, 2 * h}, A::ExpertsGateUp, gate_up, std::vector<Shape>(gate_up.size(), Shape{h, d}));
    add(p + "moe.experts.down", {e, h, d}, A::ExpertsDown, down, std::vector<Shape>(down.size(), Shape{d, h}));
  }
  /// The feed-forward half of layer l: its norm, then the MoE layer (`moe_extras` adds what a
  /// family has besides the routed experts) or the dense SwiGLU.
  template <class MoeExtras>
  void feed_forward(const ArchitectureValues& v, index_t l, const MoeExtras& moe_extras) {
    const std::string p = layer(l), hf = hf_layer(l);
    const std::int64_t d = v.model_dim;
    add(p + "ffn_norm", {d}, A::Same, {hf + "post_attention_layernorm.weight"}, {{d}});
    if (l >= v.first_moe_layer) {
      routed_experts(p, hf, d, v.routed_experts, v.expert_hidden);
      moe_extras(p, hf);
    } else {
      swiglu(p + "ffn.", hf + "mlp.", d, v.dense_hidden);
    }
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

/// The recipes of a Qwen3-MoE, Qwen3 or OLMoE architecture (the same names), in the order of
/// rlmoe's parameter layout.
inline std::vector<TensorRecipe> qwen3_recipes(const ArchitectureValues& v) {
  using A = TensorRecipe::Arrangement;
  RecipeList r;
  const std::int64_t d = v.model_dim, q = v.heads * v.head_dim, kv = v.kv_heads * v.head_dim;
  r.embedding(v);
  for (index_t l = 0; l < v.layers; ++l) {
    const std::string p = RecipeList::layer(l), hf = RecipeList::hf_layer(l);
    r.add(p + "attn_norm", {d}, A::Same, {hf + "input_layernorm.weight"}, {{d}});
    r.add(p + "wq", {d, q}, A::Transposed, {hf + "self_attn.q_proj.weight"}, {{q, d}});
    r.add(p + "wk", {d, kv}, A::Transposed, {hf + "self_attn.k_proj.weight"}, {{kv, d}});
    r.add(p + "wv", {d, kv}, A::Transposed, {hf + "self_attn.v_proj.weight"}, {{kv, d}});
    r.add(p + "wo", {q, d}, A::Transposed, {hf + "self_attn.o_proj.weight"}, {{d, q}});
    r.add(p + "q_norm", {v.q_norm_width()}, A::Same, {hf + "self_attn.q_norm.weight"}, {{v.q_norm_width()}});
    r.add(p + "k_norm", {v.k_norm_width()}, A::Same, {hf + "self_attn.k_norm.weight"}, {{v.k_norm_width()}});
    r.feed_forward(v, l, [](const std::string&, const std::string&) {});
  }
  r.final_norm_and_head(v);
  return r.take();
}

/// The recipes of a DeepSeek-V3 architecture (v.rope_interleave: the checkpoint's rotary layout).
inline std::vector<TensorRecipe> deepseek_v3_recipes(const ArchitectureValues& v) {
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
      TensorRecipe& bias = r.add(moe + "moe.bias", {v.routed_experts}, A::Same, {hf_moe + "mlp.gate.e_score_correction_bias"},
                                 {{v.routed_experts}});
      bias.target = TensorRecipe::Target::RoutingBias;
      bias.layer = l;
      if (v.shared_experts > 0) r.swiglu(moe + "moe.shared.", hf_moe + "mlp.shared_experts.", d, v.shared_experts * v.expert_hidden);
    });
  }
  r.final_norm_and_head(v);
  return r.take();
}

/// The recipes of an architecture, by its family.
inline std::vector<TensorRecipe> hf_recipes(const ArchitectureValues& v) {
  return v.latent_attention() ? deepseek_v3_recipes(v) : qwen3_recipes(v);
}

/// A checkpoint directory's tensors, from model.safetensors or the shards its index names.
class HfCheckpoint {
 public:
  /// Opens config.json and the safetensors of `directory`; errors name the file.
  static HfCheckpoint open(const std::string& directory) {
    namespace fs = std::filesystem;
    HfCheckpoint c;
    c.directory_ = directory;
    c.config_ = read_json_file(directory + "/config.json");
    const std::string single = directory + "/model.safetensors", index = directory + "/model.safetensors.index.json";
    if (fs::exists(index)) {
      const Json map = read_json_file(index);
      const Json& weights = map.at("weight_map", index);
      for (const auto& [name, file] : weights.object(index + ": weight_map")) {
        const std::string& shard = file.string(index + ": weight_map[\"" + name + "\"]");
        RLMOE_CHECK(shard.find('/') == std::string::npos && shard != ".." && !shard.empty(), FormatError, index,
                    ": weight_map[\"", name, "\"] names \"", shard, "\", which is not a file in the directory");
        c.location_[name] = c.shard(directory + "/" + shard);
      }
      for (const auto& [name, where] : c.location_) {
        RLMOE_CHECK(c.shards_[where].file.contains(name), FormatError, index, " places \"", name, "\" in ", c.shards_[where].path, ", which has no such tensor");
      }
      for (const Shard& s : c.shards_)
        for (const TensorInfo& t : s.file.tensors())
          RLMOE_CHECK(c.location_.contains(t.name), FormatError, s.path, " holds \"", t.name, "\", which ", index, " does not list");
    } else {
      RLMOE_CHECK(fs::exists(single), IoError, "'", directory, "' has neither model.safetensors nor model.safetensors.index.json");
      const std::size_t s = c.shard(single);
      for (const TensorInfo& t : c.shards_[s].file.tensors()) c.location_[t.name] = s;
    }
    return c;
  }

  [[nodiscard]] const Json& config() const { return config_; }
  [[nodiscard]] std::string config_path() const { return directory_ + "/config.json"; }
  [[nodiscard]] bool contains(const std::string& name) const { return location_.contains(name); }
  [[nodiscard]] const TensorInfo& info(const std::string& name) const { return file(name).tensor(name); }
  [[nodiscard]] std::vector<double> read(const std::string& name, const Shape& shape) const { return file(name).read_as_double(name, shape); }
  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, where] : location_) out.push_back(name);
    return out;
  }
  [[nodiscard]] const std::string& directory() const { return directory_; }

 private:
  struct Shard {
    std::string path;
    SafetensorsFile file;
  };

  std::size_t shard(const std::string& path) {
    for (std::size_t i = 0; i < shards_.size(); ++i)
      if (shards_[i].path == path) return i;
    shards_.push_back({path, SafetensorsFile::read(path)});
    return shards_.size() - 1;
  }
  const SafetensorsFile& file(const std::string& name) const {
    const auto it = location_.find(name);
    RLMOE_CHECK(it != location_.end(), FormatError, "'", directory_, "' has no tensor \"", name, "\"");
    return shards_[it->second].file;
  }

  std::string directory_;
  Json config_;
  std::vector<Shard> shards_;
  std::map<std::string, std::size_t> location_;  // tensor -> shard
};

namespace detail {

inline bool is_floating(Dtype d) { return d == Dtype::F32 || d == Dtype::F64 || d == Dtype::BF16 || d == Dtype::F16; }

/// Whether a tensor belongs to one of the checkpoint's multi-token-prediction layers
/// (model.layers.L .. L + mtp_layers - 1, after the L decoder layers), which rlmoe skips.
inline bool is_mtp_tensor(const std::string& name, const ArchitectureValues& v) {
  const std::string prefix = "model.layers.";
  if (v.mtp_layers == 0 || !name.starts_with(prefix)) return false;
  index_t layer = 0;
  const char* first = name.data() + prefix.size();
  const auto [end, error] = std::from_chars(first, name.data() + name.size(), layer);
  return error == std::errc() && end != first && *end == '.' && layer >= v.layers && layer < v.layers + v.mtp_layers;
}

/// Every problem of the checkpoint against the recipes: missing, mis-shaped, non-float and
/// unexpected tensors; thrown together, so that one run shows what to fix.
inline void check_tensors(const HfCheckpoint& checkpoint, const std::vector<TensorRecipe>& recipes, const ArchitectureValues& v) {
  std::vector<std::string> problems;
  std::unordered_set<std::string> used;
  for (const TensorRecipe& r : recipes)
    for (std::size_t k = 0; k < r.sources.size(); ++k) {
      const std::string& name = r.sources[k];
      if (!used.insert(name).second) continue;  // a tensor split into several parameters
      if (!checkpoint.contains(name)) {
        problems.push_back(rlmoe::detail::message("missing \"", name, "\" ", SafetensorsFile::shape_string(r.source_shapes[k]),
                                                  " (for rlmoe's ", r.parameter, ")"));
        continue;
      }
      const TensorInfo& t = checkpoint.info(name);
      if (t.shape != r.source_shapes[k])
        problems.push_back(rlmoe::detail::message("\"", name, "\" has shape ", SafetensorsFile::shape_string(t.shape), " but ",
                                                  SafetensorsFile::shape_string(r.source_shapes[k]), " is expected"));
      if (!is_floating(t.dtype))
        problems.push_back(rlmoe::detail::message("\"", name, "\" has dtype ", dtype_name(t.dtype), "; weights must be F32, BF16, F16 or F64"));
    }
  for (const std::string& name : checkpoint.names())
    if (!used.contains(name) && !(v.tied_embeddings && name == "lm_head.weight") && !is_mtp_tensor(name, v))
      problems.push_back(rlmoe::detail::message("unexpected \"", name, "\": rlmoe's architecture has no such tensor"));
  if (problems.empty()) return;
  std::string message = rlmoe::detail::message("'", checkpoint.directory(), "' does not hold the compiled Spec's weights (",
                                               problems.size(), " problem", problems.size() == 1 ? "" : "s", "):");
  const std::size_t shown = std::min<std::size_t>(problems.size(), 30);
  for (std::size_t i = 0; i < shown; ++i) message += "\n  " + problems[i];
  if (shown < problems.size()) message += rlmoe::detail::message("\n  ... and ", problems.size() - shown, " more");
  throw FormatError(message);
}

/// The checkpoint layout a recipe list is made for: the Spec's values with the checkpoint's own
/// rotary layout and multi-token-prediction layers.
inline ArchitectureValues checkpoint_layout(ArchitectureValues spec, const ArchitectureValues& config) {
  spec.rope_interleave = config.rope_interleave;
  spec.mtp_layers = config.mtp_layers;
  return spec;
}

}  // namespace detail

/// Fills `model` from a Hugging Face checkpoint directory; see the file comment. The MoE layers'
/// selection biases come from DeepSeek-V3's e_score_correction_bias, or are zeroed (Qwen3's
/// routers have none).
template <Backend B, class Spec, class T>
void load_hf_checkpoint(nn::Transformer<B, Spec, T>& model, const std::string& directory) {
  using G = master_t<T>;
  using Checked = typename nn::Transformer<B, Spec, T>::Spec;
  RLMOE_CHECK(model.expert_parallel().size() == 1, ConfigError, "load_hf_checkpoint: '", directory, "': the model's experts are split over ",
              model.expert_parallel().name(), "; load it into a model without expert parallelism and start the expert-parallel run "
              "from an rlmoe checkpoint of it (io/checkpoint.hpp holds the whole model)");
  const HfCheckpoint checkpoint = HfCheckpoint::open(directory);
  check_config<Checked>(checkpoint.config(), checkpoint.config_path());
  const ArchitectureValues v =
      detail::checkpoint_layout(architecture_of<Checked>(), architecture_of(checkpoint.config(), checkpoint.config_path()));
  const std::vector<TensorRecipe> recipes = hf_recipes(v);
  detail::check_tensors(checkpoint, recipes, v);
  const B& backend = model.backend();
  for (auto& layer : model.moe_layers()) fill(backend, layer.bias(), 0.0f);
  const VectorView<G> parameters = model.parameters();
  for (const TensorRecipe& r : recipes) {
    std::vector<std::vector<double>> sources;
    for (std::size_t k = 0; k < r.sources.size(); ++k) sources.push_back(checkpoint.read(r.sources[k], r.source_shapes[k]));
    if (r.target == TensorRecipe::Target::RoutingBias) {
      const std::vector<float> bias(sources[0].begin(), sources[0].end());
      copy(backend, model.moe_layer(r.layer).bias(), VectorView<const float>(bias.data(), Extents<1>{static_cast<index_t>(bias.size())}));
      continue;
    }
    const auto& entry = model.layout().find(r.parameter);
    std::vector<G> values(static_cast<std::size_t>(entry.size));
    r.for_each_element([&](std::int64_t i, std::size_t k, std::int64_t j) {
      values[static_cast<std::size_t>(i)] = static_cast<G>(sources[k][static_cast<std::size_t>(j)]);
    });
    copy(backend, parameters.slice(entry.offset, entry.offset + entry.size), VectorView<const G>(values.data(), Extents<1>{entry.size}));
  }
  if (v.tied_embeddings && checkpoint.contains("lm_head.weight")) {
    const Shape shape{v.vocab, v.model_dim};
    RLMOE_CHECK(checkpoint.read("lm_head.weight", shape) == checkpoint.read("model.embed_tokens.weight", shape), FormatError, "'",
                directory, "': lm_head.weight differs from model.embed_tokens.weight but tie_word_embeddings is true");
  }
  synchronize(backend);
}

struct SaveOptions {
  Dtype dtype = Dtype::F32;                           ///< F32 or BF16
  std::int64_t max_shard_bytes = 5'000'000'000;       ///< larger models go to several files and an index
  Json base_config = Json(Json::Object{});            ///< fields kept in config.json (token ids, ...)
};

namespace detail {

/// Recipes written together: a run of consecutive recipes that share source tensors (DeepSeek's
/// kv_a_proj_with_mqa holds wkv_a and wk_rope), with their distinct sources in order.
struct ExportUnit {
  std::size_t first = 0, last = 0;  ///< recipes [first, last)
  std::vector<std::string> sources;
  std::vector<Shape> shapes;
  std::vector<Dtype> dtypes;
  std::int64_t bytes = 0;
};

inline std::vector<ExportUnit> export_units(const std::vector<TensorRecipe>& recipes, Dtype dtype) {
  std::vector<ExportUnit> units;
  for (std::size_t i = 0; i < recipes.size(); ++i) {
    const TensorRecipe& r = recipes[i];
    const bool shares = !units.empty() && std::any_of(r.sources.begin(), r.sources.end(), [&](const std::string& name) {
      return std::find(units.back().sources.begin(), units.back().sources.end(), name) != units.back().sources.end();
    });
    if (!shares) units.push_back({i, i, {}, {}, {}, 0});
    ExportUnit& unit = units.back();
    unit.last = i + 1;
    for (std::size_t k = 0; k < r.sources.size(); ++k) {
      if (std::find(unit.sources.begin(), unit.sources.end(), r.sources[k]) != unit.sources.end()) continue;
      // Routing biases stay F32, as transformers keeps e_score_correction_bias.
      const Dtype d = r.target == TensorRecipe::Target::RoutingBias ? Dtype::F32 : dtype;
      std::int64_t n = static_cast<std::int64_t>(dtype_size(d));
      for (std::int64_t e : r.source_shapes[k]) n *= e;
      unit.sources.push_back(r.sources[k]);
      unit.shapes.push_back(r.source_shapes[k]);
      unit.dtypes.push_back(d);
      unit.bytes += n;
    }
  }
  return units;
}

}  // namespace detail

/// Writes `model` as a Hugging Face checkpoint into `directory` (created if needed); see the file
/// comment. A Qwen3 model whose routing uses selection biases (trained with aux-loss-free
/// balancing) is refused: Qwen3's routers have none, so transformers would route differently.
/// DeepSeek-V3 keeps them (e_score_correction_bias).
template <Backend B, class Spec, class T>
void save_hf_checkpoint(const nn::Transformer<B, Spec, T>& model, const std::string& directory, const SaveOptions& options = {}) {
  using Model = nn::Transformer<B, Spec, T>;
  RLMOE_CHECK(model.expert_parallel().size() == 1, ConfigError, "save_hf_checkpoint: '", directory, "': the model's experts are split over ",
              model.expert_parallel().name(), "; resume its rlmoe checkpoint (the whole model) without expert parallelism and export that");
  RLMOE_CHECK(options.dtype == Dtype::F32 || options.dtype == Dtype::BF16, ConfigError, "save_hf_checkpoint: dtype ",
              dtype_name(options.dtype), " is not one of F32 and BF16");
  RLMOE_CHECK(options.max_shard_bytes > 0, ConfigError, "save_hf_checkpoint: max_shard_bytes must be > 0");
  const B& backend = model.backend();
  const Json config = config_json<typename Model::Spec>(options.base_config);
  const ArchitectureValues v = detail::checkpoint_layout(architecture_of<typename Model::Spec>(), architecture_of(config, "config_json"));
  if (!v.latent_attention())
    for (std::size_t l = 0; l < model.moe_layers().size(); ++l) {
      const auto bias = to_host(backend, model.moe_layers()[l].bias());
      RLMOE_CHECK(std::all_of(bias.begin(), bias.end(), [](float b) { return b == 0.0f; }), ConfigError,
                  "save_hf_checkpoint: MoE layer ", l, " has nonzero selection biases (aux-loss-free balancing), which the "
                  "Qwen3 and OLMoE formats cannot hold; train with moe::Balancing::None or SwitchAux");
    }
  const std::vector<TensorRecipe> recipes = hf_recipes(v);
  const std::vector<detail::ExportUnit> units = detail::export_units(recipes, options.dtype);
  std::filesystem::create_directories(directory);

  // Plan the shards: units in recipe order, a new file when the next would pass the limit.
  std::vector<std::int64_t> shard_of_unit;
  std::vector<std::int64_t> shard_bytes{0};
  for (const detail::ExportUnit& u : units) {
    if (shard_bytes.back() > 0 && shard_bytes.back() + u.bytes > options.max_shard_bytes) shard_bytes.push_back(0);
    shard_bytes.back() += u.bytes;
    shard_of_unit.push_back(static_cast<std::int64_t>(shard_bytes.size()) - 1);
  }
  const std::size_t shards = shard_bytes.size();
  const auto shard_name = [&](std::size_t s) {
    if (shards == 1) return std::string("model.safetensors");
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards);
    return std::string(name);
  };
  // A recipe's values: its parameter's, or its MoE layer's selection bias.
  const auto values_of = [&](const TensorRecipe& r) {
    if (r.target == TensorRecipe::Target::RoutingBias) {
      const auto bias = to_host(backend, model.moe_layers()[static_cast<std::size_t>(r.layer - Model::Spec::kFirstMoeLayer)].bias());
      return std::vector<double>(bias.begin(), bias.end());
    }
    const auto& entry = model.layout().find(r.parameter);
    const auto values = to_host(backend, model.parameters().slice(entry.offset, entry.offset + entry.size));
    return std::vector<double>(values.begin(), values.end());
  };

  Json::Object weight_map;
  std::int64_t total = 0;
  std::size_t next = 0;
  for (std::size_t s = 0; s < shards; ++s) {
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (; next < units.size() && shard_of_unit[next] == static_cast<std::int64_t>(s); ++next) {
      const detail::ExportUnit& u = units[next];
      std::vector<std::vector<double>> sources(u.sources.size());
      for (std::size_t k = 0; k < u.sources.size(); ++k) {
        std::int64_t n = 1;
        for (std::int64_t e : u.shapes[k]) n *= e;
        sources[k].resize(static_cast<std::size_t>(n));
      }
      for (std::size_t i = u.first; i < u.last; ++i) {
        const TensorRecipe& r = recipes[i];
        std::vector<std::size_t> slot(r.sources.size());  // the recipe's source k in the unit's list
        for (std::size_t k = 0; k < r.sources.size(); ++k)
          slot[k] = static_cast<std::size_t>(std::find(u.sources.begin(), u.sources.end(), r.sources[k]) - u.sources.begin());
        const std::vector<double> values = values_of(r);
        r.for_each_element([&](std::int64_t e, std::size_t k, std::int64_t j) {
          sources[slot[k]][static_cast<std::size_t>(j)] = values[static_cast<std::size_t>(e)];
        });
      }
      for (std::size_t k = 0; k < u.sources.size(); ++k) {
        if (u.dtypes[k] == Dtype::BF16) {
          const std::vector<bfloat16> b(sources[k].begin(), sources[k].end());
          writer.add(u.sources[k], u.shapes[k], std::span<const bfloat16>(b));
        } else {
          const std::vector<float> f(sources[k].begin(), sources[k].end());
          writer.add(u.sources[k], u.shapes[k], std::span<const float>(f));
        }
        weight_map.emplace_back(u.sources[k], shard_name(s));
        total += static_cast<std::int64_t>(sources[k].size() * dtype_size(u.dtypes[k]));
      }
    }
    writer.write(directory + "/" + shard_name(s));
  }
  if (shards > 1) {
    const Json index(Json::Object{{"metadata", Json::Object{{"total_size", total}}}, {"weight_map", std::move(weight_map)}});
    write_text_atomically(directory + "/model.safetensors.index.json", index.dump(), "save_hf_checkpoint");
  } else {
    std::filesystem::remove(directory + "/model.safetensors.index.json");  // a stale one would name other files
  }
  write_text_atomically(directory + "/config.json", config.dump(), "save_hf_checkpoint");
}

}  // namespace rlmoe::io::hf
