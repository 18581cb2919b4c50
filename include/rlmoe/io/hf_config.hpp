#pragma once
// Hugging Face config.json against a compiled Spec. A model from the Hub comes with a config.json;
// rlmoe's architecture is a compile-time Spec, so the two must agree before any weight is read:
//   check_config<Spec>(config, path)   throws ConfigError naming every field that differs (the
//                                      config's value and the Spec's), or that rlmoe cannot run
//   spec_source(config, path, "Name")  the Spec struct, as C++, that a config.json describes
//   config_json<Spec>(model_type)      a config.json for a Spec (what an exported model carries)
//
// The families rlmoe reads, by config.json's "model_type":
//   qwen3_moe  Qwen3-MoE: grouped-query attention with per-head q/k norm, softmax router, top-k
//              (renormalised when norm_topk_prob), no shared expert, dense layers only first
//              (mlp_only_layers = [0, k), decoder_sparse_step = 1)
//   qwen3      Qwen3 dense: the same attention, every layer a SwiGLU
//   olmoe      OLMoE: as qwen3_moe, but the q/k norms span all of q and all of k (not each head),
//              every layer MoE, experts as wide as intermediate_size; clip_qkv is refused
//   deepseek_v3  DeepSeek-V3/R1: Multi-head Latent Attention (q_lora_rank may be null), sigmoid
//              router with e_score_correction_bias, group-limited top-k, routed scaling, shared
//              experts, the first first_k_dense_replace layers dense; rotary pairs interleaved or not
//              (rope_interleave: the loader permutes). YaRN rope scaling (DeepSeek-V3's 128k context)
//              is refused; the multi-token-prediction layers (num_nextn_predict_layers) are skipped.
// Others are refused naming the model_type.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/moe/config.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::io::hf {

/// The architecture a config.json or a Spec describes, as values: a Spec's members.
struct ArchitectureValues {
  index_t vocab = 0, model_dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, max_length = 0;
  index_t dense_hidden = 0, first_moe_layer = 0;
  index_t routed_experts = 0, top_k = 0, expert_hidden = 0, shared_experts = 0, groups = 1, topk_groups = 1;
  moe::ScoreFunction score_function = moe::ScoreFunction::Softmax;
  float routed_scaling = 1.0f, rope_base = 10000.0f, norm_epsilon = 1e-6f;
  bool tied_embeddings = false, qk_norm = false, norm_topk_prob = true;
  bool qk_norm_full_width = false;  ///< OLMoE's q/k norm over the whole of q and of k
  // Multi-head Latent Attention (kv_lora_rank 0: none); head_dim is then qk_nope + qk_rope.
  index_t kv_lora_rank = 0, q_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  // Of the checkpoint only, not the Spec: how its rotary pairs are laid out, and its trailing
  // multi-token-prediction layers (which rlmoe does not load).
  bool rope_interleave = false;
  index_t mtp_layers = 0;

  [[nodiscard]] bool latent_attention() const { return kv_lora_rank > 0; }
  /// The widths of the q and k norms' weights.
  [[nodiscard]] index_t q_norm_width() const { return qk_norm_full_width ? heads * head_dim : head_dim; }
  [[nodiscard]] index_t k_norm_width() const { return qk_norm_full_width ? kv_heads * head_dim : head_dim; }
  [[nodiscard]] bool has_dense_layers() const { return first_moe_layer > 0; }
  [[nodiscard]] bool has_moe_layers() const { return first_moe_layer < layers; }
};

