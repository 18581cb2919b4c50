#pragma once
// WithReward: a task trained on another reward than its own, such as tasks::Addition scored by a
// generative reward model (grm::GrmReward) instead of exact match. Everything else, evaluation's
// accuracy included, stays the task's:
//
//   const tasks::WithReward judged(tasks::Addition{}, grm::GrmReward<B, GrmSpec>(...));
//   rl::GrpoTrainer<B, Spec, decltype(judged)> trainer(backend, judged, config);
#include <utility>

#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::tasks {

/// Reward: a RewardFunction or a RolloutReward.
template <Task Base, class Reward>
  requires RewardFunction<Reward> || RolloutReward<Reward>
struct WithReward : Base {
  Reward training_reward;

  WithReward(Base base, Reward reward) : Base(std::move(base)), training_reward(std::move(reward)) {}
  [[nodiscard]] Reward reward() const { return training_reward; }
};

}  // namespace rlmoe::rl::tasks
