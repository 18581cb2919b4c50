#pragma once
// Multi-digit addition: prompt "4 7 + 8 =", answer "5 5 <eos>", the sum's digits most significant
// first. Rewarded by exact match of the completion before its end-of-sequence token.
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/rl/rewards/exact_match.hpp"
#include "rlmoe/rl/tasks/digit_vocabulary.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::tasks {

struct Addition {
  static constexpr std::string_view kName = "addition";
  using Vocabulary = DigitVocabulary;
  index_t max_digits = 2;  ///< operands have 1 to max_digits digits

  [[nodiscard]] std::int64_t largest() const {
    std::int64_t n = 1;
    for (index_t i = 0; i < max_digits; ++i) n *= 10;
    return n - 1;
  }

  [[nodiscard]] Problem problem(std::uint64_t seed, index_t index) const {
    RLMOE_CHECK(max_digits >= 1 && max_digits <= 9, ConfigError, "Addition: max_digits is ", max_digits, " but must lie in [1, 9]");
    const std::int64_t a = problem_integer(seed, index, 0, 0, largest()), b = problem_integer(seed, index, 1, 0, largest());
    Problem p;
    p.prompt = Vocabulary::digits(a);
    p.prompt.push_back(Vocabulary::kPlus);
    for (token_t d : Vocabulary::digits(b)) p.prompt.push_back(d);
    p.prompt.push_back(Vocabulary::kEquals);
    p.reference = Vocabulary::digits(a + b);
    return p;
  }

  [[nodiscard]] std::vector<token_t> demonstration(const Problem& p) const { return answer_then(p, Vocabulary::kEos); }

  [[nodiscard]] ExactMatch reward() const { return ExactMatch{Vocabulary::kPlain}; }
  [[nodiscard]] ExactMatch accuracy() const { return ExactMatch{Vocabulary::kPlain}; }
  [[nodiscard]] index_t max_prompt_length() const { return 2 * max_digits + 2; }
  [[nodiscard]] index_t max_completion_length() const { return max_digits + 2; }
};

}  // namespace rlmoe::rl::tasks