/// A compiled Spec's values.
template <class Spec>
ArchitectureValues architecture_of() {
  ArchitectureValues v;
  v.vocab = Spec::kVocab;
  v.model_dim = Spec::kModelDim;
  v.layers = Spec::kLayers;
  v.heads = Spec::kHeads;
  v.kv_heads = nn::kv_heads_v<Spec>;
  v.head_dim = nn::head_dim_v<Spec>;
  v.max_length = Spec::kMaxLength;
  v.dense_hidden = Spec::kDenseHidden;
  v.first_moe_layer = Spec::kFirstMoeLayer;
  v.routed_experts = Spec::kRoutedExperts;
  v.top_k = Spec::kTopK;
  v.expert_hidden = Spec::kExpertHidden;
  v.shared_experts = Spec::kSharedExperts;
  v.groups = Spec::kGroups;
  v.topk_groups = Spec::kTopkGroups;
  v.score_function = Spec::kScoreFunction;
  v.routed_scaling = Spec::kRoutedScaling;
  v.rope_base = Spec::kRopeBase;
  v.norm_epsilon = Spec::kNormEpsilon;
  v.tied_embeddings = Spec::kTiedEmbeddings;
  v.qk_norm = nn::qk_norm_v<Spec>;
  v.norm_topk_prob = nn::norm_topk_prob_v<Spec>;
  v.qk_norm_full_width = nn::qk_norm_full_width_v<Spec>;
  if constexpr (nn::latent_attention_v<Spec>) {
    v.kv_lora_rank = nn::kv_lora_rank_v<Spec>;
    v.q_lora_rank = nn::q_lora_rank_v<Spec>;
    v.qk_rope_head_dim = nn::rope_dim_v<Spec>;
    v.qk_nope_head_dim = nn::head_dim_v<Spec> - v.qk_rope_head_dim;
    v.v_head_dim = nn::value_head_dim_v<Spec>;
  }
  return v;
}

namespace detail {

/// Reads a config.json's fields, naming the file and the field in every error.
struct ConfigReader {
  const Json& config;
  std::string path;

