#pragma once
// Checks of the GRPO pieces (rewards, advantages, KL, policy losses) written once over the
// backend and instantiated by the Host and CUDA test programs, against the float64 references of
// reference.hpp; gradients against central finite differences of the reference loss.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rl/reference.hpp"
#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

using rl::token_t;

// ---------------------------------------------------------------------------------------------
// rollouts

/// A batch of rollouts in host vectors.
struct HostRollout {
  index_t group_size = 0, prompt_width = 0, reference_width = 0, completion_width = 0;
  std::vector<token_t> prompts, references, completions;
  std::vector<std::int32_t> prompt_lengths, reference_lengths, completion_lengths;
  std::vector<std::uint8_t> mask;

  index_t num_prompts() const { return static_cast<index_t>(prompt_lengths.size()); }
  index_t num_completions() const { return static_cast<index_t>(completion_lengths.size()); }

  /// Adds a prompt with its reference and completions (each padded with -7).
  void add_group(const std::vector<token_t>& prompt, const std::vector<token_t>& reference,
                 const std::vector<std::vector<token_t>>& group) {
    const auto pad = [](std::vector<token_t>& into, const std::vector<token_t>& row, index_t width) {
      for (index_t i = 0; i < width; ++i) into.push_back(i < static_cast<index_t>(row.size()) ? row[i] : -7);
    };
    pad(prompts, prompt, prompt_width);
    prompt_lengths.push_back(static_cast<std::int32_t>(prompt.size()));
    pad(references, reference, reference_width);
    reference_lengths.push_back(static_cast<std::int32_t>(reference.size()));
    for (const auto& completion : group) {
      pad(completions, completion, completion_width);
      completion_lengths.push_back(static_cast<std::int32_t>(completion.size()));
      for (index_t t = 0; t < completion_width; ++t) mask.push_back(t < static_cast<index_t>(completion.size()) ? 1 : 0);
    }
  }
};

/// A HostRollout uploaded to a backend, with its RolloutView.
template <class B>
struct BackendRollout {
  Buffer<token_t, B> prompts, references, completions;
  Buffer<std::int32_t, B> prompt_lengths, reference_lengths, completion_lengths;
  Buffer<std::uint8_t, B> mask;
  rl::RolloutView view;

  BackendRollout(const B& backend, const HostRollout& h)
      : prompts(to_backend(backend, h.prompts)),
        references(to_backend(backend, h.references)),
        completions(to_backend(backend, h.completions)),
        prompt_lengths(to_backend(backend, h.prompt_lengths)),
        reference_lengths(to_backend(backend, h.reference_lengths)),
        completion_lengths(to_backend(backend, h.completion_lengths)),
        mask(to_backend(backend, h.mask)) {
    const index_t p = h.num_prompts(), n = h.num_completions();
    view.group_size = h.group_size;
    view.prompt_tokens = {prompts.data(), Extents<2>{p, h.prompt_width}};
    view.prompt_lengths = prompt_lengths.view();
    view.reference_tokens = {references.data(), Extents<2>{p, h.reference_width}};
    view.reference_lengths = reference_lengths.view();
    view.completion_tokens = {completions.data(), Extents<2>{n, h.completion_width}};
    view.completion_lengths = completion_lengths.view();
    view.completion_mask = {mask.data(), Extents<2>{n, h.completion_width}};
  }
};

// Tag tokens of the test vocabulary.
inline constexpr rl::ThinkAnswerTags kTags{101, 102, 103, 104, 2};
inline constexpr token_t kThink = 101, kEndThink = 102, kAnswer = 103, kEndAnswer = 104, kEos = 2;

