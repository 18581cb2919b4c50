#pragma once
// The concepts a user's types are checked against when they plug into the GRPO pieces. Each is
// keyed on the small set of expressions the library calls, so a type that lacks one fails to
// compile with the concept's name in the diagnostic.
#include <concepts>
#include <string_view>

#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/rl/token_loss.hpp"

namespace rlmoe::rl {

/// Scores one completion. Device-callable (RLMOE_HOST_DEVICE) rewards run inside a kernel over
/// the batch; wrap a host-only callable in HostReward.
template <class R>
concept RewardFunction = std::copy_constructible<R> && requires(const R& reward, const Sample& sample) {
  { reward(sample) } -> std::convertible_to<float>;
};

/// Scores a whole rollout at once: for rewards that need a group's completions together (a
/// generative reward model judging them side by side, rl/grm/grm_reward.hpp). It runs on the
/// host, launching its own work on the backend it holds, and writes the N rewards, in backend
/// memory, with reward.score_rollout(rollout, rewards).
template <class R>
concept RolloutReward = std::copy_constructible<R> && requires(const R& reward, const RolloutView& rollout, VectorView<float> rewards) {
  reward.score_rollout(rollout, rewards);
};

/// Turns the rewards of one group into advantages: estimator(rewards, advantages), both views of
/// the group's G entries. Device-callable.
template <class E>
concept AdvantageEstimator =
    std::copy_constructible<E> && requires(const E& estimator, VectorView<const float> rewards, VectorView<float> advantages) {
      estimator(rewards, advantages);
    };

/// A per-token estimate of KL(pi_theta || pi_ref) from log-probs, and its derivative in logp.
template <class K>
concept KlEstimator = requires(float logp, float ref_logp) {
  { K::value(logp, ref_logp) } -> std::same_as<float>;
  { K::grad(logp, ref_logp) } -> std::same_as<float>;
};

/// How per-token losses are weighted into the batch loss: each active token of sequence i gets
/// weight sequence_weight(active tokens of i, sequences N, active tokens in the batch, T_max).
template <class A>
concept LossAggregation = requires(index_t active, index_t sequences, double batch_active, index_t max_length) {
  { A::kName } -> std::convertible_to<std::string_view>;
  { A::sequence_weight(active, sequences, batch_active, max_length) } -> std::same_as<double>;
};

/// A policy loss: a per-token rule with its aggregation and the level of its importance ratio.
template <class L>
concept PolicyLoss = std::copy_constructible<L> && LossAggregation<typename L::Aggregation> &&
                     requires(const L& loss, const TokenLossInput<float>& input) {
                       { L::kRatioLevel } -> std::convertible_to<RatioLevel>;
                       { loss(input) } -> std::same_as<TokenLossTerms<float>>;
                       { loss.uses_reference() } -> std::convertible_to<bool>;
                       loss.validate();
                     };

}  // namespace rlmoe::rl
