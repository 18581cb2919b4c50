#pragma once
// Rewards over decoded text, DeepSeek-R1-Zero's two rule-based rewards for a model that writes
// natural language through a tokenizer:
//   format    the completion reads "<reasoning></think> <answer>final</answer>" (its "<think>" is
//             the end of the prompt, as R1's generation prompt has it; or the completion's start)
//   accuracy  the final answer, a number, equals the reference's: the number after "####" in a
//             GSM8K-style solution, or the whole reference
// R1TextReward = accuracy_weight * accuracy + format_weight * format, run on the host
// (HostReward) from many threads at once: decoding is const and the tokenizer is shared.
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/rl/rewards/host_reward.hpp"
#include "rlmoe/rl/rollout.hpp"
#include "rlmoe/text/text_tokenizer.hpp"
#include "rlmoe/text/tokenizer.hpp"

namespace rlmoe::rl {

namespace detail {

[[nodiscard]] inline std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace detail

/// The integer that `text` states: optional sign and '$', digits with optional thousands commas
/// ("1,234"), an optional final '.'; anything else (words, fractions, "12 apples") is none.
[[nodiscard]] inline std::optional<std::int64_t> parse_integer_answer(std::string_view text) {
  text = detail::trim(text);
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (!text.empty() && text.front() == '$') text.remove_prefix(1);
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == ',') {
      // A thousands separator: digits before it, exactly three after it up to the next comma or the end.
      const std::size_t next = text.find(',', i + 1);
      const std::size_t group = (next == std::string_view::npos ? text.size() : next) - i - 1;
      if (digits.empty() || group != 3) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return negative ? -value : value;
}

/// The final answer of a GSM8K-style solution: the number after its last "####", or the whole
/// text when it has none.
[[nodiscard]] inline std::optional<std::int64_t> reference_answer(std::string_view solution) {
  const std::size_t mark = solution.rfind("####");
  return parse_integer_answer(mark == std::string_view::npos ? solution : solution.substr(mark + 4));
}

/// The tags of R1's format in text.
struct R1TextTags {
  std::string think_open = "<think>", think_close = "</think>";
  std::string answer_open = "<answer>", answer_close = "</answer>";
  bool think_opened_by_prompt = true;  ///< the generation prompt ends with think_open
};

/// What a completion's text holds in R1's format: whether the format holds, and the answer text.
struct R1TextParse {
  bool well_formed = false;
  std::optional<std::string_view> answer;  ///< between the last answer tags, whether or not well formed
};

/// Well formed: [think_open] reasoning think_close, whitespace, answer_open answer answer_close,
/// then only whitespace; one of each tag.
[[nodiscard]] inline R1TextParse parse_r1_text(std::string_view completion, const R1TextTags& tags) {
  R1TextParse out;
  const std::size_t open = completion.rfind(tags.answer_open);
  if (open != std::string_view::npos) {
    const std::size_t start = open + tags.answer_open.size();
    const std::size_t close = completion.find(tags.answer_close, start);
    if (close != std::string_view::npos) out.answer = completion.substr(start, close - start);
  }
  const auto count = [&](const std::string& tag) {
    std::size_t n = 0;
    for (std::size_t at = completion.find(tag); at != std::string_view::npos; at = completion.find(tag, at + tag.size())) ++n;
    return n;
  };
  std::string_view rest = completion;
  if (!tags.think_opened_by_prompt) {
    rest = detail::trim(rest);
    if (rest.substr(0, tags.think_open.size()) != tags.think_open) return out;
  }
  const std::size_t think_close = rest.find(tags.think_close);
  if (think_close == std::string_view::npos || count(tags.think_close) != 1 || count(tags.answer_open) != 1 ||
      count(tags.answer_close) != 1 || count(tags.think_open) != (tags.think_opened_by_prompt ? 0u : 1u))
    return out;
  rest = detail::trim(rest.substr(think_close + tags.think_close.size()));
  if (rest.substr(0, tags.answer_open.size()) != tags.answer_open) return out;
  const std::size_t close = rest.find(tags.answer_close);
  out.well_formed = close != std::string_view::npos && detail::trim(rest.substr(close + tags.answer_close.size())).empty();
  return out;
}

/// accuracy_weight * (the answer equals the reference's) + format_weight * (R1's format holds),
/// over the completion and reference decoded with `tokenizer` (special tokens, such as the
/// end-of-sequence token, skipped, and ids past the tokenizer's, which a model may sample, dropped).
/// Tok: text::Tokenizer (tokenizer.json) or text::SentencePieceTokenizer.
template <text::TextTokenizer Tok = text::Tokenizer>
struct R1TextReward {
  std::shared_ptr<const Tok> tokenizer;
  float accuracy_weight = 1.0f;
  float format_weight = 0.0f;
  R1TextTags tags;

  void validate() const { RLMOE_CHECK(tokenizer != nullptr, ConfigError, "R1TextReward: tokenizer is null"); }

  [[nodiscard]] float operator()(const Sample& sample) const {
    const std::string completion = decode(sample.completion);
    const R1TextParse parsed = parse_r1_text(completion, tags);
    float reward = parsed.well_formed ? format_weight : 0.0f;
    if (accuracy_weight != 0.0f && parsed.answer) {
      const auto answer = parse_integer_answer(*parsed.answer);
      const auto expected = reference_answer(decode(sample.reference));
      if (answer && expected && *answer == *expected) reward += accuracy_weight;
    }
    return reward;
  }

 private:
  [[nodiscard]] std::string decode(TokenSpan tokens) const {
    return tokenizer->decode(std::span<const std::int32_t>(tokens.tokens, static_cast<std::size_t>(tokens.size)), true, true);
  }
};

}  // namespace rlmoe::rl