/// Two prompts of four completions, covering the reward rules' cases.
inline HostRollout reward_rollout() {
  HostRollout h;
  h.group_size = 4;
  h.prompt_width = 3;
  h.reference_width = 3;
  h.completion_width = 12;
  h.add_group({11, 12}, {7, 8},
              {{kThink, 5, 6, kEndThink, kAnswer, 7, 8, kEndAnswer, kEos},  // right, well formed
               {kThink, 5, kEndThink, kAnswer, 7, 9, kEndAnswer},           // half right, well formed
               {kAnswer, 7, 8, kEndAnswer},                                  // right, no reasoning
               {}});                                                         // empty
  h.add_group({13}, {9},
              {{kThink, kEndThink, kAnswer, 9, kEndAnswer, kEos},           // right, empty reasoning
               {kThink, 5, kEndThink, kAnswer, 9, kEndAnswer, 5},           // trailing token
               {kThink, 5, kEndThink, kAnswer, 9, 9, 9, kEndAnswer, kEos, 3, 3, 3},  // too long
               {kThink, 5, kEndThink, kAnswer, kEndAnswer}});                // empty answer
  return h;
}

/// A reward written outside the library: the fraction of completion tokens equal to 9.
struct CountNines {
  RLMOE_HOST_DEVICE float operator()(const rl::Sample& s) const {
    if (s.completion.empty()) return 0.0f;
    index_t nines = 0;
    for (index_t i = 0; i < s.completion.size; ++i) nines += s.completion[i] == 9 ? 1 : 0;
    return static_cast<float>(nines) / static_cast<float>(s.completion.size);
  }
};
static_assert(rl::RewardFunction<CountNines>);

/// A reward that is NaN for one completion.
struct NanForCompletion {
  index_t bad;
  RLMOE_HOST_DEVICE float operator()(const rl::Sample& s) const {
    return s.index == bad ? std::numeric_limits<float>::quiet_NaN() : 1.0f;
  }
};

template <class B, class R>
std::vector<float> score_on(const B& backend, const R& reward, const HostRollout& h, std::vector<float>* components = nullptr) {
  BackendRollout<B> rollout(backend, h);
  const index_t n = h.num_completions(), c = rl::reward_components<R>();
  Buffer<float, B> rewards(backend, n), parts(backend, c * n);
  rl::score(backend, reward, rollout.view, rewards.view(), parts.view(c, n));
  if (components != nullptr) *components = to_host(backend, parts.view());
  return to_host(backend, rewards.view());
}

template <class B>
void check_score(const B& backend) {
  const HostRollout h = reward_rollout();
  check_equal(score_on(backend, rl::FormatReward{kTags}, h), std::vector<float>{1, 1, 0, 0, 1, 0, 0, 0}, "format");
  check_equal(score_on(backend, rl::ExactMatch{kTags}, h), std::vector<float>{1, 0, 1, 0, 1, 1, 0, 0}, "exact match");
  check_equal(score_on(backend, rl::PartialCredit{kTags}, h),
              std::vector<float>{1, 0.5f, 1, 0, 1, 1, 1.0f / 3.0f, 0}, "partial credit");
  check_equal(score_on(backend, rl::OverlongPenalty{10, 4}, h),
              std::vector<float>{-0.75f, -0.25f, 0, 0, 0, -0.25f, -1.0f, 0}, "overlong penalty");
  check_equal(score_on(backend, CountNines{}, h), std::vector<float>{0, 1.0f / 7, 0, 0, 1.0f / 6, 1.0f / 7, 3.0f / 12, 0},
              "custom reward");

  std::vector<float> components;
  const rl::WeightedSum<rl::ExactMatch, rl::FormatReward, rl::OverlongPenalty> sum(
      {1.0f, 0.5f, 2.0f}, rl::ExactMatch{kTags}, rl::FormatReward{kTags}, rl::OverlongPenalty{10, 4});
  const auto total = score_on(backend, sum, h, &components);
  const std::vector<float> exact{1, 0, 1, 0, 1, 1, 0, 0}, format{1, 1, 0, 0, 1, 0, 0, 0},
      overlong{-0.75f, -0.25f, 0, 0, 0, -0.25f, -1.0f, 0};
  std::vector<float> expected_total, expected_components;
  for (std::size_t i = 0; i < 8; ++i) expected_total.push_back(1.0f * exact[i] + 0.5f * format[i] + 2.0f * overlong[i]);
  for (const auto* part : {&exact, &format, &overlong}) expected_components.insert(expected_components.end(), part->begin(), part->end());
  check_equal(total, expected_total, "weighted sum");
  check_equal(components, expected_components, "weighted sum components");

  // Rewards that only run on the host.
  const rl::HostReward host_reward{[](const rl::Sample& s) { return static_cast<float>(s.completion.size + 100 * s.prompt); }};
  check_equal(score_on(backend, host_reward, h), std::vector<float>{9, 7, 4, 0, 106, 107, 112, 105}, "host reward");
}

