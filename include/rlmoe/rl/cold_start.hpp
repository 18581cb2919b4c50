#pragma once
// ColdStart: DeepSeek-R1's cold start, supervised steps on a task's demonstrations before RL.
// Step s trains on the demonstrations of cold_start_batch problems from their own seed stream
// (config.seed + kSeedOffset), each row the prompt then its demonstration, at the constant
// cold_start_learning_rate.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/io/step_metrics.hpp"
#include "rlmoe/nn/sequence_batch.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl {

/// A row of supervised training: a prompt and the completion to imitate.
struct SupervisedExample {
  std::vector<token_t> prompt, completion;
};

/// One optimizer step of `policy` on `examples` at `learning_rate`: each row the prompt (at most
/// prompt_width tokens) then its completion (cut at completion_width), padded. Returns the loss.
/// `scratch` is kept between calls (and grown as needed).
template <Backend B, class Policy>
double supervised_update(const B& backend, Policy& policy, optim::AdamW<B>& optimizer, double learning_rate,
                         const std::vector<SupervisedExample>& examples, index_t prompt_width, index_t completion_width, token_t pad,
                         std::unique_ptr<nn::SupervisedScratch<B>>& scratch) {
  const index_t batch = static_cast<index_t>(examples.size()), tc = completion_width;
  RLMOE_CHECK(batch >= 1, ConfigError, "supervised_update: no examples");
  std::vector<token_t> tokens;
  std::vector<std::int32_t> lengths, prompt_lengths;
  for (const SupervisedExample& e : examples) {
    RLMOE_CHECK(static_cast<index_t>(e.prompt.size()) <= prompt_width, ShapeError, "supervised_update: a prompt of ", e.prompt.size(),
                " tokens is longer than the prompt width ", prompt_width);
    std::vector<token_t> row = e.prompt;
    row.insert(row.end(), e.completion.begin(), e.completion.begin() + std::min<index_t>(static_cast<index_t>(e.completion.size()), tc));
    lengths.push_back(static_cast<std::int32_t>(row.size()));
    prompt_lengths.push_back(static_cast<std::int32_t>(e.prompt.size()));
    row.resize(static_cast<std::size_t>(prompt_width + tc), pad);
    tokens.insert(tokens.end(), row.begin(), row.end());
  }
  const Buffer<token_t, B> device_tokens = to_backend(backend, tokens);
  const Buffer<std::int32_t, B> device_lengths = to_backend(backend, lengths), device_prompts = to_backend(backend, prompt_lengths);
  if (!scratch || scratch->logp.size() < batch * tc) scratch = std::make_unique<nn::SupervisedScratch<B>>(backend, batch * tc);
  const nn::SequenceBatch sequences{device_tokens.view(batch, prompt_width + tc), device_lengths.view(), device_prompts.view(), tc};
  policy.zero_gradients();
  nn::supervised_loss(backend, policy, sequences, *scratch);
  nn::optimizer_step(policy, optimizer, learning_rate);
  return to_host(backend, scratch->loss.view())[0];
}

/// Spec and Task: a TransformerSpec and a Task (a refused one gets one message per missing member).
template <Backend B, class SpecArg, class TaskArg>
class ColdStart {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using TaskT = tasks::checked_task_t<TaskArg>;
  using Policy = nn::Transformer<B, Spec>;
  static constexpr std::uint64_t kSeedOffset = 0xC01D5ull;

  ColdStart(const B& backend, const TaskT& task, const GrpoConfig& config)
      : backend_(backend), task_(task), config_(config.resolved(task.max_completion_length())) {}

  /// Supervised step `step` (0, 1, ...) of `policy` on demonstrations; its metrics hold the loss.
  io::StepMetrics operator()(Policy& policy, optim::AdamW<B>& optimizer, index_t step) {
    const auto start = std::chrono::steady_clock::now();
    const index_t batch = config_.cold_start_batch;
    std::vector<SupervisedExample> examples;
    for (index_t i = 0; i < batch; ++i) {
      tasks::Problem p = task_.problem(config_.seed + kSeedOffset, step * batch + i);
      std::vector<token_t> demonstration = task_.demonstration(p);
      examples.push_back({std::move(p.prompt), std::move(demonstration)});
    }
    const double loss = supervised_update(backend_, policy, optimizer, config_.cold_start_learning_rate, examples,
                                          task_.max_prompt_length(), config_.sampling.max_new_tokens,
                                          tasks::special_tokens<TaskT>().pad, scratch_);
    io::StepMetrics m;
    m.phase = "cold_start";
    m.step = step;
    m.loss = loss;
    m.grad_norm = optimizer.grad_norm();
    m.learning_rate = config_.cold_start_learning_rate;
    m.step_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return m;
  }

 private:
  B backend_;
  TaskT task_;
  GrpoConfig config_;
  std::unique_ptr<nn::SupervisedScratch<B>> scratch_;
};

}  // namespace rlmoe::rl
