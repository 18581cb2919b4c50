#pragma once
// The compile-time architecture of a Transformer: sizes and which layers are Mixture-of-Experts.
// A spec is a struct of static constexpr members, checked by the TransformerSpec concept (every
// member present) and by static_asserts (sizes that fit together), so a wrong architecture fails
// to compile with a message saying what is wrong: checked_spec_t<S> names each missing member's
// declaration, and nothing else fails after it. Training hyperparameters (learning rates, the
// balancing rates) are runtime values elsewhere.
//
//   struct TinySpec {
//     static constexpr rlmoe::index_t kVocab = 32, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 64;
//     static constexpr rlmoe::index_t kDenseHidden = 128;     // SwiGLU width of the dense layers
//     static constexpr rlmoe::index_t kFirstMoeLayer = 1;     // layers [kFirstMoeLayer, kLayers) are MoE
//     static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1;
//     static constexpr rlmoe::index_t kGroups = 1, kTopkGroups = 1;
//     static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
//     static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
//     static constexpr bool kTiedEmbeddings = true;
//     using Storage = rlmoe::bfloat16;                         // optional: float when absent
//   };
//
// Optional members, for the attention of Qwen3-MoE, OLMoE and Llama-style models (each has a
// default that keeps the architecture above):
//     static constexpr rlmoe::index_t kKvHeads = 2;   // grouped-query attention (default kHeads)
//     static constexpr rlmoe::index_t kHeadDim = 128; // head width (default kModelDim / kHeads)
//     static constexpr bool kQkNorm = true;           // RMSNorm on each head's q and k (default false)
//     static constexpr bool kNormTopkProb = false;    // renormalise the top-k gates (default true)
//     static constexpr rlmoe::moe::GroupScore kGroupScore = rlmoe::moe::GroupScore::Max;
//                                                     // rank expert groups by their best score
//                                                     // (DeepSeek-V2; default the sum of the top 2)
//     static constexpr bool kQkNormFullWidth = true;  // OLMoE: the q/k norm spans all of q and all
//                                                     // of k, not each head (default false)
//     static constexpr rlmoe::layers::RopeScaling kRopeScaling{rlmoe::layers::RopeType::Yarn, 40.0, 4096};
//                                                     // scaled rotary frequencies (layers/rope.hpp;
//                                                     // default unscaled)
//     static constexpr rlmoe::index_t kMoeLayerStep = 2;  // from kFirstMoeLayer on, layer l is MoE when
//                                                     // (l + 1) % 2 == 0, the others dense (Qwen-MoE's
//                                                     // decoder_sparse_step; default 1: every layer)
//     static constexpr rlmoe::moe::GatePlacement kGatePlacement = rlmoe::moe::GatePlacement::Input;
//                                                     // the gate scales the expert's input (Llama 4;
//                                                     // default its output)
// and for Llama 4's attention:
//     static constexpr rlmoe::index_t kNoRopeInterval = 4;  // layer l has no rotary embedding when
//                                                     // (l + 1) % 4 == 0 (default 0: every layer has it)
//     static constexpr rlmoe::layers::AttentionTemperature kAttentionTemperature{8192.0, 0.1};
//                                                     // the queries of those layers scaled by position
//                                                     // (layers/attention_temperature.hpp; default none)
//     static constexpr bool kQkWeightlessNorm = true; // a weightless RMSNorm on each head's q and k
//                                                     // after the rotation, on rotary layers only
//     static constexpr rlmoe::index_t kAttentionChunk = 8192;  // the rotary layers attend within
//                                                     // chunks of 8192 positions (default 0: no chunks)
// Read them through kv_heads_v<S>, head_dim_v<S>, qk_norm_v<S>, norm_topk_prob_v<S>,
// group_score_v<S>, qk_norm_full_width_v<S>, rope_scaling_v<S>, is_moe_layer<S>(l),
// gate_placement_v<S>, uses_rope<S>(l), attention_temperature_v<S>, qk_weightless_norm_v<S> and
// attention_chunk<S>(l).
//
// DeepSeek-V2/V3's Multi-head Latent Attention replaces them when the Spec gives kKvLoraRank
// (see nn/latent_attention.hpp):
//     static constexpr rlmoe::index_t kKvLoraRank = 512;     // the latent keys and values are made of
//     static constexpr rlmoe::index_t kQLoraRank = 1536;     // q's low-rank bottleneck (0: none)
//     static constexpr rlmoe::index_t kQkNopeHeadDim = 128, kQkRopeHeadDim = 64, kVHeadDim = 128;
// Then a head's q and k are kQkNopeHeadDim + kQkRopeHeadDim wide (head_dim_v), rotated in their
// last kQkRopeHeadDim (rope_dim_v), and its values kVHeadDim wide (value_head_dim_v).
//
// Storage is what the model's weights and activations are stored in: float (the default), or
// bfloat16 for mixed precision (float master weights, gradients, optimizer state and statistics;
// see core/precision.hpp). The sampler, the steps and the trainer all take it from the Spec.
#include <concepts>
#include <type_traits>

