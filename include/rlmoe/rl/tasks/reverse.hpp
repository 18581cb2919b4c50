#pragma once
// Reverse a digit sequence: prompt "3 1 4 =", answer "4 1 3 <eos>". Rewarded by exact match of the
// whole completion before its end-of-sequence token.
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/rl/rewards/exact_match.hpp"
#include "rlmoe/rl/tasks/digit_vocabulary.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::tasks {

struct ReverseDigits {
  static constexpr std::string_view kName = "reverse";
  using Vocabulary = DigitVocabulary;
  index_t min_digits = 2;
  index_t max_digits = 4;

  [[nodiscard]] Problem problem(std::uint64_t seed, index_t index) const {
    RLMOE_CHECK(min_digits >= 1 && min_digits <= max_digits, ConfigError, "ReverseDigits: digits must satisfy 1 <= min_digits (",
                min_digits, ") <= max_digits (", max_digits, ")");
    Problem p;
    const auto length = problem_integer(seed, index, 0, min_digits, max_digits);
    for (std::int64_t i = 0; i < length; ++i) p.prompt.push_back(static_cast<token_t>(problem_integer(seed, index, 1 + static_cast<int>(i), 0, 9)));
    p.reference.assign(p.prompt.rbegin(), p.prompt.rend());
    p.prompt.push_back(Vocabulary::kEquals);
    return p;
  }

  [[nodiscard]] std::vector<token_t> demonstration(const Problem& p) const { return answer_then(p, Vocabulary::kEos); }

  [[nodiscard]] ExactMatch reward() const { return ExactMatch{Vocabulary::kPlain}; }
  [[nodiscard]] ExactMatch accuracy() const { return ExactMatch{Vocabulary::kPlain}; }
  [[nodiscard]] index_t max_prompt_length() const { return max_digits + 1; }
  [[nodiscard]] index_t max_completion_length() const { return max_digits + 2; }
};

}  // namespace rlmoe::rl::tasks
