#pragma once
// Advantage estimators: each turns the rewards r_1..r_G of one group (the G completions of one
// prompt) into advantages, in one fused kernel over the groups with no host round-trip.
//
//   GroupNormalized   A_i = (r_i - mean) / (std + eps)     GRPO. std with Bessel's correction by
//                                                          default (TRL: torch.std), eps = 1e-4
//   GroupMean         A_i = r_i - mean                     Dr. GRPO (no std scaling)
//   LeaveOneOut       A_i = r_i - (sum - r_i) / (G - 1)    RLOO
//   BatchNormalized   A_i = (r_i - mean) / (std_B + eps)   REINFORCE++ with baseline: group-centred,
//                     then scaled by the standard deviation of the centred values over the whole
//                     batch. (Their batch mean is zero by construction, so it is not subtracted.)
//
// A group whose rewards are all equal carries no learning signal: its advantages are exactly 0
// whatever the estimator, and it is counted in AdvantageStats. A user estimator is any
// device-callable functor estimator(rewards, advantages) over one group's views (the
// AdvantageEstimator concept); set kScaleByBatchStd to get the batch scaling of BatchNormalized.
#include <cstdint>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/rl/concepts.hpp"

namespace rlmoe::rl {

namespace detail {

// Group statistics are taken in double whatever the reward type: with rewards close together,
// r - mean in float would lose the digits the advantage is made of.
template <class Real>
RLMOE_HOST_DEVICE double group_sum(const VectorView<const Real>& r) {
  double sum = 0.0;
  for (index_t i = 0; i < r.size(); ++i) sum += static_cast<double>(r[i]);
  return sum;
}

template <class Real>
RLMOE_HOST_DEVICE double group_std(const VectorView<const Real>& r, double mean, bool unbiased) {
  double squares = 0.0;
  for (index_t i = 0; i < r.size(); ++i) {
    const double d = static_cast<double>(r[i]) - mean;
    squares += d * d;
  }
  return math::sqrt(squares / static_cast<double>(r.size() - (unbiased ? 1 : 0)));
}

}  // namespace detail

struct GroupNormalized {
  float epsilon = 1e-4f;
  bool unbiased_std = true;  ///< Bessel's correction (divide by G - 1), as torch.std

  template <class Real>
  RLMOE_HOST_DEVICE void operator()(VectorView<const Real> rewards, VectorView<Real> advantages) const {
    const double mean = detail::group_sum(rewards) / static_cast<double>(rewards.size());
    const double std = detail::group_std(rewards, mean, unbiased_std);
    for (index_t i = 0; i < rewards.size(); ++i)
      advantages[i] = static_cast<Real>((static_cast<double>(rewards[i]) - mean) / (std + static_cast<double>(epsilon)));
  }
};

struct GroupMean {
  template <class Real>
  RLMOE_HOST_DEVICE void operator()(VectorView<const Real> rewards, VectorView<Real> advantages) const {
    const double mean = detail::group_sum(rewards) / static_cast<double>(rewards.size());
    for (index_t i = 0; i < rewards.size(); ++i) advantages[i] = static_cast<Real>(static_cast<double>(rewards[i]) - mean);
  }
};

struct LeaveOneOut {
  template <class Real>
  RLMOE_HOST_DEVICE void operator()(VectorView<const Real> rewards, VectorView<Real> advantages) const {
    const double sum = detail::group_sum(rewards);
    const double others = static_cast<double>(rewards.size() - 1);
    for (index_t i = 0; i < rewards.size(); ++i) {
      const double r = static_cast<double>(rewards[i]);
      advantages[i] = static_cast<Real>(r - (sum - r) / others);
    }
  }
};

struct BatchNormalized {
  static constexpr bool kScaleByBatchStd = true;
  float epsilon = 1e-4f;
  bool unbiased_std = true;

  template <class Real>
  RLMOE_HOST_DEVICE void operator()(VectorView<const Real> rewards, VectorView<Real> advantages) const {
    GroupMean{}(rewards, advantages);
  }
};

/// What the advantage kernel reduces over the groups, in backend memory.
struct AdvantageStats {
  std::int32_t zero_variance_groups = 0;  ///< groups whose rewards were all equal
  double sum = 0.0;                       ///< of the advantages before any batch scaling
  double sum_of_squares = 0.0;

