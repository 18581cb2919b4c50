#pragma once
// Llama 4's text model (model_type llama4_text: Llama4ForCausalLM, the language model of Scout and
// Maverick). Grouped-query attention whose rotary pairs are interleaved (the loader permutes the q
// and k rows into rlmoe's half-split pairs, which leaves every dot product unchanged); every
// no_rope_layer_interval-th layer has no rotation and scales its queries by a temperature of the
// position (attn_temperature_tuning, floor_scale, attn_scale), the others attend within chunks of
// attention_chunk_size and, with use_qk_norm, RMS-normalise each rotated q and k head without a
// weight. MoE layers (every interleave_moe_layer_step-th) route each token to its top-k experts by
// sigmoid(logit), the score scaling the expert's input, beside one shared expert as wide as the
// experts (intermediate_size); dense layers are intermediate_size_mlp wide. The experts' tensors
// are fused as rlmoe's are: gate_up_proj [E, d, 2h] (gate then up) and down_proj [E, h, d].
//
// Scout and Maverick are published as model_type llama4 (Llama4ForConditionalGeneration): the same
// text model in "text_config", its tensors under "language_model.", beside a vision encoder that
// rlmoe does not load (its tensors are skipped). rlmoe trains and exports the text model alone, as
// llama4_text.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rlmoe/io/hf_architecture.hpp"
#include "rlmoe/io/hf_recipes.hpp"

namespace rlmoe::io::hf::families {

namespace detail {

/// config.json's list `key`, when present, must have `count` items, item i matching `matches(item, i, where)`.
template <class Matches>
void require_list(const ConfigReader& r, std::string_view key, index_t count, const Matches& matches, std::string_view why) {
  const Json* list = r.find(key);
  if (list == nullptr) return;
  const std::string where = rlmoe::detail::message(r.path, ": \"", key, "\"");
  const auto& items = list->array(where);
  bool same = static_cast<index_t>(items.size()) == count;
  for (std::size_t i = 0; same && i < items.size(); ++i) same = matches(items[i], static_cast<index_t>(i), where);
  r.require(same, key, why);
}

}  // namespace detail

struct Llama4Text {
  static constexpr const char* kModelType = "llama4_text";
  static constexpr const char* kArchitecture = "Llama4ForCausalLM";

