#pragma once
// Readable refusals. When a user's type does not satisfy one of the concepts of rl/concepts.hpp,
// the library states, in one static_assert message, the declaration it expected (as CUTLASS's
// "Could not find a mainloop specialization" does), and then carries on with a stand-in that does
// satisfy the concept, so that the message is the only error and not the first of many:
//
//   RewardFunctionCheck<R>::value          score(): the message, then the body is skipped
//   checked_estimator_t<E>                 E, or RefusedEstimator after the message
//   checked_loss_t<L>                      L, or RefusedLoss after the message
//
// Tasks (tasks/task.hpp) and Specs (nn/transformer_spec.hpp) are checked the same way.
#include <concepts>
#include <string_view>
#include <type_traits>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/losses/aggregation.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/rl/token_loss.hpp"

namespace rlmoe::rl {

/// RewardFunctionCheck<R>::value: whether R is a RewardFunction, after one message saying what it
/// lacks when it is not.
template <class R>
struct RewardFunctionCheck {
  static constexpr bool kCallable = requires(R& reward, const Sample& sample) { reward(sample); };
  static constexpr bool kConstCallable = requires(const R& reward, const Sample& sample) { reward(sample); };
  static constexpr bool kReturnsNumber = requires(const R& reward, const Sample& sample) {
    { reward(sample) } -> std::convertible_to<float>;
  };
  static_assert(kConstCallable || !kCallable,
                "rlmoe RewardFunction: the reward's operator() must be const: "
                "`float operator()(const rlmoe::rl::Sample&) const`");
  static_assert(kCallable,
                "rlmoe RewardFunction: a reward is a copyable functor with `float operator()(const rlmoe::rl::Sample&) "
                "const` (RLMOE_HOST_DEVICE to run in a kernel; a host-only callable goes in rlmoe::rl::HostReward)");
  static_assert(!kConstCallable || kReturnsNumber,
                "rlmoe RewardFunction: `operator()(const rlmoe::rl::Sample&) const` must return a number (float)");
  static_assert(std::copy_constructible<R>, "rlmoe RewardFunction: a reward must be copy-constructible (it is copied into kernels)");
  static constexpr bool value = RewardFunction<R>;
};

/// AdvantageEstimatorCheck<E>::value: whether E is an AdvantageEstimator, after one message.
template <class E>
struct AdvantageEstimatorCheck {
  static constexpr bool kCallable = requires(E& e, VectorView<const float> r, VectorView<float> a) { e(r, a); };
  static constexpr bool kConstCallable = requires(const E& e, VectorView<const float> r, VectorView<float> a) { e(r, a); };
  static_assert(kConstCallable || !kCallable,
                "rlmoe AdvantageEstimator: the estimator's operator() must be const: "
                "`template <class T> void operator()(rlmoe::VectorView<const T> rewards, rlmoe::VectorView<T> advantages) const`");
  static_assert(kCallable,
                "rlmoe AdvantageEstimator: an estimator is a copyable functor "
                "`template <class T> void operator()(rlmoe::VectorView<const T> rewards, rlmoe::VectorView<T> advantages) const` "
                "that writes every advantage of one group (RLMOE_HOST_DEVICE to run in a kernel)");
  static_assert(std::copy_constructible<E>, "rlmoe AdvantageEstimator: an estimator must be copy-constructible");
  static constexpr bool value = AdvantageEstimator<E>;
};

/// Stands in for a refused estimator once its message is out.
struct RefusedEstimator {
  RefusedEstimator() = default;
  template <class U>
  RefusedEstimator(const U&) {}  // NOLINT: converts from the refused type
  template <class T>
  RLMOE_HOST_DEVICE void operator()(VectorView<const T>, VectorView<T> a) const {
    for (index_t i = 0; i < a.size(); ++i) a[i] = T(0);
  }
};

template <class E>
using checked_estimator_t = std::conditional_t<AdvantageEstimatorCheck<E>::value, E, RefusedEstimator>;

namespace detail {
template <class L>
concept HasAggregation = requires { typename L::Aggregation; } && LossAggregation<typename L::Aggregation>;
}  // namespace detail

/// PolicyLossCheck<L>::value: whether L is a PolicyLoss, after one message per missing piece.
template <class L>
struct PolicyLossCheck {
  static constexpr bool kHasAggregation = detail::HasAggregation<L>;
  static constexpr bool kHasRatioLevel = requires {
    { L::kRatioLevel } -> std::convertible_to<RatioLevel>;
  };
  static constexpr bool kHasRule = requires(const L& loss, const TokenLossInput<float>& input) {
    { loss(input) } -> std::same_as<TokenLossTerms<float>>;
  };
  static constexpr bool kHasMembers = requires(const L& loss) {
    { loss.uses_reference() } -> std::convertible_to<bool>;
    loss.validate();
  };
  static_assert(kHasAggregation,
                "rlmoe PolicyLoss: the loss needs `using Aggregation = A;` with A a LossAggregation "
                "(rlmoe::rl::TokenMean, SeqMeanTokenMean, SeqMeanTokenSum or SeqMeanTokenSumNorm)");
  static_assert(kHasRatioLevel, "rlmoe PolicyLoss: the loss needs `static constexpr rlmoe::rl::RatioLevel kRatioLevel`");
  static_assert(kHasRule,
                "rlmoe PolicyLoss: the loss needs `template <class Real> rlmoe::rl::TokenLossTerms<Real> "
                "operator()(const rlmoe::rl::TokenLossInput<Real>&) const`");
  static_assert(kHasMembers, "rlmoe PolicyLoss: the loss needs `bool uses_reference() const` and `void validate() const`");
  static_assert(std::copy_constructible<L>, "rlmoe PolicyLoss: a loss must be copy-constructible");
  static constexpr bool value = PolicyLoss<L>;
};

/// Stands in for a refused loss once its messages are out.
struct RefusedLoss {
  using Aggregation = TokenMean;
  static constexpr RatioLevel kRatioLevel = RatioLevel::Token;
  RefusedLoss() = default;
  template <class U>
  RefusedLoss(const U&) {}  // NOLINT: converts from the refused type
  [[nodiscard]] bool uses_reference() const { return false; }
  void validate() const {}
  template <class Real>
  RLMOE_HOST_DEVICE TokenLossTerms<Real> operator()(const TokenLossInput<Real>&) const {
    return {};
  }
};

template <class L>
using checked_loss_t = std::conditional_t<PolicyLossCheck<L>::value, L, RefusedLoss>;

}  // namespace rlmoe::rl
