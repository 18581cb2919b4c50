#pragma once
// Data-parallel GRPO against one process: N ranks that each sample and train on their share of
// the prompts must reach the parameters one rank reaches on the whole batch with the same seed,
// for every loss aggregation and built-in estimator, with minibatches, several updates per batch
// and aux-loss-free balancing. Each rank runs the one-process reference itself (SingleProcess), so
// the comparison needs nothing but the run under test.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "rl/trainer_checks.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/nn/whole_model.hpp"
#include "rlmoe/optim/sharded_adamw.hpp"
#include "rlmoe/rl/grpo_step.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

/// Rewards high digits at every position, so that every group's rewards differ from the first step.
struct DigitSumReward {
  RLMOE_HOST_DEVICE float operator()(const rl::Sample& s) const {
    float sum = 0.0f;
    for (index_t i = 0; i < s.completion.size; ++i) sum += static_cast<float>(s.completion[i]);
    return sum / static_cast<float>(DigitVocabulary::kSize * 4);
  }
};
struct ReverseForHighDigits : rl::tasks::ReverseDigits {
  ReverseForHighDigits() : ReverseDigits{2, 3} {}
  DigitSumReward reward() const { return {}; }
};

/// 1 when the first generated digit is 5 or more: a group of 4 is flat (all 0 or all 1) about one
/// time in 8, so that dynamic sampling both keeps and drops groups.
struct HighFirstDigitReward {
  RLMOE_HOST_DEVICE float operator()(const rl::Sample& s) const { return !s.completion.empty() && s.completion[0] >= 5 ? 1.0f : 0.0f; }
};
struct ReverseForHighFirstDigit : rl::tasks::ReverseDigits {
  ReverseForHighFirstDigit() : ReverseDigits{2, 3} {}
  HighFirstDigitReward reward() const { return {}; }
};

/// TrainerSpec in float64: parameters, activations, log-probabilities and the optimizer.
struct TrainerSpec64 : TrainerSpec {
  using Storage = double;
};

template <class T>
struct DataParallelRun {
  ParameterLayout layout;
  std::vector<T> initial, parameters;
  std::vector<float> routing_bias;
  std::vector<rl::StepMetrics> metrics;
  index_t state_bytes = 0;  ///< the optimizer state this rank holds
};

inline constexpr index_t kDataParallelSteps = 5;

/// kZero: 0 (AdamW, its gradients all-reduced), or the ZeRO stage of a ShardedAdamW; ep: the
/// policy's experts split over expert groups of `comm`, or not.
template <class Spec, class Estimator, class Loss, int kZero = 0, class Task = ReverseForHighDigits, class Comm>
auto run_grpo_steps(const Comm& comm, const rl::GrpoConfig& config, const moe::ExpertParallel<Host>& ep = {}) {
  const Host host{1};
  using Step = rl::GrpoStep<Host, Spec, Task, Estimator, Loss, Comm>;
  using G = typename Step::G;
  typename Step::Policy policy(host, nn::MoeTraining{}, ep);
  policy.initialize(config.seed);
  const index_t size = policy.parameters().size();
  using Optimizer = std::conditional_t<kZero == 0, typename Step::Optimizer, optim::ShardedAdamW<Host, G, Comm>>;
  Optimizer optimizer = [&] {
    if constexpr (kZero == 0)
      return Optimizer(host, size, config.adam);
    else
      return Optimizer(host, size, config.adam, comm, static_cast<optim::ZeroStage>(kZero));
  }();
  Step grpo(host, Task{}, config, Loss{}, Estimator{}, comm);
  DataParallelRun<G> run;
  run.layout = policy.layout();
  run.state_bytes = optimizer.state_bytes();
  run.initial = to_host(host, policy.parameters());
  for (index_t s = 0; s < kDataParallelSteps; ++s) run.metrics.push_back(grpo(policy, nullptr, optimizer, s));
  run.parameters = to_host(host, policy.parameters());
  for (const auto& layer : policy.moe_layers()) {
    const std::vector<float> bias = to_host(host, layer.bias());
    run.routing_bias.insert(run.routing_bias.end(), bias.begin(), bias.end());
  }
  return run;
}

