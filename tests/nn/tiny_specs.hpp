#pragma once
// Small transformer architectures for the tests.
#include "rlmoe/core/types.hpp"
#include "rlmoe/layers/attention_temperature.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/moe/config.hpp"

namespace rlmoe::test {

/// Two layers, the first dense and the second MoE (8 experts, top-2, one shared), tied embeddings.
struct TinyMoeSpec {
  static constexpr index_t kVocab = 13, kModelDim = 8, kLayers = 2, kHeads = 2, kMaxLength = 16;
  static constexpr index_t kDenseHidden = 12, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 6, kSharedExperts = 1, kGroups = 2, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// All dense, separate LM head.
struct TinyDenseSpec {
  static constexpr index_t kVocab = 11, kModelDim = 12, kLayers = 2, kHeads = 3, kMaxLength = 16;
  static constexpr index_t kDenseHidden = 16, kFirstMoeLayer = 2;
  static constexpr index_t kRoutedExperts = 1, kTopK = 1, kExpertHidden = 1, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 500.0f, kNormEpsilon = 1e-5f;
  static constexpr bool kTiedEmbeddings = false;
};

/// Qwen3-MoE's attention and routing: grouped-query attention (4 query heads, 2 key/value heads),
/// a head width that is not kModelDim / kHeads, per-head q/k norm; every layer MoE with softmax
/// scores, no shared expert, top-k gates not renormalised (OLMoE's choice; Qwen3's is true).
struct TinyQwenMoeSpec {
  static constexpr index_t kVocab = 13, kModelDim = 8, kLayers = 2, kHeads = 4, kMaxLength = 16;
  static constexpr index_t kKvHeads = 2, kHeadDim = 6;
  static constexpr bool kQkNorm = true, kNormTopkProb = false;
  static constexpr index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr index_t kRoutedExperts = 6, kTopK = 2, kExpertHidden = 5, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 1000000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = false;
};

/// Grouped-query attention (6 query heads over 3 key/value heads) in dense layers, renormalised
/// softmax gates in the MoE layer.
struct TinyGqaSpec {
  static constexpr index_t kVocab = 11, kModelDim = 12, kLayers = 2, kHeads = 6, kMaxLength = 16;
  static constexpr index_t kKvHeads = 3;
  static constexpr index_t kDenseHidden = 10, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 4, kTopK = 2, kExpertHidden = 4, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// OLMoE's attention: grouped-query heads with the q and k norms over all of q and all of k (not
/// per head); every layer MoE with softmax gates not renormalised.
struct TinyOlmoeSpec {
  static constexpr index_t kVocab = 11, kModelDim = 16, kLayers = 2, kHeads = 4, kMaxLength = 16;
  static constexpr index_t kKvHeads = 2;
  static constexpr bool kQkNorm = true, kQkNormFullWidth = true, kNormTopkProb = false;
  static constexpr index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr index_t kRoutedExperts = 6, kTopK = 2, kExpertHidden = 5, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-5f;
  static constexpr bool kTiedEmbeddings = false;
};

/// DeepSeek-V3's attention and routing: Multi-head Latent Attention with q's bottleneck (values
/// narrower than queries), a dense first layer, then sigmoid routing over 4 groups of 2 experts
/// (2 groups chosen), one shared expert, routed scaling 2.5. (With rank-4 latents the latent
/// norms, over four values, amplified bf16 rounding to 5.8e-2 in check_transformer_bf16, no
/// routing decision differing; rank 8 measures 3.5e-2, as the other Specs do.)
struct TinyDeepseekSpec {
  static constexpr index_t kVocab = 13, kModelDim = 8, kLayers = 2, kHeads = 2, kMaxLength = 16;
  static constexpr index_t kKvLoraRank = 8, kQLoraRank = 8, kQkNopeHeadDim = 4, kQkRopeHeadDim = 4, kVHeadDim = 4;
  static constexpr index_t kDenseHidden = 12, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 6, kSharedExperts = 1, kGroups = 4, kTopkGroups = 2;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 2.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = false;
};

/// DeepSeek-V2-Lite's attention: MLA with q projected directly (no bottleneck), values wider
/// than queries, three heads; every layer MoE, routed as DeepSeek-V2 (group_limited_greedy: the
/// 2 of 3 groups with the best single softmax score, gates not renormalised, routed scaling).
struct TinyLatentSpec {
  static constexpr index_t kVocab = 11, kModelDim = 12, kLayers = 2, kHeads = 3, kMaxLength = 16;
  static constexpr index_t kKvLoraRank = 5, kQkNopeHeadDim = 2, kQkRopeHeadDim = 4, kVHeadDim = 7;
  static constexpr index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr index_t kRoutedExperts = 6, kTopK = 2, kExpertHidden = 4, kSharedExperts = 2, kGroups = 3, kTopkGroups = 2;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr moe::GroupScore kGroupScore = moe::GroupScore::Max;
  static constexpr bool kNormTopkProb = false;
  static constexpr float kRoutedScaling = 2.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-5f;
  static constexpr bool kTiedEmbeddings = true;
};

/// DeepSeek-V3's attention with YaRN rotary scaling over an original context of 4 (the test
/// batches run to 9, decode to 16): mscale 0.8 against mscale_all_dim 1, so that both the cos/sin
/// attention factor and the softmax scale's mscale^2 differ from 1. Of its four rotated pairs
/// (base 100) the first is kept and the other three interpolated (the ramp runs from pair 0 to 1).
struct TinyYarnDeepseekSpec : TinyDeepseekSpec {
  static constexpr index_t kModelDim = 16, kQkNopeHeadDim = 4, kQkRopeHeadDim = 8;
  static constexpr float kRopeBase = 100.0f;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Yarn, .factor = 6.0, .original_max_position = 4,
                                                    .beta_fast = 2.0, .beta_slow = 0.5, .mscale = 0.8, .mscale_all_dim = 1.0};
};

/// TinyGqaSpec with Llama 3's rotary scaling (as Llama 4 uses it) over an original context of 6:
/// of the pairs (wavelengths 6.3 to 2000), some kept, some interpolated, one blended.
struct TinyLlama3RopeSpec : TinyGqaSpec {
  static constexpr float kRopeBase = 100.0f;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Llama3, .factor = 8.0, .original_max_position = 6,
                                                    .low_freq_factor = 0.1, .high_freq_factor = 0.5};
};

/// TinyGqaSpec with four layers, MoE and dense interleaved after the first (dense) one: layers 1
/// and 3 are MoE, 2 is dense (kMoeLayerStep 2, Qwen-MoE's decoder_sparse_step).
struct TinyInterleavedSpec : TinyGqaSpec {
  static constexpr index_t kLayers = 4, kMoeLayerStep = 2;
};

/// TinyMoeSpec with three layers, dense, MoE, dense (kFirstMoeLayer 0, kMoeLayerStep 2): the
/// interleaving in bf16 at the size of the other bf16 checks.
struct TinyInterleavedShortSpec : TinyMoeSpec {
  static constexpr index_t kLayers = 3, kFirstMoeLayer = 0, kMoeLayerStep = 2;
};

/// Llama 4's architecture in small: grouped-query attention whose second and fourth layers do not
/// rotate (kNoRopeInterval 2) and scale their queries by a temperature of the position (floor 3:
/// it steps at positions 2, 5, 8, ...), the others RMS-normalising each rotated q and k head
/// without weights and attending within chunks of 3 positions; top-1 sigmoid routing whose gate scales the expert's input, one shared expert,
/// MoE layers interleaved with dense ones; llama3 rotary scaling.
struct TinyLlama4Spec {
  static constexpr index_t kVocab = 11, kModelDim = 12, kLayers = 4, kHeads = 4, kMaxLength = 16;
  static constexpr index_t kKvHeads = 2, kHeadDim = 4;
  static constexpr bool kNormTopkProb = false;
  static constexpr index_t kDenseHidden = 10, kFirstMoeLayer = 0, kMoeLayerStep = 2;
  static constexpr index_t kRoutedExperts = 4, kTopK = 1, kExpertHidden = 6, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr moe::GatePlacement kGatePlacement = moe::GatePlacement::Input;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 100.0f, kNormEpsilon = 1e-5f;
  static constexpr bool kTiedEmbeddings = false;
  static constexpr index_t kNoRopeInterval = 2;
  static constexpr layers::AttentionTemperature kAttentionTemperature{.floor_scale = 3.0, .scale = 0.5};
  static constexpr bool kQkWeightlessNorm = true;
  static constexpr index_t kAttentionChunk = 3;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Llama3, .factor = 8.0, .original_max_position = 6,
                                                    .low_freq_factor = 0.1, .high_freq_factor = 0.5};
};

/// TinyLlama4Spec's first two layers (rotating and dense, then not rotating and MoE): its bf16 check.
struct TinyLlama4ShortSpec : TinyLlama4Spec {
  static constexpr index_t kLayers = 2;
};

/// TinyQwenMoeSpec with linear rotary scaling.
struct TinyLinearRopeSpec : TinyQwenMoeSpec {
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Linear, .factor = 3.0};
};

}  // namespace rlmoe::test
