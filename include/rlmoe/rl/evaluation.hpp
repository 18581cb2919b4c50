#pragma once
// Evaluator: held-out evaluation of a policy on its task. The problems are a fixed set drawn from
// another seed stream than training's (config.seed + kSeedOffset), so they are never trained on;
// the greedy accuracy is the fraction answered exactly (the task's accuracy reward), and pass@k the
// fraction of problems with a correct answer among k samples at eval_temperature. Data parallel
// (Comm over N ranks), each rank evaluates a contiguous N-th of the problems, sampled with the
// random streams of their place in the whole set, and the counts are summed: the same figures.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/sampling.hpp"
#include "rlmoe/rl/score.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl {

struct Evaluation {
  double accuracy = NAN;   ///< greedy exact-match accuracy on the held-out prompts
  double pass_at_k = NAN;  ///< fraction of held-out prompts with a correct answer among k samples
};

/// Spec and Task: a TransformerSpec and a Task (a refused one gets one message per missing member);
/// Comm: the ranks that share the evaluation.
template <Backend B, class SpecArg, class TaskArg, dist::Communicator Comm = dist::SingleProcess>
class Evaluator {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using TaskT = tasks::checked_task_t<TaskArg>;
  using Policy = nn::Transformer<B, Spec>;
  static constexpr std::uint64_t kSeedOffset = 0x5DEECE66Dull;  // held-out problems: another seed stream

  Evaluator(const B& backend, const TaskT& task, const GrpoConfig& config, const Comm& comm = {})
      : backend_(backend), task_(task), config_(config.resolved(task.max_completion_length())), comm_(comm) {}

  /// Greedy accuracy on config.eval_prompts held-out problems, and pass@k unless pass_at_k is 0.
  Evaluation operator()(Policy& policy) {
    std::vector<tasks::Problem> problems;
    for (index_t i = first_problem(comm_.rank()); i < first_problem(comm_.rank() + 1); ++i)
      problems.push_back(task_.problem(config_.seed + kSeedOffset, i));
    Evaluation e;
    SamplingConfig greedy = config_.sampling;
    greedy.temperature = 0.0f;
    e.accuracy = accuracy(policy, problems, greedy, 1, nullptr);
    if (config_.pass_at_k > 0) {
      SamplingConfig sampled = config_.sampling;
      sampled.temperature = config_.eval_temperature;
      accuracy(policy, problems, sampled, config_.pass_at_k, &e.pass_at_k);
    }
    return e;
  }

  /// Accuracy over `problems` (this rank's) with `group` samples each under `sampling`; with
  /// `any_correct`, also the fraction of problems with at least one correct sample; over every
  /// rank's problems.
  double accuracy(Policy& policy, const std::vector<tasks::Problem>& problems, const SamplingConfig& sampling, index_t group,
                  double* any_correct) {
    const index_t prompts = static_cast<index_t>(problems.size());
    std::vector<float> values;
    RLMOE_CHECK(prompts > 0 || policy.expert_parallel().size() == 1, ConfigError, "Evaluator: rank ", comm_.rank(), " of ",
                comm_.name(), " has no held-out problem (eval_prompts = ", config_.eval_prompts, " over ", comm_.size(),
                " ranks), but its experts must serve its expert group: eval_prompts must be at least the number of ranks");
    if (prompts > 0) {
      typename GroupSampler<B, Spec>::Rollout rollout(backend_, prompts, group, task_.max_prompt_length(), task_.max_completion_length(),
                                sampling.max_new_tokens, nn::moe_layer_count_v<Spec>, Spec::kTopK);
      GroupSampler<B, Spec> sampler(backend_, sampling, tasks::special_tokens<TaskT>());
      const SequenceNumbering numbering =
          comm_.size() == 1 ? SequenceNumbering{} : SequenceNumbering{first_problem(comm_.rank()) * group, prompts * group, 0};
      sampler.sample(policy, problems, rollout, config_.seed + kSeedOffset, 0, numbering);
      Buffer<float, B> correct(backend_, prompts * group);
      score(backend_, task_.accuracy(), rollout.view(), correct.view());
      values = to_host(backend_, correct.view());
    }
    const index_t all_prompts = dist::all_reduce_value(comm_, prompts);
    if (any_correct != nullptr) {
      double solved = 0.0;
      for (index_t q = 0; q < prompts; ++q)
        solved += std::any_of(values.begin() + q * group, values.begin() + (q + 1) * group, [](float v) { return v > 0.5f; });
      *any_correct = dist::all_reduce_value(comm_, solved) / static_cast<double>(all_prompts);
    }
    const double correct = dist::all_reduce_value(comm_, std::accumulate(values.begin(), values.end(), 0.0));
    return all_prompts == 0 ? NAN : correct / static_cast<double>(all_prompts * group);
  }

 private:
  /// The first held-out problem of rank r (r = N: the end): contiguous shares, as even as can be.
  [[nodiscard]] index_t first_problem(int rank) const { return config_.eval_prompts * rank / comm_.size(); }

  B backend_;
  TaskT task_;
  GrpoConfig config_;
  Comm comm_;
};

}  // namespace rlmoe::rl
