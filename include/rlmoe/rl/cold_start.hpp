#pragma once
// ColdStart: DeepSeek-R1's cold start, supervised steps on a task's demonstrations before RL.
// Step s trains on the demonstrations of cold_start_batch problems from their own seed stream
// (config.seed + kSeedOffset), each row the prompt then its demonstration, at the constant
// cold_start_learning_rate. Data parallel (Comm over N ranks), rank r trains on the r-th N-th of
// the batch, the mean over the whole batch's tokens, and every rank makes the same step.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
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
/// `scratch` is kept between calls (and grown as needed). Data parallel: `examples` are this
/// rank's share of the batch, and the loss returned is the whole batch's.
template <Backend B, class Policy, class Optimizer, class C, dist::Communicator Comm = dist::SingleProcess>
double supervised_update(const B& backend, Policy& policy, Optimizer& optimizer, double learning_rate,
                         const std::vector<SupervisedExample>& examples, index_t prompt_width, index_t completion_width, token_t pad,
                         std::unique_ptr<nn::SupervisedScratch<B, C>>& scratch, const Comm& comm = {}) {
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
  if (!scratch || scratch->logp.size() < batch * tc) scratch = std::make_unique<nn::SupervisedScratch<B, C>>(backend, batch * tc);
  const nn::SequenceBatch sequences{device_tokens.view(batch, prompt_width + tc), device_lengths.view(), device_prompts.view(), tc};
  policy.zero_gradients();
  nn::supervised_loss(backend, policy, sequences, *scratch, comm);
  nn::optimizer_step(policy, optimizer, learning_rate, comm);
  return dist::all_reduce_value(comm, to_host(backend, scratch->loss.view())[0]);
}

/// Spec and Task: a TransformerSpec and a Task (a refused one gets one message per missing member);
/// Comm: the data-parallel ranks.
template <Backend B, class SpecArg, class TaskArg, dist::Communicator Comm = dist::SingleProcess>
class ColdStart {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using TaskT = tasks::checked_task_t<TaskArg>;
  using Policy = nn::Transformer<B, Spec>;
  static constexpr std::uint64_t kSeedOffset = 0xC01D5ull;

  ColdStart(const B& backend, const TaskT& task, const GrpoConfig& config, const Comm& comm = {})
      : backend_(backend), task_(task), config_(config.resolved(task.max_completion_length())), comm_(comm) {
    RLMOE_CHECK(config_.cold_start_batch % comm_.size() == 0, ConfigError, "ColdStart: cold_start_batch (",
                config_.cold_start_batch, ") must be a multiple of the ", comm_.size(), " ranks of ", comm_.name());
  }

  /// Supervised step `step` (0, 1, ...) of `policy` on demonstrations; its metrics hold the loss.
  template <class Optimizer>
  io::StepMetrics operator()(Policy& policy, Optimizer& optimizer, index_t step) {
    const auto start = std::chrono::steady_clock::now();
    const index_t batch = config_.cold_start_batch, share = batch / comm_.size();
    std::vector<SupervisedExample> examples;
    for (index_t i = comm_.rank() * share; i < (comm_.rank() + 1) * share; ++i) {
      tasks::Problem p = task_.problem(config_.seed + kSeedOffset, step * batch + i);
      std::vector<token_t> demonstration = task_.demonstration(p);
      examples.push_back({std::move(p.prompt), std::move(demonstration)});
    }
    const double loss = supervised_update(backend_, policy, optimizer, config_.cold_start_learning_rate, examples,
                                          task_.max_prompt_length(), config_.sampling.max_new_tokens,
                                          tasks::special_tokens<TaskT>().pad, scratch_, comm_);
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
  Comm comm_;
  std::unique_ptr<nn::SupervisedScratch<B, compute_t<nn::storage_t<Spec>>>> scratch_;
};

}  // namespace rlmoe::rl
