#pragma once
// Reversal in R1's output format: the completion must read
//   <think> ... </think> <answer> reversed digits </answer> <eos>
// Rewarded, as DeepSeek-R1-Zero is, by the accuracy of the answer plus a smaller format reward;
// the accuracy alone counts in evaluation. The demonstration thinks by restating the digits.
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlmoe/rl/rewards/exact_match.hpp"
#include "rlmoe/rl/rewards/format.hpp"
#include "rlmoe/rl/rewards/weighted_sum.hpp"
#include "rlmoe/rl/tasks/digit_vocabulary.hpp"
#include "rlmoe/rl/tasks/reverse.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::tasks {

struct FormattedReverse {
  static constexpr std::string_view kName = "formatted-reverse";
  using Vocabulary = DigitVocabulary;
  index_t min_digits = 2;
  index_t max_digits = 3;
  float format_weight = 0.2f;

  [[nodiscard]] Problem problem(std::uint64_t seed, index_t index) const {
    return ReverseDigits{min_digits, max_digits}.problem(seed, index);
  }

  [[nodiscard]] std::vector<token_t> demonstration(const Problem& p) const {
    std::vector<token_t> out = {Vocabulary::kThink};
    out.insert(out.end(), p.prompt.begin(), p.prompt.end() - 1);  // the digits, without "="
    out.push_back(Vocabulary::kEndThink);
    out.push_back(Vocabulary::kAnswer);
    out.insert(out.end(), p.reference.begin(), p.reference.end());
    out.push_back(Vocabulary::kEndAnswer);
    out.push_back(Vocabulary::kEos);
    return out;
  }

  using Reward = WeightedSum<ExactMatch, FormatReward>;
  [[nodiscard]] Reward reward() const {
    return Reward({1.0f, format_weight}, ExactMatch{Vocabulary::kTags}, FormatReward{Vocabulary::kTags});
  }
  [[nodiscard]] ExactMatch accuracy() const { return ExactMatch{Vocabulary::kTags}; }
  [[nodiscard]] index_t max_prompt_length() const { return max_digits + 1; }
  [[nodiscard]] index_t max_completion_length() const { return 2 * max_digits + 6; }
};

}  // namespace rlmoe::rl::tasks
