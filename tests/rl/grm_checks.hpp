#pragma once
// rl/grm/: a generative reward model's judgments (f_extract, Eq. 10's correctness, Eq. 11's reward)
// and voting (Eq. 14, meta-RM-guided), each against hand-worked cases, on any backend.
#include <cstdint>
#include <vector>

#include "rl/rl_checks.hpp"
#include "rlmoe/rl/grm/arithmetic_judging.hpp"
#include "rlmoe/rl/grm/judgment.hpp"
#include "rlmoe/rl/grm/voting.hpp"
#include "rlmoe/rl/grm/voting_evaluator.hpp"

namespace rlmoe::test {

/// Digits are tokens 0-9; the delimiters 20-26; words 30 and up.
inline constexpr rl::grm::JudgmentLayout kJudgment{20, 21, 22, 23, 24, 25, 26, 0, 1, 10};
inline constexpr rl::token_t kJudgmentEos = 27, kOpen = 24, kClose = 25, kSep = 26;

/// A judgment with principles and a critique, then the given score tokens, then EOS.
inline std::vector<rl::token_t> judgment(const std::vector<rl::token_t>& score_tokens) {
  std::vector<rl::token_t> out{20, 30, 31, 21, 22, 32, 33, 34, 23, kOpen};
  out.insert(out.end(), score_tokens.begin(), score_tokens.end());
  out.push_back(kClose);
  out.push_back(kJudgmentEos);
  return out;
}

inline rl::grm::JudgmentScores extract(const std::vector<rl::token_t>& tokens, index_t n) {
  return rl::grm::extract_scores(rl::strip_eos({tokens.data(), static_cast<index_t>(tokens.size())}, kJudgmentEos), kJudgment, n);
}

inline void check_grm_extraction() {
  const auto scores = [](const rl::grm::JudgmentScores& s) { return std::vector<std::int32_t>(s.scores, s.scores + s.count); };
  // Well formed: "7 , 10 , 1" for three responses.
  const auto three = extract(judgment({7, kSep, 1, 0, kSep, 1}), 3);
  BOOST_TEST(three.found);
  check_equal(scores(three), std::vector<std::int32_t>{7, 10, 1}, "7, 10, 1");
  // One response.
  BOOST_TEST((extract(judgment({9}), 1).found && extract(judgment({9}), 1).scores[0] == 9));
  // Not readable: wrong count (either way), out of range (0, 11), a leading zero, an empty number,
  // a word inside the section, no closing tag, no section.
  for (const auto& [tokens, n, why] : std::vector<std::tuple<std::vector<rl::token_t>, index_t, const char*>>{
           {judgment({7, kSep, 1}), 3, "two scores for three responses"},
           {judgment({7, kSep, 1, kSep, 2, kSep, 3}), 3, "four scores for three responses"},
           {judgment({0, kSep, 5}), 2, "a score of 0"},
           {judgment({1, 1, kSep, 5}), 2, "a score of 11"},
           {judgment({0, 7, kSep, 5}), 2, "a leading zero"},
           {judgment({7, kSep, kSep, 5}), 2, "an empty score"},
           {judgment({7, kSep, 30, kSep, 5}), 3, "a word among the scores"},
           {std::vector<rl::token_t>{kOpen, 7, kSep, 5, kJudgmentEos}, 2, "no closing tag"},
           {std::vector<rl::token_t>{20, 30, 21, 7, kSep, 5, kJudgmentEos}, 2, "no scores section"},
       })
    BOOST_TEST(!extract(tokens, n).found, why);
  // The last scores section counts (a model may draft scores in its critique).
  std::vector<rl::token_t> drafted{kOpen, 3, kSep, 3, kClose};
  const auto final_scores = judgment({8, kSep, 2});
  drafted.insert(drafted.end(), final_scores.begin(), final_scores.end());
  check_equal(scores(extract(drafted, 2)), std::vector<std::int32_t>{8, 2}, "the last section");
  BOOST_TEST(!extract(judgment({5}), rl::grm::kMaxResponses + 1).found, "more responses than the extractor holds");
}

inline void check_grm_correctness() {
  using rl::grm::judgment_is_correct;
  const auto with = [](std::vector<std::int32_t> s) {
    rl::grm::JudgmentScores out;
    for (std::int32_t x : s) out.scores[out.count++] = x;
    out.found = true;
    return out;
  };
  // n >= 2: the known best (index 1) must score strictly highest.
  BOOST_TEST(judgment_is_correct(with({3, 8, 5}), {3, 1}));
  BOOST_TEST(!judgment_is_correct(with({8, 3, 5}), {3, 1}), "another response scores highest");
  BOOST_TEST(!judgment_is_correct(with({8, 8, 5}), {3, 1}), "a tie at the top is not a choice");
  BOOST_TEST(judgment_is_correct(with({2, 9}), {2, 1}));
  // Copies of the best (bit i: response i is the same response): left aside, so the best may tie
  // with them, but not with another response.
  BOOST_TEST(judgment_is_correct(with({10, 10, 5}), {3, 0, 0b10}));
  BOOST_TEST(!judgment_is_correct(with({10, 10, 5}), {3, 0}), "without the copy marked, a tie at the top");
  BOOST_TEST(judgment_is_correct(with({9, 10, 5, 10}), {4, 0, 0b1010}), "a copy scored differently is still the same response");
  BOOST_TEST(!judgment_is_correct(with({9, 10, 9, 3}), {4, 0, 0b10}), "a tie with another response");
  BOOST_TEST((rl::grm::is_best({4, 2, 0b1001}, 0) && rl::grm::is_best({4, 2, 0b1001}, 2) && rl::grm::is_best({4, 2, 0b1001}, 3)));
  BOOST_TEST(!rl::grm::is_best({4, 2, 0b1001}, 1));
  const rl::token_t reference[] = {4, 2, 0b1001};
  const rl::grm::JudgmentTruth read = rl::grm::read_truth({reference, 3});
  BOOST_TEST((read.responses == 4 && read.truth == 2 && read.copies == 0b1001));
  BOOST_TEST(rl::grm::read_truth({reference, 2}).copies == 0, "[n, truth]: no copies");
  // n = 1: the score must equal the rating.
  BOOST_TEST(judgment_is_correct(with({6}), {1, 6}));
  BOOST_TEST(!judgment_is_correct(with({7}), {1, 6}));
  // Unreadable scores, a count that is not n, a truth out of range.
  rl::grm::JudgmentScores missing = with({3, 8, 5});
  missing.found = false;
  BOOST_TEST(!judgment_is_correct(missing, {3, 1}));
  BOOST_TEST(!judgment_is_correct(with({3, 8}), {3, 1}));
  BOOST_TEST(!judgment_is_correct(with({3, 8, 5}), {3, 3}));
  BOOST_TEST(!judgment_is_correct(with({3, 8, 5}), {0, 0}), "no truth");
}

/// Eq. 11 over a rollout in a kernel, and f_extract over the same rollout.
template <class B>
void check_grm_reward_and_batch_extraction(const B& backend) {
  HostRollout h;
  h.group_size = 3;
  h.prompt_width = 2;
  h.reference_width = 2;
  h.completion_width = 24;
  // Example 0: three responses, the second best. Example 1: one response rated 4.
  h.add_group({40, 41}, {3, 1}, {judgment({2, kSep, 9, kSep, 4}), judgment({9, kSep, 9, kSep, 4}), judgment({2, kSep, 9})});
  h.add_group({42, 43}, {1, 4}, {judgment({4}), judgment({5}), std::vector<rl::token_t>{30, 31, kJudgmentEos}});
  check_equal(score_on(backend, rl::grm::GrmRuleReward{kJudgment, kJudgmentEos}, h), std::vector<float>{1, -1, -1, 1, -1, -1},
              "Eq. 11: +1 correct, -1 wrong or unreadable");
  BOOST_TEST(throws_with<ConfigError>([&] { (void)score_on(backend, rl::grm::GrmRuleReward{}, h); }, {"JudgmentLayout", "scores_open"}));

  // Both examples' judgments read as one response each (n = 1) fail where they give two or three.
  BackendRollout<B> r(backend, h);
  Buffer<std::int32_t, B> scores(backend, 2 * 3 * 3);
  Buffer<std::uint8_t, B> valid(backend, 2 * 3);
  rl::grm::extract_judgments(backend, r.view, kJudgment, kJudgmentEos, TensorView<std::int32_t, 3>(scores.data(), Extents<3>{2, 3, 3}),
                             valid.view(2, 3));
  check_equal(to_host(backend, valid.view()), std::vector<std::uint8_t>{1, 1, 0, 0, 0, 0}, "readable as three scores");
  check_equal(to_host(backend, scores.view()), std::vector<std::int32_t>{2, 9, 4, 9, 9, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
              "scores [P, k, n]");
}

/// Eq. 14 and meta-RM-guided voting, hand-worked.
template <class B>
void check_grm_voting(const B& backend) {
  // Example 0: three judgments of three responses, one unreadable: votes (2+7, 9+3, 4+4) = (9, 12, 8).
  // Example 1: responses 0 and 2 tie at 10, so the seed decides between them (never 1).
  const std::vector<std::int32_t> s{2, 9, 4, 7, 3, 4, 10, 10, 10,  //
                                    5, 1, 5, 5, 2, 5, 0, 0, 0};
  const std::vector<std::uint8_t> ok{1, 1, 0, 1, 1, 0};
  Buffer<std::int32_t, B> scores = to_backend(backend, s), votes(backend, 6), best(backend, 2);
  Buffer<std::uint8_t, B> valid = to_backend(backend, ok);
  const TensorView<const std::int32_t, 3> scores_view(scores.data(), Extents<3>{2, 3, 3});
  std::vector<int> picked(3, 0);
  for (std::uint64_t seed = 0; seed < 64; ++seed) {
    rl::grm::vote(backend, scores_view, valid.view(2, 3), seed, votes.view(2, 3), best.view());
    const auto b = to_host(backend, best.view());
    BOOST_TEST(b[0] == 1, "the most votes win");
    ++picked[static_cast<std::size_t>(b[1])];
    if (seed == 0) check_equal(to_host(backend, votes.view()), std::vector<std::int32_t>{9, 12, 8, 10, 3, 10}, "votes");
    rl::grm::vote(backend, scores_view, valid.view(2, 3), seed, votes.view(2, 3), best.view());
    BOOST_TEST(to_host(backend, best.view()) == b, "the same seed breaks ties the same way");
  }
  BOOST_TEST(picked[1] == 0, "a response outside the tie is never picked");
  BOOST_TEST((picked[0] > 10 && picked[2] > 10), "each tied response wins under some seeds: " << picked[0] << ", " << picked[2]);

  // Meta RM: keep the 1 best-rated readable judgment of each example. Example 0 rates judgment 0
  // highest among the readable (judgment 2 is rated higher but unreadable): votes (2, 9, 4).
  // Example 1 keeps judgment 1: votes (5, 2, 5), a tie between 0 and 2.
  const std::vector<float> m{0.7f, 0.1f, 0.9f, 0.2f, 0.6f, 0.95f};
  Buffer<float, B> meta = to_backend(backend, m);
  rl::grm::meta_vote(backend, scores_view, valid.view(2, 3), meta.view(2, 3), 1, 5, votes.view(2, 3), best.view());
  check_equal(to_host(backend, votes.view()), std::vector<std::int32_t>{2, 9, 4, 5, 2, 5}, "meta-RM votes with k_meta = 1");
  BOOST_TEST(to_host(backend, best.view())[0] == 1);
  // k_meta = k: the same as plain voting.
  rl::grm::meta_vote(backend, scores_view, valid.view(2, 3), meta.view(2, 3), 3, 5, votes.view(2, 3), best.view());
  check_equal(to_host(backend, votes.view()), std::vector<std::int32_t>{9, 12, 8, 10, 3, 10}, "meta-RM votes with k_meta = k");
  BOOST_TEST(throws_with<ConfigError>([&] {
    rl::grm::meta_vote(backend, scores_view, valid.view(2, 3), meta.view(2, 3), 4, 5, votes.view(2, 3), best.view());
  }, {"keep is 4", "k = 3"}));
  BOOST_TEST(throws_with<ShapeError>([&] { rl::grm::vote(backend, scores_view, valid.view(3, 2), 0, votes.view(2, 3), best.view()); },
                                     {"grm voting: valid"}));
}

/// The judging task: its examples hold one right candidate among distinct wrong ones, its prompts
/// read back, and its demonstrations are correct judgments (Eq. 11's +1) that re-derive the sum,
/// for n = 1, 3 and 8; a judgment that prefers another candidate earns -1.
template <class B>
void check_arithmetic_judging(const B& backend) {
  static_assert(rl::tasks::Task<rl::grm::ArithmeticJudging>);
  using V = rl::grm::JudgingVocabulary;
  struct Setting {
    index_t n;
    double none_right, repeated;
  };
  for (const auto& [n, none_right, repeated] : {Setting{1, 0.0, 0.0}, {3, 0.0, 0.0}, {8, 0.0, 0.0}, {3, 1.0, 0.0}, {4, 0.5, 1.0}}) {
    rl::grm::ArithmeticJudging task;
    task.responses = n;
    task.none_right = none_right;
    task.repeated = repeated;
    HostRollout h;
    h.group_size = 2;  // the demonstration, and a judgment that prefers another candidate
    h.prompt_width = task.max_prompt_length();
    h.reference_width = 2;
    h.completion_width = task.max_completion_length();
    int single_right = 0;
    for (index_t i = 0; i < 100; ++i) {
      const rl::grm::JudgingExample e = task.example(7, i);
      const rl::tasks::Problem p = task.problem(7, i);
      BOOST_TEST_REQUIRE(static_cast<index_t>(e.candidates.size()) == n);
      int right = 0, repeats = 0;
      for (std::size_t c = 0; c < e.candidates.size(); ++c) {
        right += e.candidates[c] == e.sum();
        BOOST_TEST(e.candidates[c] >= 0);
        for (std::size_t d = 0; d < c; ++d) repeats += e.candidates[c] == e.candidates[d];
      }
      BOOST_TEST(repeats == (repeated > 0.0 ? 1 : 0), "example " << i << " repeats " << repeats << " candidates");
      if (n > 1) {
        if (none_right == 0.0 || none_right == 1.0)
          BOOST_TEST(right == (none_right > 0.0 ? 0 : 1), "example " << i << " has " << right << " right candidates");
        for (index_t c = 0; c < n; ++c)
          if (c != e.best) BOOST_TEST(e.ideal_score(c) < e.ideal_score(e.best), "the best candidate of example " << i << " is the only best");
        BOOST_TEST((std::llabs(e.candidates[static_cast<std::size_t>(e.best)] - e.sum()) <= (none_right > 0.0 ? 2 : 0)), "the best");
        check_equal(p.reference, std::vector<rl::token_t>{static_cast<rl::token_t>(n), static_cast<rl::token_t>(e.best)}, "reference");
      } else {
        single_right += right;
        check_equal(p.reference, std::vector<rl::token_t>{1, e.ideal_score(0)}, "reference of a single candidate: its rating");
      }
      std::vector<rl::token_t> hinted = p.prompt;
      hinted.push_back(V::kHint);
      for (rl::token_t d : V::digits(p.reference[1])) hinted.push_back(d);
      check_equal(task.hinted_prompt(p), hinted, "the hinted prompt names the truth");
      const rl::grm::JudgingExample back = task.read(p.prompt);
      BOOST_TEST((back.a == e.a && back.b == e.b && back.candidates == e.candidates && back.best == e.best),
                 "prompt " << V::text(p.prompt) << " reads back");
      BOOST_TEST(static_cast<index_t>(p.prompt.size()) <= task.max_prompt_length());
      const std::vector<rl::token_t> ideal = task.demonstration(p);
      BOOST_TEST(static_cast<index_t>(ideal.size()) <= task.max_completion_length());
      // The critique re-derives the sum: "a + b = sum" after <critique>.
      std::vector<rl::token_t> derivation = V::digits(e.a);
      derivation.push_back(V::kPlus);
      for (rl::token_t d : V::digits(e.b)) derivation.push_back(d);
      derivation.push_back(V::kEquals);
      for (rl::token_t d : V::digits(e.sum())) derivation.push_back(d);
      BOOST_TEST((std::search(ideal.begin(), ideal.end(), derivation.begin(), derivation.end()) == ideal.begin() + 4),
                 V::text(ideal));
      // Then each candidate restated and marked, a wrong one followed by its distance from the sum.
      std::vector<rl::token_t> marks;
      for (std::int64_t c : e.candidates) {
        marks.push_back(V::kResponse);
        for (rl::token_t d : V::digits(c)) marks.push_back(d);
        marks.push_back(c == e.sum() ? V::kRight : V::kWrong);
        if (c != e.sum())
          for (rl::token_t d : V::digits(std::llabs(c - e.sum()))) marks.push_back(d);
      }
      marks.push_back(V::kCritiqueClose);
      BOOST_TEST((std::search(ideal.begin(), ideal.end(), marks.begin(), marks.end()) ==
                  ideal.begin() + 4 + static_cast<std::ptrdiff_t>(derivation.size())),
                 V::text(ideal));
      // Another judgment: the ideal one with the first two scores swapped (n >= 2), or one point off (n = 1).
      rl::grm::JudgmentScores s = rl::grm::extract_scores(rl::strip_eos({ideal.data(), static_cast<index_t>(ideal.size())}, V::kEos),
                                                           V::kLayout, n);
      BOOST_TEST_REQUIRE(s.found, V::text(ideal));
      const index_t other = e.best == 0 ? 1 : 0;
      if (n > 1) std::swap(s.scores[e.best], s.scores[other]);
      else s.scores[0] = s.scores[0] == 10 ? 9 : s.scores[0] + 1;
      std::vector<rl::token_t> wrong(ideal.begin(), ideal.begin() + static_cast<std::ptrdiff_t>(std::find(ideal.begin(), ideal.end(), V::kScoresOpen) - ideal.begin()) + 1);
      for (index_t r = 0; r < n; ++r) {
        if (r > 0) wrong.push_back(V::kComma);
        for (rl::token_t d : V::digits(s.scores[r])) wrong.push_back(d);
      }
      wrong.push_back(V::kScoresClose);
      wrong.push_back(V::kEos);
      h.add_group(p.prompt, p.reference, {ideal, wrong});
    }
    if (n == 1) BOOST_TEST((single_right > 30 && single_right < 70), "a single candidate is right " << single_right << " times in 100");
    std::vector<float> want;
    for (index_t i = 0; i < 100; ++i) want.insert(want.end(), {1.0f, -1.0f});
    check_equal(score_on(backend, task.reward(), h), want, "Eq. 11 on demonstrations and on swapped scores");
    std::vector<float> accuracy;
    for (index_t i = 0; i < 100; ++i) accuracy.insert(accuracy.end(), {1.0f, 0.0f});
    check_equal(score_on(backend, task.accuracy(), h), accuracy, "accuracy");
  }
  // Shuffled resamplings (the paper shuffles the responses before each judgment): the ideal
  // judgment of each shuffle is correct, and its scores, put back in the original order on the
  // backend, are the original's ideal scores.
  for (const index_t n : {3, 8}) {
    rl::grm::ArithmeticJudging task;
    task.responses = n;
    const index_t problems = 20, draws = 4;
    std::vector<std::int32_t> shown, order, want;
    int moved = 0;
    for (index_t i = 0; i < problems; ++i) {
      const rl::tasks::Problem p = task.problem(3, i);
      const auto original = task.demonstration(p);
      const auto ideal = rl::grm::extract_scores({original.data(), static_cast<index_t>(original.size())}, V::kLayout, n);
      for (index_t draw = 0; draw < draws; ++draw) {
        const rl::grm::ShuffledProblem s = task.shuffled(p, 11, static_cast<std::uint64_t>(i * draws + draw));
        const rl::grm::JudgingExample e = task.read(p.prompt), se = task.read(s.problem.prompt);
        std::vector<index_t> sorted = s.order;
        std::sort(sorted.begin(), sorted.end());
        for (index_t c = 0; c < n; ++c) {
          BOOST_TEST(sorted[static_cast<std::size_t>(c)] == c, "the order is a permutation");
          BOOST_TEST(se.candidates[static_cast<std::size_t>(c)] == e.candidates[static_cast<std::size_t>(s.order[static_cast<std::size_t>(c)])]);
          moved += s.order[static_cast<std::size_t>(c)] != c;
        }
        BOOST_TEST(se.candidates[static_cast<std::size_t>(s.problem.reference[1])] == e.sum(), "the truth follows the right candidate");
        const auto judged = task.demonstration(s.problem);
        const auto scores = rl::grm::extract_scores({judged.data(), static_cast<index_t>(judged.size())}, V::kLayout, n);
        BOOST_TEST(rl::grm::judgment_is_correct(scores, rl::grm::problem_truth(s.problem)));
        for (index_t c = 0; c < n; ++c) {
          shown.push_back(scores.scores[c]);
          order.push_back(static_cast<std::int32_t>(s.order[static_cast<std::size_t>(c)]));
          want.push_back(ideal.scores[c]);
        }
      }
    }
    BOOST_TEST(moved > 0, "the shuffles move candidates");
    Buffer<std::int32_t, B> shown_b = to_backend(backend, shown), order_b = to_backend(backend, order), out(backend, problems * draws * n);
    const Extents<3> shape{problems, draws, n};
    rl::grm::unshuffle_scores(backend, TensorView<const std::int32_t, 3>(shown_b.data(), shape),
                              TensorView<const std::int32_t, 3>(order_b.data(), shape), TensorView<std::int32_t, 3>(out.data(), shape));
    check_equal(to_host(backend, out.view()), want, "unshuffled scores");
  }

  // none_right is a share of the examples; the others are the examples none_right 0 draws.
  const rl::grm::ArithmeticJudging half{3, 1, 0.5}, plain{3, 1};
  int none = 0;
  for (index_t i = 0; i < 200; ++i) {
    const rl::grm::JudgingExample e = half.example(5, i);
    const bool has_right = e.candidates[static_cast<std::size_t>(e.best)] == e.sum();
    none += !has_right;
    if (has_right) BOOST_TEST(e.candidates == plain.example(5, i).candidates, "example " << i);
  }
  BOOST_TEST((none > 70 && none < 130), none << " of 200 examples with none right at none_right 0.5");

  // Wrong candidates are near misses, misses by ten and further misses (off by 4 to 9), as a
  // policy's answers are.
  int near = 0, by_ten = 0, further = 0;
  for (index_t i = 0; i < 200; ++i) {
    const rl::grm::JudgingExample e = plain.example(5, i);
    for (std::int64_t c : e.candidates) {
      const std::int64_t miss = std::llabs(c - e.sum());
      near += miss >= 1 && miss <= 3;
      by_ten += miss == 10;
      further += miss >= 4 && miss <= 9;
    }
  }
  BOOST_TEST((near > 100 && by_ten > 30 && further > 60), "wrong candidates of 200 examples: " << near << " near, " << by_ten
                                                                                              << " off by ten, " << further << " further");

  // repeated_best: 1 to n - 2 copies of the best, marked in the reference [n, best, copies]; the
  // ideal judgment (which scores them alike) is correct by Eq. 10 only with them marked, and
  // stays correct over shuffles, the marks following the copies.
  const rl::grm::ArithmeticJudging copied{4, 1, 0.5, 0.5, 1.0};
  int with_two = 0;
  for (index_t i = 0; i < 50; ++i) {
    const rl::grm::JudgingExample e = copied.example(9, i);
    const rl::tasks::Problem p = copied.problem(9, i);
    const std::int64_t best = e.candidates[static_cast<std::size_t>(e.best)];
    std::int32_t marked = 0;
    int count = 0;
    for (std::size_t c = 0; c < e.candidates.size(); ++c)
      if (static_cast<index_t>(c) != e.best && e.candidates[c] == best) marked |= 1 << c, ++count;
    BOOST_TEST((count >= 1 && count <= 2), "example " << i << " has " << count << " copies of the best");
    with_two += count == 2;
    BOOST_TEST(std::count_if(e.candidates.begin(), e.candidates.end(), [&](std::int64_t c) { return c != best; }) >= 1,
               "a wrong candidate stays");
    check_equal(p.reference, std::vector<rl::token_t>{4, static_cast<rl::token_t>(e.best), marked}, "reference with copies");
    const auto judged = copied.demonstration(p);
    const auto scores = rl::grm::extract_scores({judged.data(), static_cast<index_t>(judged.size())}, V::kLayout, 4);
    BOOST_TEST(rl::grm::judgment_is_correct(scores, rl::grm::read_truth({p.reference.data(), 3})), V::text(judged));
    BOOST_TEST(!rl::grm::judgment_is_correct(scores, rl::grm::read_truth({p.reference.data(), 2})), "unmarked copies tie at the top");
    const rl::grm::ShuffledProblem shuffled = copied.shuffled(p, 13, static_cast<std::uint64_t>(i));
    const rl::grm::JudgmentTruth t = rl::grm::problem_truth(shuffled.problem);
    const rl::grm::JudgingExample se = copied.read(shuffled.problem.prompt);
    for (index_t c = 0; c < 4; ++c)
      BOOST_TEST(rl::grm::is_best(t, c) == (se.candidates[static_cast<std::size_t>(c)] == best), "shuffle " << i << " position " << c);
    const auto shuffled_judged = copied.demonstration(shuffled.problem);
    BOOST_TEST(rl::grm::judgment_is_correct(
        rl::grm::extract_scores({shuffled_judged.data(), static_cast<index_t>(shuffled_judged.size())}, V::kLayout, 4), t));
  }
  BOOST_TEST((with_two > 10 && with_two < 40), with_two << " of 50 examples with two copies");

  rl::grm::ArithmeticJudging bad;
  bad.responses = 9;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"responses is 9"}));
  bad.responses = 3;
  bad.none_right = 1.5;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"none_right is 1.5"}));
  bad.none_right = 0.0;
  bad.repeated = -0.1;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"repeated is -0.1"}));
  bad.repeated = 0.5;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"repeated is 0.5 with 3 responses; repeats need n >= 4"}));
  bad.repeated = 0.0;
  bad.repeated_best = 1.5;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"repeated_best is 1.5 but must lie in [0, 1]"}));
  bad.repeated_best = 0.5;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"repeated_best is 0.5 with 3 responses; copies of the best need n >= 4"}));
}

