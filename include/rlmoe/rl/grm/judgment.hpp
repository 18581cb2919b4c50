#pragma once
// A pointwise generative reward model's judgment (DeepSeek-GRM, arXiv 2504.02495), over token ids:
//
//   <principles> ... </principles> <critique> ... </critique> <scores> S_1 , S_2 , ... , S_n </scores> [eos]
//
// each delimiter one token, each score S_i an integer in [min_score, max_score] (1..10 by
// default) written in decimal digit tokens (digit d is token digit_zero + d, no leading zero) and
// separated by one separator token. The paper's f_extract reads the scores; a judgment whose
// scores cannot be read (no scores section, not n numbers, a number out of range) has none.
//
// Correctness (the paper's Eq. 10), against the example's known truth: with n >= 2 responses the
// known best response j must score strictly highest (S_j > S_i for every i != j); with n = 1 the
// score must equal the known rating r_1. A judgment without scores is incorrect. The rule reward
// for training the GRM with GRPO (Eq. 11) is +1 for a correct judgment and -1 otherwise.
//
// A judging task writes each example's truth into the prompt's reference tokens as [n, truth]:
// truth is j (0-based, in the order the responses were shown) for n >= 2, r_1 for n = 1.
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl::grm {

/// What a GRM judges: a query and its responses (token ids, each response without its end).
struct JudgingRequest {
  std::vector<token_t> query;
  std::vector<std::vector<token_t>> responses;
};

/// 0..n-1 in the order of a Fisher-Yates shuffle drawn from `stream`: the order in which a sampled
/// judgment is shown the responses (the paper shuffles them before each one).
inline std::vector<index_t> shuffled_order(index_t n, RandomStream& stream) {
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  for (index_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<std::size_t>(i)], order[stream.next_u32() % static_cast<std::uint32_t>(i + 1)]);
  return order;
}

/// The most responses one judgment scores (the extractor's fixed-size row).
inline constexpr index_t kMaxResponses = 32;

struct JudgmentLayout {
  token_t principles_open = kNoToken, principles_close = kNoToken;
  token_t critique_open = kNoToken, critique_close = kNoToken;
  token_t scores_open = kNoToken, scores_close = kNoToken;
  token_t separator = kNoToken;   ///< between two scores
  token_t digit_zero = kNoToken;  ///< digit d is token digit_zero + d
  std::int32_t min_score = 1, max_score = 10;

  /// Throws ConfigError naming a token the extractor needs but that is not set, or a bad range.
  void validate() const {
    for (const auto& [name, token] : {std::pair{"scores_open", scores_open}, std::pair{"scores_close", scores_close},
                                      std::pair{"separator", separator}, std::pair{"digit_zero", digit_zero}})
      RLMOE_CHECK(token != kNoToken, ConfigError, "grm::JudgmentLayout: ", name, " is not set");
    RLMOE_CHECK(min_score >= 0 && min_score <= max_score, ConfigError, "grm::JudgmentLayout: scores range over [", min_score,
                ", ", max_score, "] but need 0 <= min_score <= max_score");
  }
};

/// The scores a judgment gives, S_1 .. S_n, or found = false.
struct JudgmentScores {
  std::int32_t scores[kMaxResponses] = {};
  index_t count = 0;
  bool found = false;
};

/// f_extract: the numbers between the last scores_open and the scores_close after it, if they are
/// exactly `responses` well-formed scores.
RLMOE_HOST_DEVICE constexpr JudgmentScores extract_scores(TokenSpan judgment, const JudgmentLayout& layout, index_t responses) {
  JudgmentScores out;
  if (responses < 1 || responses > kMaxResponses) return out;
  index_t open = -1;
  for (index_t i = judgment.size - 1; i >= 0 && open < 0; --i)
    if (judgment[i] == layout.scores_open) open = i;
  if (open < 0) return out;
  const index_t close = judgment.find(layout.scores_close, open + 1);
  if (close < 0) return out;
  std::int32_t value = 0;
  index_t digits = 0;
  for (index_t i = open + 1; i <= close; ++i) {
    const token_t t = judgment[i];
    const std::int32_t digit = t - layout.digit_zero;
    if (i < close && t != layout.separator) {
      if (digit < 0 || digit > 9 || (digits == 1 && value == 0) || digits == 9) return {};  // not a digit, a leading zero, too long
      value = value * 10 + digit;
      ++digits;
      continue;
    }
    // A separator or the closing tag ends a number.
    if (digits == 0 || value < layout.min_score || value > layout.max_score || out.count == responses) return {};
    out.scores[out.count++] = value;
    value = 0;
    digits = 0;
  }
  out.found = out.count == responses;
  return out;
}

/// The scores f_extract found (or not) as a JudgmentScores again, from a row of n extracted scores
/// ([.., n] as extract_judgments writes them, back on the host).
RLMOE_HOST_DEVICE constexpr JudgmentScores judgment_scores(const std::int32_t* row, index_t n, bool found) {
  JudgmentScores s;
  s.found = found;
  s.count = n;
  for (index_t i = 0; i < n && i < kMaxResponses; ++i) s.scores[i] = row[i];
  return s;
}