template <class B>
void check_score_errors(const B& backend) {
  const HostRollout h = reward_rollout();
  BOOST_TEST(throws_with<NumericError>([&] { (void)score_on(backend, NanForCompletion{5}, h); },
                                       {"completion 5", "prompt 1", "completion 1 of its group", "nan"}));
  const rl::WeightedSum<CountNines, NanForCompletion> sum({1.0f, 1.0f}, CountNines{}, NanForCompletion{6});
  BOOST_TEST(throws_with<NumericError>([&] { (void)score_on(backend, sum, h); }, {"completion 6", "components are 0.25, nan"}));
  BOOST_TEST(throws_with<ConfigError>([&] { (void)score_on(backend, rl::OverlongPenalty{10, 0}, h); }, {"cache_length is 0"}));
  BOOST_TEST(throws_with<ConfigError>([&] { (void)score_on(backend, rl::FormatReward{}, h); }, {"FormatReward", "tags"}));
  HostRollout wrong = h;
  wrong.group_size = 3;
  BOOST_TEST(throws_with<ShapeError>([&] { (void)score_on(backend, CountNines{}, wrong); }, {"8 rows", "2 prompts", "6"}));
  // A host reward that throws (on whichever thread scores that completion) reaches the caller.
  const rl::HostReward throwing{[](const rl::Sample& s) -> float {
    if (s.index == 5) throw ConfigError("cannot judge completion 5");
    return 0.0f;
  }};
  BOOST_TEST(throws_with<ConfigError>([&] { (void)score_on(backend, throwing, h); }, {"cannot judge completion 5"}));
}

// ---------------------------------------------------------------------------------------------
// advantages

/// An estimator written outside the library: each reward against the best in its group.
struct BestOfGroupBaseline {
  RLMOE_HOST_DEVICE void operator()(VectorView<const float> r, VectorView<float> a) const {
    float best = r[0];
    for (index_t i = 1; i < r.size(); ++i) best = r[i] > best ? r[i] : best;
    for (index_t i = 0; i < r.size(); ++i) a[i] = r[i] - best;
  }
};
static_assert(rl::AdvantageEstimator<BestOfGroupBaseline>);

/// Rewards of `groups` groups of g: random, with every third group all equal.
template <class T>
std::vector<T> group_rewards(index_t groups, index_t g, std::uint64_t seed) {
  auto r = random_uniform<T>(static_cast<std::size_t>(groups * g), seed, -1.0, 2.0);
  for (index_t group = 0; group < groups; group += 3)
    for (index_t i = 0; i < g; ++i) r[group * g + i] = T(0.5);
  return r;
}

template <class B, class T, class E>
std::pair<std::vector<T>, rl::AdvantageStats> advantages_on(const B& backend, const E& estimator, const std::vector<T>& rewards,
                                                           index_t g) {
  Buffer<T, B> r = to_backend(backend, rewards), a(backend, static_cast<index_t>(rewards.size()));
  Buffer<rl::AdvantageStats, B> stats(backend, 1);
  rl::compute_advantages<B, E, T>(backend, estimator, r.view(), g, a.view(), stats.view());
  return {to_host(backend, a.view()), to_host(backend, stats.view())[0]};
}

