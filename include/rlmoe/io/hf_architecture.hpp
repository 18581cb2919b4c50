#pragma once
// The architecture a Hugging Face config.json or a compiled Spec describes, as plain values
// (ArchitectureValues), and the reader every model family's config.json goes through
// (ConfigReader): it names the file and the field in each error, and remembers which fields a
// family read, so that a field nobody read is refused by name (finish) rather than ignored.
// The families themselves are io/families/*.hpp; io/hf_config.hpp compares a config with a Spec.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/layers/attention_temperature.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/moe/config.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::io::hf {

/// The architecture a config.json or a Spec describes, as values: a Spec's members.
struct ArchitectureValues {
  index_t vocab = 0, model_dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, max_length = 0;
  index_t dense_hidden = 0, first_moe_layer = 0, moe_layer_step = 1;
  index_t routed_experts = 0, top_k = 0, expert_hidden = 0, shared_experts = 0, groups = 1, topk_groups = 1;
  moe::ScoreFunction score_function = moe::ScoreFunction::Softmax;
  moe::GroupScore group_score = moe::GroupScore::TopTwoSum;
  float routed_scaling = 1.0f, rope_base = 10000.0f, norm_epsilon = 1e-6f;
  layers::RopeScaling rope_scaling{};
  bool tied_embeddings = false, qk_norm = false, norm_topk_prob = true;
  bool qk_norm_full_width = false;  ///< OLMoE's q/k norm over the whole of q and of k
  // Llama 4's: gates on the experts' inputs, layers without rotation (every no_rope_interval-th)
  // with temperature-tuned queries, weightless q/k norms after the rotation, chunked attention.
  moe::GatePlacement gate_placement = moe::GatePlacement::Output;
  index_t no_rope_interval = 0, attention_chunk = 0;
  layers::AttentionTemperature attention_temperature{};
  bool qk_weightless_norm = false;
  // Multi-head Latent Attention (kv_lora_rank 0: none); head_dim is then qk_nope + qk_rope.
  index_t kv_lora_rank = 0, q_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  // Of the checkpoint only, not the Spec: how its rotary pairs are laid out, and its trailing
  // multi-token-prediction layers (which rlmoe does not load).
  bool rope_interleave = false;
  index_t mtp_layers = 0;
  // Of the checkpoint only: what its text model's tensor names start with (Llama 4's multimodal
  // checkpoints: "language_model."), and the prefixes of the tensors rlmoe does not load (their
  // vision encoder).
  std::string tensor_prefix;
  std::vector<std::string> skipped_tensor_prefixes;
  /// The family (config.json's model_type) of a config's values; empty for a Spec's.
  std::string model_type;
  /// The family's name for the number of routed experts (for messages).
  std::string_view routed_experts_key = "num_experts";

  [[nodiscard]] bool latent_attention() const { return kv_lora_rank > 0; }
  /// The widths of the q and k norms' weights.
  [[nodiscard]] index_t q_norm_width() const { return qk_norm_full_width ? heads * head_dim : head_dim; }
  [[nodiscard]] index_t k_norm_width() const { return qk_norm_full_width ? kv_heads * head_dim : head_dim; }
  /// As nn::is_moe_layer: from first_moe_layer on, every moe_layer_step-th layer.
  [[nodiscard]] bool is_moe_layer(index_t l) const { return l >= first_moe_layer && l < layers && (l + 1) % moe_layer_step == 0; }
  [[nodiscard]] index_t moe_layer_count() const {
    index_t n = 0;
    for (index_t l = 0; l < layers; ++l) n += is_moe_layer(l) ? 1 : 0;
    return n;
  }
  [[nodiscard]] bool has_moe_layers() const { return moe_layer_count() > 0; }
  [[nodiscard]] bool has_dense_layers() const { return moe_layer_count() < layers; }
  /// As nn::uses_rope: every no_rope_interval-th layer has no rotation (0: every layer rotates).
  [[nodiscard]] bool uses_rope(index_t l) const { return no_rope_interval == 0 || (l + 1) % no_rope_interval != 0; }
  [[nodiscard]] bool plain_router() const {
    return shared_experts == 0 && groups == 1 && score_function == moe::ScoreFunction::Softmax && routed_scaling == 1.0f;
  }
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
  v.moe_layer_step = nn::moe_layer_step_v<Spec>;
  v.routed_experts = Spec::kRoutedExperts;
  v.top_k = Spec::kTopK;
  v.expert_hidden = Spec::kExpertHidden;
  v.shared_experts = Spec::kSharedExperts;
  v.groups = Spec::kGroups;
  v.topk_groups = Spec::kTopkGroups;
  v.group_score = nn::group_score_v<Spec>;
  v.score_function = Spec::kScoreFunction;
  v.routed_scaling = Spec::kRoutedScaling;
  v.rope_base = Spec::kRopeBase;
  v.rope_scaling = nn::rope_scaling_v<Spec>;
  v.norm_epsilon = Spec::kNormEpsilon;
  v.tied_embeddings = Spec::kTiedEmbeddings;
  v.qk_norm = nn::qk_norm_v<Spec>;
  v.norm_topk_prob = nn::norm_topk_prob_v<Spec>;
  v.qk_norm_full_width = nn::qk_norm_full_width_v<Spec>;
  v.gate_placement = nn::gate_placement_v<Spec>;
  v.no_rope_interval = nn::no_rope_interval_v<Spec>;
  v.attention_chunk = nn::attention_chunk_size_v<Spec>;
  v.attention_temperature = nn::attention_temperature_v<Spec>;
  v.qk_weightless_norm = nn::qk_weightless_norm_v<Spec>;
  if constexpr (nn::latent_attention_v<Spec>) {
    v.kv_lora_rank = nn::kv_lora_rank_v<Spec>;
    v.q_lora_rank = nn::q_lora_rank_v<Spec>;
    v.qk_rope_head_dim = nn::rope_dim_v<Spec>;
    v.qk_nope_head_dim = nn::head_dim_v<Spec> - v.qk_rope_head_dim;
    v.v_head_dim = nn::value_head_dim_v<Spec>;
  }
  return v;
}

