#pragma once
// A judging task with known ground truth in which a critique is useful: an addition problem and n
// candidate answers, one right (or, for a none_right share, none: the nearest miss is then the
// best); the generative reward model judges them. Its ideal judgment (Critique::rederive) states
// the correctness principle, re-derives the sum in the critique and restates each candidate next
// to its mark (so that the mark compares two nearby numbers), a wrong one followed by its distance
// from the sum, then scores them:
//
//   prompt     4 7 + 8 = R 5 5 R 5 4 R 6 5                    (n = 3 candidates, each after R)
//   judgment   <principles> correctness </principles>
//              <critique> 4 7 + 8 = 5 5 R 5 5 right R 5 4 wrong 1 R 6 5 wrong 1 0 </critique>
//              <scores> 1 0 , 8 , 1 </scores> <eos>
//
// A candidate's score is 10 when it is right and max(1, 9 - |candidate - sum|) when it is wrong,
// so near misses score higher than far ones but never as high as the right answer. The reference
// is [n, truth] (grm/judgment.hpp): the right candidate's index for n >= 2 (with copies of it,
// [n, truth, copies]), and for n = 1 the rating, the candidate's score by the same rule (a single
// candidate is right half the time).
// Training rewards Eq. 11's +1/-1; accuracy counts correct judgments.
//
// With Critique::check a judgment instead states one of three quick checks of the sum as its
// principle and passes or fails each candidate by it, the way a grader checks a sum by its last
// digit or by casting out nines (n = 3; the check here is the last digit, 15's being 5):
//
//   prompt     7 + 8 = R 1 5 R 2 5 R 1 4
//   judgment   <principles> last digit </principles>
//              <critique> 7 + 8 = 5 R 1 5 5 right R 2 5 5 right R 1 4 4 wrong </critique>
//              <scores> 1 0 , 1 0 , 1 </scores> <eos>
//
// Each check misses one kind of wrong answer (SumCheck), so one judgment is often incorrect by
// Eq. 10 (above, 25 ties 15), while judgments with different checks together catch every wrong
// candidate: voting over sampled judgments then beats any single one, which is the paper's case
// for sampling principles. Which check an ideal judgment uses is drawn per prompt.
//
// (Marks right after the sum alone, "= 5 5 right wrong wrong", teach a 2-layer judge far more
// slowly: 0.39 held-out accuracy after 400 cold-start steps against 0.85 with the restated
// candidates; without the distances most of its mistakes were the scores of wrong candidates.
// Both measured for docs/grm.md.)
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/rl/grm/judgment.hpp"
#include "rlmoe/rl/tasks/digit_vocabulary.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::grm {

/// The judging task's tokens: digits, the problem's symbols, the judgment's delimiters, the
/// principles a judgment may choose and the critique's marks.
struct JudgingVocabulary {
  static constexpr token_t kPlus = 10, kEquals = 11, kResponse = 12, kEos = 13;
  static constexpr token_t kPrinciplesOpen = 14, kPrinciplesClose = 15, kCritiqueOpen = 16, kCritiqueClose = 17;
  static constexpr token_t kScoresOpen = 18, kScoresClose = 19, kComma = 20;
  /// The principles a judgment may state: correctness (the sum re-derived), or one quick check of
  /// the sum (SumCheck, in its order).
  static constexpr token_t kCorrectness = 21, kLastDigit = 22, kNines = 23, kTensDigit = 24;
  static constexpr token_t kRight = 25, kWrong = 26;
  static constexpr token_t kHint = 27;  ///< hinted sampling: "hint" and the best response's index (or the rating)
  static constexpr index_t kSize = 28;
  static constexpr token_t kPad = kEos;

  static constexpr JudgmentLayout kLayout{kPrinciplesOpen, kPrinciplesClose, kCritiqueOpen, kCritiqueClose, kScoresOpen,
                                          kScoresClose,    kComma,           0,              1,           10};