inline rl::GrpoConfig data_parallel_config() {
  rl::GrpoConfig c = small_config();
  c.prompts_per_step = 8;
  c.group_size = 4;
  c.minibatches = 2;
  c.updates_per_batch = 2;
  c.learning_rate = 3e-3;
  return c;
}

/// Spec: TrainerSpec (float32) or TrainerSpec64; tolerance: on the relative difference of the
/// parameters after the steps; kZero: the ranks' optimizer (0: AdamW; 1, 2: ShardedAdamW's stage).
/// Task: ReverseForHighDigits, or ReverseForHighFirstDigit with dynamic sampling on.
template <class Spec, class Estimator, class Loss, int kZero = 0, class Task = ReverseForHighDigits, class Comm>
void check_data_parallel_grpo(const Comm& comm, const std::string& what, double tolerance) {
  rl::GrpoConfig config = data_parallel_config();
  config.dynamic_sampling = std::is_same_v<Task, ReverseForHighFirstDigit>;
  const auto one = run_grpo_steps<Spec, Estimator, Loss, 0, Task>(dist::SingleProcess{}, config);
  const auto many = run_grpo_steps<Spec, Estimator, Loss, kZero, Task>(comm, config);
  using T = typename decltype(one.parameters)::value_type;
  const std::string label = what + (sizeof(T) == 8 ? " (float64" : " (float32") +
                            (kZero > 0 ? ", ZeRO-" + std::to_string(kZero) : std::string()) + ") on " +
                            std::to_string(comm.size()) + " ranks";
  if constexpr (kZero > 0) {
    // Each rank holds the moments of its shard: 1/N of one process's (up to the last shard's rounding).
    const index_t expected = 2 * static_cast<index_t>(sizeof(T)) * ((static_cast<index_t>(one.parameters.size()) + comm.size() - 1) / comm.size());
    BOOST_TEST_MESSAGE(label << ": optimizer state " << many.state_bytes << " bytes on rank " << comm.rank() << ", one process "
                             << one.state_bytes << " (1/" << comm.size() << ": " << one.state_bytes / comm.size() << ")");
    BOOST_TEST(many.state_bytes <= expected);
    BOOST_TEST(dist::all_reduce_value(comm, many.state_bytes) == one.state_bytes, label << ": the shards cover the vector once");
  }

  const double moved = relative_error(one.parameters, as_double(one.initial));
  const double error = relative_error(many.parameters, as_double(one.parameters));
  BOOST_TEST_MESSAGE(label << ": parameters moved by " << moved << " (relative), ranks vs one process " << error);
  BOOST_TEST(moved > 1e-3, label << ": the steps must move the parameters (moved " << moved << ")");
  BOOST_TEST(error <= tolerance, label << ": parameters differ from one process's by " << error << " (relative)");
  BOOST_TEST(relative_error(many.routing_bias, as_double(one.routing_bias)) <= tolerance, label << ": routing bias");
  for (index_t s = 0; s < kDataParallelSteps; ++s) {
    const rl::StepMetrics &a = many.metrics[static_cast<std::size_t>(s)], &b = one.metrics[static_cast<std::size_t>(s)];
    const auto close = [&](double x, double y, const char* name) {
      BOOST_TEST(std::abs(x - y) <= 1e-4 * std::max(1.0, std::abs(y)), label << " step " << s << ": " << name << " " << x << " vs " << y);
    };
    close(a.reward_mean, b.reward_mean, "reward_mean");
    close(a.reward_std, b.reward_std, "reward_std");
    close(a.accuracy, b.accuracy, "accuracy");
    close(a.loss, b.loss, "loss");
    close(a.entropy, b.entropy, "entropy");
    close(a.clip_frac, b.clip_frac, "clip_frac");
    close(a.ratio_mean, b.ratio_mean, "ratio_mean");
    close(a.completion_len_mean, b.completion_len_mean, "completion_len_mean");
    close(a.zero_variance_groups, b.zero_variance_groups, "zero_variance_groups");
    if (config.dynamic_sampling && s == 0)
      BOOST_TEST_MESSAGE(label << ": step 0 kept groups with reward mean " << b.reward_mean << ", " << b.zero_variance_groups
                               << " of them flat");
    close(a.expert_load_max_over_mean, b.expert_load_max_over_mean, "expert_load_max_over_mean");
    close(a.grad_norm, b.grad_norm, "grad_norm");
  }
  // Every rank holds the same parameters, bit for bit: rank 0's, broadcast.
  std::vector<T> root = many.parameters;
  dist::broadcast(comm, Host{1}, VectorView<T>(root.data(), Extents<1>{static_cast<index_t>(root.size())}), 0);
  BOOST_TEST((root == many.parameters), label << ": rank " << comm.rank() << " drifted from rank 0");
}

}  // namespace rlmoe::test