template <class T>
constexpr double kRelativeTolerance = std::is_same_v<T, double> ? 1e-6 : 1e-5;

template <class B, class T>
void check_advantages(const B& backend) {
  for (index_t g : {2, 3, 4, 16, 64}) {
    for (bool unbiased : {true, false}) {
      const index_t groups = 301;
      const auto rewards = group_rewards<T>(groups, g, 40 + g);
      const std::vector<double> r(rewards.begin(), rewards.end());
      const std::string where = " G=" + std::to_string(g) + (unbiased ? " unbiased" : " biased");
      const auto check = [&](const auto& estimator, Estimator kind, const char* name) {
        const auto [a, stats] = advantages_on(backend, estimator, rewards, g);
        const auto expected = reference_advantages(r, g, kind, 1e-4, unbiased);
        BOOST_TEST(relative_error(a, expected) < kRelativeTolerance<T>, name << where << ": relative error "
                                                                            << relative_error(a, expected));
        BOOST_TEST(stats.zero_variance_groups == (groups + 2) / 3, name << where);
        for (index_t group = 0; group < groups; group += 3)
          for (index_t i = 0; i < g; ++i) BOOST_TEST_REQUIRE(a[group * g + i] == T(0), name << ": equal group " << group);
      };
      check(rl::GroupNormalized{1e-4f, unbiased}, Estimator::GroupNormalized, "GroupNormalized");
      check(rl::BatchNormalized{1e-4f, unbiased}, Estimator::BatchNormalized, "BatchNormalized");
      if (unbiased) {
        check(rl::GroupMean{}, Estimator::GroupMean, "GroupMean");
        check(rl::LeaveOneOut{}, Estimator::LeaveOneOut, "LeaveOneOut");
      }
    }
  }
  // Binary rewards, the common case: (r - mean) / (std + eps) for a group with k of G right.
  const std::vector<T> binary = {1, 0, 0, 0, 1, 1, 0, 0};
  const auto [a, stats] = advantages_on(backend, rl::GroupNormalized{}, binary, 8);
  const double mean = 3.0 / 8.0, std = std::sqrt((3 * (1 - mean) * (1 - mean) + 5 * mean * mean) / 7.0);
  BOOST_TEST(std::abs(static_cast<double>(a[0]) - (1 - mean) / (std + 1e-4)) < 1e-6);
  BOOST_TEST(std::abs(static_cast<double>(a[1]) + mean / (std + 1e-4)) < 1e-6);
  BOOST_TEST(stats.zero_variance_groups == 0);
}

template <class B>
void check_custom_estimator(const B& backend) {
  const std::vector<float> rewards = {0.5f, 1.0f, 0.0f, 2.0f, 2.0f, 2.0f, -1.0f, 3.0f, 1.0f};
  const auto [a, stats] = advantages_on(backend, BestOfGroupBaseline{}, rewards, 3);
  check_equal(a, std::vector<float>{-0.5f, 0.0f, -1.0f, 0, 0, 0, -4.0f, 0.0f, -2.0f}, "best-of-group baseline");
  BOOST_TEST(stats.zero_variance_groups == 1);
}

/// An estimator that divides by the spread of its group without guarding against... nothing: it
/// divides by zero on purpose.
struct DividesByZero {
  template <class T>
  RLMOE_HOST_DEVICE void operator()(VectorView<const T> r, VectorView<T> a) const {
    for (index_t i = 0; i < r.size(); ++i) a[i] = (r[i] - r[0]) / (r[0] - r[0]);
  }
};
/// An estimator that forgets every advantage but the first of its group.
struct WritesOnlyTheFirst {
  static constexpr std::string_view kName = "WritesOnlyTheFirst (a test estimator)";
  template <class T>
  RLMOE_HOST_DEVICE void operator()(VectorView<const T> r, VectorView<T> a) const {
    a[0] = r[0];
  }
};

