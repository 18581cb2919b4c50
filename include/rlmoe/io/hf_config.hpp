#pragma once
// Hugging Face config.json against a compiled Spec. A model from the Hub comes with a config.json;
// rlmoe's architecture is a compile-time Spec, so the two must agree before any weight is read:
//   check_config<Spec>(config, path)   throws ConfigError naming every field that differs (the
//                                      config's value and the Spec's), or that rlmoe cannot run
//   spec_source(config, path, "Name")  the Spec struct, as C++, that a config.json describes
//   config_json<Spec>(base)            a config.json for a Spec (what an exported model carries)
//
// The families rlmoe reads are listed in io/families.hpp, one file each (io/families/*.hpp): each
// reads its config.json, every field read or refused by name. Others are refused naming the model_type.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/families.hpp"
#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/json.hpp"

namespace rlmoe::io::hf {

/// The architecture a config.json describes, read by the family of its model_type; throws
/// ConfigError naming the file and each field that rlmoe cannot run (an unknown model_type, biases
/// in attention, sliding windows, a field no family reads, ...).
inline ArchitectureValues architecture_of(const Json& config, const std::string& path) {
  RLMOE_CHECK(config.is_object(), ConfigError, path, ": the document must be an object");
  const ConfigReader r{config, path};
  const std::string model_type = r.string_or("model_type", "");
  ArchitectureValues v;
  const bool known = Families::visit(model_type, [&](auto family) {
    v = decltype(family)::read(r);
    r.finish(model_type);
  });
  RLMOE_CHECK(known, ConfigError, path, ": model_type is \"", model_type, "\"; rlmoe reads ", Families::names());
  v.model_type = model_type;
  return v;
}

namespace detail {

inline std::string double_literal(double x) {
  char buffer[40];
  std::string s(buffer, std::to_chars(buffer, buffer + sizeof buffer, x).ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

/// A RopeScaling as the C++ a Spec declares it with (the fields its type uses).
inline std::string rope_scaling_literal(const layers::RopeScaling& s) {
  if (s.type == layers::RopeType::Default) return "{} (unscaled)";
  static constexpr const char* kTypes[] = {"Default", "Linear", "Yarn", "Llama3"};
  std::string out = rlmoe::detail::message("{.type = rlmoe::layers::RopeType::", kTypes[static_cast<int>(s.type)],
                                           ", .factor = ", double_literal(s.factor));
  if (s.type == layers::RopeType::Linear) return out + "}";
  out += rlmoe::detail::message(", .original_max_position = ", s.original_max_position);
  if (s.type == layers::RopeType::Llama3)
    return out + rlmoe::detail::message(", .low_freq_factor = ", double_literal(s.low_freq_factor), ", .high_freq_factor = ",
                                        double_literal(s.high_freq_factor), "}");
  out += rlmoe::detail::message(", .beta_fast = ", double_literal(s.beta_fast), ", .beta_slow = ", double_literal(s.beta_slow));
  if (s.mscale != 0.0) out += ", .mscale = " + double_literal(s.mscale);
  if (s.mscale_all_dim != 0.0) out += ", .mscale_all_dim = " + double_literal(s.mscale_all_dim);
  if (s.attention_factor != 0.0) out += ", .attention_factor = " + double_literal(s.attention_factor);
  if (!s.truncate) out += ", .truncate = false";
  return out + "}";
}

}  // namespace detail

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
  if (config.rope_scaling != spec.rope_scaling)
    out.push_back(rlmoe::detail::message("rope scaling: config.json has ", detail::rope_scaling_literal(config.rope_scaling),
                                         ", the Spec has kRopeScaling = ", detail::rope_scaling_literal(spec.rope_scaling)));
  differ("tie_word_embeddings", "kTiedEmbeddings", config.tied_embeddings, spec.tied_embeddings);
  differ("(q/k norm)", "kQkNorm", config.qk_norm, spec.qk_norm);
  differ("(q/k norm over whole rows: olmoe)", "kQkNormFullWidth", config.qk_norm_full_width, spec.qk_norm_full_width);
  const bool deepseek = config.latent_attention();  // DeepSeek's names for the same fields
  differ(deepseek ? "first_k_dense_replace" : "mlp_only_layers (dense layers first)", "kFirstMoeLayer", config.first_moe_layer,
         spec.first_moe_layer);
  differ(config.model_type == "llama4_text" ? "interleave_moe_layer_step" : "decoder_sparse_step (MoE layers interleaved)",
         "kMoeLayerStep", config.moe_layer_step, spec.moe_layer_step);
  differ("no_rope_layers (every n-th layer without rotation)", "kNoRopeInterval", config.no_rope_interval, spec.no_rope_interval);
  differ("attention_chunk_size", "kAttentionChunk", config.attention_chunk, spec.attention_chunk);
  differ("use_qk_norm", "kQkWeightlessNorm", config.qk_weightless_norm, spec.qk_weightless_norm);
  differ("floor_scale (attn_temperature_tuning)", "kAttentionTemperature.floor_scale", config.attention_temperature.floor_scale,
         spec.attention_temperature.floor_scale);
  differ("attn_scale (attn_temperature_tuning)", "kAttentionTemperature.scale", config.attention_temperature.scale,
         spec.attention_temperature.scale);
  if (config.has_dense_layers() || spec.has_dense_layers()) differ("intermediate_size", "kDenseHidden", config.dense_hidden, spec.dense_hidden);
  if (config.has_moe_layers() || spec.has_moe_layers()) {
    differ(config.routed_experts_key, "kRoutedExperts", config.routed_experts, spec.routed_experts);
    differ("num_experts_per_tok", "kTopK", config.top_k, spec.top_k);
    differ("moe_intermediate_size", "kExpertHidden", config.expert_hidden, spec.expert_hidden);
    differ(deepseek ? "n_shared_experts" : "(shared experts)", "kSharedExperts", config.shared_experts, spec.shared_experts);
    differ(deepseek ? "n_group" : "(expert groups)", "kGroups", config.groups, spec.groups);
    differ(deepseek ? "topk_group" : "(top-k groups)", "kTopkGroups", config.topk_groups, spec.topk_groups);
    if (config.groups > 1 || spec.groups > 1)
      differ("topk_method (group_limited_greedy: groups ranked by their best score)", "kGroupScore is Max",
             config.group_score == moe::GroupScore::Max, spec.group_score == moe::GroupScore::Max);
    differ(deepseek ? "scoring_func (sigmoid)" : "(router scores: softmax)", "kScoreFunction is Softmax",
           config.score_function == moe::ScoreFunction::Softmax, spec.score_function == moe::ScoreFunction::Softmax);
    differ(deepseek ? "routed_scaling_factor" : "(routed scaling)", "kRoutedScaling", config.routed_scaling, spec.routed_scaling);
    differ("norm_topk_prob", "kNormTopkProb", config.norm_topk_prob, spec.norm_topk_prob);
    differ("(gates on the experts' inputs: llama4)", "kGatePlacement is Input", config.gate_placement == moe::GatePlacement::Input,
           spec.gate_placement == moe::GatePlacement::Input);
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

inline std::string float_literal(float f) {
  std::string s = shortest_text(f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
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

/// Llama 4's optional members, where they are not their defaults.
inline std::string llama4_members(const ArchitectureValues& v) {
  std::string out;
  if (v.gate_placement == moe::GatePlacement::Input)
    out += "  static constexpr rlmoe::moe::GatePlacement kGatePlacement = rlmoe::moe::GatePlacement::Input;\n";
  if (v.no_rope_interval > 0) out += rlmoe::detail::message("  static constexpr rlmoe::index_t kNoRopeInterval = ", v.no_rope_interval, ";\n");
  if (v.attention_temperature.enabled())
    out += rlmoe::detail::message("  static constexpr rlmoe::layers::AttentionTemperature kAttentionTemperature{.floor_scale = ",
                                  double_literal(v.attention_temperature.floor_scale), ", .scale = ",
                                  double_literal(v.attention_temperature.scale), "};\n");
  if (v.qk_weightless_norm) out += "  static constexpr bool kQkWeightlessNorm = true;\n";
  if (v.attention_chunk > 0) out += rlmoe::detail::message("  static constexpr rlmoe::index_t kAttentionChunk = ", v.attention_chunk, ";\n");
  return out;
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
      v.moe_layer_step == 1 ? std::string()
                            : rlmoe::detail::message("  static constexpr rlmoe::index_t kMoeLayerStep = ", v.moe_layer_step, ";\n"),
      "  static constexpr rlmoe::index_t kRoutedExperts = ", v.routed_experts, ", kTopK = ", v.top_k, ", kExpertHidden = ",
      v.expert_hidden, ", kSharedExperts = ", v.shared_experts, ", kGroups = ", v.groups, ", kTopkGroups = ", v.topk_groups, ";\n",
      "  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::",
      v.score_function == moe::ScoreFunction::Softmax ? "Softmax" : "Sigmoid", ";\n",
      v.group_score == moe::GroupScore::Max ? "  static constexpr rlmoe::moe::GroupScore kGroupScore = rlmoe::moe::GroupScore::Max;\n" : "",
      "  static constexpr float kRoutedScaling = ", detail::float_literal(v.routed_scaling), ", kRopeBase = ",
      detail::float_literal(v.rope_base), ", kNormEpsilon = ", detail::float_literal(v.norm_epsilon), ";\n",
      "  static constexpr bool kTiedEmbeddings = ", b(v.tied_embeddings), ";\n",
      v.rope_scaling.type == layers::RopeType::Default ? std::string()
          : "  static constexpr rlmoe::layers::RopeScaling kRopeScaling" + detail::rope_scaling_literal(v.rope_scaling) + ";\n",
      detail::llama4_members(v),
      "  // using Storage = rlmoe::bfloat16;  // for mixed precision\n",
      "};\n");
}

/// The config.json of a Spec, in the family of base's model_type when it has one (say the
/// config.json the model was loaded with), else the first family of io/families.hpp that
/// describes the Spec: what transformers needs to load an exported model. `base` supplies the
/// fields the Spec does not decide (token ids, torch_dtype, rope_interleave, ...).
template <class Spec>
Json config_json(const Json& base = Json(Json::Object{})) {
  const ArchitectureValues v = architecture_of<Spec>();
  ConfigWriter w(base.is_object() ? base.object("config_json: base") : Json::Object{});
  std::string wanted;
  if (const Json* t = base.find("model_type"); t != nullptr && t->is_string()) wanted = t->string("config_json: base model_type");
  std::string reasons;
  const bool written = Families::find_first([&](auto family) {
    using Family = decltype(family);
    if (!wanted.empty() && wanted != Family::kModelType) return false;
    const std::string why = Family::mismatch(v);
    if (!why.empty()) {
      reasons += rlmoe::detail::message("\n  ", Family::kModelType, ": ", why);
      return false;
    }
    w.set("model_type", Family::kModelType);
    w.set("architectures", Json(Json::Array{Json(Family::kArchitecture)}));
    write_common_architecture(v, w);
    Family::write(v, w);
    return true;
  });
  RLMOE_CHECK(written, ConfigError, "config_json: the Spec is of no family rlmoe writes",
              wanted.empty() ? std::string() : " as the base config's model_type \"" + wanted + "\"", ":", reasons);
  return w.take();
}

}  // namespace rlmoe::io::hf
