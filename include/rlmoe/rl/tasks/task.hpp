#pragma once
// What a task is: a deterministic generator of problems (a prompt and its reference answer) over
// its own token vocabulary, and the reward that scores completions. A task is any type with these
// members, checked by the Task concept; examples/02_custom_task.cpp writes one in a few lines and
// docs/task-writers-guide.md describes each member.
//
//   struct MyTask {
//     static constexpr std::string_view kName = "my-task";
//     using Vocabulary = MyVocabulary;    // static constexpr index_t kSize; token_t kEos, kPad
//     rlmoe::rl::tasks::Problem problem(std::uint64_t seed, rlmoe::index_t index) const;   // deterministic
//     std::vector<rlmoe::rl::token_t> demonstration(const rlmoe::rl::tasks::Problem&) const;  // an ideal completion
//     MyReward reward() const;            // RewardFunction (or RolloutReward): the training signal
//     rlmoe::rl::ExactMatch accuracy() const;  // RewardFunction, 1 for a correct answer: what evaluation counts
//     rlmoe::index_t max_prompt_length() const, max_completion_length() const;
//   };
//
// A type that is not a task is refused with one message naming the missing member and its
// expected declaration (TaskCheck below), and nothing else.
#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rlmoe/core/random.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/rewards/exact_match.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl::tasks {

struct Problem {
  std::vector<token_t> prompt;
  std::vector<token_t> reference;
};

/// A task's token vocabulary: its size and the ids of end-of-sequence and padding (which may be
/// the same token).
template <class V>
concept TaskVocabulary = requires {
  { V::kSize } -> std::convertible_to<index_t>;
  { V::kEos } -> std::convertible_to<token_t>;
  { V::kPad } -> std::convertible_to<token_t>;
};

namespace detail {

template <class T>
concept HasName = requires {
  { T::kName } -> std::convertible_to<std::string_view>;
};
template <class T>
concept HasVocabulary = requires { typename T::Vocabulary; } && TaskVocabulary<typename T::Vocabulary>;
template <class T>
concept HasProblem = requires(const T& task, std::uint64_t seed, index_t index) {
  { task.problem(seed, index) } -> std::same_as<Problem>;
};
template <class T>
concept HasDemonstration = requires(const T& task, const Problem& problem) {
  { task.demonstration(problem) } -> std::same_as<std::vector<token_t>>;
};
template <class T>
concept HasReward = requires(const T& task) {
  requires RewardFunction<decltype(task.reward())> || RolloutReward<decltype(task.reward())>;
};
template <class T>
concept HasAccuracy = requires(const T& task) {
  { task.accuracy() } -> RewardFunction;
};
template <class T>
concept HasLengths = requires(const T& task) {
  { task.max_prompt_length() } -> std::convertible_to<index_t>;
  { task.max_completion_length() } -> std::convertible_to<index_t>;
};

}  // namespace detail

template <class T>
concept Task = detail::HasName<T> && detail::HasVocabulary<T> && detail::HasProblem<T> && detail::HasDemonstration<T> &&
               detail::HasReward<T> && detail::HasAccuracy<T> && detail::HasLengths<T>;

/// End-of-sequence and padding ids of a task, as the sampler and the trainer use them.
template <Task T>
constexpr SpecialTokens special_tokens() {
  return {static_cast<token_t>(T::Vocabulary::kEos), static_cast<token_t>(T::Vocabulary::kPad)};
}

/// Stands in for a refused task once its message is out, so that nothing else fails.
struct RefusedTask {
  static constexpr std::string_view kName = "refused-task";
  struct Vocabulary {
    static constexpr index_t kSize = 2;
    static constexpr token_t kEos = 1, kPad = 1;
  };
  RefusedTask() = default;
  template <class U>
  RefusedTask(const U&) {}  // NOLINT: converts from the refused type
  Problem problem(std::uint64_t, index_t) const { return {}; }
  std::vector<token_t> demonstration(const Problem&) const { return {}; }
  ExactMatch reward() const { return {}; }
  ExactMatch accuracy() const { return {}; }
  index_t max_prompt_length() const { return 1; }
  index_t max_completion_length() const { return 1; }
};

/// TaskCheck<T>::type is T when it is a Task; otherwise one static_assert per missing member
/// states the declaration it expects, and the type is RefusedTask.
template <class T>
struct TaskCheck {
  static_assert(detail::HasName<T>, "rlmoe Task: needs `static constexpr std::string_view kName = \"my-task\";`");
  static_assert(detail::HasVocabulary<T>,
                "rlmoe Task: needs `using Vocabulary = V;` where V has `static constexpr rlmoe::index_t kSize` and "
                "`static constexpr rlmoe::rl::token_t kEos, kPad` (see rl/tasks/digit_vocabulary.hpp)");
  static_assert(detail::HasProblem<T>,
                "rlmoe Task: needs `rlmoe::rl::tasks::Problem problem(std::uint64_t seed, rlmoe::index_t index) const`");
  static_assert(detail::HasDemonstration<T>,
                "rlmoe Task: needs `std::vector<rlmoe::rl::token_t> demonstration(const rlmoe::rl::tasks::Problem&) const`");
  static_assert(detail::HasReward<T>,
                "rlmoe Task: needs `R reward() const` returning a RewardFunction R, a copyable functor with "
                "`float operator()(const rlmoe::rl::Sample&) const` (or a RolloutReward, which scores a whole rollout)");
  static_assert(detail::HasAccuracy<T>,
                "rlmoe Task: needs `R accuracy() const` returning a RewardFunction R that gives 1 for a correct answer "
                "(rlmoe::rl::ExactMatch, say)");
  static_assert(detail::HasLengths<T>,
                "rlmoe Task: needs `rlmoe::index_t max_prompt_length() const` and `rlmoe::index_t max_completion_length() const`");
  using type = std::conditional_t<Task<T>, T, RefusedTask>;
};

template <class T>
using checked_task_t = typename TaskCheck<T>::type;

/// The task's vocabulary must be the policy's. The compiler shows both sizes: as the arguments of
/// this template and in the failed comparison.
template <index_t kTaskVocabularySize, index_t kSpecVocab>
struct TaskVocabularyMatchesSpec {
  static_assert(kTaskVocabularySize == kSpecVocab,
                "rlmoe: the task's vocabulary size Task::Vocabulary::kSize must equal the policy's Spec::kVocab "
                "(the comparison below shows them in that order)");
  static constexpr bool value = true;
};

/// The special tokens must be tokens of the vocabulary.
template <class V>
struct VocabularyIsValid {
  static_assert(V::kSize >= 2, "rlmoe Task: Vocabulary::kSize must be at least 2");
  static_assert(V::kEos >= 0 && V::kEos < V::kSize, "rlmoe Task: Vocabulary::kEos must lie in [0, Vocabulary::kSize)");
  static_assert(V::kPad >= 0 && V::kPad < V::kSize, "rlmoe Task: Vocabulary::kPad must lie in [0, Vocabulary::kSize)");
  static constexpr bool value = true;
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
