#pragma once
// What a task is: a deterministic generator of problems (a prompt and its reference answer) and
// the reward that scores completions. A task is any type with these members, checked by the Task
// concept; examples/02_custom_task.cpp writes one in a few lines.
//
//   struct MyTask {
//     static constexpr std::string_view kName = "my-task";
//     rlmoe::rl::tasks::Problem problem(std::uint64_t seed, rlmoe::index_t index) const;   // deterministic
//     std::vector<rlmoe::rl::token_t> demonstration(const rlmoe::rl::tasks::Problem&) const;  // an ideal completion
//     MyReward reward() const;            // device-callable RewardFunction: the training signal
//     rlmoe::rl::ExactMatch accuracy() const;  // 1 for a correct answer: what evaluation counts
//     rlmoe::index_t max_prompt_length() const, max_completion_length() const;
//   };
#include <concepts>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rlmoe/core/random.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl::tasks {

struct Problem {
  std::vector<token_t> prompt;
  std::vector<token_t> reference;
};

template <class T>
concept Task = requires(const T& task, std::uint64_t seed, index_t index, const Problem& problem) {
  { T::kName } -> std::convertible_to<std::string_view>;
  { task.problem(seed, index) } -> std::same_as<Problem>;
  { task.demonstration(problem) } -> std::same_as<std::vector<token_t>>;
  { task.reward() } -> RewardFunction;
  { task.accuracy() } -> RewardFunction;
  { task.max_prompt_length() } -> std::convertible_to<index_t>;
  { task.max_completion_length() } -> std::convertible_to<index_t>;
};

/// The usual demonstration: the reference answer followed by the end-of-sequence token.
inline std::vector<token_t> answer_then(const Problem& p, token_t eos) {
  std::vector<token_t> out = p.reference;
  out.push_back(eos);
  return out;
}

/// A uniform integer in [lo, hi] for draw `k` of problem `index` under `seed` (Philox, so the same
/// problems on every machine).
inline std::int64_t problem_integer(std::uint64_t seed, index_t index, int k, std::int64_t lo, std::int64_t hi) {
  RandomStream stream(seed, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(k));
  const std::uint64_t bits = (static_cast<std::uint64_t>(stream.next_u32()) << 32) | stream.next_u32();
  return lo + static_cast<std::int64_t>(bits % static_cast<std::uint64_t>(hi - lo + 1));
}

}  // namespace rlmoe::rl::tasks