  /// Readable text of a token sequence.
  static std::string text(const std::vector<token_t>& tokens) {
    static const char* const names[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", " R ",
                                        "<eos>", "<principles>", "</principles>", "<critique>", "</critique>",
                                        "<scores>", "</scores>", ",", "correctness", "last digit", "nines", "tens digit", " right", " wrong",
                                        " hint "};
    static_assert(std::size(names) == kSize);
    return tasks::token_text(tokens, names);
  }
  /// The decimal digits of n, most significant first.
  static std::vector<token_t> digits(long long n) { return tasks::decimal_digits(n); }
};

/// A quick check of a sum: the property of a number it compares. Each misses one kind of wrong
/// answer: the last digit one off by ten, casting out nines (the remainder by 9) swapped digits
/// and answers off by nine, the tens digit a near miss in the same ten.
enum class SumCheck { last_digit, nines, tens_digit };

/// The property of x that `check` compares (x >= 0).
inline std::int64_t check_value(SumCheck check, std::int64_t x) {
  switch (check) {
    case SumCheck::last_digit: return x % 10;
    case SumCheck::nines: return x % 9;
    case SumCheck::tens_digit: return x / 10 % 10;
  }
  return 0;
}

/// A problem whose candidates are shown in another order: order[i] is the original index of the
/// candidate shown at position i (scores read from its judgment go back through it).
struct ShuffledProblem {
  tasks::Problem problem;
  std::vector<index_t> order;
};

/// One example of the task: the operands, the candidates in the order shown, the best one.
struct JudgingExample {
  std::int64_t a = 0, b = 0;
  std::vector<std::int64_t> candidates;
  index_t best = 0;  ///< the right candidate, or with none right the nearest miss (n = 1: 0, right or not)

  [[nodiscard]] std::int64_t sum() const { return a + b; }
  /// The candidates identical to the best one, bit i for candidate i (JudgmentTruth::copies).
  [[nodiscard]] std::int32_t copies() const {
    std::int32_t out = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i)
      if (static_cast<index_t>(i) != best && candidates[i] == candidates[static_cast<std::size_t>(best)]) out |= 1 << i;
    return out;
  }
  /// The score an ideal judgment gives candidate i.
  [[nodiscard]] std::int32_t ideal_score(index_t i) const {
    const std::int64_t miss = std::llabs(candidates[static_cast<std::size_t>(i)] - sum());
    return miss == 0 ? 10 : static_cast<std::int32_t>(miss >= 8 ? 1 : 9 - miss);
  }
};

struct ArithmeticJudging {
  static constexpr std::string_view kName = "arithmetic-judging";
  using Vocabulary = JudgingVocabulary;
  index_t responses = 3;   ///< n, candidates per example (1 to 8)
  index_t max_digits = 2;  ///< operands have 1 to max_digits digits
  /// With n >= 2, the fraction of examples none of whose candidates is right: the best is then the
  /// nearest miss (off by 1 or 2, the others further), so a judge must compute the sum rather than
  /// find it among the candidates. A GRM that judges a policy's answers needs them: otherwise it
  /// learns to copy a candidate as "the sum" and calls one of any n answers right.
  double none_right = 0.0;
  /// With n >= 4, the fraction of examples in which one wrong candidate repeats another (a
  /// policy's group often holds an answer more than once; the best one is left to
  /// repeated_best). Not
  /// with n = 3: the best would always be the odd one out, a shortcut a GRM learns (measured:
  /// it then marked the unique answer of a policy's group right whatever the sum).
  double repeated = 0.0;
  /// With n >= 4, the fraction of examples in which 1 to n - 2 wrong candidates are copies of the
  /// best one. A policy's group repeats its right answer most of all, and a GRM that never saw
  /// the best twice scores such copies low (measured: 7.3 to 7.9 for a group of four right
  /// answers, 9.1 to 9.4 for a unique right one). Eq. 10 then leaves the copies aside
  /// (JudgmentTruth::copies); the reference is [n, best, copies].
  double repeated_best = 0.0;
  /// How a judgment examines the candidates: `rederive` states the correctness principle and
  /// compares each candidate with the sum re-derived (one ideal judgment is always correct);
  /// `check` states one quick check of the sum and passes (10) or fails (1) each candidate by it,
  /// so one ideal judgment misses what its check misses, and voting over judgments with other
  /// checks catches it. A check cannot find a nearest miss: `check` needs none_right 0.
  enum class Critique { rederive, check };
  Critique critique = Critique::rederive;

