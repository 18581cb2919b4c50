#pragma once
// score(backend, reward, rollout, rewards, components): the reward of every completion of the
// batch, in one kernel for a device-callable reward (a host loop for a HostReward; a
// RolloutReward scores the whole rollout itself), with each
// component of a WeightedSum written to components[k, i] when a [C, N] view is given.
//
// A NaN or infinite reward is an error naming the completion, its prompt and its components.
// Checking it brings one index back to the host, the only synchronisation score() makes.
#include <cstdint>
#include <exception>
#include <sstream>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/finite.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/rl/concept_checks.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/rewards/host_reward.hpp"
#include "rlmoe/rl/rewards/weighted_sum.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

/// The token arrays of a rollout copied to host memory, with a RolloutView over the copies: what
/// host-side rewards read (HostReward, GrmReward, the meta RM's rows).
struct HostRolloutCopy {
  std::vector<token_t> prompt_tokens, reference_tokens, completion_tokens;
  std::vector<std::int32_t> prompt_lengths, reference_lengths, completion_lengths;
  RolloutView view;

  template <Backend B>
  HostRolloutCopy(const B& backend, const RolloutView& r) {
    const auto fetch = [&](auto source, const char* what) {
      require_contiguous(source, what);
      return to_host(backend, source);
    };
    prompt_tokens = fetch(r.prompt_tokens, "score: prompt_tokens");
    prompt_lengths = fetch(r.prompt_lengths, "score: prompt_lengths");
    reference_tokens = fetch(r.reference_tokens, "score: reference_tokens");
    reference_lengths = fetch(r.reference_lengths, "score: reference_lengths");
    completion_tokens = fetch(r.completion_tokens, "score: completion_tokens");
    completion_lengths = fetch(r.completion_lengths, "score: completion_lengths");
    view = r;
    view.prompt_tokens = {prompt_tokens.data(), r.prompt_tokens.shape()};
    view.prompt_lengths = {prompt_lengths.data(), r.prompt_lengths.shape()};
    view.reference_tokens = {reference_tokens.data(), r.reference_tokens.shape()};
    view.reference_lengths = {reference_lengths.data(), r.reference_lengths.shape()};
    view.completion_tokens = {completion_tokens.data(), r.completion_tokens.shape()};
    view.completion_lengths = {completion_lengths.data(), r.completion_lengths.shape()};
    view.completion_mask = {};  // rewards do not read the mask
  }
};

namespace detail {

template <class R>
struct ScoreSamples {
  R reward;
  RolloutView rollout;
  VectorView<float> rewards;
  MatrixView<float> components;  // [C, N] or empty

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    float values[reward_components<R>()];
    rewards[i] = evaluate_reward(reward, rollout.sample(i), values);
    if (components.data() != nullptr)
      for (int k = 0; k < reward_components<R>(); ++k) components(k, i) = values[k];
  }
};

/// A HostReward over every completion, in a host loop; one component. An exception the reward
/// throws on a thread reaches the caller (the first one), rather than ending the process.
template <class R>
void evaluate_on_host(const R& reward, const RolloutView& rollout, float* rewards, float* components) {
  const index_t n = rollout.num_completions();
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 16)
  for (index_t i = 0; i < n; ++i) {
    try {
      rewards[i] = reward(rollout.sample(i));
      if (components != nullptr) components[i] = rewards[i];
    } catch (...) {
#pragma omp critical(rlmoe_host_reward_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

template <Backend B, class R>
void score_on_host(const B& backend, const R& reward, const RolloutView& rollout, VectorView<float> rewards,
                   MatrixView<float> components) {
  if constexpr (!B::kIsDevice) {
    evaluate_on_host(reward, rollout, rewards.data(), components.data());
  } else {
    const HostRolloutCopy host(backend, rollout);
    std::vector<float> host_rewards(static_cast<std::size_t>(rollout.num_completions()));
    evaluate_on_host(reward, host.view, host_rewards.data(), nullptr);
    const VectorView<const float> values(host_rewards.data(), rewards.shape());
    copy(backend, rewards, values);
    if (components.data() != nullptr) copy(backend, components.reshape(rewards.shape()), values);
    synchronize(backend);  // host_rewards is about to go out of scope
  }
}

template <Backend B>
[[noreturn]] void throw_non_finite_reward(const B& backend, const RolloutView& rollout, VectorView<float> rewards,
                                          MatrixView<float> components, index_t i) {
  std::ostringstream message;
  const index_t g = rollout.group_size;
  message << "score: the reward of completion " << i << " (prompt " << i / g << ", completion " << i % g
          << " of its group) is " << to_host(backend, rewards.slice(i, i + 1))[0];
  if (components.data() != nullptr) {
    message << "; its components are";
    for (index_t k = 0; k < components.extent(0); ++k)
      message << (k ? ", " : " ") << to_host(backend, VectorView<float>(&components(k, i), Extents<1>{1}))[0];
  }
  throw NumericError(message.str());
}

}  // namespace detail

/// R: a RewardFunction, or a RolloutReward, which scores the whole rollout itself (a refused one
/// gets one message saying what it lacks, and nothing else).
template <Backend B, class R>
void score(const B& backend, const R& reward, const RolloutView& rollout, VectorView<float> rewards,
           MatrixView<float> components = {}) {
  constexpr bool kRolloutReward = RolloutReward<R>;
  // disjunction: a RolloutReward is not checked as a RewardFunction (whose messages would fire).
  if constexpr (std::disjunction_v<std::bool_constant<kRolloutReward>, RewardFunctionCheck<R>>) {
    rollout.validate();
    const index_t n = rollout.num_completions();
    require_shape(rewards, Extents<1>{n}, "score: rewards");
    require_contiguous(rewards, "score: rewards");
    if (components.data() != nullptr) {
      require_shape(components, Extents<2>{reward_components<R>(), n}, "score: components");
      require_contiguous(components, "score: components");
    }
    if constexpr (requires { reward.validate(); }) reward.validate();
    if constexpr (kRolloutReward) {
      reward.score_rollout(rollout, rewards);
      if (components.data() != nullptr) copy(backend, components.reshape(rewards.shape()), VectorView<const float>(rewards));
    } else if constexpr (is_host_reward<R>) {
      detail::score_on_host(backend, reward, rollout, rewards, components);
    } else {
      parallel_for(backend, n, detail::ScoreSamples<R>{reward, rollout, rewards, components});
    }
    const index_t bad = first_non_finite<B, float>(backend, rewards);
    if (bad >= 0) detail::throw_non_finite_reward(backend, rollout, rewards, components, bad);
  }
}

}  // namespace rlmoe::rl