/// Critique::check: a judgment passes or fails each candidate by one quick check of the sum.
/// Hand-worked, 7 + 8 with candidates 15, 25 and 14: only casting out nines (6, 7, 5) tells 15
/// apart; the last digit passes 25 (5) and the tens digit passes 14 (1), so those judgments are
/// incorrect by Eq. 10, and the vote of the three (30, 12, 12) picks 15. Then over 300 examples:
/// each demonstration is correct exactly when no wrong candidate shares its check's property
/// (worked out here from the digits: the last one, their sum by nines, the one before the last),
/// the three checks each come about a third of the time, and the three judgments of an example
/// together always pick its best.
template <class B>
void check_arithmetic_judging_by_checks(const B& backend) {
  using V = rl::grm::JudgingVocabulary;
  using rl::grm::SumCheck;
  rl::grm::ArithmeticJudging task{3, 1};
  task.critique = rl::grm::ArithmeticJudging::Critique::check;
  const rl::grm::JudgingExample hand{7, 8, {15, 25, 14}, 0};
  const std::vector<rl::token_t> last = task.checked_judgment(hand, SumCheck::last_digit);
  check_equal(last, std::vector<rl::token_t>{V::kPrinciplesOpen, V::kLastDigit, V::kPrinciplesClose, V::kCritiqueOpen, 7, V::kPlus, 8,
                                             V::kEquals, 5, V::kResponse, 1, 5, 5, V::kRight, V::kResponse, 2, 5, 5, V::kRight,
                                             V::kResponse, 1, 4, 4, V::kWrong, V::kCritiqueClose, V::kScoresOpen, 1, 0, V::kComma, 1, 0,
                                             V::kComma, 1, V::kScoresClose, V::kEos},
              "7 + 8 by the last digit");
  const std::vector<rl::token_t> nines = task.checked_judgment(hand, SumCheck::nines);
  check_equal(nines, std::vector<rl::token_t>{V::kPrinciplesOpen, V::kNines, V::kPrinciplesClose, V::kCritiqueOpen, 7, V::kPlus, 8,
                                              V::kEquals, 6, V::kResponse, 1, 5, 6, V::kRight, V::kResponse, 2, 5, 7, V::kWrong,
                                              V::kResponse, 1, 4, 5, V::kWrong, V::kCritiqueClose, V::kScoresOpen, 1, 0, V::kComma, 1,
                                              V::kComma, 1, V::kScoresClose, V::kEos},
              "7 + 8 by casting out nines");
  const std::vector<rl::token_t> tens = task.checked_judgment(hand, SumCheck::tens_digit);
  const rl::grm::JudgmentTruth truth{3, 0, 0};
  std::vector<std::int32_t> hand_scores;
  for (const auto* judged : {&last, &nines, &tens}) {
    const auto s = rl::grm::extract_scores(rl::strip_eos({judged->data(), static_cast<index_t>(judged->size())}, V::kEos), V::kLayout, 3);
    BOOST_TEST_REQUIRE(s.found, V::text(*judged));
    BOOST_TEST(rl::grm::judgment_is_correct(s, truth) == (judged == &nines), V::text(*judged));
    hand_scores.insert(hand_scores.end(), s.scores, s.scores + 3);
  }
  check_equal(hand_scores, std::vector<std::int32_t>{10, 10, 1, 10, 1, 1, 10, 1, 10}, "the three judgments' scores");
  Buffer<std::int32_t, B> scores = to_backend(backend, hand_scores), votes(backend, 3), best(backend, 1);
  Buffer<std::uint8_t, B> valid = to_backend(backend, std::vector<std::uint8_t>{1, 1, 1});
  rl::grm::vote(backend, TensorView<const std::int32_t, 3>(scores.data(), Extents<3>{1, 3, 3}), valid.view(1, 3), 1, votes.view(1, 3),
                best.view());
  check_equal(to_host(backend, votes.view()), std::vector<std::int32_t>{30, 12, 12}, "votes of the three checks");
  BOOST_TEST(to_host(backend, best.view())[0] == 0);

  // The property of x a check compares, from its digits.
  const auto property = [](SumCheck check, std::int64_t x) {
    const std::vector<rl::token_t> d = V::digits(x);
    if (check == SumCheck::last_digit) return static_cast<std::int64_t>(d.back());
    if (check == SumCheck::tens_digit) return d.size() >= 2 ? static_cast<std::int64_t>(d[d.size() - 2]) : std::int64_t{0};
    std::int64_t r = x;  // casting out nines: sum the digits until one is left (9 counts as 0)
    while (r >= 10) {
      std::int64_t digit_sum = 0;
      for (rl::token_t t : V::digits(r)) digit_sum += t;
      r = digit_sum;
    }
    return r == 9 ? std::int64_t{0} : r;
  };
  rl::grm::ArithmeticJudging four{4, 1, 0.0, 0.5, 0.5};
  four.critique = rl::grm::ArithmeticJudging::Critique::check;
  HostRollout h;
  h.group_size = 1;
  h.prompt_width = four.max_prompt_length();
  h.reference_width = 3;
  h.completion_width = four.max_completion_length();
  std::vector<float> want;
  int used[3] = {0, 0, 0}, correct = 0;
  for (index_t i = 0; i < 300; ++i) {
    const rl::tasks::Problem p = four.problem(17, i);
    const rl::grm::JudgingExample e = four.read(p.prompt);
    const rl::grm::JudgmentTruth t = rl::grm::problem_truth(p);
    const SumCheck check = four.demonstrated_check(p.prompt);
    ++used[static_cast<int>(check)];
    const std::vector<rl::token_t> ideal = four.demonstration(p);
    BOOST_TEST(static_cast<index_t>(ideal.size()) <= four.max_completion_length(), V::text(ideal));
    BOOST_TEST(ideal[1] == V::kLastDigit + static_cast<rl::token_t>(check), "the principle states the check");
    bool passes_wrong = false;
    for (index_t c = 0; c < 4; ++c)
      if (!rl::grm::is_best(t, c))
        passes_wrong = passes_wrong || property(check, e.candidates[static_cast<std::size_t>(c)]) == property(check, e.sum());
    want.push_back(passes_wrong ? 0.0f : 1.0f);
    correct += !passes_wrong;
    h.add_group(p.prompt, p.reference, {ideal});
    std::int32_t total[4] = {0, 0, 0, 0};
    for (const SumCheck each : {SumCheck::last_digit, SumCheck::nines, SumCheck::tens_digit}) {
      const std::vector<rl::token_t> judged = four.checked_judgment(e, each);
      const auto s = rl::grm::extract_scores(rl::strip_eos({judged.data(), static_cast<index_t>(judged.size())}, V::kEos), V::kLayout, 4);
      BOOST_TEST_REQUIRE(s.found, V::text(judged));
      for (index_t c = 0; c < 4; ++c) total[c] += s.scores[c];
    }
    for (index_t c = 0; c < 4; ++c)
      if (!rl::grm::is_best(t, c)) BOOST_TEST(total[c] < total[e.best], "example " << i << ": the three checks together pick the best");
  }
  check_equal(score_on(backend, four.accuracy(), h), want, "Eq. 10 on the demonstrations: correct unless a wrong candidate passes");
  BOOST_TEST((correct > 90 && correct < 270), correct << " of 300 demonstrations correct: one check misses some wrong candidates");
  for (int c = 0; c < 3; ++c) BOOST_TEST((used[c] > 70 && used[c] < 130), "check " << c << " demonstrated " << used[c] << " times of 300");

  // n = 1: the rating of a wrong candidate is 1 (a check fails it), of a right one 10.
  rl::grm::ArithmeticJudging single{1, 1};
  single.critique = rl::grm::ArithmeticJudging::Critique::check;
  for (index_t i = 0; i < 40; ++i) {
    const rl::grm::JudgingExample e = single.example(3, i);
    check_equal(single.problem(3, i).reference, std::vector<rl::token_t>{1, e.candidates[0] == e.sum() ? 10 : 1}, "rating");
  }
  rl::grm::ArithmeticJudging bad{4, 1, 0.5};
  bad.critique = rl::grm::ArithmeticJudging::Critique::check;
  BOOST_TEST(throws_with<ConfigError>([&] { (void)bad.problem(1, 0); }, {"none_right is 0.5 with Critique::check", "must be 0"}));
}
}  // namespace rlmoe::test