  void validate() const {
    RLMOE_CHECK(responses >= 1 && responses <= 8, ConfigError, "ArithmeticJudging: responses is ", responses,
                " but must lie in [1, 8]");
    RLMOE_CHECK(max_digits >= 1 && max_digits <= 6, ConfigError, "ArithmeticJudging: max_digits is ", max_digits,
                " but must lie in [1, 6]");
    RLMOE_CHECK(none_right >= 0.0 && none_right <= 1.0, ConfigError, "ArithmeticJudging: none_right is ", none_right,
                " but must lie in [0, 1]");
    RLMOE_CHECK(repeated >= 0.0 && repeated <= 1.0, ConfigError, "ArithmeticJudging: repeated is ", repeated, " but must lie in [0, 1]");
    RLMOE_CHECK(repeated == 0.0 || responses >= 4, ConfigError, "ArithmeticJudging: repeated is ", repeated, " with ", responses,
                " responses; repeats need n >= 4 (with 3, the best would always be the odd one out)");
    RLMOE_CHECK(repeated_best >= 0.0 && repeated_best <= 1.0, ConfigError, "ArithmeticJudging: repeated_best is ", repeated_best,
                " but must lie in [0, 1]");
    RLMOE_CHECK(repeated_best == 0.0 || responses >= 4, ConfigError, "ArithmeticJudging: repeated_best is ", repeated_best, " with ",
                responses, " responses; copies of the best need n >= 4 (with 3, the pair would always be the best)");
    RLMOE_CHECK(critique == Critique::rederive || none_right == 0.0, ConfigError, "ArithmeticJudging: none_right is ", none_right,
                " with Critique::check; a check only passes or fails a candidate and cannot find the nearest miss, so none_right must be 0");
  }

  [[nodiscard]] std::int64_t largest() const {
    std::int64_t n = 1;
    for (index_t i = 0; i < max_digits; ++i) n *= 10;
    return n - 1;
  }