/// Non-finite and unwritten advantages are errors that name the estimator and the group;
/// BatchNormalized with epsilon 0 on a batch of flat groups gives zeros.
template <class B>
void check_advantage_blame(const B& backend) {
  const std::vector<float> rewards = {1, 1, 1, 0.5f, 2, 0};  // group 0 flat, group 1 not
  BOOST_TEST(throws_with<NumericError>([&] { (void)advantages_on(backend, DividesByZero{}, rewards, 3); },
                                       {"estimator rlmoe::test::DividesByZero", "wrote NaN as advantage 3", "group 1",
                                        "rewards are 0.5, 2, 0"}));
  static_assert(RLMOE_DEBUG_CHECKS, "the tests build with RLMOE_DEBUG_CHECKS");
  BOOST_TEST(throws_with<NumericError>([&] { (void)advantages_on(backend, WritesOnlyTheFirst{}, rewards, 3); },
                                       {"WritesOnlyTheFirst (a test estimator) left unwritten advantage 4", "group 1"}));
  for (bool unbiased : {true, false}) {
    const std::vector<float> flat = {1, 1, 1, 0, 0, 0};
    const auto [a, stats] = advantages_on(backend, rl::BatchNormalized{0.0f, unbiased}, flat, 3);
    check_equal(a, std::vector<float>(6, 0.0f), "BatchNormalized, epsilon 0, flat groups");
    BOOST_TEST(stats.zero_variance_groups == 2);
  }
}

template <class B>
void check_advantage_errors(const B& backend) {
  Buffer<float, B> r(backend, 6), a(backend, 6), short_a(backend, 5);
  BOOST_TEST(throws_with<ConfigError>([&] { rl::compute_advantages<B, rl::GroupNormalized, float>(backend, {}, r.view(), 1, a.view()); },
                                      {"group_size is 1", "at least 2"}));
  BOOST_TEST(throws_with<ShapeError>([&] { rl::compute_advantages<B, rl::GroupMean, float>(backend, {}, r.view(), 4, a.view()); },
                                     {"[6]", "groups of 4"}));
  BOOST_TEST(throws_with<ShapeError>([&] { rl::compute_advantages<B, rl::GroupMean, float>(backend, {}, r.view(), 3, short_a.view()); },
                                     {"advantages has shape [5]", "rewards has shape [6]"}));
}

// ---------------------------------------------------------------------------------------------
// policy losses

/// A random batch: N = 12 sequences (3 groups of 4) of width 9, ragged masks with one hole, one
/// empty completion, one group with zero advantages, ratios spread across the clip range.
inline LossBatch random_loss_batch(std::uint64_t seed, index_t n = 12, index_t width = 9) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  LossBatch b;
  b.n = n;
  b.width = width;
  for (index_t i = 0; i < n; ++i) {
    const index_t length = i == 3 ? 0 : 1 + static_cast<index_t>(u(engine) * width) % width;
    for (index_t t = 0; t < width; ++t) {
      const double logp = -3.0 + 2.9 * u(engine);
      b.logp.push_back(logp);
      b.old_logp.push_back(logp + 0.8 * (u(engine) - 0.5));
      b.ref_logp.push_back(logp + (u(engine) - 0.5));
      b.mask.push_back(t < length && !(i == 5 && t == 1) ? 1 : 0);
    }
    b.advantages.push_back(i / 4 == 1 ? 0.0 : 3.0 * (u(engine) - 0.5));
  }
  return b;
}

template <class T>
struct LossResult {
  rl::PolicyLossMetrics metrics;
  std::vector<T> grad;
};

