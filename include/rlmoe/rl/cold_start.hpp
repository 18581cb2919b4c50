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
    const index_t batch = config_.cold_start_batch, lp = task_.max_prompt_length(), tc = config_.sampling.max_new_tokens;
    const token_t pad = tasks::special_tokens<TaskT>().pad;
    std::vector<token_t> tokens;
    std::vector<std::int32_t> lengths, prompt_lengths;
    for (index_t i = 0; i < batch; ++i) {
      const tasks::Problem p = task_.problem(config_.seed + kSeedOffset, step * batch + i);
      std::vector<token_t> row = p.prompt;
      const std::vector<token_t> demo = task_.demonstration(p);
      row.insert(row.end(), demo.begin(), demo.begin() + std::min<index_t>(static_cast<index_t>(demo.size()), tc));
      lengths.push_back(static_cast<std::int32_t>(row.size()));
      prompt_lengths.push_back(static_cast<std::int32_t>(p.prompt.size()));
      row.resize(static_cast<std::size_t>(lp + tc), pad);
      tokens.insert(tokens.end(), row.begin(), row.end());
    }
    const Buffer<token_t, B> device_tokens = to_backend(backend_, tokens);
    const Buffer<std::int32_t, B> device_lengths = to_backend(backend_, lengths), device_prompts = to_backend(backend_, prompt_lengths);
    if (!scratch_ || scratch_->logp.size() < batch * tc) scratch_ = std::make_unique<nn::SupervisedScratch<B>>(backend_, batch * tc);
    const nn::SequenceBatch sequences{device_tokens.view(batch, lp + tc), device_lengths.view(), device_prompts.view(), tc};
    policy.zero_gradients();
    nn::supervised_loss(backend_, policy, sequences, *scratch_);
    nn::optimizer_step(policy, optimizer, config_.cold_start_learning_rate);
    io::StepMetrics m;
    m.phase = "cold_start";
    m.step = step;
    m.loss = to_host(backend_, scratch_->loss.view())[0];
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