#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/layers/attention_temperature.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/moe/config.hpp"

namespace rlmoe::nn {

template <class S>
concept TransformerSpec = requires {
  { S::kVocab } -> std::convertible_to<index_t>;
  { S::kModelDim } -> std::convertible_to<index_t>;
  { S::kLayers } -> std::convertible_to<index_t>;
  { S::kHeads } -> std::convertible_to<index_t>;
  { S::kMaxLength } -> std::convertible_to<index_t>;
  { S::kDenseHidden } -> std::convertible_to<index_t>;
  { S::kFirstMoeLayer } -> std::convertible_to<index_t>;
  { S::kRoutedExperts } -> std::convertible_to<index_t>;
  { S::kTopK } -> std::convertible_to<index_t>;
  { S::kExpertHidden } -> std::convertible_to<index_t>;
  { S::kSharedExperts } -> std::convertible_to<index_t>;
  { S::kGroups } -> std::convertible_to<index_t>;
  { S::kTopkGroups } -> std::convertible_to<index_t>;
  { S::kScoreFunction } -> std::convertible_to<moe::ScoreFunction>;
  { S::kRoutedScaling } -> std::convertible_to<float>;
  { S::kRopeBase } -> std::convertible_to<float>;
  { S::kNormEpsilon } -> std::convertible_to<float>;
  { S::kTiedEmbeddings } -> std::convertible_to<bool>;
};

namespace detail {

/// The getter of an optional Spec member: S::member when declared, else `fallback`.
#define RLMOE_OPTIONAL_SPEC_MEMBER(function, type, member, fallback)                         \
  template <class S>                                                                         \
  constexpr type function() {                                                                \
    if constexpr (requires { { S::member } -> std::convertible_to<type>; }) return S::member; \
    else return fallback;                                                                    \
  }
RLMOE_OPTIONAL_SPEC_MEMBER(kv_heads_of, index_t, kKvHeads, S::kHeads)
RLMOE_OPTIONAL_SPEC_MEMBER(qk_norm_of, bool, kQkNorm, false)
RLMOE_OPTIONAL_SPEC_MEMBER(qk_norm_full_width_of, bool, kQkNormFullWidth, false)
RLMOE_OPTIONAL_SPEC_MEMBER(norm_topk_prob_of, bool, kNormTopkProb, true)
RLMOE_OPTIONAL_SPEC_MEMBER(group_score_of, moe::GroupScore, kGroupScore, moe::GroupScore::TopTwoSum)
RLMOE_OPTIONAL_SPEC_MEMBER(rope_scaling_of, layers::RopeScaling, kRopeScaling, layers::RopeScaling{})
RLMOE_OPTIONAL_SPEC_MEMBER(moe_layer_step_of, index_t, kMoeLayerStep, 1)
RLMOE_OPTIONAL_SPEC_MEMBER(gate_placement_of, moe::GatePlacement, kGatePlacement, moe::GatePlacement::Output)
RLMOE_OPTIONAL_SPEC_MEMBER(no_rope_interval_of, index_t, kNoRopeInterval, 0)
RLMOE_OPTIONAL_SPEC_MEMBER(attention_temperature_of, layers::AttentionTemperature, kAttentionTemperature, layers::AttentionTemperature{})
RLMOE_OPTIONAL_SPEC_MEMBER(qk_weightless_norm_of, bool, kQkWeightlessNorm, false)
RLMOE_OPTIONAL_SPEC_MEMBER(attention_chunk_of, index_t, kAttentionChunk, 0)
// Multi-head Latent Attention's (0 when absent).
RLMOE_OPTIONAL_SPEC_MEMBER(kv_lora_rank_of, index_t, kKvLoraRank, 0)
RLMOE_OPTIONAL_SPEC_MEMBER(q_lora_rank_of, index_t, kQLoraRank, 0)
RLMOE_OPTIONAL_SPEC_MEMBER(qk_nope_head_dim_of, index_t, kQkNopeHeadDim, 0)
RLMOE_OPTIONAL_SPEC_MEMBER(qk_rope_head_dim_of, index_t, kQkRopeHeadDim, 0)
RLMOE_OPTIONAL_SPEC_MEMBER(v_head_dim_of, index_t, kVHeadDim, 0)
#undef RLMOE_OPTIONAL_SPEC_MEMBER

template <class S>
constexpr bool latent_attention_of() { return kv_lora_rank_of<S>() > 0; }
template <class S>
constexpr index_t head_dim_of() {
  if constexpr (latent_attention_of<S>()) return qk_nope_head_dim_of<S>() + qk_rope_head_dim_of<S>();
  else if constexpr (requires { { S::kHeadDim } -> std::convertible_to<index_t>; }) return S::kHeadDim;
  else return S::kHeads > 0 ? S::kModelDim / S::kHeads : 0;
}

}  // namespace detail

/// Key/value heads: Spec::kKvHeads, or kHeads (multi-head attention) when absent.
template <class S>
inline constexpr index_t kv_heads_v = detail::kv_heads_of<S>();
/// Whether the attention is DeepSeek's Multi-head Latent Attention (Spec::kKvLoraRank > 0).
template <class S>
inline constexpr bool latent_attention_v = detail::latent_attention_of<S>();
/// MLA's ranks and widths (0 without MLA; kQLoraRank 0: q projected directly).
template <class S>
inline constexpr index_t kv_lora_rank_v = detail::kv_lora_rank_of<S>();
template <class S>
inline constexpr index_t q_lora_rank_v = detail::q_lora_rank_of<S>();
template <class S>
inline constexpr index_t qk_nope_head_dim_v = detail::qk_nope_head_dim_of<S>();
/// The width of a q or k head: Spec::kHeadDim, kModelDim / kHeads when absent, or MLA's
/// kQkNopeHeadDim + kQkRopeHeadDim.
template <class S>
inline constexpr index_t head_dim_v = detail::head_dim_of<S>();
/// How many of a head's last columns the rotary embedding turns: all of them, or MLA's kQkRopeHeadDim.
template <class S>
inline constexpr index_t rope_dim_v = latent_attention_v<S> ? detail::qk_rope_head_dim_of<S>() : head_dim_v<S>;
/// The width of a value head: MLA's kVHeadDim, or head_dim_v.
template <class S>
inline constexpr index_t value_head_dim_v = latent_attention_v<S> ? detail::v_head_dim_of<S>() : head_dim_v<S>;
/// Whether q and k get a per-head RMSNorm before the rotary embedding: Spec::kQkNorm, or false.
template <class S>
inline constexpr bool qk_norm_v = detail::qk_norm_of<S>();
/// Whether the q/k norm spans the whole of q and of k (OLMoE) rather than each head: Spec::kQkNormFullWidth, or false.
template <class S>
inline constexpr bool qk_norm_full_width_v = detail::qk_norm_full_width_of<S>();
/// How the rotary embedding is scaled (layers/rope.hpp): Spec::kRopeScaling, or unscaled.
template <class S>
inline constexpr layers::RopeScaling rope_scaling_v = detail::rope_scaling_of<S>();
/// Whether the top-k gates are renormalised to sum to 1: Spec::kNormTopkProb, or true.
template <class S>
inline constexpr bool norm_topk_prob_v = detail::norm_topk_prob_of<S>();
/// What ranks expert groups in group-limited routing: Spec::kGroupScore, or the sum of each group's top 2.
template <class S>
inline constexpr moe::GroupScore group_score_v = detail::group_score_of<S>();

/// Every how many layers, from kFirstMoeLayer on, a layer is MoE: Spec::kMoeLayerStep, or 1.
template <class S>
inline constexpr index_t moe_layer_step_v = detail::moe_layer_step_of<S>();

/// Whether layer l is a MoE layer: l >= kFirstMoeLayer and (l + 1) % kMoeLayerStep == 0 (as
/// Qwen-MoE's decoder_sparse_step and Llama 4's interleave_moe_layer_step); the others are dense.
template <class S>
constexpr bool is_moe_layer(index_t l) {
  return l >= S::kFirstMoeLayer && l < S::kLayers && (l + 1) % moe_layer_step_v<S> == 0;
}
/// The MoE layers before layer l: the index of layer l's MoE layer among them, when it is one.
template <class S>
constexpr index_t moe_index(index_t l) {
  index_t before = 0;
  for (index_t j = 0; j < l; ++j) before += is_moe_layer<S>(j) ? 1 : 0;
  return before;
}
/// How many MoE layers the Spec has.
template <class S>
inline constexpr index_t moe_layer_count_v = moe_index<S>(S::kLayers);
/// The layer of the i-th MoE layer (kLayers when there is none).
template <class S>
constexpr index_t moe_layer_at(index_t i) {
  for (index_t l = 0; l < S::kLayers; ++l)
    if (is_moe_layer<S>(l) && i-- == 0) return l;
  return S::kLayers;
}

/// Where the routed experts' gates multiply: Spec::kGatePlacement, or their outputs.
template <class S>
inline constexpr moe::GatePlacement gate_placement_v = detail::gate_placement_of<S>();
/// Every how many layers one has no rotary embedding: Spec::kNoRopeInterval, or 0 (none).
template <class S>
inline constexpr index_t no_rope_interval_v = detail::no_rope_interval_of<S>();
/// Whether layer l rotates its q and k: not when (l + 1) % kNoRopeInterval == 0 (Llama 4's
/// no_rope_layers, every fourth layer).
template <class S>
constexpr bool uses_rope(index_t l) {
  if constexpr (no_rope_interval_v<S> == 0) return true;  // (no modulus by zero to warn about)
  else return (l + 1) % no_rope_interval_v<S> != 0;
}
/// The temperature tuning of the queries of the layers without rotary embedding: Spec::kAttentionTemperature, or none.
template <class S>
inline constexpr layers::AttentionTemperature attention_temperature_v = detail::attention_temperature_of<S>();
/// Whether the rotary layers normalise each head's rotated q and k without a weight: Spec::kQkWeightlessNorm, or false.
template <class S>
inline constexpr bool qk_weightless_norm_v = detail::qk_weightless_norm_of<S>();
/// The chunk the rotary layers attend within: Spec::kAttentionChunk, or 0 (the whole context).
template <class S>
inline constexpr index_t attention_chunk_size_v = detail::attention_chunk_of<S>();
/// The chunk layer l attends within: attention_chunk_size_v on the rotary layers (Llama 4's
/// chunked local attention; its no-rope layers attend globally), 0 (the whole context) otherwise.
template <class S>
constexpr index_t attention_chunk(index_t l) {
  return uses_rope<S>(l) ? attention_chunk_size_v<S> : 0;
}

/// The static checks of a spec's sizes; instantiated by Transformer<B, Spec>.
template <TransformerSpec S>
struct CheckedSpec {
  static_assert(S::kVocab >= 2, "Spec::kVocab must be at least 2");
  static_assert(S::kModelDim >= 2 && S::kHeads >= 1, "Spec::kModelDim and Spec::kHeads must be positive");
  static_assert(requires { S::kHeadDim; } || S::kModelDim % S::kHeads == 0,
                "Spec::kModelDim must be a multiple of Spec::kHeads (or the Spec must give kHeadDim)");
  static_assert(latent_attention_v<S> || (head_dim_v<S> >= 2 && head_dim_v<S> % 2 == 0),
                "the head width (kHeadDim, or kModelDim / kHeads) must be even for rotary embeddings");
  static_assert(!latent_attention_v<S> || (rope_dim_v<S> >= 2 && rope_dim_v<S> % 2 == 0 && qk_nope_head_dim_v<S> >= 0 &&
                                            value_head_dim_v<S> >= 1 && q_lora_rank_v<S> >= 0),
                "Multi-head Latent Attention needs an even kQkRopeHeadDim >= 2, kQkNopeHeadDim >= 0, kVHeadDim >= 1 and kQLoraRank >= 0");
  static_assert(!latent_attention_v<S> || (kv_heads_v<S> == S::kHeads && !requires { S::kHeadDim; } && !requires { S::kQkNorm; }),
                "Multi-head Latent Attention has one key and value per head and its own widths and norms: "
                "drop kKvHeads, kHeadDim and kQkNorm from the Spec");
  static_assert(kv_heads_v<S> >= 1 && S::kHeads % kv_heads_v<S> == 0, "Spec::kKvHeads must divide Spec::kHeads");
  static_assert(!qk_norm_full_width_v<S> || qk_norm_v<S>, "Spec::kQkNormFullWidth needs Spec::kQkNorm = true");
  static_assert(rope_scaling_v<S>.type == layers::RopeType::Default || rope_scaling_v<S>.factor > 0.0,
                "Spec::kRopeScaling.factor must be positive");
  static_assert((rope_scaling_v<S>.type != layers::RopeType::Yarn && rope_scaling_v<S>.type != layers::RopeType::Llama3) ||
                    rope_scaling_v<S>.original_max_position > 0,
                "Spec::kRopeScaling of type Yarn or Llama3 needs original_max_position > 0");
  static_assert(S::kLayers >= 1, "Spec::kLayers must be at least 1");
  static_assert(S::kMaxLength >= 2, "Spec::kMaxLength must be at least 2");
  static_assert(S::kFirstMoeLayer >= 0 && S::kFirstMoeLayer <= S::kLayers,
                "Spec::kFirstMoeLayer must lie in [0, kLayers] (kLayers: no MoE layer)");
  static_assert(moe_layer_step_v<S> >= 1, "Spec::kMoeLayerStep must be >= 1");
  static_assert(no_rope_interval_v<S> >= 0, "Spec::kNoRopeInterval must be >= 0 (0: every layer rotates)");
  static_assert(!attention_temperature_v<S>.enabled() || no_rope_interval_v<S> > 0,
                "Spec::kAttentionTemperature tunes the layers without rotary embedding: it needs kNoRopeInterval > 0");
  static_assert(!qk_weightless_norm_v<S> || !qk_norm_v<S>, "Spec::kQkWeightlessNorm and kQkNorm exclude each other");
  static_assert(detail::attention_chunk_of<S>() >= 0, "Spec::kAttentionChunk must be >= 0 (0: no chunks)");
  static_assert(!latent_attention_v<S> || (no_rope_interval_v<S> == 0 && !qk_weightless_norm_v<S> && detail::attention_chunk_of<S>() == 0),
                "Multi-head Latent Attention rotates every layer over the whole context: drop kNoRopeInterval, kQkWeightlessNorm "
                "and kAttentionChunk");
  static_assert(moe_layer_count_v<S> == S::kLayers || S::kDenseHidden >= 1, "dense layers need Spec::kDenseHidden >= 1");
  static_assert(moe_layer_count_v<S> == 0 ||
                    (S::kRoutedExperts >= 1 && S::kTopK >= 1 && S::kTopK <= S::kRoutedExperts && S::kExpertHidden >= 1),
                "MoE layers need 1 <= kTopK <= kRoutedExperts and kExpertHidden >= 1");
  static_assert(S::kGroups >= 1 && S::kRoutedExperts % S::kGroups == 0, "Spec::kGroups must divide kRoutedExperts");
  static_assert(S::kTopkGroups >= 1 && S::kTopkGroups <= S::kGroups, "Spec::kTopkGroups must lie in [1, kGroups]");
  static_assert(S::kGroups == 1 || group_score_v<S> == moe::GroupScore::Max || S::kRoutedExperts / S::kGroups >= 2,
                "Spec::kGroups leaves one expert per group: ranking groups by their top 2 needs two (or kGroupScore = Max)");
  static_assert(S::kSharedExperts >= 0, "Spec::kSharedExperts must be >= 0");
  static_assert(S::kRoutedScaling > 0.0f && S::kRopeBase > 1.0f && S::kNormEpsilon > 0.0f,
                "Spec::kRoutedScaling, kRopeBase and kNormEpsilon must be positive (kRopeBase > 1)");
  static constexpr bool kValid = true;
};

namespace detail {

/// One message per missing or mistyped member, naming its expected declaration.
#define RLMOE_SPEC_MEMBER(type, name)                                                                                   \
  static_assert(requires {                                                                                             \
    { S::name } -> std::convertible_to<type>;                                                                          \
  }, "rlmoe TransformerSpec: the Spec needs `static constexpr " #type " " #name "` (see rlmoe/nn/transformer_spec.hpp)")

template <class S>
struct SpecMembers {
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kVocab);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kModelDim);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kLayers);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kHeads);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kMaxLength);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kDenseHidden);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kFirstMoeLayer);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kRoutedExperts);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kTopK);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kExpertHidden);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kSharedExperts);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kGroups);
  RLMOE_SPEC_MEMBER(rlmoe::index_t, kTopkGroups);
  RLMOE_SPEC_MEMBER(rlmoe::moe::ScoreFunction, kScoreFunction);
  RLMOE_SPEC_MEMBER(float, kRoutedScaling);
  RLMOE_SPEC_MEMBER(float, kRopeBase);
  RLMOE_SPEC_MEMBER(float, kNormEpsilon);
  RLMOE_SPEC_MEMBER(bool, kTiedEmbeddings);
};