template <class Loss, class T, class B>
LossResult<T> loss_on(const B& backend, const Loss& loss, const LossBatch& b, index_t max_completion_length,
                      bool with_old = true) {
  const auto cast = [](const std::vector<double>& v) { return std::vector<T>(v.begin(), v.end()); };
  Buffer<T, B> logp = to_backend(backend, cast(b.logp)), old_logp = to_backend(backend, cast(b.old_logp)),
               ref_logp = to_backend(backend, cast(b.ref_logp)), advantages = to_backend(backend, cast(b.advantages)),
               grad(backend, b.n * b.width);
  Buffer<std::uint8_t, B> mask = to_backend(backend, b.mask);
  Buffer<rl::PolicyLossMetrics, B> metrics(backend, 1);
  fill(backend, grad.view(), T(12345));  // poisoned: every element must be written
  rl::PolicyLossInputs<T> in;
  in.logp = logp.view(b.n, b.width);
  if (with_old) in.old_logp = old_logp.view(b.n, b.width);
  in.ref_logp = ref_logp.view(b.n, b.width);
  in.mask = mask.view(b.n, b.width);
  in.advantages = advantages.view();
  rl::policy_loss(backend, loss, in, grad.view(b.n, b.width), metrics.view(), max_completion_length);
  return {to_host(backend, metrics.view())[0], to_host(backend, grad.view())};
}

/// Calls f.template operator()<Loss>() with the ClippedSurrogate type that config c describes.
template <class F>
void with_loss_type(const LossConfig& c, F&& f) {
  const auto with_level = [&]<class KlT, class AggregationT>() {
    if (c.sequence_ratio)
      f.template operator()<rl::ClippedSurrogate<KlT, AggregationT, rl::RatioLevel::Sequence>>();
    else
      f.template operator()<rl::ClippedSurrogate<KlT, AggregationT, rl::RatioLevel::Token>>();
  };
  const auto with_aggregation = [&]<class KlT>() {
    switch (c.aggregation) {
      case Aggregation::TokenMean: with_level.template operator()<KlT, rl::TokenMean>(); break;
      case Aggregation::SeqMeanTokenMean: with_level.template operator()<KlT, rl::SeqMeanTokenMean>(); break;
      case Aggregation::SeqMeanTokenSum: with_level.template operator()<KlT, rl::SeqMeanTokenSum>(); break;
      case Aggregation::SeqMeanTokenSumNorm: with_level.template operator()<KlT, rl::SeqMeanTokenSumNorm>(); break;
    }
  };
  switch (c.kl) {
    case Kl::K1: with_aggregation.template operator()<rl::K1>(); break;
    case Kl::K2: with_aggregation.template operator()<rl::K2>(); break;
    case Kl::K3: with_aggregation.template operator()<rl::K3>(); break;
  }
}

template <class Loss>
Loss make_loss(const LossConfig& c) {
  Loss loss;
  loss.epsilon_low = static_cast<float>(c.epsilon_low);
  loss.epsilon_high = static_cast<float>(c.epsilon_high);
  loss.ratio_cap = static_cast<float>(c.ratio_cap);
  loss.beta = static_cast<float>(c.beta);
  return loss;
}

/// Every combination of KL estimator, aggregation, ratio level, beta and ratio cap.
inline std::vector<LossConfig> loss_configs() {
  std::vector<LossConfig> out;
  for (Kl kl : {Kl::K1, Kl::K2, Kl::K3})
    for (Aggregation agg : {Aggregation::TokenMean, Aggregation::SeqMeanTokenMean, Aggregation::SeqMeanTokenSum,
                            Aggregation::SeqMeanTokenSumNorm})
      for (bool sequence : {false, true})
        for (double beta : {0.0, 0.05})
          for (double cap : {0.0, 1.35}) {
            LossConfig c;
            c.kl = kl;
            c.aggregation = agg;
            c.sequence_ratio = sequence;
            c.beta = beta;
            c.ratio_cap = cap;
            c.epsilon_low = 0.2;
            c.epsilon_high = 0.28;
            c.max_completion_length = agg == Aggregation::SeqMeanTokenSumNorm ? 16 : 0;
            if (c.beta == 0.0 && kl != Kl::K3) continue;  // the estimator is unused without a KL term
            out.push_back(c);
          }
  return out;
}

