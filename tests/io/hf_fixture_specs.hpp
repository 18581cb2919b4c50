#pragma once
// The architectures of the Hugging Face fixtures in tests/io/fixtures/hf (made by
// scripts/fixtures/make_hf_models.py), as examples/hf_spec prints them.
#include "rlmoe/core/types.hpp"
#include "rlmoe/layers/attention_temperature.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/moe/config.hpp"

namespace rlmoe::test {

/// tests/io/fixtures/hf/qwen3_moe_tiny, as hf_spec prints it.
struct Qwen3MoeTiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kQkNorm = true, kNormTopkProb = true;
  static constexpr index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
};

/// tests/io/fixtures/hf/qwen3_moe_interleaved_tiny: Qwen3MoeTiny with 5 layers, MoE and dense
/// interleaved (decoder_sparse_step 2: layers 1 and 3 MoE).
struct Qwen3MoeInterleavedTiny : Qwen3MoeTiny {
  static constexpr index_t kLayers = 5, kMoeLayerStep = 2;
};

/// tests/io/fixtures/hf/qwen3_tiny: dense, tied embeddings.
struct Qwen3Tiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kQkNorm = true, kNormTopkProb = true;
  static constexpr index_t kDenseHidden = 96, kFirstMoeLayer = 2;
  static constexpr index_t kRoutedExperts = 1, kTopK = 1, kExpertHidden = 1, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = true;
};

/// tests/io/fixtures/hf/olmoe_tiny: q and k norms over whole rows, every layer MoE.
struct OlmoeTiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kQkNorm = true, kNormTopkProb = false, kQkNormFullWidth = true;
  static constexpr index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
};

/// tests/io/fixtures/hf/deepseek_v3_tiny: Multi-head Latent Attention, sigmoid routing over groups
/// with selection biases, a shared expert, the first layer dense.
struct DeepseekV3Tiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 3, kHeads = 4, kMaxLength = 256;
  static constexpr index_t kKvLoraRank = 16, kQLoraRank = 32;
  static constexpr index_t kQkNopeHeadDim = 16, kQkRopeHeadDim = 8, kVHeadDim = 16;
  static constexpr bool kNormTopkProb = true;
  static constexpr index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1, kGroups = 4, kTopkGroups = 2;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 2.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
};

/// tests/io/fixtures/hf/deepseek_v3_yarn_tiny: DeepseekV3Tiny's architecture (a vocabulary of 256)
/// with DeepSeek-V3's published YaRN scaling over an original context of 16.
struct DeepseekV3YarnTiny : DeepseekV3Tiny {
  static constexpr index_t kVocab = 256, kMaxLength = 640;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 16,
                                                    .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 1.0, .mscale_all_dim = 1.0};
};

/// tests/io/fixtures/hf/mixtral_tiny: grouped-query attention without q/k norms, every layer MoE.
struct MixtralTiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;
  static constexpr index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kNormTopkProb = true;
  static constexpr index_t kDenseHidden = 0, kFirstMoeLayer = 0;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 1000000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
};

/// tests/io/fixtures/hf/deepseek_v2_tiny: latent attention without a q bottleneck, softmax routing
/// by group_limited_greedy (groups ranked by their best score), gates not renormalised, routed
/// scaling 1 (V2-Lite's), two shared experts, DeepSeek-V2's YaRN over an original context of 16.
struct DeepseekV2Tiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 3, kHeads = 4, kMaxLength = 640;
  static constexpr index_t kKvLoraRank = 16, kQLoraRank = 0;
  static constexpr index_t kQkNopeHeadDim = 16, kQkRopeHeadDim = 8, kVHeadDim = 16;
  static constexpr bool kNormTopkProb = false;
  static constexpr index_t kDenseHidden = 96, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 2, kGroups = 4, kTopkGroups = 2;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Softmax;
  static constexpr moe::GroupScore kGroupScore = moe::GroupScore::Max;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;
  static constexpr bool kTiedEmbeddings = false;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 16,
                                                    .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 0.707, .mscale_all_dim = 0.707};
};

/// tests/io/fixtures/hf/llama4_tiny: Llama 4's text model with Maverick's interleaved MoE layers
/// (top-1 sigmoid, gates on the inputs, a shared expert) and Scout's attention (every fourth layer
/// without rotation, temperature-tuned; the others chunked, with weightless q/k norms; llama3 scaling).
struct Llama4Tiny {
  static constexpr index_t kVocab = 1024, kModelDim = 64, kLayers = 4, kHeads = 4, kMaxLength = 640;
  static constexpr index_t kKvHeads = 2, kHeadDim = 16;
  static constexpr bool kNormTopkProb = false;
  static constexpr index_t kDenseHidden = 96, kFirstMoeLayer = 0, kMoeLayerStep = 2;
  static constexpr index_t kRoutedExperts = 8, kTopK = 1, kExpertHidden = 32, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr moe::GatePlacement kGatePlacement = moe::GatePlacement::Input;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 500000.0f, kNormEpsilon = 1e-05f;
  static constexpr bool kTiedEmbeddings = false;
  static constexpr layers::RopeScaling kRopeScaling{.type = layers::RopeType::Llama3, .factor = 16.0, .original_max_position = 16,
                                                    .low_freq_factor = 1.0, .high_freq_factor = 1.0};
  static constexpr index_t kNoRopeInterval = 4, kAttentionChunk = 8;
  static constexpr layers::AttentionTemperature kAttentionTemperature{.floor_scale = 8.0, .scale = 0.1};
  static constexpr bool kQkWeightlessNorm = true;
};

}  // namespace rlmoe::test
