#pragma once
// rl/grm/ with a model: the Judge's shuffled judgments, the meta RM's scalar and BCE gradient,
// GrmReward, and the VotingEvaluator, each against a reference computed another way (the task's
// prompts, f_extract on the sampled tokens, the model's logits, finite differences, packed votes,
// the plain Evaluator), on any backend.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "rl/rl_checks.hpp"
#include "rlmoe/rl/evaluation.hpp"
#include "rlmoe/rl/grm/arithmetic_judging.hpp"
#include "rlmoe/rl/grm/grm_reward.hpp"
#include "rlmoe/rl/grm/judge.hpp"
#include "rlmoe/rl/grm/meta_rm.hpp"
#include "rlmoe/rl/grm/voting_evaluator.hpp"
#include "rlmoe/rl/grpo_trainer.hpp"
#include "rlmoe/rl/tasks/addition.hpp"
#include "rlmoe/rl/tasks/with_reward.hpp"

namespace rlmoe::test {

/// A small judge over the judging vocabulary: room for a 3-candidate prompt, its judgment and a verdict.
struct JudgeTestSpec {
  static constexpr index_t kVocab = rl::grm::JudgingVocabulary::kSize, kModelDim = 32, kLayers = 2, kHeads = 2, kMaxLength = 56;
  static constexpr index_t kDenseHidden = 64, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 4, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

using JudgingV = rl::grm::JudgingVocabulary;
inline const rl::grm::ArithmeticJudging kJudgingTask{3, 1};

/// A GRM after a short cold start on ideal judgments: many of its judgments can be read.
template <class B>
class ColdStartedJudge {
 public:
  using Trainer = rl::GrpoTrainer<B, JudgeTestSpec, rl::grm::ArithmeticJudging>;
  explicit ColdStartedJudge(const B& backend) : trainer_(backend, kJudgingTask, config()) {
    trainer_.initialize();
    for (index_t s = 0; s < config().cold_start_steps; ++s) trainer_.cold_start_step();
  }
  typename Trainer::Policy& model() { return trainer_.policy(); }