  /// The example behind problem `index` of `seed`: distinct wrong candidates near the sum (off
  /// by 1 to 3, by ten, or with two digits swapped) or further (off by 4 to 9, as a policy that
  /// has not learnt to add answers: a GRM that never saw such misses scored the wrong answer level
  /// with or above the right one in 10 % of the pairs of a policy's groups), the right one at a
  /// random place; or, for a none_right share of examples, a nearest miss (off by 1 or 2) there
  /// and the others further; for a `repeated` share, one wrong candidate then copied over another.
  [[nodiscard]] JudgingExample example(std::uint64_t seed, index_t index) const {
    validate();
    JudgingExample e;
    e.a = tasks::problem_integer(seed, index, 0, 0, largest());
    e.b = tasks::problem_integer(seed, index, 1, 0, largest());
    const std::int64_t sum = e.sum();
    // n = 1: the single candidate is right half the time.
    const bool single_right = responses == 1 && tasks::problem_integer(seed, index, 2, 0, 1) == 1;
    e.best = responses == 1 ? 0 : static_cast<index_t>(tasks::problem_integer(seed, index, 2, 0, responses - 1));
    // Its own draw (slot kNoneRightDraw), so that none_right = 0 leaves every other draw as it was.
    const bool none = responses > 1 && static_cast<double>(tasks::problem_integer(seed, index, kNoneRightDraw, 0, 999)) < 1000.0 * none_right;
    std::int64_t best = sum, nearest = 0;  // the best candidate and its miss
    if (none) {
      nearest = tasks::problem_integer(seed, index, kNoneRightDraw + 1, 1, 2);
      best = sum - nearest >= 0 && tasks::problem_integer(seed, index, kNoneRightDraw + 2, 0, 1) == 0 ? sum - nearest : sum + nearest;
    }
    int draw = 3;
    for (index_t i = 0; i < responses; ++i) {
      if (i == e.best && (responses > 1 || single_right)) {
        e.candidates.push_back(best);
        continue;
      }
      const auto taken = [&](std::int64_t x) {
        return x < 0 || std::llabs(x - sum) <= nearest || x == best ||
               std::find(e.candidates.begin(), e.candidates.end(), x) != e.candidates.end();
      };
      std::int64_t wrong = -1;
      for (int attempt = 0; taken(wrong); ++attempt) {
        const std::int64_t kind = tasks::problem_integer(seed, index, draw++, 0, 4);
        const std::int64_t sign = tasks::problem_integer(seed, index, draw++, 0, 1) == 0 ? -1 : 1;
        if (attempt >= 32) wrong = sum + 11 + attempt;  // small sums run out of near misses
        else if (kind <= 1) wrong = sum + sign * tasks::problem_integer(seed, index, draw++, 1, 3);
        else if (kind == 2) wrong = sum + sign * 10;
        else if (kind == 3) wrong = swapped_digits(sum, tasks::problem_integer(seed, index, draw++, 0, 1000));
        else wrong = sum + sign * tasks::problem_integer(seed, index, draw++, 4, 9);
      }
      e.candidates.push_back(wrong);
    }
    std::vector<std::size_t> wrong;
    for (std::size_t i = 0; i < e.candidates.size(); ++i)
      if (static_cast<index_t>(i) != e.best) wrong.push_back(i);
    if (responses >= 4 && static_cast<double>(tasks::problem_integer(seed, index, kNoneRightDraw + 6, 0, 999)) < 1000.0 * repeated_best) {
      // 1 to n - 2 wrong candidates become copies of the best (one stays wrong).
      const std::int64_t count = tasks::problem_integer(seed, index, kNoneRightDraw + 7, 1, responses - 2);
      for (std::int64_t c = 0; c < count; ++c) {
        const std::int64_t pick = tasks::problem_integer(seed, index, kNoneRightDraw + 8 + static_cast<int>(c), 0,
                                                         static_cast<std::int64_t>(wrong.size()) - 1);
        e.candidates[wrong[static_cast<std::size_t>(pick)]] = e.candidates[static_cast<std::size_t>(e.best)];
        wrong.erase(wrong.begin() + pick);
      }
    }
    if (responses >= 4 && wrong.size() >= 2 &&
        static_cast<double>(tasks::problem_integer(seed, index, kNoneRightDraw + 3, 0, 999)) < 1000.0 * repeated) {
      // Two wrong candidates, the second a copy of the first.
      const std::size_t from = static_cast<std::size_t>(tasks::problem_integer(seed, index, kNoneRightDraw + 4, 0, static_cast<std::int64_t>(wrong.size()) - 1));
      const std::size_t to = (from + 1 + static_cast<std::size_t>(tasks::problem_integer(seed, index, kNoneRightDraw + 5, 0, static_cast<std::int64_t>(wrong.size()) - 2))) % wrong.size();
      e.candidates[wrong[to]] = e.candidates[wrong[from]];
    }
    return e;
  }

  [[nodiscard]] tasks::Problem problem(std::uint64_t seed, index_t index) const {
    const JudgingExample e = example(seed, index);
    tasks::Problem p;
    std::vector<std::vector<token_t>> candidates;
    for (std::int64_t c : e.candidates) candidates.push_back(Vocabulary::digits(c));
    p.prompt = prompt(query(e.a, e.b), candidates);
    p.reference = reference(e);
    return p;
  }

  /// The query "a + b =".
  [[nodiscard]] static std::vector<token_t> query(std::int64_t a, std::int64_t b) {
    std::vector<token_t> out = Vocabulary::digits(a);
    out.push_back(Vocabulary::kPlus);
    append(out, Vocabulary::digits(b));
    out.push_back(Vocabulary::kEquals);
    return out;
  }

