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
// AdvantageEstimator concept) that writes every advantage of the group; set kScaleByBatchStd to
// get the batch scaling of BatchNormalized.
//
// A NaN or infinite advantage is an error that names the estimator, the completion and its
// group's rewards. With RLMOE_DEBUG_CHECKS (debug builds, rlmoe's tests) the advantages are first
// filled with a marked NaN, so that an estimator which leaves one unwritten is named as such.
#include <bit>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/finite.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/debug_checks.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/type_name.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/rl/concept_checks.hpp"
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
  static constexpr std::string_view kName = "GroupNormalized";
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
  static constexpr std::string_view kName = "GroupMean";
  template <class Real>
  RLMOE_HOST_DEVICE void operator()(VectorView<const Real> rewards, VectorView<Real> advantages) const {
    const double mean = detail::group_sum(rewards) / static_cast<double>(rewards.size());
    for (index_t i = 0; i < rewards.size(); ++i) advantages[i] = static_cast<Real>(static_cast<double>(rewards[i]) - mean);
  }
};

struct LeaveOneOut {
  static constexpr std::string_view kName = "LeaveOneOut";
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
  static constexpr std::string_view kName = "BatchNormalized";
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

/// A_i /= (std over the batch + eps), with the std read from the reduced stats. With eps = 0 and
/// a batch whose centred advantages are all 0 (every group flat), they stay 0.
template <class T>
struct ScaleByBatchStd {
  VectorView<T> advantages;
  const AdvantageStats* stats;
  double batch_size;  ///< advantages of the whole batch (over every rank)
  float epsilon;
  bool unbiased;

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const double n = batch_size;
    const double mean = stats->sum / n;
    const double variance = (stats->sum_of_squares - stats->sum * mean) / (n - (unbiased ? 1.0 : 0.0));
    const double std = variance > 0.0 ? math::sqrt(variance) : 0.0;
    const double scale = std + static_cast<double>(epsilon);
    advantages[i] = scale > 0.0 ? static_cast<T>(static_cast<double>(advantages[i]) / scale) : T(0);
  }
};

/// The marked NaN that RLMOE_DEBUG_CHECKS writes before the estimator runs, as bits.
template <class T>
using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
template <class T>
inline constexpr Bits<T> kUnwrittenBits = sizeof(T) == 4 ? Bits<T>(0x7FC0ADADu) : Bits<T>(0x7FF800000000ADADull);

/// The first index still holding the marker, or the size.
template <class T>
struct FirstUnwritten {
  VectorView<const T> values;
  RLMOE_HOST_DEVICE index_t operator()(index_t i) const {
    return std::bit_cast<Bits<T>>(values[i]) == kUnwrittenBits<T> ? i : values.size();
  }
};

/// Throws NumericError blaming estimator E for advantage i: `what` says what is wrong with it.
template <class E, Backend B, class T>
[[noreturn]] void throw_bad_advantage(const B& backend, VectorView<const T> rewards, index_t group_size, index_t i,
                                      const char* what) {
  const index_t g = i / group_size;
  const std::vector<T> group = to_host(backend, rewards.slice(g * group_size, (g + 1) * group_size));
  std::ostringstream message;
  message << "compute_advantages: the advantage estimator " << type_name<E>() << " " << what << " advantage " << i
          << " (completion " << i % group_size << " of group " << g << "); the group's rewards are";
  for (std::size_t k = 0; k < group.size(); ++k) message << (k ? ", " : " ") << group[k];
  throw NumericError(message.str());
}

}  // namespace detail

/// Writes the advantages of `rewards` (N = P * G, completion i in group i / G) and reduces the
/// stats into stats[0], all in backend memory. Throws ConfigError for G < 2, ShapeError when N
/// is not a multiple of G or the shapes differ, and NumericError naming the estimator when an
/// advantage is not finite (waiting for the backend to check). E: an AdvantageEstimator (a refused
/// one gets one message saying what it lacks, and nothing else).
///
/// Data parallel: with `comm` over several ranks, each passes its own whole groups; the stats
/// become the whole batch's (all-reduced), and so does the batch std of BatchNormalized.
template <Backend B, class E, class T, dist::Communicator Comm = dist::SingleProcess>
  requires std::is_floating_point_v<T>
void compute_advantages(const B& backend, const E& estimator, std::type_identity_t<VectorView<const T>> rewards,
                        index_t group_size, VectorView<T> advantages, VectorView<AdvantageStats> stats, const Comm& comm = {}) {
  if constexpr (AdvantageEstimatorCheck<E>::value) {
    RLMOE_CHECK(group_size >= 2, ConfigError, "compute_advantages: group_size is ", group_size,
                " but group-relative advantages need at least 2 completions per prompt");
    require_same_shape(advantages, "compute_advantages: advantages", rewards, "rewards");
    RLMOE_CHECK(rewards.size() % group_size == 0, ShapeError, "compute_advantages: rewards has shape ", rewards.shape(),
                ", not a whole number of groups of ", group_size);
    require_shape(stats, Extents<1>{1}, "compute_advantages: stats");
    const index_t groups = rewards.size() / group_size;
    if constexpr (RLMOE_DEBUG_CHECKS) fill(backend, advantages, std::bit_cast<T>(detail::kUnwrittenBits<T>));
    transform_reduce(backend, groups, detail::GroupAdvantages<E, T>{estimator, rewards, advantages, group_size}, stats,
                     Sum{}, AdvantageStats{});
    if constexpr (RLMOE_DEBUG_CHECKS) {
      Buffer<index_t, B> first(backend, 1);
      transform_reduce(backend, advantages.size(), detail::FirstUnwritten<T>{advantages}, first.view(), Min{}, advantages.size());
      const index_t unwritten = to_host(backend, first.view())[0];
      if (unwritten < advantages.size())
        detail::throw_bad_advantage<E>(backend, rewards, group_size, unwritten, "left unwritten");
    }
    index_t batch_size = advantages.size();
    if (comm.size() > 1) {
      AdvantageStats all = to_host(backend, VectorView<const AdvantageStats>(stats))[0];
      all.zero_variance_groups = dist::all_reduce_value(comm, all.zero_variance_groups);
      all.sum = dist::all_reduce_value(comm, all.sum);
      all.sum_of_squares = dist::all_reduce_value(comm, all.sum_of_squares);
      copy(backend, stats, VectorView<const AdvantageStats>(&all, Extents<1>{1}));
      batch_size = dist::all_reduce_value(comm, batch_size);
    }
    if constexpr (detail::scales_by_batch_std<E>())
      parallel_for(backend, advantages.size(),
                   detail::ScaleByBatchStd<T>{advantages, stats.data(), static_cast<double>(batch_size), estimator.epsilon,
                                              estimator.unbiased_std});
    const index_t bad = first_non_finite<B, T>(backend, advantages);
    if (bad >= 0) {
      const T value = to_host(backend, advantages.slice(bad, bad + 1))[0];
      detail::throw_bad_advantage<E>(backend, rewards, group_size, bad, std::isnan(value) ? "wrote NaN as" : "wrote infinity as");
    }
  }
}

/// The same, for callers that do not want the stats.
template <Backend B, class E, class T>
  requires std::is_floating_point_v<T>
void compute_advantages(const B& backend, const E& estimator, std::type_identity_t<VectorView<const T>> rewards,
                        index_t group_size, VectorView<T> advantages) {
  Buffer<AdvantageStats, B> stats(backend, 1);
  compute_advantages<B, E, T>(backend, estimator, rewards, group_size, advantages, stats.view());
}

}  // namespace rlmoe::rl