/// Reads a config.json's fields, naming the file and the field in every error, and remembering
/// what it read: finish() refuses every field no one read.
struct ConfigReader {
  const Json& config;
  std::string path;
  mutable std::set<std::string, std::less<>> read_fields{};

  [[nodiscard]] const Json* find(std::string_view key) const {
    read_fields.emplace(key);
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
  /// Fields that do not change the computation (token ids, dtypes, training-only settings): read.
  void ignore(std::initializer_list<std::string_view> keys) const {
    for (std::string_view key : keys) read_fields.emplace(key);
  }
  /// Refuses the first field that no reader looked at, naming it: a setting rlmoe would otherwise
  /// silently not apply.
  void finish(std::string_view model_type) const {
    for (const auto& [key, value] : config.object(path))
      RLMOE_CHECK(read_fields.contains(key), ConfigError, path, ": \"", key, "\" is a field rlmoe does not know for ", model_type,
                  " (it would be ignored, so the model is refused; if it does not change the computation, add it to the ",
                  model_type, " family's ignored fields)");
  }
};

/// A config.json being written: the base config's fields, replaced or added in order.
class ConfigWriter {
 public:
  explicit ConfigWriter(Json::Object base) : out_(std::move(base)) {}
  [[nodiscard]] bool has(std::string_view key) const {
    return std::any_of(out_.begin(), out_.end(), [&](const auto& field) { return field.first == key; });
  }
  [[nodiscard]] const Json* find(std::string_view key) const {
    for (const auto& [k, value] : out_)
      if (k == key) return &value;
    return nullptr;
  }
  void set(std::string_view key, Json value) {
    for (auto& [k, existing] : out_)
      if (k == key) {
        existing = std::move(value);
        return;
      }
    out_.emplace_back(std::string(key), std::move(value));
  }
  void set(std::string_view key, index_t value) { set(key, Json(static_cast<std::int64_t>(value))); }
  void set(std::string_view key, bool value) { set(key, Json(value)); }
  void set(std::string_view key, const char* value) { set(key, Json(value)); }
  /// A float Spec member as the double its shortest text denotes (1e-6f as 1e-06), as Python writes it.
  void set_float(std::string_view key, float value);
  void remove(std::string_view key) {
    std::erase_if(out_, [&](const auto& field) { return field.first == key; });
  }
  [[nodiscard]] Json take() { return Json(std::move(out_)); }