/// Central differences of the reference loss in each logp, step h.
inline std::vector<double> reference_gradient(const LossConfig& c, const LossBatch& b, double h = 1e-6) {
  std::vector<double> grad(b.logp.size(), 0.0);
  for (std::size_t k = 0; k < b.logp.size(); ++k) {
    LossBatch plus = b, minus = b;
    plus.logp[k] += h;
    minus.logp[k] -= h;
    grad[k] = (reference_loss(c, plus).loss - reference_loss(c, minus).loss) / (2.0 * h);
  }
  return grad;
}

/// The library's loss, gradient and metrics in T against the float64 reference; in double the
/// gradient is also held against central differences of the reference loss.
template <class B, class T>
void check_policy_loss(const B& backend) {
  int checked = 0;
  for (const LossConfig& c : loss_configs()) {
    const LossBatch batch = random_loss_batch(1000 + checked);
    const ReferenceLoss expected = reference_loss(c, batch);
    with_loss_type(c, [&]<class Loss>() {
      const LossResult<T> got = loss_on<Loss, T>(backend, make_loss<Loss>(c), batch, c.max_completion_length);
      const std::string what = c.describe();
      // The loss is a weighted sum whose terms cancel; its error is relative to sum w |L|.
      double scale = 0.0;
      for (double a : batch.advantages) scale = std::max(scale, std::abs(a));
      const double tolerance = kRelativeTolerance<T> * (scale + 1.0);
      BOOST_TEST(std::abs(got.metrics.loss - expected.loss) <= tolerance,
                 what << ": loss " << got.metrics.loss << " vs " << expected.loss);
      BOOST_TEST(got.metrics.active_tokens == expected.active, what);
      BOOST_TEST(got.metrics.clipped_low == expected.clipped_low, what);
      BOOST_TEST(got.metrics.clipped_high == expected.clipped_high, what);
      BOOST_TEST(std::abs(got.metrics.ratio_sum - expected.ratio_sum) <= kRelativeTolerance<T> * expected.ratio_sum, what);
      BOOST_TEST(std::abs(got.metrics.kl_sum - expected.kl_sum) <= kRelativeTolerance<T> * (std::abs(expected.kl_sum) + 1.0), what);
      for (std::size_t k = 0; k < batch.mask.size(); ++k)
        if (!batch.mask[k]) BOOST_TEST_REQUIRE(got.grad[k] == T(0), what << ": inactive token " << k);
      const std::vector<double> fd = reference_gradient(c, batch);
      // Central differences are accurate to ~h^2 and ~eps/h; compare norm-wise.
      BOOST_TEST(relative_error(got.grad, fd) < (std::is_same_v<T, double> ? 1e-6 : 1e-5),
                 what << ": gradient vs finite differences, relative error " << relative_error(got.grad, fd));
    });
    ++checked;
  }
  BOOST_TEST(checked == 64);
}

template <class B>
void check_policy_loss_edge_cases(const B& backend) {
  using Grpo = rl::ClippedSurrogate<rl::K3, rl::SeqMeanTokenMean>;
  LossBatch batch = random_loss_batch(7);
  // On-policy (no old log-probs) is the same as old == logp: ratio 1.
  LossBatch same = batch;
  same.old_logp = same.logp;
  const Grpo loss{};
  const auto without_old = loss_on<Grpo, double>(backend, loss, batch, 0, false);
  const auto with_same_old = loss_on<Grpo, double>(backend, loss, same, 0);
  BOOST_TEST(without_old.metrics.loss == with_same_old.metrics.loss);
  BOOST_TEST(without_old.metrics.ratio_sum == without_old.metrics.active_tokens);
  check_equal(without_old.grad, with_same_old.grad, "on-policy gradient");
  // Nothing active: loss, gradient and metrics are zero.
  std::fill(batch.mask.begin(), batch.mask.end(), std::uint8_t{0});
  const auto empty = loss_on<rl::ClippedSurrogate<>, float>(backend, rl::ClippedSurrogate<>{}, batch, 0);
  BOOST_TEST(empty.metrics.loss == 0.0);
  BOOST_TEST(empty.metrics.active_tokens == 0.0);
  check_equal(empty.grad, std::vector<float>(empty.grad.size(), 0.0f), "no active tokens");
  // Same inputs, same bits.
  const auto first = loss_on<Grpo, float>(backend, loss, same, 0);
  const auto second = loss_on<Grpo, float>(backend, loss, same, 0);
  BOOST_TEST(first.metrics.loss == second.metrics.loss);
  check_equal(first.grad, second.grad, "determinism");
}