  /// The GRM's prompt for a query and its responses: the query, then each response after R. The
  /// tokens are this vocabulary's digits, + and = (which tasks::Addition's vocabulary shares, so
  /// that a policy's answers can be judged as they are): a response shows only its digits (the
  /// rest of a malformed answer is dropped), at most max_digits + 1 of them (a longer one cannot
  /// be the sum), so that every prompt fits max_prompt_length().
  [[nodiscard]] std::vector<token_t> prompt(const std::vector<token_t>& query, const std::vector<std::vector<token_t>>& candidates) const {
    RLMOE_CHECK(static_cast<index_t>(candidates.size()) == responses, ConfigError, "ArithmeticJudging: ", candidates.size(),
                " responses to judge but the task judges ", responses);
    RLMOE_CHECK(static_cast<index_t>(query.size()) <= 2 * max_digits + 2, ConfigError, "ArithmeticJudging: a query of ", query.size(),
                " tokens; operands of up to ", max_digits, " digits make at most ", 2 * max_digits + 2);
    std::vector<token_t> out;
    for (std::size_t i = 0; i < query.size(); ++i) {
      RLMOE_CHECK(query[i] >= 0 && query[i] <= Vocabulary::kEquals, ConfigError, "ArithmeticJudging: query token ", query[i], " at ", i,
                  " is not a digit, + or =");
      out.push_back(query[i]);
    }
    for (const std::vector<token_t>& candidate : candidates) {
      out.push_back(Vocabulary::kResponse);
      index_t shown = 0;
      for (token_t t : candidate)
        if (t >= 0 && t <= 9 && shown++ <= max_digits) out.push_back(t);
    }
    return out;
  }

  /// The request a problem's prompt shows: its query and candidates (grm/judgment.hpp).
  [[nodiscard]] JudgingRequest request(const tasks::Problem& p) const {
    const JudgingExample e = read(p.prompt);
    JudgingRequest out{query(e.a, e.b), {}};
    for (std::int64_t c : e.candidates) out.responses.push_back(Vocabulary::digits(c));
    return out;
  }

  /// The example a prompt shows, read back from its tokens: its numbers are a, b and the candidates.
  [[nodiscard]] JudgingExample read(const std::vector<token_t>& prompt) const {
    std::vector<std::int64_t> numbers;
    bool in_number = false;
    for (std::size_t i = 0; i < prompt.size(); ++i) {
      const token_t t = prompt[i];
      RLMOE_CHECK(t >= 0 && t <= Vocabulary::kResponse, ConfigError, "ArithmeticJudging: prompt token ", t, " at ", i,
                  " is not part of a problem");
      if (t <= 9) {
        if (!in_number) numbers.push_back(0);
        numbers.back() = numbers.back() * 10 + t;
      }
      in_number = t <= 9;
    }
    RLMOE_CHECK(numbers.size() >= 3, ConfigError, "ArithmeticJudging: a prompt holds a, b and at least one candidate, this one ",
                numbers.size(), " numbers");
    JudgingExample e;
    e.a = numbers[0];
    e.b = numbers[1];
    e.candidates.assign(numbers.begin() + 2, numbers.end());
    for (std::size_t i = 0; i < e.candidates.size(); ++i)
      if (e.ideal_score(static_cast<index_t>(i)) > e.ideal_score(e.best)) e.best = static_cast<index_t>(i);
    return e;
  }

