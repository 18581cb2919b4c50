#pragma once
// ArithmeticWordProblems<Vocabulary>: GSM8K-like word problems in English, generated from a seed
// with exact integer answers, for a model that reads and writes text through a tokenizer:
//
//   Mei has 7 marbles. Mei buys 5 more. Mei splits them equally into 3 boxes and keeps one box.
//   How many marbles does Mei have now?
//
// with the GSM8K-style solution "7 + 5 = 12\n12 / 3 = 4\n#### 4" as the reference. The prompt is
// the question and an instruction rendered through a chat template (DeepSeek-R1's by default, whose
// generation prompt opens "<think>"); the reward is R1-Zero's (answer accuracy plus a smaller format
// reward, R1TextReward), the accuracy alone counts in evaluation. The demonstration thinks by
// writing the solution's steps, then answers.
//
// Vocabulary is the policy's compile-time vocabulary (kSize, and the ids kEos and kPad); the
// tokenizer (Tok: text::Tokenizer, or text::SentencePieceTokenizer) is given at run time and checked
// against it (its ids must fit, kEos must be a token).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/rl/rewards/host_reward.hpp"
#include "rlmoe/rl/rewards/text_answer.hpp"
#include "rlmoe/rl/tasks/task.hpp"
#include "rlmoe/text/chat_template.hpp"
#include "rlmoe/text/text_tokenizer.hpp"
#include "rlmoe/text/tokenizer.hpp"

namespace rlmoe::rl::tasks {

template <TaskVocabulary V, text::TextTokenizer Tok = text::Tokenizer>
struct ArithmeticWordProblems {
  static constexpr std::string_view kName = "arithmetic-word-problems";
  using Vocabulary = V;

  std::shared_ptr<const Tok> tokenizer;
  text::ChatTemplate chat = text::ChatTemplate::deepseek_r1();
  std::string instruction = "Think it through, then give the final number between <answer> and </answer>.";
  int min_steps = 1, max_steps = 2;  ///< operations after the starting amount
  std::int64_t max_start = 20;       ///< the starting amount lies in [2, max_start]
  std::int64_t max_operand = 9;      ///< added, taken away, multiplied or divided by, in [1 or 2, max_operand]
  float format_weight = 0.2f;
  index_t prompt_tokens = 160, completion_tokens = 64;  ///< the budgets (a longer prompt is an error)

  /// The question and its GSM8K-style solution, before tokenization.
  struct Text {
    std::string question, solution;
    std::int64_t answer = 0;
  };

  [[nodiscard]] Text text(std::uint64_t seed, index_t index) const {
    static constexpr std::string_view kNames[] = {"Tom", "Ana", "Ravi", "Mei", "Lena", "Omar", "Sara", "Ken"};
    static constexpr std::string_view kItems[] = {"apples", "marbles", "stickers", "books", "coins", "pencils"};
    int draw = 0;
    const auto integer = [&](std::int64_t lo, std::int64_t hi) { return problem_integer(seed, index, draw++, lo, hi); };
    const std::string name(kNames[integer(0, std::ssize(kNames) - 1)]);
    const std::string items(kItems[integer(0, std::ssize(kItems) - 1)]);
    std::int64_t value = integer(2, max_start);
    Text out;
    out.question = name + " has " + std::to_string(value) + " " + items + ".";
    const auto steps = integer(min_steps, max_steps);
    for (std::int64_t s = 0; s < steps; ++s) {
      std::int64_t op = integer(0, 3);
      std::int64_t divisor = 0;
      if (op == 3) {
        for (std::int64_t k = std::min<std::int64_t>(max_operand, 5); k >= 2 && divisor == 0; --k)
          if (value % k == 0) divisor = k;
        if (divisor == 0) op = 0;  // no small divisor: add instead
      }
      if (op == 1 && value < 2) op = 0;
      const std::int64_t before = value;
      std::string sentence, symbol;
      std::int64_t operand = 0;
      switch (op) {
        case 0:
          operand = integer(1, max_operand);
          value += operand;
          sentence = name + " buys " + std::to_string(operand) + " more.";
          symbol = " + ";
          break;
        case 1:
          operand = integer(1, std::min(value - 1, max_operand));
          value -= operand;
          sentence = name + " gives " + std::to_string(operand) + " to a friend.";
          symbol = " - ";
          break;
        case 2:
          operand = integer(2, std::min<std::int64_t>(max_operand, 4));
          value *= operand;
          sentence = "Each of them is traded for " + std::to_string(operand) + " new ones.";
          symbol = " * ";
          break;
        default:
          operand = divisor;
          value /= operand;
          sentence = name + " splits them equally into " + std::to_string(operand) + " boxes and keeps one box.";
          symbol = " / ";
          break;
      }
      out.question += " " + sentence;
      out.solution += std::to_string(before) + symbol + std::to_string(operand) + " = " + std::to_string(value) + "\n";
    }
    out.question += " How many " + items + " does " + name + " have now?";
    out.solution += "#### " + std::to_string(value);
    out.answer = value;
    return out;
  }

