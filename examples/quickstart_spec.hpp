// The quickstart's policy, shared by example 01 (one process) and example 06 (data parallel over
// MPI ranks). Not part of the library.
#pragma once

#include <rlmoe/rlmoe.hpp>

namespace examples {

/// 2 layers of width 64 (4 heads), the first dense, the second an MoE layer of 8 routed experts
/// (top-2) and one shared expert, with DeepSeek-V3's sigmoid router.
struct QuickstartSpec {
  static constexpr rlmoe::index_t kVocab = rlmoe::rl::tasks::DigitVocabulary::kSize;
  static constexpr rlmoe::index_t kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 24;
  static constexpr rlmoe::index_t kDenseHidden = 128, kFirstMoeLayer = 1;
  static constexpr rlmoe::index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 64, kSharedExperts = 1;
  static constexpr rlmoe::index_t kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// DAPO's loss as the quickstart uses it: token-mean aggregation, clip-higher, no KL term.
inline rlmoe::rl::ClippedSurrogate<rlmoe::rl::K3, rlmoe::rl::TokenMean> quickstart_loss() {
  rlmoe::rl::ClippedSurrogate<rlmoe::rl::K3, rlmoe::rl::TokenMean> loss;
  loss.epsilon_low = 0.2f;
  loss.epsilon_high = 0.28f;
  return loss;
}

/// Aux-loss-free balancing at the quickstart's rate.
inline rlmoe::nn::MoeTraining quickstart_moe() { return {rlmoe::moe::Balancing::AuxLossFree, 0.01f, 0.0f, 0.0f}; }

}  // namespace examples