  [[nodiscard]] const Json* find(std::string_view key) const {
    const Json* value = config.find(key);
    return value == nullptr || value->is_null() ? nullptr : value;
  }
  [[nodiscard]] index_t integer(std::string_view key) const {
    const Json* value = find(key);
    RLMOE_CHECK(value != nullptr, ConfigError, path, ": \"", key, "\" is missing");
    const std::int64_t v = value->integer(rlmoe::detail::message(path, ": \"", key, "\""));
    RLMOE_CHECK(v >= 0, ConfigError, path, ": \"", key, "\" is ", v, " but must be >= 0");
    return static_cast<index_t>(v);
  }
  [[nodiscard]] index_t integer_or(std::string_view key, index_t fallback) const { return find(key) ? integer(key) : fallback; }
  [[nodiscard]] double number_or(std::string_view key, double fallback) const {
    const Json* value = find(key);
    return value ? value->number(rlmoe::detail::message(path, ": \"", key, "\"")) : fallback;
  }
  [[nodiscard]] bool boolean_or(std::string_view key, bool fallback) const {
    const Json* value = find(key);
    return value ? value->boolean(rlmoe::detail::message(path, ": \"", key, "\"")) : fallback;
  }
  [[nodiscard]] std::string string_or(std::string_view key, std::string fallback) const {
    const Json* value = find(key);
    return value ? value->string(rlmoe::detail::message(path, ": \"", key, "\"")) : fallback;
  }
  /// A field that must have one value for rlmoe to run the model.
  void require(bool holds, std::string_view key, std::string_view what) const {
    RLMOE_CHECK(holds, ConfigError, path, ": \"", key, "\" ", what);
  }
};

/// rope_theta, from transformers 5's "rope_parameters" or the older top-level field; rope
/// scaling (YaRN, linear, ...) is refused.
inline float rope_base(const ConfigReader& r, double fallback) {
  double theta = r.number_or("rope_theta", fallback);
  std::string type = "default";
  if (const Json* parameters = r.find("rope_parameters")) {
    if (const Json* t = parameters->find("rope_theta"); t != nullptr && !t->is_null()) theta = t->number(r.path + ": rope_parameters.rope_theta");
    if (const Json* t = parameters->find("rope_type"); t != nullptr && !t->is_null()) type = t->string(r.path + ": rope_parameters.rope_type");
  }
  if (const Json* scaling = r.find("rope_scaling")) {
    const Json* t = scaling->find("rope_type");
    if (t == nullptr) t = scaling->find("type");
    if (t != nullptr && !t->is_null()) type = t->string(r.path + ": rope_scaling.rope_type");
  }
  r.require(type == "default", "rope_type", rlmoe::detail::message("is \"", type, "\"; rlmoe implements unscaled rotary embeddings (\"default\")"));
  return static_cast<float>(theta);
}

/// The fields every family shares: sizes, norms, rotary base, the checks of what rlmoe lacks.
inline ArchitectureValues common_architecture(const ConfigReader& r) {
  ArchitectureValues v;
  v.vocab = r.integer("vocab_size");
  v.model_dim = r.integer("hidden_size");
  v.layers = r.integer("num_hidden_layers");
  v.heads = r.integer("num_attention_heads");
  r.require(v.heads >= 1, "num_attention_heads", "must be >= 1");
  v.kv_heads = r.integer_or("num_key_value_heads", v.heads);
  v.max_length = r.integer("max_position_embeddings");
  v.norm_epsilon = static_cast<float>(r.number_or("rms_norm_eps", 1e-6));
  v.rope_base = rope_base(r, 10000.0);
  v.tied_embeddings = r.boolean_or("tie_word_embeddings", false);
  r.require(r.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
  r.require(!r.boolean_or("attention_bias", false), "attention_bias", "is true; rlmoe's projections have no biases");
  v.dense_hidden = r.integer_or("intermediate_size", 0);
  return v;
}

/// OLMoE's config.json: q/k norms over whole rows, every layer MoE with experts of intermediate_size.
inline ArchitectureValues olmoe_architecture(const ConfigReader& r) {
  ArchitectureValues v = common_architecture(r);
  v.head_dim = v.model_dim / v.heads;
  r.require(r.integer_or("head_dim", v.head_dim) == v.head_dim && v.head_dim * v.heads == v.model_dim, "head_dim",
            "must be hidden_size / num_attention_heads: OLMoE's q norm spans hidden_size values");
  r.require(r.find("clip_qkv") == nullptr, "clip_qkv", "is set; rlmoe does not clamp q, k and v");
  v.qk_norm = v.qk_norm_full_width = true;
  v.score_function = moe::ScoreFunction::Softmax;
  v.routed_experts = r.find("num_experts") ? r.integer("num_experts") : r.integer("num_local_experts");
  v.top_k = r.integer("num_experts_per_tok");
  v.expert_hidden = v.dense_hidden;  // OLMoE's experts are intermediate_size wide; it has no dense layer
  v.dense_hidden = 0;
  v.first_moe_layer = 0;
  v.norm_topk_prob = r.boolean_or("norm_topk_prob", false);
  return v;
}

/// DeepSeek-V3's config.json (transformers' DeepseekV3Config names).
inline ArchitectureValues deepseek_v3_architecture(const ConfigReader& r) {
  ArchitectureValues v = common_architecture(r);
  r.require(v.kv_heads == v.heads, "num_key_value_heads", "must equal num_attention_heads: latent attention has a key per head");
  v.kv_lora_rank = r.integer("kv_lora_rank");
  r.require(v.kv_lora_rank >= 1, "kv_lora_rank", "must be >= 1");
  v.q_lora_rank = r.integer_or("q_lora_rank", 0);  // null: q projected directly
  v.qk_nope_head_dim = r.integer("qk_nope_head_dim");
  v.qk_rope_head_dim = r.integer("qk_rope_head_dim");
  r.require(v.qk_rope_head_dim >= 2 && v.qk_rope_head_dim % 2 == 0, "qk_rope_head_dim", "must be even and >= 2");
  v.v_head_dim = r.integer("v_head_dim");
  v.head_dim = v.qk_nope_head_dim + v.qk_rope_head_dim;
  v.rope_interleave = r.boolean_or("rope_interleave", true);
  v.mtp_layers = r.find("num_nextn_predict_layers") ? r.integer("num_nextn_predict_layers") : r.integer_or("num_mtp_layers", 0);
  v.first_moe_layer = std::min(r.integer_or("first_k_dense_replace", 0), v.layers);
  r.require(r.integer_or("moe_layer_freq", 1) == 1, "moe_layer_freq", "must be 1: every layer after the dense ones is MoE");
  r.require(r.string_or("scoring_func", "sigmoid") == "sigmoid", "scoring_func", "must be \"sigmoid\" (DeepSeek-V3's router)");
  r.require(r.string_or("topk_method", "noaux_tc") == "noaux_tc", "topk_method",
            "must be \"noaux_tc\" (group-limited selection by score + e_score_correction_bias)");
  v.score_function = moe::ScoreFunction::Sigmoid;
  v.routed_experts = r.find("n_routed_experts") ? r.integer("n_routed_experts") : r.integer("num_local_experts");
  v.top_k = r.integer("num_experts_per_tok");
  v.expert_hidden = r.integer("moe_intermediate_size");
  v.shared_experts = r.integer_or("n_shared_experts", 0);
  v.groups = r.integer_or("n_group", 1);
  v.topk_groups = r.integer_or("topk_group", 1);
  v.routed_scaling = static_cast<float>(r.number_or("routed_scaling_factor", 1.0));
  v.norm_topk_prob = r.boolean_or("norm_topk_prob", true);
  return v;
}

}  // namespace detail

/// The architecture a config.json describes; throws ConfigError naming the file and each field
/// that rlmoe cannot run (an unknown model_type, biases in attention, sliding windows, ...).
inline ArchitectureValues architecture_of(const Json& config, const std::string& path) {
  RLMOE_CHECK(config.is_object(), ConfigError, path, ": the document must be an object");
  const detail::ConfigReader r{config, path};
  const std::string model_type = r.string_or("model_type", "");
  RLMOE_CHECK(model_type == "qwen3_moe" || model_type == "qwen3" || model_type == "deepseek_v3" || model_type == "olmoe",
              ConfigError, path, ": model_type is \"", model_type, "\"; rlmoe reads qwen3_moe, qwen3, olmoe and deepseek_v3");
  if (model_type == "deepseek_v3") return detail::deepseek_v3_architecture(r);
  if (model_type == "olmoe") return detail::olmoe_architecture(r);
  ArchitectureValues v = detail::common_architecture(r);
  v.head_dim = r.integer_or("head_dim", v.model_dim / v.heads);
  v.qk_norm = true;
  r.require(!r.boolean_or("use_sliding_window", false), "use_sliding_window", "is true; rlmoe attends to the whole sequence");
  v.score_function = moe::ScoreFunction::Softmax;
  if (model_type == "qwen3") {
    v.first_moe_layer = v.layers;
    v.routed_experts = v.top_k = v.expert_hidden = 1;  // what a Spec without MoE layers declares
    return v;
  }
  v.routed_experts = r.find("num_experts") ? r.integer("num_experts") : r.integer("num_local_experts");  // transformers 5's name
  v.top_k = r.integer("num_experts_per_tok");
  v.expert_hidden = r.integer("moe_intermediate_size");
  v.norm_topk_prob = r.boolean_or("norm_topk_prob", false);
  r.require(r.integer_or("decoder_sparse_step", 1) == 1, "decoder_sparse_step",
            "must be 1: rlmoe's dense layers come first (mlp_only_layers = [0, k))");
  if (const Json* dense = r.find("mlp_only_layers")) {
    const auto& layers = dense->array(path + ": \"mlp_only_layers\"");
    for (std::size_t i = 0; i < layers.size(); ++i)
      r.require(layers[i].integer(path + ": \"mlp_only_layers\"") == static_cast<std::int64_t>(i), "mlp_only_layers",
                "must be [0, 1, ..., k - 1]: rlmoe's dense layers come first");
    v.first_moe_layer = static_cast<index_t>(layers.size());
  }
  return v;
}

/// Each field in which the config's architecture and the Spec's differ, as "field: config.json
/// has X, the Spec has Y" (the Spec's kMaxLength may be shorter than max_position_embeddings).
inline std::vector<std::string> differences(const ArchitectureValues& config, const ArchitectureValues& spec) {
  std::vector<std::string> out;
  const auto differ = [&](std::string_view field, std::string_view member, const auto& a, const auto& b) {
    if (a != b) out.push_back(rlmoe::detail::message(field, ": config.json has ", a, ", the Spec has ", member, " = ", b));
  };
  differ("vocab_size", "kVocab", config.vocab, spec.vocab);
  differ("hidden_size", "kModelDim", config.model_dim, spec.model_dim);
  differ("num_hidden_layers", "kLayers", config.layers, spec.layers);
  differ("num_attention_heads", "kHeads", config.heads, spec.heads);
  differ("num_key_value_heads", "kKvHeads", config.kv_heads, spec.kv_heads);
  if (config.latent_attention() || spec.latent_attention()) {
    differ("kv_lora_rank", "kKvLoraRank", config.kv_lora_rank, spec.kv_lora_rank);
    differ("q_lora_rank", "kQLoraRank", config.q_lora_rank, spec.q_lora_rank);
    differ("qk_nope_head_dim", "kQkNopeHeadDim", config.qk_nope_head_dim, spec.qk_nope_head_dim);
    differ("qk_rope_head_dim", "kQkRopeHeadDim", config.qk_rope_head_dim, spec.qk_rope_head_dim);
    differ("v_head_dim", "kVHeadDim", config.v_head_dim, spec.v_head_dim);
  } else {
    differ("head_dim", "kHeadDim", config.head_dim, spec.head_dim);
  }
  if (spec.max_length > config.max_length)
    out.push_back(rlmoe::detail::message("max_position_embeddings: config.json has ", config.max_length,
                                         ", below the Spec's kMaxLength = ", spec.max_length));
  differ("rms_norm_eps", "kNormEpsilon", config.norm_epsilon, spec.norm_epsilon);
  differ("rope_theta", "kRopeBase", config.rope_base, spec.rope_base);
  differ("tie_word_embeddings", "kTiedEmbeddings", config.tied_embeddings, spec.tied_embeddings);
  differ("(q/k norm)", "kQkNorm", config.qk_norm, spec.qk_norm);
  differ("(q/k norm over whole rows: olmoe)", "kQkNormFullWidth", config.qk_norm_full_width, spec.qk_norm_full_width);
  const bool deepseek = config.latent_attention();  // DeepSeek's names for the same fields
  differ(deepseek ? "first_k_dense_replace" : "mlp_only_layers (dense layers first)", "kFirstMoeLayer", config.first_moe_layer,
         spec.first_moe_layer);
  if (config.has_dense_layers() || spec.has_dense_layers()) differ("intermediate_size", "kDenseHidden", config.dense_hidden, spec.dense_hidden);
  if (config.has_moe_layers() || spec.has_moe_layers()) {
    differ(deepseek ? "n_routed_experts" : "num_experts", "kRoutedExperts", config.routed_experts, spec.routed_experts);
    differ("num_experts_per_tok", "kTopK", config.top_k, spec.top_k);
    differ("moe_intermediate_size", "kExpertHidden", config.expert_hidden, spec.expert_hidden);
    differ(deepseek ? "n_shared_experts" : "(shared experts)", "kSharedExperts", config.shared_experts, spec.shared_experts);
    differ(deepseek ? "n_group" : "(expert groups)", "kGroups", config.groups, spec.groups);
    differ(deepseek ? "topk_group" : "(top-k groups)", "kTopkGroups", config.topk_groups, spec.topk_groups);
    differ(deepseek ? "scoring_func (sigmoid)" : "(router scores: softmax)", "kScoreFunction is Softmax",
           config.score_function == moe::ScoreFunction::Softmax, spec.score_function == moe::ScoreFunction::Softmax);
    differ(deepseek ? "routed_scaling_factor" : "(routed scaling)", "kRoutedScaling", config.routed_scaling, spec.routed_scaling);
    differ("norm_topk_prob", "kNormTopkProb", config.norm_topk_prob, spec.norm_topk_prob);
  }
  return out;
}

/// Throws ConfigError listing every difference between config.json and the compiled Spec.
template <class Spec>
void check_config(const Json& config, const std::string& path) {
  const auto found = differences(architecture_of(config, path), architecture_of<Spec>());
  if (found.empty()) return;
  std::string message = path + " does not describe the compiled Spec (print the Spec it describes with examples/hf_spec):";
  for (const std::string& line : found) message += "\n  " + line;
  throw ConfigError(message);
}

namespace detail {

/// The shortest text that reads back as `f`.
inline std::string shortest_text(float f) {
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, f).ptr);
}

