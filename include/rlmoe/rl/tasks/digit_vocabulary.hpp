#pragma once
// The token vocabulary of the built-in tasks: the ten digits, two operators, the end of a
// sequence and R1's four tags. Small on purpose: the built-in tasks train a model from scratch
// in minutes on a CPU. A task names its vocabulary as `using Vocabulary = ...;` (tasks/task.hpp);
// a task with other tokens brings its own struct with kSize, kEos and kPad.
#include <iterator>
#include <string>
#include <vector>

#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl::tasks {

/// The decimal digits of n >= 0, most significant first, as tokens 0-9.
inline std::vector<token_t> decimal_digits(long long n) {
  std::vector<token_t> out;
  do {
    out.insert(out.begin(), static_cast<token_t>(n % 10));
    n /= 10;
  } while (n > 0);
  return out;
}

/// Readable text of tokens whose names are names[0 .. count); "?" for any other.
template <std::size_t N>
std::string token_text(const std::vector<token_t>& tokens, const char* const (&names)[N]) {
  std::string out;
  for (token_t t : tokens) out += t >= 0 && static_cast<std::size_t>(t) < N ? names[t] : "?";
  return out;
}

struct DigitVocabulary {
  static constexpr token_t kPlus = 10;
  static constexpr token_t kEquals = 11;
  static constexpr token_t kEos = 12;
  static constexpr token_t kThink = 13;
  static constexpr token_t kEndThink = 14;
  static constexpr token_t kAnswer = 15;
  static constexpr token_t kEndAnswer = 16;
  static constexpr index_t kSize = 17;
  /// Rows are padded with the end-of-sequence token (padding is never scored).
  static constexpr token_t kPad = kEos;

  static constexpr ThinkAnswerTags kTags{kThink, kEndThink, kAnswer, kEndAnswer, kEos};
  /// No answer tags: the answer is the whole completion before its end-of-sequence token.
  static constexpr ThinkAnswerTags kPlain{kNoToken, kNoToken, kNoToken, kNoToken, kEos};

  /// Readable text of a token sequence, e.g. "12+7=19<eos>".
  static std::string text(const std::vector<token_t>& tokens) {
    static const char* const names[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "<eos>",
                                        "<think>", "</think>", "<answer>", "</answer>"};
    static_assert(std::size(names) == kSize);
    return token_text(tokens, names);
  }

  /// The decimal digits of n, most significant first.
  static std::vector<token_t> digits(long long n) { return decimal_digits(n); }
};

}  // namespace rlmoe::rl::tasks
