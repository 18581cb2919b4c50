#pragma once
// Rejective fine-tuning (DeepSeek-GRM's first training stage): sample N_RFT judgments of each
// example from the GRM itself, keep the correct ones (Eq. 10), drop the examples whose N_RFT
// judgments are all correct ("too easy": nothing left to learn), and take one supervised step on
// what was kept. With hinted sampling the judgments are sampled from a prompt that also names the
// best response (the task's hinted_prompt), which makes correct judgments of hard examples more
// likely; they are kept against the prompt without the hint, which is what the GRM will see.
//
// Step s judges examples_per_step problems from their own seed stream (config.seed +
// kSeedOffset), sampling at rft.temperature; the judgment's correctness is the task's accuracy
// reward (1 for correct).
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rl/cold_start.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/score.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl::grm {

struct RftConfig {
  index_t examples_per_step = 32;
  index_t samples = 3;          ///< N_RFT, judgments sampled per example (the paper's 3)
  float temperature = 1.0f;
  double learning_rate = 1e-3;
  bool hinted = false;          ///< sample from the task's hinted_prompt (the best response named)

  void validate() const {
    RLMOE_CHECK(examples_per_step >= 1, ConfigError, "RftConfig: examples_per_step is ", examples_per_step, " but must be >= 1");
    RLMOE_CHECK(samples >= 1, ConfigError, "RftConfig: samples is ", samples, " but must be >= 1");
    RLMOE_CHECK(temperature > 0.0f && std::isfinite(temperature), ConfigError, "RftConfig: temperature is ", temperature,
                " but must be finite and > 0 (rejection needs varied samples)");
    RLMOE_CHECK(learning_rate > 0.0 && std::isfinite(learning_rate), ConfigError, "RftConfig: learning_rate is ", learning_rate,
                " but must be finite and > 0");
  }
};

/// What one step saw and did.
struct RftStepResult {
  index_t examples = 0, judgments = 0;
  index_t correct = 0;        ///< sampled judgments that were correct
  index_t kept = 0;           ///< judgments trained on
  index_t too_easy = 0;       ///< examples dropped because every judgment was correct
  index_t none_correct = 0;   ///< examples with nothing to keep
  double loss = NAN;          ///< the supervised loss (NaN when nothing was kept and no step taken)
  double step_time_s = 0.0;

  [[nodiscard]] double accuracy() const { return judgments > 0 ? static_cast<double>(correct) / static_cast<double>(judgments) : NAN; }
};

/// Whether a task can give a hinted prompt for a problem.
template <class T>
concept HintedTask = requires(const T& task, const tasks::Problem& problem) {
  { task.hinted_prompt(problem) } -> std::same_as<std::vector<token_t>>;
};

/// The judgments of the examples that rejective fine-tuning keeps: for each example (of
/// `samples` judgments, correct[e * samples + j] 1 or 0), the indices of its correct judgments,
/// unless all are correct. Exposed for tests; the step uses it.
inline std::vector<index_t> kept_judgments(const std::vector<float>& correct, index_t samples, RftStepResult& result) {
  std::vector<index_t> kept;
  const index_t examples = static_cast<index_t>(correct.size()) / samples;
  for (index_t e = 0; e < examples; ++e) {
    index_t right = 0;
    for (index_t j = 0; j < samples; ++j) right += correct[static_cast<std::size_t>(e * samples + j)] > 0.5f;
    result.correct += right;
    if (right == samples) {
      ++result.too_easy;
      continue;
    }
    if (right == 0) ++result.none_correct;
    for (index_t j = 0; j < samples; ++j)
      if (correct[static_cast<std::size_t>(e * samples + j)] > 0.5f) kept.push_back(e * samples + j);
  }
  return kept;
}

/// Spec and Task: a TransformerSpec and a judging Task (its accuracy() the correctness of a judgment).
template <Backend B, class SpecArg, class TaskArg>
class RejectiveFineTuning {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using TaskT = tasks::checked_task_t<TaskArg>;
  using Policy = nn::Transformer<B, Spec>;
  static constexpr std::uint64_t kSeedOffset = 0x4F7ull;

  RejectiveFineTuning(const B& backend, const TaskT& task, const GrpoConfig& config, const RftConfig& rft)
      : backend_(backend), task_(task), config_(config.resolved(task.max_completion_length())), rft_(rft),
        sampler_(backend, sampling(config_, rft), tasks::special_tokens<TaskT>()),
        rollout_(backend, rft.examples_per_step, rft.samples, task.max_prompt_length() + (rft.hinted ? kHintWidth : 0),
                 task.max_completion_length(), config_.sampling.max_new_tokens, nn::moe_layer_count_v<Spec>, Spec::kTopK),
        correct_(backend, rft.examples_per_step * rft.samples) {
    rft_.validate();
    RLMOE_CHECK(!rft.hinted || HintedTask<TaskT>, ConfigError, "RftConfig: hinted is set but task ", TaskT::kName,
                " has no hinted_prompt(problem)");
  }

  /// Step `step` (0, 1, ...) of `policy`: sample, judge, filter, one supervised update.
  RftStepResult operator()(Policy& policy, optim::AdamW<B>& optimizer, index_t step) {
    const auto start = std::chrono::steady_clock::now();
    const index_t e = rft_.examples_per_step, n = rft_.samples;
    std::vector<tasks::Problem> problems, shown;
    for (index_t i = 0; i < e; ++i) {
      problems.push_back(task_.problem(config_.seed + kSeedOffset, step * e + i));
      shown.push_back(problems.back());
      if constexpr (HintedTask<TaskT>)
        if (rft_.hinted) shown.back().prompt = task_.hinted_prompt(problems.back());
    }
    sampler_.sample(policy, shown, rollout_, config_.seed + kSeedOffset, static_cast<std::uint64_t>(step));
    score(backend_, task_.accuracy(), rollout_.view(), correct_.view());
    RftStepResult result;
    result.examples = e;
    result.judgments = e * n;
    const std::vector<index_t> kept = kept_judgments(to_host(backend_, correct_.view()), n, result);
    result.kept = static_cast<index_t>(kept.size());
    if (!kept.empty()) {
      const auto completions = to_host(backend_, rollout_.completion_tokens());
      const auto lengths = to_host(backend_, rollout_.completion_lengths());
      const index_t width = rollout_.completion_width();
      std::vector<SupervisedExample> examples;
      for (index_t i : kept) {
        const auto first = completions.begin() + i * width;
        examples.push_back({problems[static_cast<std::size_t>(i / n)].prompt,
                            std::vector<token_t>(first, first + lengths[static_cast<std::size_t>(i)])});
      }
      result.loss = supervised_update(backend_, policy, optimizer, rft_.learning_rate, examples, task_.max_prompt_length(),
                                      config_.sampling.max_new_tokens, tasks::special_tokens<TaskT>().pad, scratch_);
    }
    result.step_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }

 private:
  /// The room a hint takes in a prompt, at most.
  static constexpr index_t kHintWidth = 4;

  static SamplingConfig sampling(const GrpoConfig& config, const RftConfig& rft) {
    SamplingConfig s = config.sampling;
    s.temperature = rft.temperature;
    return s;
  }

  B backend_;
  TaskT task_;
  GrpoConfig config_;
  RftConfig rft_;
  GroupSampler<B, Spec> sampler_;
  RolloutBuffers<B> rollout_;
  Buffer<float, B> correct_;
  std::unique_ptr<nn::SupervisedScratch<B>> scratch_;
};

}  // namespace rlmoe::rl::grm