  /// The paper shuffles the responses before each sampled judgment: `p` with its candidates in
  /// the order of a Fisher-Yates shuffle drawn from (seed, draw), its truth following the right
  /// candidate (n = 1: unchanged).
  [[nodiscard]] ShuffledProblem shuffled(const tasks::Problem& p, std::uint64_t seed, std::uint64_t draw) const {
    const JudgingExample e = read(p.prompt);
    const index_t n = static_cast<index_t>(e.candidates.size());
    ShuffledProblem out;
    RandomStream stream(seed, draw);
    out.order = shuffled_order(n, stream);
    std::vector<std::vector<token_t>> shown;
    for (index_t original : out.order) shown.push_back(Vocabulary::digits(e.candidates[static_cast<std::size_t>(original)]));
    out.problem.prompt = prompt(query(e.a, e.b), shown);
    out.problem.reference = n > 1 ? reference(read(out.problem.prompt)) : p.reference;
    return out;
  }

  /// Rejective fine-tuning's hinted sampling: the prompt, then the hint token and the best
  /// response's index (n >= 2) or the rating (n = 1), in digits.
  [[nodiscard]] std::vector<token_t> hinted_prompt(const tasks::Problem& p) const {
    std::vector<token_t> out = p.prompt;
    out.push_back(Vocabulary::kHint);
    append(out, Vocabulary::digits(p.reference.at(1)));
    return out;
  }

  /// The ideal judgment of a problem: the correctness principle, the sum re-derived, each
  /// candidate restated and marked, a wrong one with its distance from the sum, then the ideal
  /// scores. Each step follows from the ones written before it (the score of a wrong candidate
  /// from its distance), which a small GRM can learn and a sampled judgment can get right or
  /// wrong step by step; without the distances the GRM guessed the scores of wrong candidates,
  /// and most of its errors were there.
  /// With Critique::check, the ideal judgment states the check of demonstrated_check(prompt) and
  /// writes the sum's and each candidate's property instead, the candidate passed ("right", 10)
  /// when they agree and failed ("wrong", 1) otherwise.
  [[nodiscard]] std::vector<token_t> demonstration(const tasks::Problem& p) const {
    const JudgingExample e = read(p.prompt);
    if (critique == Critique::check) return checked_judgment(e, demonstrated_check(p.prompt));
    std::vector<token_t> out{Vocabulary::kPrinciplesOpen, Vocabulary::kCorrectness, Vocabulary::kPrinciplesClose,
                             Vocabulary::kCritiqueOpen};
    append_query(out, e);
    append(out, Vocabulary::digits(e.sum()));
    for (std::int64_t c : e.candidates) {
      out.push_back(Vocabulary::kResponse);
      append(out, Vocabulary::digits(c));
      out.push_back(c == e.sum() ? Vocabulary::kRight : Vocabulary::kWrong);
      if (c != e.sum()) append(out, Vocabulary::digits(std::llabs(c - e.sum())));
    }
    std::vector<std::int32_t> scores;
    for (index_t i = 0; i < static_cast<index_t>(e.candidates.size()); ++i) scores.push_back(e.ideal_score(i));
    end_critique_with(out, scores);
    return out;
  }

  /// The check an ideal judgment of `prompt` uses (Critique::check): a hash of the prompt's tokens,
  /// so the three come evenly and no rule of the problem predicts which, as if a grader picked one
  /// at random (the same one for the same prompt, a shuffle of it drawing again).
  [[nodiscard]] static SumCheck demonstrated_check(const std::vector<token_t>& prompt) {
    std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a finalizer that mixes the high bits down
    for (token_t t : prompt) h = (h ^ static_cast<std::uint64_t>(t)) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return static_cast<SumCheck>(h % 3);
  }

  /// The ideal judgment by `check`: its principle, the sum's property, each candidate with its
  /// property and mark, the scores (10 passed, 1 failed).
  [[nodiscard]] static std::vector<token_t> checked_judgment(const JudgingExample& e, SumCheck check) {
    std::vector<token_t> out{Vocabulary::kPrinciplesOpen, static_cast<token_t>(Vocabulary::kLastDigit + static_cast<token_t>(check)),
                             Vocabulary::kPrinciplesClose, Vocabulary::kCritiqueOpen};
    append_query(out, e);
    const std::int64_t sum = check_value(check, e.sum());
    append(out, Vocabulary::digits(sum));
    std::vector<std::int32_t> scores;
    for (std::int64_t c : e.candidates) {
      const bool passed = check_value(check, c) == sum;
      out.push_back(Vocabulary::kResponse);
      append(out, Vocabulary::digits(c));
      append(out, Vocabulary::digits(check_value(check, c)));
      out.push_back(passed ? Vocabulary::kRight : Vocabulary::kWrong);
      scores.push_back(passed ? 10 : 1);
    }
    end_critique_with(out, scores);
    return out;
  }

