// What the refusal cases share: a small policy over the built-in vocabulary and a valid task.
#pragma once
#include <rlmoe/rlmoe.hpp>

struct Spec17 {
  static constexpr rlmoe::index_t kVocab = rlmoe::rl::tasks::DigitVocabulary::kSize, kModelDim = 16, kLayers = 1, kHeads = 2,
                                  kMaxLength = 16;
  static constexpr rlmoe::index_t kDenseHidden = 16, kFirstMoeLayer = 0;
  static constexpr rlmoe::index_t kRoutedExperts = 2, kTopK = 1, kExpertHidden = 8, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// Trains briefly: the whole trainer is instantiated, so that a refused argument shows that
/// nothing else fails after its message.
template <class Spec, class Task, class Estimator = rlmoe::rl::GroupNormalized>
void train(const Task& task) {
  rlmoe::rl::GrpoConfig config;
  config.steps = 1;
  rlmoe::rl::GrpoTrainer<rlmoe::Host, Spec, Task, Estimator> trainer(rlmoe::Host{}, task, config);
  trainer.initialize();
  (void)trainer.run();
  (void)trainer.step();
  (void)trainer.evaluate();
}

/// Scores an empty batch with the reward: enough to instantiate score() with it.
template <class Reward>
void score_with(const Reward& reward) {
  rlmoe::rl::RolloutView rollout;
  std::vector<float> rewards(0);
  rlmoe::rl::score(rlmoe::Host{}, reward, rollout, rlmoe::make_view(rewards.data(), 0));
}
