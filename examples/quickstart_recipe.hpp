// The quickstart's recipe, its policy, loss, balancing and configuration, shared by example 01
// (one process) and example 06 (data parallel over MPI ranks). Not part of the library.
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

/// 32 prompts x 8 completions per step with dynamic sampling, warmup and cosine decay, a cold
/// start of 64 demonstrations per step, evaluation every 100 steps on 200 held-out problems, a
/// checkpoint every 250; the caller sets the seed, the lengths and the output.
inline rlmoe::rl::GrpoConfig quickstart_config() {
  rlmoe::rl::GrpoConfig c;
  c.prompts_per_step = 32;
  c.group_size = 8;
  c.dynamic_sampling = true;
  c.track_reference_kl = true;  // report KL(policy || policy at the start of RL)
  c.learning_rate = 1e-3;
  c.min_learning_rate = 1e-4;
  c.warmup_steps = 10;
  c.cold_start_batch = 64;
  c.cold_start_learning_rate = 3e-3;
  c.eval_every = 100;
  c.eval_prompts = 200;
  c.pass_at_k = 4;
  c.checkpoint_every = 250;
  return c;
}

}  // namespace examples