  static ArchitectureValues read(const ConfigReader& r) {
    ArchitectureValues v = common_architecture(r);
    v.head_dim = r.integer_or("head_dim", v.model_dim / v.heads);
    v.rope_interleave = true;  // Llama 4 rotates neighbouring pairs (as complex numbers)
    // Feed-forward: MoE every interleave_moe_layer_step-th layer, dense between.
    v.expert_hidden = v.dense_hidden;  // intermediate_size: the experts' and the shared expert's width
    v.dense_hidden = r.integer_or("intermediate_size_mlp", 0);
    v.moe_layer_step = r.integer_or("interleave_moe_layer_step", 1);
    r.require(v.moe_layer_step >= 1, "interleave_moe_layer_step", "must be >= 1");
    v.first_moe_layer = 0;
    detail::require_list(r, "moe_layers", v.moe_layer_count(), [&](const Json& x, index_t i, const std::string& where) { return x.integer(where) == (i + 1) * v.moe_layer_step - 1; },
                         "must be every interleave_moe_layer_step-th layer (step - 1, 2 step - 1, ...), as rlmoe's kMoeLayerStep");
    v.routed_experts = routed_expert_count(r, "num_local_experts");
    v.routed_experts_key = "num_local_experts";
    v.top_k = r.integer("num_experts_per_tok");
    v.shared_experts = 1;
    v.score_function = moe::ScoreFunction::Sigmoid;
    v.norm_topk_prob = false;
    v.gate_placement = moe::GatePlacement::Input;
    r.require(r.number_or("router_jitter_noise", 0.0) == 0.0, "router_jitter_noise", "is not 0; rlmoe does not perturb the router's input");
    // Attention: the layers without rotation, their temperature, the chunks and norms of the others.
    v.no_rope_interval = r.integer_or("no_rope_layer_interval", 4);
    r.require(v.no_rope_interval >= 1, "no_rope_layer_interval", "must be >= 1");
    if (const Json* listed = r.find("no_rope_layers"); listed != nullptr && !listed->array(r.path + ": \"no_rope_layers\"").empty())
      detail::require_list(r, "no_rope_layers", v.layers, [&](const Json& x, index_t l, const std::string& where) { return x.integer(where) == (v.uses_rope(l) ? 1 : 0); },
                           rlmoe::detail::message("must be 0 (no rotation) exactly at every ", v.no_rope_interval,
                                                  "-th layer (no_rope_layer_interval), 1 elsewhere"));
    v.attention_chunk = r.integer_or("attention_chunk_size", 0);
    r.require(v.attention_chunk >= 0, "attention_chunk_size", "must be >= 0");
    detail::require_list(r, "layer_types", v.layers,
                         [&](const Json& x, index_t l, const std::string& where) {
                           return x.string(where) == (v.uses_rope(l) && v.attention_chunk > 0 ? "chunked_attention" : "full_attention");
                         },
                         "must be \"chunked_attention\" on the rotary layers (with attention_chunk_size) and \"full_attention\" on the others");
    v.qk_weightless_norm = r.boolean_or("use_qk_norm", true);
    // attn_temperature_tuning is a flag (published as true, or as 4 in Scout's config).
    const Json* tuning = r.find("attn_temperature_tuning");
    const bool tuned = tuning == nullptr || (tuning->is_boolean() ? tuning->boolean(r.path) : tuning->integer(r.path) != 0);
    const double floor_scale = r.number_or("floor_scale", 8192.0), scale = r.number_or("attn_scale", 0.1);
    r.require(floor_scale > 0.0, "floor_scale", "must be > 0");
    if (tuned) v.attention_temperature = {floor_scale, scale};
    // Inference-only: the cache layout transformers picks, and a quantisation tool's flag.
    r.ignore({"cache_implementation", "for_llm_compressor"});
    return v;
  }
  static std::string mismatch(const ArchitectureValues& v) {
    if (v.latent_attention() || v.qk_norm) return "it needs grouped-query attention without weighted q/k norms";
    if (v.gate_placement != moe::GatePlacement::Input || v.score_function != moe::ScoreFunction::Sigmoid || v.norm_topk_prob ||
        v.shared_experts != 1 || v.groups != 1 || v.routed_scaling != 1.0f || v.first_moe_layer != 0)
      return "it needs Llama 4's routing: gates on the experts' inputs (kGatePlacement), sigmoid scores not renormalised, one "
             "shared expert, one group, kRoutedScaling 1, MoE layers from kFirstMoeLayer 0 every kMoeLayerStep-th";
    if (v.no_rope_interval == 0) return "it needs layers without rotation (kNoRopeInterval)";
    return "";
  }
  static void write(const ArchitectureValues& v, ConfigWriter& w) {
    w.set("head_dim", v.head_dim);
    w.set("intermediate_size", v.expert_hidden);
    w.set("intermediate_size_mlp", v.dense_hidden > 0 ? v.dense_hidden : v.expert_hidden);
    w.set("num_local_experts", v.routed_experts);
    w.set("num_experts_per_tok", v.top_k);
    w.set("interleave_moe_layer_step", v.moe_layer_step);
    Json::Array moe, no_rope, types;
    for (index_t l = 0; l < v.layers; ++l) {
      const bool rotates = v.uses_rope(l);
      if (v.is_moe_layer(l)) moe.emplace_back(static_cast<std::int64_t>(l));
      no_rope.emplace_back(static_cast<std::int64_t>(rotates ? 1 : 0));
      types.emplace_back(rotates && v.attention_chunk > 0 ? "chunked_attention" : "full_attention");
    }
    w.set("moe_layers", Json(std::move(moe)));
    w.set("no_rope_layer_interval", v.no_rope_interval);
    w.set("no_rope_layers", Json(std::move(no_rope)));
    w.set("layer_types", Json(std::move(types)));
    w.set("attention_chunk_size", v.attention_chunk > 0 ? Json(static_cast<std::int64_t>(v.attention_chunk)) : Json());
    w.set("use_qk_norm", v.qk_weightless_norm);
    w.set("attn_temperature_tuning", v.attention_temperature.enabled());
    if (v.attention_temperature.enabled()) {
      const double floor_scale = v.attention_temperature.floor_scale;  // an integer to transformers
      w.set("floor_scale", floor_scale == std::floor(floor_scale) ? Json(static_cast<std::int64_t>(floor_scale)) : Json(floor_scale));
      w.set("attn_scale", Json(v.attention_temperature.scale));
    }
    w.set("router_jitter_noise", Json(0.0));
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {
    using A = TensorRecipe::Arrangement;
    RecipeList r;
    const std::int64_t d = v.model_dim, dh = v.head_dim, q = v.heads * dh, kv = v.kv_heads * dh, e = v.routed_experts, h = v.expert_hidden;
    // The checkpoint row of rlmoe's q/k column c: within each head, the pair (i, i + dh/2) is the
    // checkpoint's neighbours (2i, 2i + 1).
    const auto interleaved_rows = [&](std::int64_t width) {
      std::vector<std::int64_t> rows(static_cast<std::size_t>(width));
      for (std::int64_t c = 0; c < width; ++c) {
        const std::int64_t head = c / dh, j = c % dh;
        rows[static_cast<std::size_t>(c)] = head * dh + (j < dh / 2 ? 2 * j : 2 * (j - dh / 2) + 1);
      }
      return rows;
    };
    r.embedding(v);
    for (index_t l = 0; l < v.layers; ++l) {
      const std::string p = RecipeList::layer(l), hf = RecipeList::hf_layer(l);
      r.add(p + "attn_norm", {d}, A::Same, {hf + "input_layernorm.weight"}, {{d}});
      r.add(p + "wq", {d, q}, A::TransposedRows, {hf + "self_attn.q_proj.weight"}, {{q, d}}, interleaved_rows(q));
      r.add(p + "wk", {d, kv}, A::TransposedRows, {hf + "self_attn.k_proj.weight"}, {{kv, d}}, interleaved_rows(kv));
      r.add(p + "wv", {d, kv}, A::Transposed, {hf + "self_attn.v_proj.weight"}, {{kv, d}});
      r.add(p + "wo", {q, d}, A::Transposed, {hf + "self_attn.o_proj.weight"}, {{d, q}});
      r.add(p + "ffn_norm", {d}, A::Same, {hf + "post_attention_layernorm.weight"}, {{d}});
      const std::string ff = hf + "feed_forward.";
      if (v.is_moe_layer(l)) {
        r.add(p + "moe.router", {e, d}, A::Same, {ff + "router.weight"}, {{e, d}});
        r.add(p + "moe.experts.gate_up", {e, d, 2 * h}, A::Same, {ff + "experts.gate_up_proj"}, {{e, d, 2 * h}});
        r.add(p + "moe.experts.down", {e, h, d}, A::Same, {ff + "experts.down_proj"}, {{e, h, d}});
        r.swiglu(p + "moe.shared.", ff + "shared_expert.", d, h);
      } else {
        r.swiglu(p + "ffn.", ff, d, v.dense_hidden);
      }
    }
    r.final_norm_and_head(v);
    return r.take();
  }
};

/// Llama 4's multimodal checkpoints, read for their text model.
struct Llama4 {
  static constexpr const char* kModelType = "llama4";
  static constexpr const char* kArchitecture = "Llama4ForConditionalGeneration";