  [[nodiscard]] GrmRuleReward reward() const { return {Vocabulary::kLayout, Vocabulary::kEos}; }
  [[nodiscard]] JudgmentAccuracy accuracy() const { return {Vocabulary::kLayout, Vocabulary::kEos}; }
  [[nodiscard]] index_t max_prompt_length() const { return 2 * max_digits + 2 + responses * (max_digits + 2); }
  /// Principles (3), the critique (a + b = sum, then for each candidate R, up to max_digits + 1
  /// digits, its mark and a distance of up to max_digits + 1 digits; with a check, the sum's and
  /// each candidate's property in one digit instead of the sum and the distance), the scores (up
  /// to 2 digits and a comma each), EOS.
  [[nodiscard]] index_t max_completion_length() const {
    const index_t scores = 2 + 3 * responses + 1;
    if (critique == Critique::check) return 3 + (2 + 2 * max_digits + 2 + 1 + responses * (max_digits + 4)) + scores;
    return 3 + (2 + 3 * max_digits + 3 + responses * (2 * max_digits + 4)) + scores;
  }

 private:
  static constexpr int kNoneRightDraw = 1 << 20;  // past every draw of the candidates

  /// [n, best] (n >= 2, with the copies of the best: [n, best, copies]), or [1, rating]: the
  /// score of an ideal judgment, by a check 10 for the right candidate and 1 for a wrong one.
  std::vector<token_t> reference(const JudgingExample& e) const {
    if (responses == 1) {
      const bool right = e.candidates[0] == e.sum();
      return {1, critique == Critique::check ? (right ? 10 : 1) : e.ideal_score(0)};
    }
    const std::int32_t copies = e.copies();
    if (copies == 0) return {static_cast<token_t>(responses), static_cast<token_t>(e.best)};
    return {static_cast<token_t>(responses), static_cast<token_t>(e.best), copies};
  }

  static void append(std::vector<token_t>& out, const std::vector<token_t>& more) { out.insert(out.end(), more.begin(), more.end()); }
  /// The end of a judgment: the critique closed, the scores, EOS.
  static void end_critique_with(std::vector<token_t>& out, const std::vector<std::int32_t>& scores) {
    out.push_back(Vocabulary::kCritiqueClose);
    out.push_back(Vocabulary::kScoresOpen);
    for (std::size_t i = 0; i < scores.size(); ++i) {
      if (i > 0) out.push_back(Vocabulary::kComma);
      append(out, Vocabulary::digits(scores[i]));
    }
    out.push_back(Vocabulary::kScoresClose);
    out.push_back(Vocabulary::kEos);
  }
  /// "a + b =" in a critique.
  static void append_query(std::vector<token_t>& out, const JudgingExample& e) {
    append(out, Vocabulary::digits(e.a));
    out.push_back(Vocabulary::kPlus);
    append(out, Vocabulary::digits(e.b));
    out.push_back(Vocabulary::kEquals);
  }

  /// n with two of its digits (chosen by `pick`) swapped; n itself when it has one digit or equal digits.
  static std::int64_t swapped_digits(std::int64_t n, std::int64_t pick) {
    std::vector<token_t> d = Vocabulary::digits(n);
    if (d.size() < 2) return n + 1;
    const std::size_t i = static_cast<std::size_t>(pick) % (d.size() - 1);
    std::swap(d[i], d[i + 1]);
    std::int64_t out = 0;
    for (token_t x : d) out = out * 10 + x;
    return out;
  }
};

}  // namespace rlmoe::rl::grm