 private:
  Json::Object out_;
};

namespace detail {

/// The shortest text that reads back as `f`.
inline std::string shortest_text(float f) {
  char buffer[32];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, f).ptr);
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

inline void ConfigWriter::set_float(std::string_view key, float value) { set(key, Json(detail::as_written(value))); }

namespace detail {

/// The rotary base and scaling, from transformers 5's "rope_parameters" or the older top-level
/// rope_theta and "rope_scaling"; every field of them is read or refused by name.
inline void read_rope(const ConfigReader& r, ArchitectureValues& v, double fallback_theta) {
  double theta = r.number_or("rope_theta", fallback_theta);
  const Json* parameters = r.find("rope_parameters");
  const Json* scaling = r.find("rope_scaling");
  std::string where = "rope_parameters";
  if (parameters == nullptr) parameters = scaling, where = "rope_scaling";
  v.rope_base = static_cast<float>(theta);
  v.rope_scaling = {};
  if (parameters == nullptr) return;
  const ConfigReader p{*parameters, r.path + ": " + where};
  RLMOE_CHECK(parameters->is_object(), ConfigError, p.path, " must be an object");
  std::string type = p.string_or("rope_type", p.string_or("type", "default"));
  v.rope_base = static_cast<float>(p.number_or("rope_theta", theta));
  p.require(p.number_or("partial_rotary_factor", 1.0) == 1.0, "partial_rotary_factor", "must be 1: rlmoe rotates whole heads");
  layers::RopeScaling& s = v.rope_scaling;
  const double original = static_cast<double>(p.integer_or("original_max_position_embeddings", r.integer_or("original_max_position_embeddings", 0)));
  if (type == "default") {
  } else if (type == "linear") {
    s.type = layers::RopeType::Linear;
    s.factor = p.number_or("factor", 0.0);
  } else if (type == "yarn") {
    s.type = layers::RopeType::Yarn;
    p.require(original > 0, "original_max_position_embeddings", "is missing: YaRN needs the context the model was trained on");
    s.original_max_position = static_cast<index_t>(original);
    // transformers: a missing factor is max_position_embeddings / original_max_position_embeddings.
    s.factor = p.number_or("factor", static_cast<double>(r.integer("max_position_embeddings")) / original);
    s.beta_fast = p.number_or("beta_fast", 32.0);
    s.beta_slow = p.number_or("beta_slow", 1.0);
    s.mscale = p.number_or("mscale", 0.0);
    s.mscale_all_dim = p.number_or("mscale_all_dim", 0.0);
    s.attention_factor = p.number_or("attention_factor", 0.0);
    s.truncate = p.boolean_or("truncate", true);
  } else if (type == "llama3") {
    s.type = layers::RopeType::Llama3;
    p.require(original > 0, "original_max_position_embeddings", "is missing: llama3 scaling needs the context the model was trained on");
    s.original_max_position = static_cast<index_t>(original);
    s.factor = p.number_or("factor", 0.0);
    s.low_freq_factor = p.number_or("low_freq_factor", 1.0);
    s.high_freq_factor = p.number_or("high_freq_factor", 4.0);
    p.require(s.high_freq_factor >= s.low_freq_factor, "high_freq_factor", "must be >= low_freq_factor");
  } else {
    p.require(false, "rope_type", rlmoe::detail::message("is \"", type, "\"; rlmoe implements the rotary types default, linear, yarn and llama3"));
  }
  p.require(s.type == layers::RopeType::Default || s.factor > 0.0, "factor", "must be > 0");
  p.finish(rlmoe::detail::message("rope_type \"", type, "\""));
}

}  // namespace detail

/// The number of routed experts under `key` or transformers 5's "num_local_experts" (a config may
/// carry both; they must agree).
inline index_t routed_expert_count(const ConfigReader& r, std::string_view key) {
  const bool primary = r.find(key) != nullptr, local = r.find("num_local_experts") != nullptr;
  RLMOE_CHECK(primary || local, ConfigError, r.path, ": \"", key, "\" is missing");
  const index_t n = primary ? r.integer(key) : r.integer("num_local_experts");
  if (primary && local) r.require(r.integer("num_local_experts") == n, "num_local_experts", rlmoe::detail::message("must equal \"", key, "\" (", n, ")"));
  return n;
}

/// transformers 5's per-layer attention types ("layer_types"), when present, must all be `type`.
inline void require_layer_types(const ConfigReader& r, std::string_view type) {
  const Json* types = r.find("layer_types");
  if (types == nullptr) return;
  for (const Json& t : types->array(r.path + ": \"layer_types\""))
    r.require(t.string(r.path + ": \"layer_types\"") == type, "layer_types",
              rlmoe::detail::message("must be \"", type, "\" for every layer; rlmoe attends to the whole sequence"));
}

/// The fields every family shares: sizes, norms, the rotary embedding, the checks of what rlmoe lacks.
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
  detail::read_rope(r, v, 10000.0);
  v.tied_embeddings = r.boolean_or("tie_word_embeddings", false);
  r.require(r.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
  r.require(!r.boolean_or("attention_bias", false), "attention_bias", "is true; rlmoe's projections have no biases");
  v.dense_hidden = r.integer_or("intermediate_size", 0);
  // What every transformers config carries and does not change the forward pass.
  r.ignore({"model_type", "architectures", "dtype", "torch_dtype", "transformers_version", "bos_token_id", "eos_token_id",
            "pad_token_id", "initializer_range", "use_cache", "attention_dropout", "output_router_logits",
            "router_aux_loss_coef", "_name_or_path", "pretraining_tp", "auto_map",
            "return_dict", "output_attentions", "output_hidden_states", "tie_encoder_decoder", "chunk_size_feed_forward",
            "is_encoder_decoder", "is_decoder", "add_cross_attention", "problem_type", "id2label", "label2id",
            "task_specific_params", "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id"});
  // Quantized checkpoints (DeepSeek-V3's fp8 blocks): the architecture is the same; the loader
  // refuses each tensor whose dtype it cannot read, by name.
  r.ignore({"quantization_config"});
  return v;
}

namespace detail {

inline const char* rope_type_name(layers::RopeType type) {
  switch (type) {
    case layers::RopeType::Default: return "default";
    case layers::RopeType::Linear: return "linear";
    case layers::RopeType::Yarn: return "yarn";
    case layers::RopeType::Llama3: return "llama3";
  }
  return "default";
}

/// rope_theta and the scaling, where the base config keeps them: unscaled, in "rope_parameters"
/// (transformers 5) when the base has it, else at the top level; scaled, always in
/// "rope_parameters" (which transformers 5 reads before any older "rope_scaling").
inline void write_rope(const ArchitectureValues& v, ConfigWriter& w) {
  const layers::RopeScaling& s = v.rope_scaling;
  const Json* existing = w.find("rope_parameters");
  if (s.type == layers::RopeType::Default) {
    if (existing != nullptr && existing->is_object()) {
      Json::Object parameters = existing->object("rope_parameters");
      bool has_theta = false;
      for (auto& [key, value] : parameters)
        if (key == "rope_theta") value = as_written(v.rope_base), has_theta = true;
      if (has_theta) {
        w.set("rope_parameters", Json(std::move(parameters)));
        return;
      }
    }
    w.set("rope_theta", Json(as_written(v.rope_base)));
    return;
  }
  Json::Object p{{"rope_type", Json(rope_type_name(s.type))}, {"rope_theta", Json(as_written(v.rope_base))}};
  const auto number = [&](const char* key, double x) { p.emplace_back(key, Json(x)); };
  number("factor", s.factor);
  if (s.type == layers::RopeType::Yarn || s.type == layers::RopeType::Llama3)
    p.emplace_back("original_max_position_embeddings", Json(static_cast<std::int64_t>(s.original_max_position)));
  if (s.type == layers::RopeType::Yarn) {
    number("beta_fast", s.beta_fast);
    number("beta_slow", s.beta_slow);
    if (s.mscale != 0.0) number("mscale", s.mscale);
    if (s.mscale_all_dim != 0.0) number("mscale_all_dim", s.mscale_all_dim);
    if (s.attention_factor != 0.0) number("attention_factor", s.attention_factor);
    if (!s.truncate) p.emplace_back("truncate", Json(false));
  }
  if (s.type == layers::RopeType::Llama3) {
    number("low_freq_factor", s.low_freq_factor);
    number("high_freq_factor", s.high_freq_factor);
  }
  w.remove("rope_scaling");
  w.remove("rope_theta");
  w.set("rope_parameters", Json(std::move(p)));
}

}  // namespace detail

/// The fields common_architecture reads, written back for `v`.
inline void write_common_architecture(const ArchitectureValues& v, ConfigWriter& w) {
  w.set("vocab_size", v.vocab);
  w.set("hidden_size", v.model_dim);
  w.set("num_hidden_layers", v.layers);
  w.set("num_attention_heads", v.heads);
  w.set("num_key_value_heads", v.kv_heads);
  if (!w.has("max_position_embeddings")) w.set("max_position_embeddings", v.max_length);
  w.set_float("rms_norm_eps", v.norm_epsilon);
  detail::write_rope(v, w);
  w.set("tie_word_embeddings", v.tied_embeddings);
  w.set("hidden_act", "silu");
  w.set("attention_bias", false);
}

}  // namespace rlmoe::io::hf