  static ArchitectureValues read(const ConfigReader& r) {
    const Json* text = r.find("text_config");
    RLMOE_CHECK(text != nullptr && text->is_object(), ConfigError, r.path, ": \"text_config\" is missing; a llama4 checkpoint keeps its text model there");
    const ConfigReader text_reader{*text, r.path + ": \"text_config\""};
    RLMOE_CHECK(text_reader.string_or("model_type", "llama4_text") == "llama4_text", ConfigError, text_reader.path,
                ": model_type must be \"llama4_text\"");
    ArchitectureValues v = Llama4Text::read(text_reader);
    text_reader.finish("llama4_text");
    // The vision encoder and the image tokens: not part of the text model rlmoe runs.
    r.ignore({"vision_config", "boi_token_index", "eoi_token_index", "image_token_index"});
    r.ignore({"model_type", "architectures", "dtype", "torch_dtype", "transformers_version"});
    r.require(r.boolean_or("tie_word_embeddings", v.tied_embeddings) == v.tied_embeddings, "tie_word_embeddings",
              "must agree with text_config's");
    v.tensor_prefix = "language_model.";
    v.skipped_tensor_prefixes = {"vision_model.", "multi_modal_projector."};
    return v;
  }
  static std::string mismatch(const ArchitectureValues&) { return "rlmoe writes Llama 4's text model as llama4_text"; }
  static void write(const ArchitectureValues&, ConfigWriter&) {
    throw ConfigError(
        "config.json: rlmoe holds only the text model of a llama4 checkpoint; export it as llama4_text (a base config without "
        "the multimodal model_type, or none)");
  }
  static std::vector<TensorRecipe> recipes(const ArchitectureValues& v) {
    std::vector<TensorRecipe> out = Llama4Text::recipes(v);
    for (TensorRecipe& r : out)
      for (std::string& source : r.sources) source = v.tensor_prefix + source;
    return out;
  }
};

}  // namespace rlmoe::io::hf::families