namespace rlmoe::test {

/// A run on the N ranks of `world` checkpointed at step 10 and resumed on the first N/2 of them
/// reaches step 20 with the parameters of the uninterrupted N-rank run, within 1e-12 (float64:
/// the ranks' sums differ only by rounding). kExpertParallel: the policy's experts split over all
/// the ranks of each run (N, then N/2), compared as one process holds them. `directory`: the same
/// on every rank.
template <bool kExpertParallel = false, class Comm>
void check_resume_on_fewer_ranks(const Comm& world, const std::string& directory) {
  using Trainer = rl::GrpoTrainer<Host, TrainerSpec64, ReverseForHighDigits, rl::GroupNormalized,
                                  rl::ClippedSurrogate<rl::K3, rl::TokenMean>, Comm>;
  const Host host{1};
  rl::GrpoConfig config = data_parallel_config();
  config.steps = 20;
  const auto trainer_over = [&](const Comm& comm) {
    const moe::ExpertParallel<Host> ep = kExpertParallel ? moe::ExpertParallel<Host>(host, comm, comm.size()) : moe::ExpertParallel<Host>();
    return std::make_unique<Trainer>(host, ReverseForHighDigits{}, config, rl::ClippedSurrogate<rl::K3, rl::TokenMean>{},
                                     rl::GroupNormalized{}, nn::MoeTraining{}, comm, ep);
  };
  // The whole model's parameters and routing biases (on rank 0 of the expert group; empty elsewhere).
  const auto parameters_after = [&](Trainer& trainer) {
    std::vector<double> out = nn::whole_model_values(trainer.policy(), VectorView<const double>(trainer.policy().parameters()));
    if (out.empty()) return out;
    for (const auto& layer : trainer.policy().moe_layers()) {
      const std::vector<float> bias = to_host(host, layer.bias());
      out.insert(out.end(), bias.begin(), bias.end());
    }
    return out;
  };

  const auto uninterrupted = trainer_over(world);
  uninterrupted->initialize();
  uninterrupted->run();
  const std::vector<double> expected = parameters_after(*uninterrupted);

  config.output_dir = directory;
  const auto first = trainer_over(world);
  first->initialize();
  BOOST_TEST(first->run({}, 10).steps == 10);
  const std::vector<double> at_step_10 = parameters_after(*first);

  const int half = std::max(1, world.size() / 2);
  const bool resumes = world.rank() < half;
  const Comm fewer = world.split(resumes ? 0 : 1, world.rank(), "first half");
  if (resumes) {
    const auto resumed = trainer_over(fewer);
    const rl::RunSummary summary = resumed->run(directory + "/checkpoint.safetensors");
    BOOST_TEST(summary.steps == 20);
    const std::vector<double> reached = parameters_after(*resumed);
    if (!reached.empty()) {
      const double moved = relative_error(expected, at_step_10), error = relative_error(reached, expected);
      BOOST_TEST_MESSAGE((kExpertParallel ? "experts over every rank: " : "")
                         << "checkpointed on " << world.size() << " ranks at step 10, resumed on " << fewer.size()
                         << ": step 20 differs from the uninterrupted run by " << error
                         << " (relative; steps 10-20 moved the parameters by " << moved << ")");
      BOOST_TEST(moved > 1e-3, "steps 10 to 20 must move the parameters (moved " << moved << ")");
      BOOST_TEST(error <= 1e-12, "resumed on " << fewer.size() << " ranks: parameters differ by " << error);
    }
  }
  dist::barrier(world);
}

}  // namespace rlmoe::test
