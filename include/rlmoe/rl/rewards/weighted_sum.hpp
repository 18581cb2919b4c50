#pragma once
// A weighted sum of rewards fixed at compile time: r = sum_k w_k r_k, with every component r_k
// kept for metrics (score() writes them when asked). The weights are runtime values.
//   WeightedSum<ExactMatch, FormatReward> reward({1.0f, 0.5f}, ExactMatch{tags}, FormatReward{tags});
#include <array>
#include <cstddef>
#include <tuple>
#include <utility>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

template <RewardFunction... Rewards>
  requires(sizeof...(Rewards) >= 1)
struct WeightedSum {
  static constexpr int kComponents = static_cast<int>(sizeof...(Rewards));

  std::tuple<Rewards...> rewards;
  float weights[kComponents];

  explicit WeightedSum(const std::array<float, sizeof...(Rewards)>& component_weights, Rewards... components)
      : rewards(std::move(components)...) {
    for (int k = 0; k < kComponents; ++k) weights[k] = component_weights[static_cast<std::size_t>(k)];
  }

  /// The weighted total; components[k] receives r_k.
  RLMOE_HOST_DEVICE float evaluate(const Sample& sample, float* components) const {
    return evaluate_each(sample, components, std::index_sequence_for<Rewards...>{});
  }

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const {
    float components[kComponents];
    return evaluate(sample, components);
  }

 private:
  template <std::size_t... K>
  RLMOE_HOST_DEVICE float evaluate_each(const Sample& sample, float* components, std::index_sequence<K...>) const {
    float total = 0.0f;
    ((components[K] = static_cast<float>(std::get<K>(rewards)(sample)), total += weights[K] * components[K]), ...);
    return total;
  }
};

/// Number of components a reward reports: kComponents for a WeightedSum, else 1.
template <class R>
constexpr int reward_components() {
  if constexpr (requires { R::kComponents; })
    return R::kComponents;
  else
    return 1;
}

/// Evaluates a reward, writing its components (one for a plain reward) to `components`.
template <class R>
RLMOE_HOST_DEVICE float evaluate_reward(const R& reward, const Sample& sample, float* components) {
  if constexpr (requires { R::kComponents; }) {
    return reward.evaluate(sample, components);
  } else {
    const float value = static_cast<float>(reward(sample));
    components[0] = value;
    return value;
  }
}

}  // namespace rlmoe::rl