  [[nodiscard]] Problem problem(std::uint64_t seed, index_t index) const {
    validate();
    const Text t = text(seed, index);
    Problem p;
    p.prompt = tokenizer->encode(chat.prompt(t.question + " " + instruction), false);
    RLMOE_CHECK(static_cast<index_t>(p.prompt.size()) <= prompt_tokens, ConfigError, kName, ": problem ", index, "'s prompt is ",
                p.prompt.size(), " tokens, over prompt_tokens = ", prompt_tokens, " (raise it)");
    p.reference = tokenizer->encode(t.solution, false);
    return p;
  }

  /// The solution's steps as the reasoning, then the answer in R1's format, then end of sequence.
  [[nodiscard]] std::vector<token_t> demonstration(const Problem& p) const {
    const std::string solution = tokenizer->decode(p.reference, true, false);
    const std::size_t mark = solution.rfind("####");
    const std::string steps = solution.substr(0, mark);
    const std::string answer(rl::detail::trim(std::string_view(solution).substr(mark + 4)));
    std::vector<token_t> out = tokenizer->encode(steps + "</think>\n<answer>" + answer + "</answer>", false);
    out.push_back(Vocabulary::kEos);
    return out;
  }

  using Reward = HostReward<R1TextReward<Tok>>;
  [[nodiscard]] Reward reward() const { return Reward{R1TextReward<Tok>{tokenizer, 1.0f, format_weight, tags()}}; }
  [[nodiscard]] Reward accuracy() const { return Reward{R1TextReward<Tok>{tokenizer, 1.0f, 0.0f, tags()}}; }
  [[nodiscard]] index_t max_prompt_length() const { return prompt_tokens; }
  [[nodiscard]] index_t max_completion_length() const { return completion_tokens; }

  /// The tokenizer fits the vocabulary: its ids lie below kSize and kEos is one of its tokens.
  void validate() const {
    RLMOE_CHECK(tokenizer != nullptr, ConfigError, kName, ": tokenizer is null");
    RLMOE_CHECK(tokenizer->vocab_size() <= static_cast<std::size_t>(V::kSize), ConfigError, kName, ": the tokenizer has ",
                tokenizer->vocab_size(), " ids but the vocabulary (Spec::kVocab) only ", V::kSize);
    RLMOE_CHECK(tokenizer->is_token(static_cast<std::int32_t>(V::kEos)), ConfigError, kName, ": Vocabulary::kEos = ", V::kEos,
                " is not a token of the tokenizer");
    RLMOE_CHECK(min_steps >= 1 && max_steps >= min_steps && max_start >= 2 && max_operand >= 2, ConfigError, kName,
                ": needs 1 <= min_steps <= max_steps, max_start >= 2 and max_operand >= 2");
  }

 private:
  [[nodiscard]] R1TextTags tags() const {
    R1TextTags t;
    t.think_opened_by_prompt = chat.generation_prompt.find(t.think_open) != std::string::npos;
    return t;
  }
};

}  // namespace rlmoe::rl::tasks