template <class B>
void check_policy_loss_errors(const B& backend) {
  const LossBatch batch = random_loss_batch(9);
  rl::ClippedSurrogate<> loss;
  loss.beta = 0.1f;
  Buffer<float, B> x(backend, 108), grad(backend, 108), adv(backend, 12);
  Buffer<std::uint8_t, B> mask(backend, 108), short_mask(backend, 96);
  Buffer<rl::PolicyLossMetrics, B> metrics(backend, 1);
  rl::PolicyLossInputs<float> in{x.view(12, 9), x.view(12, 9), {}, mask.view(12, 9), adv.view()};
  BOOST_TEST(throws_with<ConfigError>([&] { rl::policy_loss(backend, loss, in, grad.view(12, 9), metrics.view()); },
                                      {"beta > 0", "ref_logp"}));
  loss.beta = 0.0f;
  loss.epsilon_low = 1.5f;
  BOOST_TEST(throws_with<ConfigError>([&] { rl::policy_loss(backend, loss, in, grad.view(12, 9), metrics.view()); },
                                      {"epsilon_low is 1.5", "[0, 1)"}));
  loss.epsilon_low = 0.2f;
  loss.ratio_cap = 1.1f;
  BOOST_TEST(throws_with<ConfigError>([&] { rl::policy_loss(backend, loss, in, grad.view(12, 9), metrics.view()); },
                                      {"ratio_cap is 1.1", "1 + epsilon_high"}));
  loss.ratio_cap = 0.0f;
  in.mask = short_mask.view(12, 8);
  BOOST_TEST(throws_with<ShapeError>([&] { rl::policy_loss(backend, loss, in, grad.view(12, 9), metrics.view()); },
                                     {"mask has shape [12, 8]", "[12, 9]"}));
  (void)batch;
}

// ---------------------------------------------------------------------------------------------
// KL estimators

template <class K>
void check_kl_estimator(Kl kind) {
  std::mt19937_64 engine(static_cast<std::uint64_t>(kind) + 3);
  std::uniform_real_distribution<double> u(-4.0, 0.0);
  for (int trial = 0; trial < 1000; ++trial) {
    const double logp = u(engine), ref = u(engine);
    const double value = K::value(logp, ref);
    BOOST_TEST_REQUIRE(std::abs(value - reference_kl(kind, logp, ref)) <= 1e-12 * (1.0 + std::abs(value)));
    const double h = 1e-6;
    const double fd = (reference_kl(kind, logp + h, ref) - reference_kl(kind, logp - h, ref)) / (2 * h);
    BOOST_TEST_REQUIRE(std::abs(K::grad(logp, ref) - fd) <= 1e-7 * (1.0 + std::abs(fd)));
    const float f = K::value(static_cast<float>(logp), static_cast<float>(ref));
    BOOST_TEST_REQUIRE(std::abs(f - value) <= 1e-5 * (1.0 + std::abs(value)));
    if (kind == Kl::K3) BOOST_TEST_REQUIRE(value >= 0.0);
  }
}

}  // namespace rlmoe::test