/// The known truth of an example: n responses, and the best one's index (n >= 2) or the rating
/// (n = 1). With n >= 2, `copies` marks the responses identical to the best one (bit i for
/// response i): a policy's group often repeats its answer, and the same response shown twice is
/// still one response, neither above nor below itself.
struct JudgmentTruth {
  index_t responses = 0;
  std::int32_t truth = 0;
  std::int32_t copies = 0;
};

/// Reads [n, truth] or [n, truth, copies] from a prompt's reference tokens; responses = 0 when
/// they are missing.
RLMOE_HOST_DEVICE constexpr JudgmentTruth read_truth(TokenSpan reference) {
  if (reference.size < 2) return {};
  return {static_cast<index_t>(reference[0]), reference[1], reference.size >= 3 ? reference[2] : 0};
}

/// Whether response `i` is the best one or a copy of it (n >= 2). Copies are bits of a token, so
/// only responses 0 .. 30 can be marked as copies.
RLMOE_HOST_DEVICE constexpr bool is_best(const JudgmentTruth& truth, index_t i) {
  constexpr index_t kMarkableCopies = 31;  // bit 31 is the token's sign
  return i == truth.truth || (i >= 0 && i < kMarkableCopies && ((truth.copies >> i) & 1) != 0);
}

/// Eq. 10: whether a judgment's scores pick the known best response (n >= 2) or give the known
/// rating (n = 1): the best scores strictly above every other response (its copies aside).
/// Scores that were not found are incorrect; so is a tie at the top.
RLMOE_HOST_DEVICE constexpr bool judgment_is_correct(const JudgmentScores& s, const JudgmentTruth& truth) {
  if (!s.found || s.count != truth.responses || truth.responses < 1) return false;
  if (truth.responses == 1) return s.scores[0] == truth.truth;
  if (truth.truth < 0 || truth.truth >= truth.responses) return false;
  for (index_t i = 0; i < s.count; ++i)
    if (!is_best(truth, i) && s.scores[i] >= s.scores[truth.truth]) return false;
  return true;
}

/// Whether a sampled judgment is correct against its prompt's reference [n, truth].
RLMOE_HOST_DEVICE constexpr bool judges_correctly(const Sample& sample, const JudgmentLayout& layout, token_t eos) {
  const JudgmentTruth truth = read_truth(sample.reference);
  return judgment_is_correct(extract_scores(strip_eos(sample.completion, eos), layout, truth.responses), truth);
}

/// Eq. 11, the reward that trains a GRM with GRPO: +1 for a correct judgment, -1 otherwise (no
/// format reward: an unreadable judgment is simply incorrect). Device-callable.
struct GrmRuleReward {
  JudgmentLayout layout;
  token_t eos = kNoToken;

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const { return judges_correctly(sample, layout, eos) ? 1.0f : -1.0f; }
  void validate() const { layout.validate(); }
};

/// What evaluation counts of a GRM: 1 for a correct judgment, 0 otherwise.
struct JudgmentAccuracy {
  JudgmentLayout layout;
  token_t eos = kNoToken;

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const { return judges_correctly(sample, layout, eos) ? 1.0f : 0.0f; }
  void validate() const { layout.validate(); }
};

/// f_extract over a batch of judgments: the k judgments of each of P examples are a rollout's
/// groups (G = k); writes scores [P, k, n] (zeros where unreadable) and valid [P, k]. One thread per
/// judgment.
struct ExtractJudgments {
  RolloutView rollout;
  JudgmentLayout layout;
  token_t eos = kNoToken;
  TensorView<std::int32_t, 3> scores;  ///< [P, k, n]
  MatrixView<std::uint8_t> valid;      ///< [P, k]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t k = scores.extent(1), n = scores.extent(2), p = i / k, j = i - p * k;
    const JudgmentScores s = extract_scores(strip_eos(rollout.sample(i).completion, eos), layout, n);
    for (index_t r = 0; r < n; ++r) scores(p, j, r) = s.found ? s.scores[r] : 0;
    valid(p, j) = s.found ? 1 : 0;
  }
};

/// f_extract over the judgments of a rollout; see ExtractJudgments.
template <Backend B>
void extract_judgments(const B& backend, const RolloutView& rollout, const JudgmentLayout& layout, token_t eos,
                       TensorView<std::int32_t, 3> scores, MatrixView<std::uint8_t> valid) {
  layout.validate();
  rollout.validate();
  const index_t p = rollout.num_prompts(), k = rollout.group_size, n = scores.extent(2);
  RLMOE_CHECK(n >= 1 && n <= kMaxResponses, ShapeError, "grm::extract_judgments: scores has shape ", scores.shape(), " but n must lie in [1, ",
              kMaxResponses, "]");
  require_shape(scores, Extents<3>{p, k, n}, "grm::extract_judgments: scores");
  require_shape(valid, Extents<2>{p, k}, "grm::extract_judgments: valid");
  parallel_for(backend, p * k, ExtractJudgments{rollout, layout, eos, scores, valid});
}

}  // namespace rlmoe::rl::grm