inline std::string float_literal(float f) {
  std::string s = shortest_text(f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

/// `f` as the double its shortest text denotes (1e-6f becomes 1e-06, not 9.99999997e-07), as a
/// Python config would hold it.
inline double as_written(float f) {
  const std::string s = shortest_text(f);
  double d = 0.0;
  std::from_chars(s.data(), s.data() + s.size(), d);
  return d;
}

}  // namespace detail

namespace detail {

/// The Spec's attention members: MLA's ranks and widths, or kKvHeads, kHeadDim, kQkNorm.
inline std::string attention_members(const ArchitectureValues& v) {
  const auto b = [](bool x) { return x ? "true" : "false"; };
  if (v.latent_attention())
    return rlmoe::detail::message("  static constexpr rlmoe::index_t kKvLoraRank = ", v.kv_lora_rank, ", kQLoraRank = ", v.q_lora_rank,
                                  ";\n  static constexpr rlmoe::index_t kQkNopeHeadDim = ", v.qk_nope_head_dim,
                                  ", kQkRopeHeadDim = ", v.qk_rope_head_dim, ", kVHeadDim = ", v.v_head_dim, ";\n",
                                  "  static constexpr bool kNormTopkProb = ", b(v.norm_topk_prob), ";\n");
  return rlmoe::detail::message("  static constexpr rlmoe::index_t kKvHeads = ", v.kv_heads, ", kHeadDim = ", v.head_dim, ";\n",
                                "  static constexpr bool kQkNorm = ", b(v.qk_norm), ", kNormTopkProb = ", b(v.norm_topk_prob),
                                v.qk_norm_full_width ? ", kQkNormFullWidth = true" : "", ";\n");
}

}  // namespace detail

/// The Spec struct, as C++, for an architecture (named `name`; `source` names where it came from).
inline std::string spec_source(const ArchitectureValues& v, std::string_view name, std::string_view source) {
  const auto b = [](bool x) { return x ? "true" : "false"; };
  return rlmoe::detail::message(
      "// The architecture of ", source, "\n",
      "struct ", name, " {\n",
      "  static constexpr rlmoe::index_t kVocab = ", v.vocab, ", kModelDim = ", v.model_dim, ", kLayers = ", v.layers,
      ", kHeads = ", v.heads, ", kMaxLength = ", v.max_length, ";\n",
      detail::attention_members(v),
      "  static constexpr rlmoe::index_t kDenseHidden = ", v.dense_hidden, ", kFirstMoeLayer = ", v.first_moe_layer, ";\n",
      "  static constexpr rlmoe::index_t kRoutedExperts = ", v.routed_experts, ", kTopK = ", v.top_k, ", kExpertHidden = ",
      v.expert_hidden, ", kSharedExperts = ", v.shared_experts, ", kGroups = ", v.groups, ", kTopkGroups = ", v.topk_groups, ";\n",
      "  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::",
      v.score_function == moe::ScoreFunction::Softmax ? "Softmax" : "Sigmoid", ";\n",
      "  static constexpr float kRoutedScaling = ", detail::float_literal(v.routed_scaling), ", kRopeBase = ",
      detail::float_literal(v.rope_base), ", kNormEpsilon = ", detail::float_literal(v.norm_epsilon), ";\n",
      "  static constexpr bool kTiedEmbeddings = ", b(v.tied_embeddings), ";\n",
      "  // using Storage = rlmoe::bfloat16;  // for mixed precision\n",
      "};\n");
}

/// The config.json of a Spec, for `model_type` deepseek_v3 (latent attention), olmoe (q/k norms
/// over whole rows), qwen3_moe or qwen3 (whichever the Spec is): what transformers needs to load an exported model. `base` (another
/// config.json, say the one the model was loaded with) supplies the fields the Spec does not
/// decide (token ids, torch_dtype, rope_interleave, ...).
template <class Spec>
Json config_json(const Json& base = Json(Json::Object{})) {
  const ArchitectureValues v = architecture_of<Spec>();
  const bool moe = v.has_moe_layers(), deepseek = v.latent_attention(), olmoe = v.qk_norm_full_width;
  if (deepseek) {
    RLMOE_CHECK(!moe || v.score_function == moe::ScoreFunction::Sigmoid, ConfigError,
                "config_json: the Spec has latent attention but Softmax router scores; DeepSeek-V3's are Sigmoid");
  } else if (olmoe) {
    RLMOE_CHECK(v.first_moe_layer == 0 && v.shared_experts == 0 && v.groups == 1 && v.score_function == moe::ScoreFunction::Softmax &&
                    v.routed_scaling == 1.0f && v.heads * v.head_dim == v.model_dim,
                ConfigError, "config_json: the Spec's q/k norms span whole rows, but it is no OLMoE architecture (that needs "
                             "every layer MoE, Softmax scores, no shared experts, one group, kRoutedScaling 1, kHeadDim = "
                             "kModelDim / kHeads)");
  } else {
    RLMOE_CHECK(v.qk_norm && v.shared_experts == 0 && v.groups == 1 && v.score_function == moe::ScoreFunction::Softmax &&
                    v.routed_scaling == 1.0f,
                ConfigError, "config_json: the Spec is no Qwen3 architecture (it needs kQkNorm, Softmax scores, no shared "
                             "experts, one group, kRoutedScaling 1) and no DeepSeek-V3 one (it needs kKvLoraRank)");
  }
  Json::Object out;
  if (base.is_object()) out = base.object("config_json: base");
  const auto has = [&](const std::string& key) {
    return std::any_of(out.begin(), out.end(), [&](const auto& field) { return field.first == key; });
  };
  const auto set = [&](const std::string& key, Json value) {
    for (auto& [k, existing] : out)
      if (k == key) {
        existing = std::move(value);
        return;
      }
    out.emplace_back(key, std::move(value));
  };
  const auto integer = [](index_t x) { return Json(static_cast<std::int64_t>(x)); };
  if (deepseek) {
    set("model_type", "deepseek_v3");
    set("architectures", Json::Array{"DeepseekV3ForCausalLM"});
  } else if (olmoe) {
    set("model_type", "olmoe");
    set("architectures", Json::Array{"OlmoeForCausalLM"});
  } else {
    set("model_type", moe ? "qwen3_moe" : "qwen3");
    set("architectures", Json::Array{moe ? "Qwen3MoeForCausalLM" : "Qwen3ForCausalLM"});
  }
  set("vocab_size", integer(v.vocab));
  set("hidden_size", integer(v.model_dim));
  set("num_hidden_layers", integer(v.layers));
  set("num_attention_heads", integer(v.heads));
  set("num_key_value_heads", integer(v.kv_heads));
  if (!deepseek && !olmoe) set("head_dim", integer(v.head_dim));  // DeepSeek's and OLMoE's are derived
  if (!has("max_position_embeddings")) set("max_position_embeddings", integer(v.max_length));
  set("intermediate_size", integer(v.dense_hidden > 0 && !olmoe ? v.dense_hidden : v.expert_hidden));
  set("rms_norm_eps", detail::as_written(v.norm_epsilon));
  // transformers 5 keeps rope_theta in "rope_parameters"; older configs at the top level.
  bool in_parameters = false;
  for (auto& [k, value] : out)
    if (k == "rope_parameters" && value.is_object()) {
      Json::Object parameters = value.object("rope_parameters");
      for (auto& [pk, pv] : parameters)
        if (pk == "rope_theta") pv = detail::as_written(v.rope_base), in_parameters = true;
      value = Json(std::move(parameters));
    }
  if (!in_parameters) set("rope_theta", detail::as_written(v.rope_base));
  set("tie_word_embeddings", v.tied_embeddings);
  set("hidden_act", "silu");
  set("attention_bias", false);
  if (deepseek) {
    set("kv_lora_rank", integer(v.kv_lora_rank));
    set("q_lora_rank", v.q_lora_rank > 0 ? integer(v.q_lora_rank) : Json());
    set("qk_nope_head_dim", integer(v.qk_nope_head_dim));
    set("qk_rope_head_dim", integer(v.qk_rope_head_dim));
    set("v_head_dim", integer(v.v_head_dim));
    if (!has("rope_interleave")) set("rope_interleave", true);  // DeepSeek's own layout
    set("num_nextn_predict_layers", std::int64_t{0});           // rlmoe keeps no multi-token-prediction layers
    set("first_k_dense_replace", integer(v.first_moe_layer));
    set("moe_layer_freq", std::int64_t{1});
    set("n_routed_experts", integer(moe ? v.routed_experts : 1));
    if (has("num_local_experts")) set("num_local_experts", integer(moe ? v.routed_experts : 1));
    set("num_experts_per_tok", integer(moe ? v.top_k : 1));
    set("moe_intermediate_size", integer(v.expert_hidden));
    set("n_shared_experts", integer(v.shared_experts));
    set("n_group", integer(v.groups));
    set("topk_group", integer(v.topk_groups));
    set("routed_scaling_factor", detail::as_written(v.routed_scaling));
    set("norm_topk_prob", v.norm_topk_prob);
    set("scoring_func", "sigmoid");
    set("topk_method", "noaux_tc");
  } else if (olmoe) {
    set("num_experts", integer(v.routed_experts));
    if (has("num_local_experts")) set("num_local_experts", integer(v.routed_experts));
    set("num_experts_per_tok", integer(v.top_k));
    set("norm_topk_prob", v.norm_topk_prob);
    set("clip_qkv", Json());
  } else {
    set("use_sliding_window", false);
    if (moe) {
      set("num_experts", integer(v.routed_experts));
      if (has("num_local_experts")) set("num_local_experts", integer(v.routed_experts));  // transformers 5's name
      set("num_experts_per_tok", integer(v.top_k));
      set("moe_intermediate_size", integer(v.expert_hidden));
      set("norm_topk_prob", v.norm_topk_prob);
      set("decoder_sparse_step", std::int64_t{1});
      Json::Array dense;
      for (index_t l = 0; l < v.first_moe_layer; ++l) dense.emplace_back(static_cast<std::int64_t>(l));
      set("mlp_only_layers", std::move(dense));
    }
  }
  return Json(std::move(out));
}

}  // namespace rlmoe::io::hf