  RLMOE_HOST_DEVICE friend AdvantageStats operator+(const AdvantageStats& a, const AdvantageStats& b) {
    return {a.zero_variance_groups + b.zero_variance_groups, a.sum + b.sum, a.sum_of_squares + b.sum_of_squares};
  }
};

namespace detail {

template <class E>
constexpr bool scales_by_batch_std() {
  if constexpr (requires { E::kScaleByBatchStd; })
    return E::kScaleByBatchStd;
  else
    return false;
}

/// One group: zero advantages if its rewards are all equal, the estimator's otherwise.
template <class E, class T>
struct GroupAdvantages {
  E estimator;
  VectorView<const T> rewards;
  VectorView<T> advantages;
  index_t group_size;

  RLMOE_HOST_DEVICE AdvantageStats operator()(index_t g) const {
    const VectorView<const T> r = rewards.slice(g * group_size, (g + 1) * group_size);
    const VectorView<T> a = advantages.slice(g * group_size, (g + 1) * group_size);
    bool all_equal = true;
    for (index_t i = 1; i < group_size; ++i) all_equal = all_equal && r[i] == r[0];
    AdvantageStats stats;
    if (all_equal) {
      for (index_t i = 0; i < group_size; ++i) a[i] = T(0);
      stats.zero_variance_groups = 1;
      return stats;
    }
    estimator(r, a);
    for (index_t i = 0; i < group_size; ++i) {
      stats.sum += static_cast<double>(a[i]);
      stats.sum_of_squares += static_cast<double>(a[i]) * static_cast<double>(a[i]);
    }
    return stats;
  }
};

/// A_i /= (std over the batch + eps), with the std read from the reduced stats.
template <class T>
struct ScaleByBatchStd {
  VectorView<T> advantages;
  const AdvantageStats* stats;
  float epsilon;
  bool unbiased;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const double n = static_cast<double>(advantages.size());
    const double mean = stats->sum / n;
    const double variance = (stats->sum_of_squares - stats->sum * mean) / (n - (unbiased ? 1.0 : 0.0));
    const double std = variance > 0.0 ? math::sqrt(variance) : 0.0;
    advantages[i] = static_cast<T>(static_cast<double>(advantages[i]) / (std + epsilon));
  }
};

}  // namespace detail

/// Writes the advantages of `rewards` (N = P * G, completion i in group i / G) and reduces the
/// stats into stats[0], all in backend memory. Throws ConfigError for G < 2 and ShapeError when N
/// is not a multiple of G or the shapes differ.
template <Backend B, AdvantageEstimator E, class T>
  requires std::is_floating_point_v<T>
void compute_advantages(const B& backend, const E& estimator, std::type_identity_t<VectorView<const T>> rewards,
                        index_t group_size, VectorView<T> advantages, VectorView<AdvantageStats> stats) {
  RLMOE_CHECK(group_size >= 2, ConfigError, "compute_advantages: group_size is ", group_size,
              " but group-relative advantages need at least 2 completions per prompt");
  require_same_shape(advantages, "compute_advantages: advantages", rewards, "rewards");
  RLMOE_CHECK(rewards.size() % group_size == 0, ShapeError, "compute_advantages: rewards has shape ", rewards.shape(),
              ", not a whole number of groups of ", group_size);
  require_shape(stats, Extents<1>{1}, "compute_advantages: stats");
  const index_t groups = rewards.size() / group_size;
  transform_reduce(backend, groups, detail::GroupAdvantages<E, T>{estimator, rewards, advantages, group_size}, stats,
                   Sum{}, AdvantageStats{});
  if constexpr (detail::scales_by_batch_std<E>())
    parallel_for(backend, advantages.size(),
                 detail::ScaleByBatchStd<T>{advantages, stats.data(), estimator.epsilon, estimator.unbiased_std});
}

/// The same, for callers that do not want the stats.
template <Backend B, AdvantageEstimator E, class T>
  requires std::is_floating_point_v<T>
void compute_advantages(const B& backend, const E& estimator, std::type_identity_t<VectorView<const T>> rewards,
                        index_t group_size, VectorView<T> advantages) {
  Buffer<AdvantageStats, B> stats(backend, 1);
  compute_advantages<B, E, T>(backend, estimator, rewards, group_size, advantages, stats.view());
}

}  // namespace rlmoe::rl