 private:
  static rl::GrpoConfig config() {
    rl::GrpoConfig c;
    c.seed = 11;
    c.cold_start_steps = 60;
    c.cold_start_batch = 32;
    c.cold_start_learning_rate = 3e-3;
    c.eval_prompts = 16;
    c.progress = false;
    return c;
  }
  Trainer trainer_;
};

/// The sampled judgments' prompts are the task's prompts of the shuffled responses, and their
/// scores f_extract of the sampled tokens mapped back through the order.
template <class B>
void check_judgments_against_their_tokens(const B& backend, rl::grm::Judge<B, JudgeTestSpec>& judge,
                                          const std::vector<rl::grm::JudgingRequest>& requests, index_t& readable) {
  const index_t e = judge.requests(), k = judge.judgments_per_request(), n = judge.responses();
  const rl::HostRolloutCopy host(backend, judge.judgments());
  const std::vector<std::int32_t> order = to_host(backend, judge.order().flatten());
  const std::vector<std::int32_t> scores = to_host(backend, judge.scores().flatten());
  const std::vector<std::uint8_t> valid = to_host(backend, judge.valid().flatten());
  for (index_t r = 0; r < e; ++r)
    for (index_t j = 0; j < k; ++j) {
      const index_t row = r * k + j;
      std::vector<std::vector<rl::token_t>> shown;
      std::vector<index_t> sorted;
      for (index_t i = 0; i < n; ++i) {
        const index_t original = order[static_cast<std::size_t>(row * n + i)];
        shown.push_back(requests[static_cast<std::size_t>(r)].responses[static_cast<std::size_t>(original)]);
        sorted.push_back(original);
      }
      std::sort(sorted.begin(), sorted.end());
      for (index_t i = 0; i < n; ++i) BOOST_TEST(sorted[static_cast<std::size_t>(i)] == i, "order of judgment " << row << " is a permutation");
      const rl::Sample s = host.view.sample(row);
      const std::vector<rl::token_t> prompt(s.prompt_tokens.tokens, s.prompt_tokens.tokens + s.prompt_tokens.size);
      BOOST_TEST((prompt == kJudgingTask.prompt(requests[static_cast<std::size_t>(r)].query, shown)), "prompt of judgment " << row);
      const rl::grm::JudgmentScores want = rl::grm::extract_scores(rl::strip_eos(s.completion, JudgingV::kEos), JudgingV::kLayout, n);
      BOOST_TEST(valid[static_cast<std::size_t>(row)] == (want.found ? 1 : 0), "judgment " << row);
      readable += want.found;
      for (index_t i = 0; i < n; ++i) {
        const std::int32_t got = scores[static_cast<std::size_t>(row * n + order[static_cast<std::size_t>(row * n + i)])];
        BOOST_TEST(got == (want.found ? want.scores[i] : 0), "judgment " << row << ", shown response " << i);
      }
    }
}

template <class B>
void check_grm_judge(const B& backend) {
  // Orders: the identity without shuffling, the same draw for the same key, varied across judgments.
  check_equal(rl::grm::judgment_order(4, false, 1, 2, 3), std::vector<index_t>{0, 1, 2, 3}, "unshuffled order");
  check_equal(rl::grm::judgment_order(5, true, 1, 2, 3), rl::grm::judgment_order(5, true, 1, 2, 3), "the same key, the same order");
  index_t moved = 0;
  for (std::uint64_t j = 0; j < 20; ++j) moved += rl::grm::judgment_order(5, true, 1, 2, j) != rl::grm::judgment_order(5, true, 1, 3, j);
  BOOST_TEST(moved >= 15, "another round draws other orders: " << moved << " of 20 differ");

  ColdStartedJudge<B> grm(backend);
  std::vector<rl::grm::JudgingRequest> requests;
  for (index_t i = 0; i < 6; ++i) requests.push_back(kJudgingTask.request(kJudgingTask.problem(99, i)));
  rl::SamplingConfig sampling;
  sampling.temperature = 0.7f;
  auto judge = rl::grm::judge_for<B, JudgeTestSpec>(backend, kJudgingTask, sampling);
  judge(grm.model(), requests, 4, 3, 0);
  BOOST_TEST_REQUIRE((judge.requests() == 6 && judge.judgments_per_request() == 4 && judge.responses() == 3));
  index_t readable = 0;
  check_judgments_against_their_tokens(backend, judge, requests, readable);
  BOOST_TEST_MESSAGE("grm judge: " << readable << " of 24 sampled judgments readable after the cold start");
  BOOST_TEST_REQUIRE(readable >= 6, "too few readable judgments to check the unshuffling: " << readable);
  const auto first = to_host(backend, judge.scores().flatten());
  judge(grm.model(), requests, 4, 3, 0);
  check_equal(to_host(backend, judge.scores().flatten()), first, "the same seed and round judge the same");
  judge(grm.model(), requests, 2, 3, 0, false);
  std::vector<std::int32_t> identity;
  for (int row = 0; row < 12; ++row) identity.insert(identity.end(), {0, 1, 2});
  check_equal(to_host(backend, judge.order().flatten()), identity, "no shuffle: the responses in their order");
  BOOST_TEST(throws_with<ConfigError>([&] { judge(grm.model(), {}, 2, 3, 0); }, {"grm::Judge: no requests"}));
  std::vector<rl::grm::JudgingRequest> uneven = requests;
  uneven[2].responses.pop_back();
  BOOST_TEST(throws_with<ConfigError>([&] { judge(grm.model(), uneven, 2, 3, 0); }, {"request 2 has 2 responses but request 0 has 3"}));
}


/// Rows of a prompt and a judgment from the task's problems: ideal judgments, and ones with the
/// right candidate's score lowered (incorrect), labelled 1 and 0.
inline void labelled_judgment_rows(index_t count, std::vector<rl::grm::JudgmentRow>& rows, std::vector<float>& labels) {
  for (index_t i = 0; i < count; ++i) {
    const rl::tasks::Problem p = kJudgingTask.problem(7, i);
    std::vector<rl::token_t> row = p.prompt, judgment = kJudgingTask.demonstration(p);
    const bool correct = i % 2 == 0;
    if (!correct) {  // "1 0" (the right candidate's 10) becomes "1": a tie or worse at the top
      const rl::token_t ten[] = {1, 0};
      const auto at = std::search(judgment.begin(), judgment.end(), std::begin(ten), std::end(ten));
      BOOST_TEST_REQUIRE((at != judgment.end()), "a 10 in " << JudgingV::text(judgment));
      judgment.erase(at + 1);
    }
    row.insert(row.end(), judgment.begin(), judgment.end());
    rows.push_back({row, static_cast<index_t>(p.prompt.size())});
    labels.push_back(correct ? 1.0f : 0.0f);
  }
}

/// s from the model's logits, in double: the judgment's log-likelihood (each token's log-softmax
/// at the position before it) plus logit(yes) - logit(no) at the judgment's last token.
template <class B, class Spec, class T>
std::vector<double> meta_scalars_from_logits(const B& backend, nn::Transformer<B, Spec, T>& model, const std::vector<rl::grm::JudgmentRow>& rows) {
  using C = compute_t<T>;
  constexpr index_t V = JudgeTestSpec::kVocab;
  std::vector<double> out;
  for (const rl::grm::JudgmentRow& row : rows) {
    const index_t length = static_cast<index_t>(row.tokens.size());
    const Buffer<std::int32_t, B> tokens = to_backend(backend, row.tokens);
    const Buffer<std::int32_t, B> lengths = to_backend(backend, std::vector<std::int32_t>{static_cast<std::int32_t>(length)});
    Buffer<C, B> logits(backend, length * V);
    model.logits(tokens.view(1, length), lengths.view(), logits.view(length, V));
    const std::vector<C> host = to_host(backend, logits.view());
    const auto logit = [&](index_t position, rl::token_t token) { return static_cast<double>(host[static_cast<std::size_t>(position * V + token)]); };
    double s = logit(length - 1, JudgingV::kRight) - logit(length - 1, JudgingV::kWrong);
    for (index_t t = row.prompt_length; t < length; ++t) {
      double norm = 0.0, top = -std::numeric_limits<double>::infinity();
      for (rl::token_t v = 0; v < V; ++v) top = std::max(top, logit(t - 1, v));
      for (rl::token_t v = 0; v < V; ++v) norm += std::exp(logit(t - 1, v) - top);
      s += logit(t - 1, row.tokens[static_cast<std::size_t>(t)]) - top - std::log(norm);
    }
    out.push_back(s);
  }
  return out;
}

inline double binary_cross_entropy(const std::vector<double>& s, const std::vector<float>& labels) {
  double loss = 0.0;
  for (std::size_t i = 0; i < s.size(); ++i) loss += std::log1p(std::exp(-std::abs(s[i]))) + std::max(s[i], 0.0) - labels[i] * s[i];
  return loss / static_cast<double>(s.size());
}

template <class B>
void check_meta_rm(const B& backend) {
  std::vector<rl::grm::JudgmentRow> rows;
  std::vector<float> labels;
  labelled_judgment_rows(12, rows, labels);
  // The scalar is the judgment's log-likelihood plus the two verdict logits' gap at its end.
  rl::grm::MetaRm<B, JudgeTestSpec> meta(backend, JudgingV::kRight, JudgingV::kWrong, JudgingV::kPad);
  meta.initialize(3);
  check_close(meta.rate(rows), meta_scalars_from_logits(backend, meta.model(), rows), 1e-4, 1e-4, "meta RM scalar against the logits");
  // Training separates correct judgments from incorrect ones on its training rows.
  const double before = binary_cross_entropy(meta.rate(rows), labels);
  for (index_t step = 0; step < 40; ++step) meta.train_step(rows, labels, 3e-3);
  const std::vector<double> after = meta.rate(rows);
  BOOST_TEST_MESSAGE("meta RM: BCE " << before << " -> " << binary_cross_entropy(after, labels));
  BOOST_TEST(binary_cross_entropy(after, labels) < 0.5 * before);
  for (std::size_t i = 0; i < after.size(); ++i) BOOST_TEST((after[i] > 0.0) == (labels[i] > 0.5f), "row " << i << " rated " << after[i]);

  BOOST_TEST(throws_with<ConfigError>([&] { meta.train_step(rows, std::vector<float>(12, 0.5f), 1e-3); }, {"label 0 is 0.5"}));
  BOOST_TEST(throws_with<ShapeError>([&] { meta.train_step(rows, std::vector<float>(3, 1.0f), 1e-3); }, {"3 labels for 12 judgments"}));
  BOOST_TEST(throws_with<ConfigError>([&] { rl::grm::MetaRm<B, JudgeTestSpec>(backend, 5, 5, 0); }, {"yes and no are both 5"}));
  rl::grm::MetaRm<B, JudgeTestSpec> broken(backend, JudgingV::kRight, JudgingV::kWrong, JudgingV::kPad);
  broken.initialize(3);
  fill(backend, broken.model().parameters(), std::numeric_limits<float>::quiet_NaN());
  BOOST_TEST(throws_with<NumericError>([&] { broken.train_step(rows, labels, 1e-3); }, {"grm::MetaRm: the BCE of 12 judgments is ", "nan", "no gradient was taken"}));
  const rl::grm::JudgmentRow too_long{std::vector<rl::token_t>(JudgeTestSpec::kMaxLength, 1), 4};
  BOOST_TEST(throws_with<ShapeError>([&] { (void)meta.rate({too_long}); }, {"exceed the model's maximum length " + std::to_string(JudgeTestSpec::kMaxLength)}));
  const rl::grm::JudgmentRow no_prompt{rows[0].tokens, 0};
  BOOST_TEST(throws_with<ShapeError>([&] { (void)meta.rate({rows[1], no_prompt}); }, {"row 1 has", "a prompt of 0; a prompt has 1 to all of them"}));
}

/// The meta RM's loss in double precision against its formula, and its gradient against central
/// differences of that loss.
inline void check_meta_rm_gradient() {
  std::vector<rl::grm::JudgmentRow> rows;
  std::vector<float> labels;
  labelled_judgment_rows(4, rows, labels);
  rl::grm::MetaRm<Host, JudgeTestSpec, double> meta(Host{}, JudgingV::kRight, JudgingV::kWrong, JudgingV::kPad);
  meta.initialize(5);
  meta.model().zero_gradients();
  const double loss = meta.loss_and_gradients(rows, labels);
  BOOST_TEST(std::abs(loss - binary_cross_entropy(meta_scalars_from_logits(Host{}, meta.model(), rows), labels)) < 1e-12, "loss " << loss);
  const std::vector<double> gradient = to_host(Host{}, std::as_const(meta.model()).gradients());
  const index_t size = static_cast<index_t>(gradient.size());
  double worst = 0.0;
  for (index_t probe = 0; probe < 40; ++probe) {
    const index_t i = (probe * 7919) % size;
    double* parameter = meta.model().parameters().data() + i;
    const double saved = *parameter, h = 1e-6;
    const auto loss_at = [&](double value) {
      *parameter = value;
      return binary_cross_entropy(meta.rate(rows), labels);
    };
    const double numeric = (loss_at(saved + h) - loss_at(saved - h)) / (2 * h);
    *parameter = saved;
    worst = std::max(worst, std::abs(numeric - gradient[static_cast<std::size_t>(i)]) / std::max(1e-3, std::abs(numeric)));
  }
  BOOST_TEST_MESSAGE("meta RM gradient: worst relative error " << worst << " over 40 parameters");
  BOOST_TEST(worst < 1e-5);
}

/// A RolloutReward written outside the library: each completion's rank in its group by length, NaN on request.
struct LengthRank {
  std::shared_ptr<bool> nan = std::make_shared<bool>(false);
  void score_rollout(const rl::RolloutView& rollout, VectorView<float> rewards) const {
    const std::vector<std::int32_t> lengths = to_host(Host{}, rollout.completion_lengths);
    std::vector<float> out(lengths.size());
    const index_t g = rollout.group_size;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      const std::size_t first = i / static_cast<std::size_t>(g) * static_cast<std::size_t>(g);
      out[i] = static_cast<float>(std::count_if(lengths.begin() + static_cast<std::ptrdiff_t>(first),
                                                lengths.begin() + static_cast<std::ptrdiff_t>(first) + g, [&](std::int32_t l) { return l < lengths[i]; }));
    }
    if (*nan) out[1] = std::numeric_limits<float>::quiet_NaN();
    copy(Host{}, rewards, VectorView<const float>(out.data(), rewards.shape()));
  }
};
static_assert(rl::RolloutReward<LengthRank> && !rl::RewardFunction<LengthRank>);

/// A policy's rollout of 1-digit sums in the addition task's vocabulary: groups of three answers.
inline HostRollout addition_answers() {
  using D = rl::tasks::DigitVocabulary;
  HostRollout h;
  h.group_size = 3;
  h.prompt_width = 4;
  h.reference_width = 2;
  h.completion_width = 4;
  h.add_group({3, D::kPlus, 4, D::kEquals}, {7}, {{8, D::kEos}, {7, D::kEos}, {8}});  // 8 twice (once without its end)
  h.add_group({9, D::kPlus, 9, D::kEquals}, {1, 8}, {{1, 8, D::kEos}, {1, 7}, {D::kThink, 9, D::kEos}});
  return h;
}

template <class B>
void check_grm_reward(const B& backend) {
  // score() hands a RolloutReward the whole rollout, and still refuses a non-finite reward.
  const HostRollout h = addition_answers();
  if constexpr (!B::kIsDevice) {
    LengthRank rank;
    std::vector<float> components;
    check_equal(score_on(backend, rank, h, &components), std::vector<float>{1, 1, 0, 1, 0, 1}, "a RolloutReward's rewards");
    check_equal(components, std::vector<float>{1, 1, 0, 1, 0, 1}, "its one component");
    *rank.nan = true;
    BOOST_TEST(throws_with<NumericError>([&] { (void)score_on(backend, rank, h); }, {"completion 1 (prompt 0, completion 1 of its group) is nan"}));
  }
  // GrmReward: each group is one request (its prompt the query, its answers the responses, ends
  // stripped); a completion's reward is its mean score over the readable judgments, over 10, and
  // copies of an answer share the mean of their rewards.
  ColdStartedJudge<B> grm(backend);
  rl::SamplingConfig sampling;
  sampling.temperature = 0.7f;
  const rl::grm::GrmReward<B, JudgeTestSpec> reward(grm.model(), rl::grm::judge_for<B, JudgeTestSpec>(backend, kJudgingTask, sampling), 4,
                                                    rl::tasks::DigitVocabulary::kEos, 21);
  const std::vector<float> rewards = score_on(backend, reward, h);
  BOOST_TEST(reward.calls() == 1u);
  const std::vector<rl::grm::JudgingRequest> requests{{{3, 10, 4, 11}, {{8}, {7}, {8}}},
                                                      {{9, 10, 9, 11}, {{1, 8}, {1, 7}, {rl::tasks::DigitVocabulary::kThink, 9}}}};
  index_t readable = 0;
  check_judgments_against_their_tokens(backend, reward.judge(), requests, readable);
  BOOST_TEST_REQUIRE(readable >= 2, "too few readable judgments: " << readable);
  const std::vector<std::int32_t> scores = to_host(backend, reward.judge().scores().flatten());
  const std::vector<std::uint8_t> valid = to_host(backend, reward.judge().valid().flatten());
  std::vector<float> want;
  for (std::size_t p = 0; p < 2; ++p)
    for (std::size_t i = 0; i < 3; ++i) {
      double sum = 0.0, count = 0.0;
      for (std::size_t j = 0; j < 4; ++j)
        if (valid[p * 4 + j] != 0) sum += scores[(p * 4 + j) * 3 + i], count += 1.0;
      want.push_back(count > 0.0 ? static_cast<float>(sum / (10.0 * count)) : 0.0f);
    }
  BOOST_TEST_REQUIRE(want[0] != want[2], "the judgments score the two 8s alike: nothing to merge");
  want[0] = want[2] = (want[0] + want[2]) / 2.0f;  // the two 8s of group 0
  check_close(rewards, want, 1e-6, 1e-7, "GrmReward: mean readable score / 10");
  BOOST_TEST_MESSAGE("GrmReward rewards: " << rewards[0] << " " << rewards[1] << " " << rewards[2] << " | " << rewards[3] << " "
                                           << rewards[4] << " " << rewards[5]);
  (void)score_on(backend, reward, h);
  BOOST_TEST(reward.calls() == 2u, "each call draws anew");

  // A task trained on the GRM's reward keeps its own accuracy.
  const rl::tasks::WithReward judged(rl::tasks::Addition{1}, reward);
  static_assert(rl::tasks::Task<decltype(judged)>);
  check_equal(score_on(backend, judged.accuracy(), h), std::vector<float>{0, 1, 0, 1, 0, 0}, "WithReward keeps exact match for accuracy");
  BOOST_TEST(throws_with<ConfigError>([&] {
    rl::grm::GrmReward<B, JudgeTestSpec>(grm.model(), rl::grm::judge_for<B, JudgeTestSpec>(backend, kJudgingTask, sampling), 0, 12, 1);
  },
                                      {"judgments is 0"}));
}

template <class B>
void check_voting_evaluator(const B& backend) {
  ColdStartedJudge<B> grm(backend);
  rl::SamplingConfig sampling;
  sampling.temperature = 1.0f;
  const std::vector<index_t> ks{1, 2, 4};
  rl::grm::VotingEvaluator<B, JudgeTestSpec, rl::grm::ArithmeticJudging> evaluator(backend, kJudgingTask, 16, 77, sampling, ks);
  rl::grm::MetaRm<B, JudgeTestSpec> meta(backend, JudgingV::kRight, JudgingV::kWrong, JudgingV::kPad);
  meta.initialize_from(grm.model());
  const rl::grm::VotingCurve curve = evaluator(grm.model(), &meta);
  BOOST_TEST_REQUIRE((curve.k == ks && curve.voting.size() == 3 && curve.meta_voting.size() == 3));

  // Greedy: the plain Evaluator's accuracy of greedy judgments of the same problems.
  std::vector<rl::tasks::Problem> problems;
  for (index_t e = 0; e < 16; ++e) problems.push_back(kJudgingTask.problem(77, e));
  rl::GrpoConfig c;
  rl::Evaluator<B, JudgeTestSpec, rl::grm::ArithmeticJudging> plain(backend, kJudgingTask, c);
  rl::SamplingConfig greedy;
  greedy.temperature = 0.0f;
  greedy.max_new_tokens = kJudgingTask.max_completion_length();
  BOOST_TEST(curve.greedy == plain.accuracy(grm.model(), problems, greedy, 1, nullptr), "greedy " << curve.greedy);

  // Voting@k over the first k of the judgments sampled: the same votes on packed copies of them.
  auto& judge = evaluator.judge();
  const index_t n = 3, k_max = 4;
  const std::vector<std::int32_t> scores = to_host(backend, judge.scores().flatten());
  const std::vector<std::uint8_t> valid = to_host(backend, judge.valid().flatten());
  const std::vector<double> rated = meta.rate(rl::grm::judgment_rows(backend, judge.judgments()));
  for (std::size_t q = 0; q < ks.size(); ++q) {
    const index_t k = ks[q];
    std::vector<std::int32_t> packed;
    std::vector<std::uint8_t> packed_valid;
    std::vector<float> packed_meta;
    for (index_t e = 0; e < 16; ++e)
      for (index_t j = 0; j < k; ++j) {
        const std::size_t row = static_cast<std::size_t>(e * k_max + j);
        packed.insert(packed.end(), scores.begin() + static_cast<std::ptrdiff_t>(row) * n, scores.begin() + static_cast<std::ptrdiff_t>(row + 1) * n);
        packed_valid.push_back(valid[row]);
        packed_meta.push_back(static_cast<float>(rated[row]));
      }
    const Buffer<std::int32_t, B> s = to_backend(backend, packed);
    const Buffer<std::uint8_t, B> v = to_backend(backend, packed_valid);
    const Buffer<float, B> m = to_backend(backend, packed_meta);
    Buffer<std::int32_t, B> votes(backend, 16 * n), best(backend, 16);
    const auto accuracy = [&] {
      const std::vector<std::int32_t> picks = to_host(backend, best.view());
      double right = 0.0;
      for (index_t e = 0; e < 16; ++e) right += picks[static_cast<std::size_t>(e)] == problems[static_cast<std::size_t>(e)].reference[1];
      return right / 16.0;
    };
    const TensorView<const std::int32_t, 3> sv(s.data(), Extents<3>{16, k, n});
    const MatrixView<const std::uint8_t> vv(v.data(), Extents<2>{16, k});
    rl::grm::vote(backend, sv, vv, 77, votes.view(16, n), best.view());
    BOOST_TEST(curve.voting[q] == accuracy(), "voting@" << k);
    rl::grm::meta_vote(backend, sv, vv, MatrixView<const float>(m.data(), Extents<2>{16, k}), std::max<index_t>(1, k / 2), 77,
                       votes.view(16, n), best.view());
    BOOST_TEST(curve.meta_voting[q] == accuracy(), "meta-RM voting@" << k);
  }
  BOOST_TEST_MESSAGE("voting evaluator after a 60-step cold start: greedy " << curve.greedy << ", voting@1,2,4 " << curve.voting[0] << " "
                                                                           << curve.voting[1] << " " << curve.voting[2]);
  rl::grm::ArithmeticJudging single{1, 1};
  BOOST_TEST(throws_with<ConfigError>([&] { rl::grm::VotingEvaluator<B, JudgeTestSpec, rl::grm::ArithmeticJudging>(backend, single, 4, 1, sampling); },
                                      {"example 0 has 1 responses; voting picks one of n >= 2"}));
}

}  // namespace rlmoe::test