#undef RLMOE_SPEC_MEMBER

}  // namespace detail

/// Stands in for a refused Spec once its messages are out, so that nothing else fails.
struct RefusedSpec {
  static constexpr index_t kVocab = 2, kModelDim = 2, kLayers = 1, kHeads = 1, kMaxLength = 2;
  static constexpr index_t kDenseHidden = 1, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 1, kTopK = 1, kExpertHidden = 1, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// SpecCheck<S>::type is S when it is a TransformerSpec; otherwise one static_assert per missing
/// member names its declaration, and the type is RefusedSpec. Then the sizes are checked.
template <class S>
struct SpecCheck {
  static_assert(sizeof(detail::SpecMembers<S>) > 0);  // instantiates the member checks
  using type = std::conditional_t<TransformerSpec<S>, S, RefusedSpec>;
  static_assert(CheckedSpec<type>::kValid);
};

template <class S>
using checked_spec_t = typename SpecCheck<S>::type;

template <class S>
struct SpecStorage {
  using type = float;
};
template <class S>
  requires requires { typename S::Storage; }
struct SpecStorage<S> {
  using type = typename S::Storage;
  static_assert(std::is_same_v<type, float> || std::is_same_v<type, bfloat16> || std::is_same_v<type, double>,
                "rlmoe TransformerSpec: Spec::Storage must be float, rlmoe::bfloat16 or double (float64 checks)");
};

/// The Spec's storage type: Spec::Storage, or float when it declares none.
template <class S>
using storage_t = typename SpecStorage<S>::type;

}  // namespace rlmoe::nn
