#pragma once
// GrpoTrainer: a complete GRPO trainer assembled from template arguments,
//
//   GrpoTrainer<Backend, Spec, Task, AdvantageEstimator, PolicyLoss>
//
// where the policy is the Transformer<Backend, Spec>, the reward comes from the Task, and the
// optimizer is AdamW. One step():
//   1. sample G completions for each of P prompts (GroupSampler; with dynamic sampling, more
//      prompts, keeping the groups whose rewards differ);
//   2. score them (the task's reward, one kernel) and their accuracy;
//   3. advantages per group (one kernel);
//   4. reference log-probs when the loss has a KL term (or the KL is tracked);
//   5. updates_per_batch passes over minibatches: the policy's log-probs with the sampling
//      routing replayed, the fused loss and its gradient, backward, AdamW with clipping, the MoE
//      bias update;
//   6. metrics.
// run() adds the R1-style supervised cold start, held-out evaluation (greedy accuracy, pass@k),
// metrics as JSON lines, a live progress line, checkpoints, the learning-curve PNG, and resuming.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/io/checkpoint.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/metrics_log.hpp"
#include "rlmoe/io/plot.hpp"
#include "rlmoe/io/progress.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/optim/schedule.hpp"
#include "rlmoe/rl/advantages.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/losses/clipped_surrogate.hpp"
#include "rlmoe/rl/losses/policy_loss.hpp"
#include "rlmoe/rl/rewards/weighted_sum.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/score.hpp"
#include "rlmoe/rl/tasks/task.hpp"
#include "rlmoe/rl/tasks/vocabulary.hpp"

namespace rlmoe::rl {

/// What one step reports (NaN: not measured at this step).
struct StepMetrics {
  std::string phase;  ///< "cold_start" or "rl"
  index_t step = 0;
  double reward_mean = NAN, reward_std = NAN, accuracy = NAN, kl = NAN, loss = NAN, entropy = NAN;
  double clip_frac = NAN, clip_frac_low = NAN, clip_frac_high = NAN, ratio_mean = NAN;
  double completion_len_mean = NAN, zero_variance_groups = NAN, expert_load_max_over_mean = NAN;
  double grad_norm = NAN, learning_rate = NAN, tokens_per_s = NAN, step_time_s = NAN;
  double eval_accuracy = NAN, pass_at_k = NAN;

  [[nodiscard]] io::Json to_json() const {
    io::Json::Object o{{"step", io::Json(static_cast<std::int64_t>(step))}, {"phase", io::Json(phase)}};
    const std::pair<const char*, double> fields[] = {
        {"reward_mean", reward_mean}, {"reward_std", reward_std}, {"accuracy", accuracy}, {"kl", kl}, {"loss", loss},
        {"entropy", entropy}, {"clip_frac", clip_frac}, {"clip_frac_low", clip_frac_low}, {"clip_frac_high", clip_frac_high},
        {"ratio_mean", ratio_mean}, {"completion_len_mean", completion_len_mean},
        {"zero_variance_groups", zero_variance_groups}, {"expert_load_max_over_mean", expert_load_max_over_mean},
        {"grad_norm", grad_norm}, {"learning_rate", learning_rate}, {"tokens_per_s", tokens_per_s},
        {"step_time_s", step_time_s}, {"eval_accuracy", eval_accuracy}, {"pass_at_k", pass_at_k}};
    for (const auto& [name, value] : fields) o.emplace_back(name, std::isfinite(value) ? io::Json(value) : io::Json(nullptr));
    return io::Json(std::move(o));
  }
};

struct Evaluation {
  double accuracy = NAN;   ///< greedy exact-match accuracy on the held-out prompts
  double pass_at_k = NAN;  ///< fraction of held-out prompts with a correct answer among k samples
};

/// What run() ends with.
struct RunSummary {
  double rl_start_accuracy = NAN;  ///< held-out accuracy when RL began (after any cold start)
  double final_accuracy = NAN;
  double final_pass_at_k = NAN;
  index_t steps = 0;
};

namespace detail {

/// Sum over active tokens of a [N, T] quantity.
struct MaskedSum {
  MatrixView<const float> values;
  MatrixView<const std::uint8_t> mask;
  RLMOE_HOST_DEVICE double operator()(index_t k) const {
    const index_t width = values.extent(1), i = k / width, t = k - i * width;
    return mask(i, t) != 0 ? static_cast<double>(values(i, t)) : 0.0;
  }
};

inline double mean(const std::vector<float>& v) {
  return v.empty() ? NAN : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
inline double standard_deviation(const std::vector<float>& v) {
  const double m = mean(v);
  double s = 0.0;
  for (float x : v) s += (x - m) * (x - m);
  return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
}

}  // namespace detail

template <Backend B, nn::TransformerSpec Spec, tasks::Task TaskT, AdvantageEstimator Estimator = GroupNormalized,
          PolicyLoss Loss = ClippedSurrogate<K3, TokenMean>>
class GrpoTrainer {
 public:
  using Policy = nn::Transformer<B, Spec, float>;
  using Reward = decltype(std::declval<const TaskT&>().reward());
  static constexpr std::uint64_t kEvalSeedOffset = 0x5DEECE66Dull;  // held-out problems: another seed stream
  static constexpr std::uint64_t kColdStartSeedOffset = 0xC01D5ull;

  GrpoTrainer(const B& backend, const TaskT& task, const GrpoConfig& config, const Loss& loss = {},
              const Estimator& estimator = {}, const nn::MoeTraining& moe = {})
      : backend_(backend), task_(task), config_(checked(config, task)), loss_(loss), estimator_(estimator),
        policy_(backend, moe), optimizer_(backend, policy_.parameters().size(), config_.adam),
        sampler_(backend, config_.sampling, tasks::Vocabulary::kEos),
        schedule_{config_.learning_rate, config_.min_learning_rate, std::min(config_.warmup_steps, std::max<index_t>(config_.steps, 1)),
                  std::max<index_t>(config_.steps, 1)} {
    loss_.validate();
    static_assert(Spec::kVocab >= tasks::Vocabulary::kSize, "the policy's vocabulary must hold the task vocabulary");
    RLMOE_CHECK(task_.max_prompt_length() + config_.sampling.max_new_tokens <= Spec::kMaxLength, ConfigError,
                "GrpoTrainer: prompts of up to ", task_.max_prompt_length(), " tokens plus ", config_.sampling.max_new_tokens,
                " new tokens exceed the model's maximum length Spec::kMaxLength = ", Spec::kMaxLength);
    if (loss_.uses_reference() || config_.track_reference_kl) reference_ = std::make_unique<Policy>(backend, moe);
    const index_t sampled_prompts = config_.prompts_per_step * (config_.dynamic_sampling ? config_.dynamic_sampling_oversample : 1);
    sampled_ = make_rollout(sampled_prompts, config_.group_size, config_.sampling.max_new_tokens);
    if (config_.dynamic_sampling) train_ = make_rollout(config_.prompts_per_step, config_.group_size, config_.sampling.max_new_tokens);
    const index_t n = config_.prompts_per_step * config_.group_size, t = config_.sampling.max_new_tokens;
    rewards_ = Buffer<float, B>(backend, sampled_prompts * config_.group_size);
    components_ = Buffer<float, B>(backend, reward_components<Reward>() * sampled_prompts * config_.group_size);
    accuracy_ = Buffer<float, B>(backend, n);
    advantages_ = Buffer<float, B>(backend, n);
    advantage_stats_ = Buffer<AdvantageStats, B>(backend, 1);
    logp_ = Buffer<float, B>(backend, n * t);
    entropy_ = Buffer<float, B>(backend, n * t);
    ref_logp_ = Buffer<float, B>(backend, n * t);
    grad_ = Buffer<float, B>(backend, n * t);
    loss_metrics_ = Buffer<PolicyLossMetrics, B>(backend, 1);
    entropy_sum_ = Buffer<double, B>(backend, 1);
  }

  /// Seeded initialisation of the policy (and the reference, a copy of it).
  void initialize() {
    policy_.initialize(config_.seed);
    if (reference_) reference_->copy_from(policy_);
  }

  [[nodiscard]] Policy& policy() { return policy_; }
  [[nodiscard]] const GrpoConfig& config() const { return config_; }
  [[nodiscard]] index_t steps_done() const { return step_; }
  [[nodiscard]] index_t cold_start_steps_done() const { return cold_start_done_; }

  /// One supervised step on demonstrations (the cold start).
  StepMetrics cold_start_step() {
    const auto start = std::chrono::steady_clock::now();
    const index_t batch = config_.cold_start_batch, lp = task_.max_prompt_length(), tc = config_.sampling.max_new_tokens;
    std::vector<token_t> tokens;
    std::vector<std::int32_t> lengths, prompt_lengths;
    for (index_t i = 0; i < batch; ++i) {
      const tasks::Problem p = task_.problem(config_.seed + kColdStartSeedOffset, cold_start_done_ * batch + i);
      std::vector<token_t> row = p.prompt;
      const std::vector<token_t> demo = task_.demonstration(p);
      row.insert(row.end(), demo.begin(), demo.begin() + std::min<index_t>(static_cast<index_t>(demo.size()), tc));
      lengths.push_back(static_cast<std::int32_t>(row.size()));
      prompt_lengths.push_back(static_cast<std::int32_t>(p.prompt.size()));
      row.resize(static_cast<std::size_t>(lp + tc), tasks::Vocabulary::kEos);
      tokens.insert(tokens.end(), row.begin(), row.end());
    }
    const Buffer<token_t, B> device_tokens = to_backend(backend_, tokens);
    const Buffer<std::int32_t, B> device_lengths = to_backend(backend_, lengths), device_prompts = to_backend(backend_, prompt_lengths);
    if (!cold_start_scratch_ || cold_start_scratch_->logp.size() < batch * tc)
      cold_start_scratch_ = std::make_unique<nn::SupervisedScratch<B>>(backend_, batch * tc);
    const nn::SequenceBatch sequences{device_tokens.view(batch, lp + tc), device_lengths.view(), device_prompts.view(), tc};
    policy_.zero_gradients();
    nn::supervised_loss(backend_, policy_, sequences, *cold_start_scratch_);
    nn::optimizer_step(policy_, optimizer_, config_.cold_start_learning_rate);
    StepMetrics m;
    m.phase = "cold_start";
    m.step = cold_start_done_++;
    m.loss = to_host(backend_, cold_start_scratch_->loss.view())[0];
    m.grad_norm = optimizer_.grad_norm();
    m.learning_rate = config_.cold_start_learning_rate;
    m.step_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return m;
  }

  /// One GRPO step.
  StepMetrics step() {
    const auto start = std::chrono::steady_clock::now();
    const index_t p = config_.prompts_per_step, g = config_.group_size, n = p * g, t = config_.sampling.max_new_tokens;
    const index_t sampled_prompts = sampled_->num_prompts();
    std::vector<tasks::Problem> problems;
    for (index_t i = 0; i < sampled_prompts; ++i)
      problems.push_back(task_.problem(config_.seed, step_ * sampled_prompts + i));
    sampler_.sample(policy_, problems, *sampled_, config_.seed, static_cast<std::uint64_t>(step_));
    const Reward reward = task_.reward();
    score(backend_, reward, sampled_->view(), rewards_.view().slice(0, sampled_prompts * g),
          MatrixView<float>(components_.data(), Extents<2>{reward_components<Reward>(), sampled_prompts * g}));
    double generated = 0.0;
    for (std::int32_t length : to_host(backend_, sampled_->completion_lengths())) generated += length;

    RolloutBuffers<B>& batch = config_.dynamic_sampling ? *train_ : *sampled_;
    if (config_.dynamic_sampling) {
      batch.gather_groups(*sampled_, keep_groups(to_host(backend_, rewards_.view().slice(0, sampled_prompts * g)), p));
      score(backend_, reward, batch.view(), rewards_.view().slice(0, n));
    }
    score(backend_, task_.accuracy(), batch.view(), accuracy_.view());
    compute_advantages<B, Estimator, float>(backend_, estimator_, rewards_.view().slice(0, n), g, advantages_.view(),
                                            advantage_stats_.view());
    if (reference_)
      reference_->forward(batch.sequence_batch(0, n), matrix(ref_logp_, n, t), {}, batch.routing(0, n), false);

    const double learning_rate = schedule_(step_);
    const index_t rows = n / config_.minibatches;
    PolicyLossMetrics loss_metrics;
    double entropy_sum = 0.0, grad_norm = 0.0;
    for (index_t pass = 0; pass < config_.updates_per_batch; ++pass) {
      for (index_t mb = 0; mb < config_.minibatches; ++mb) {
        const index_t begin = mb * rows, end = begin + rows;
        const MatrixView<float> logp = matrix(logp_, n, t).slice(begin, end), entropy = matrix(entropy_, n, t).slice(begin, end);
        policy_.zero_gradients();
        policy_.forward(batch.sequence_batch(begin, end), logp, entropy, batch.routing(begin, end));
        PolicyLossInputs<float> inputs;
        inputs.logp = logp;
        inputs.old_logp = batch.old_logp().slice(begin, end);
        if (reference_) inputs.ref_logp = matrix(ref_logp_, n, t).slice(begin, end);
        inputs.mask = batch.mask().slice(begin, end);
        inputs.advantages = advantages_.view().slice(begin, end);
        policy_loss(backend_, loss_, inputs, matrix(grad_, n, t).slice(begin, end), loss_metrics_.view(), t);
        policy_.backward(matrix(grad_, n, t).slice(begin, end));
        nn::optimizer_step(policy_, optimizer_, learning_rate);
        if (pass == 0) {
          const PolicyLossMetrics m = to_host(backend_, loss_metrics_.view())[0];
          RLMOE_CHECK(std::isfinite(m.loss), NumericError, "GrpoTrainer: the loss of step ", step_, " is ", m.loss);
          loss_metrics = loss_metrics + m;
          transform_reduce(backend_, rows * t, detail::MaskedSum{entropy, inputs.mask}, entropy_sum_.view(), Sum{}, 0.0);
          entropy_sum += to_host(backend_, entropy_sum_.view())[0];
        }
        grad_norm = optimizer_.grad_norm();
      }
    }
    if (config_.reference_refresh_every > 0 && (step_ + 1) % config_.reference_refresh_every == 0 && reference_)
      reference_->copy_from(policy_);

    StepMetrics m;
    m.phase = "rl";
    m.step = step_++;
    const std::vector<float> rewards = to_host(backend_, rewards_.view().slice(0, n)), accuracy = to_host(backend_, accuracy_.view());
    m.reward_mean = detail::mean(rewards);
    m.reward_std = detail::standard_deviation(rewards);
    m.accuracy = detail::mean(accuracy);
    m.loss = loss_metrics.loss / static_cast<double>(config_.minibatches);
    m.kl = reference_ ? loss_metrics_kl(batch, n, t) : NAN;
    m.entropy = loss_metrics.active_tokens > 0 ? entropy_sum / loss_metrics.active_tokens : NAN;
    m.clip_frac = loss_metrics.clip_fraction();
    m.clip_frac_low = loss_metrics.clip_fraction_low();
    m.clip_frac_high = loss_metrics.clip_fraction_high();
    m.ratio_mean = loss_metrics.ratio_mean();
    const std::vector<std::int32_t> lengths = to_host(backend_, batch.completion_lengths());
    m.completion_len_mean = std::accumulate(lengths.begin(), lengths.end(), 0.0) / static_cast<double>(n);
    m.zero_variance_groups = to_host(backend_, advantage_stats_.view())[0].zero_variance_groups;
    m.expert_load_max_over_mean = expert_load();
    m.grad_norm = grad_norm;
    m.learning_rate = learning_rate;
    m.step_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    m.tokens_per_s = generated / m.step_time_s;
    return m;
  }

  /// Greedy accuracy and pass@k on held-out prompts (a fixed set, from another seed stream).
  Evaluation evaluate() {
    Evaluation e;
    const index_t prompts = config_.eval_prompts;
    std::vector<tasks::Problem> problems;
    for (index_t i = 0; i < prompts; ++i) problems.push_back(task_.problem(config_.seed + kEvalSeedOffset, i));
    SamplingConfig greedy = config_.sampling;
    greedy.temperature = 0.0f;
    e.accuracy = evaluate_with(problems, greedy, 1, nullptr);
    if (config_.pass_at_k > 0) {
      SamplingConfig sampled = config_.sampling;
      sampled.temperature = config_.eval_temperature;
      evaluate_with(problems, sampled, config_.pass_at_k, &e.pass_at_k);
    }
    return e;
  }

  /// The whole run: cold start, RL with evaluation, metrics, progress, checkpoints and curves;
  /// continues from `resume_from` when given. With stop_after >= 0 it stops (and checkpoints)
  /// once that many RL steps are done, as an interrupted run would, to be resumed later.
  RunSummary run(const std::string& resume_from = {}, index_t stop_after = -1) {
    const bool resumed = !resume_from.empty();
    if (resumed) load(resume_from);
    io::MetricsLog log;
    if (!config_.output_dir.empty()) {
      std::filesystem::create_directories(config_.output_dir);
      if (resumed) keep_logged_steps(path("metrics.jsonl"));
      log = io::MetricsLog(path("metrics.jsonl"), resumed);
    }
    io::ProgressLine progress(config_.cold_start_steps + config_.steps, config_.progress);
    progress.start_at(cold_start_done_ + step_);
    while (cold_start_done_ < config_.cold_start_steps) {
      const StepMetrics m = cold_start_step();
      log.write(m.to_json());
      progress.update(m.step, {{"cold start loss", format(m.loss, 4)}});
    }
    if (step_ == 0 && std::isnan(summary_.rl_start_accuracy)) {
      // RL starts here: the reference policy is the policy after its cold start, as in R1.
      if (reference_) reference_->copy_from(policy_);
      const Evaluation e = evaluate();
      summary_.rl_start_accuracy = e.accuracy;
      StepMetrics m;
      m.phase = "rl_start";
      m.eval_accuracy = e.accuracy;
      m.pass_at_k = e.pass_at_k;
      log.write(m.to_json());
    }
    while (step_ < config_.steps && step_ != stop_after) {
      StepMetrics m = step();
      if (config_.eval_every > 0 && (m.step + 1) % config_.eval_every == 0 && m.step + 1 < config_.steps) {
        const Evaluation e = evaluate();
        m.eval_accuracy = e.accuracy;
        m.pass_at_k = e.pass_at_k;
      }
      if (m.step + 1 == config_.steps) {
        const Evaluation e = evaluate();
        m.eval_accuracy = summary_.final_accuracy = e.accuracy;
        m.pass_at_k = summary_.final_pass_at_k = e.pass_at_k;
      }
      log.write(m.to_json());
      history_.push_back(m);
      progress.update(config_.cold_start_steps + m.step,
                      {{"reward", format(m.reward_mean, 3)}, {"acc", format(m.accuracy, 3)}, {"kl", format(m.kl, 4)},
                       {"eval", format(m.eval_accuracy, 3)}, {"tok/s", format(m.tokens_per_s, 0)}});
      if (!config_.output_dir.empty() && config_.checkpoint_every > 0 && step_ % config_.checkpoint_every == 0)
        save(path("checkpoint.safetensors"));
    }
    progress.finish();
    if (!config_.output_dir.empty()) {
      save(path("checkpoint.safetensors"));
      if (step_ == config_.steps) write_curves(path("curves.png"));
    }
    summary_.steps = step_;
    return summary_;
  }

  void save(const std::string& file) const {
    io::CheckpointState state;
    state.step = step_;
    state.values = {{"cold_start_done", std::to_string(cold_start_done_)},
                    {"seed", std::to_string(config_.seed)},
                    {"rl_start_accuracy", io::Json(summary_.rl_start_accuracy).dump()}};
    io::save_checkpoint(file, backend_, policy_, optimizer_, state, reference_.get());
  }

  void load(const std::string& file) {
    const io::CheckpointState state = io::load_checkpoint(file, backend_, policy_, optimizer_, reference_.get());
    RLMOE_CHECK(state.value("seed") == std::to_string(config_.seed), ConfigError, "GrpoTrainer: the checkpoint '", file,
                "' was written with seed ", state.value("seed"), " but this run's seed is ", config_.seed);
    step_ = state.step;
    cold_start_done_ = std::stoll(state.value("cold_start_done"));
    const io::Json start = io::Json::parse(state.value("rl_start_accuracy"));
    summary_.rl_start_accuracy = start.is_null() ? NAN : start.number("rl_start_accuracy");
  }

  [[nodiscard]] const std::vector<StepMetrics>& history() const { return history_; }

 private:
  static GrpoConfig checked(GrpoConfig config, const TaskT& task) {
    if (config.sampling.max_new_tokens == 0) config.sampling.max_new_tokens = task.max_completion_length();
    config.validate();
    config.sampling.validate();
    return config;
  }

  std::unique_ptr<RolloutBuffers<B>> make_rollout(index_t prompts, index_t group_size, index_t width) const {
    return std::make_unique<RolloutBuffers<B>>(backend_, prompts, group_size, task_.max_prompt_length(),
                                               task_.max_completion_length(), width,
                                               Spec::kLayers - Spec::kFirstMoeLayer, Spec::kTopK);
  }

  static MatrixView<float> matrix(Buffer<float, B>& b, index_t rows, index_t cols) { return {b.data(), Extents<2>{rows, cols}}; }

  /// DAPO's dynamic sampling: the first `count` groups whose rewards differ, then (if too few)
  /// the others in order.
  std::vector<index_t> keep_groups(const std::vector<float>& rewards, index_t count) const {
    const index_t g = config_.group_size, groups = static_cast<index_t>(rewards.size()) / g;
    std::vector<index_t> informative, flat;
    for (index_t group = 0; group < groups; ++group) {
      const auto first = rewards.begin() + group * g;
      (std::all_of(first, first + g, [&](float r) { return r == *first; }) ? flat : informative).push_back(group);
    }
    informative.insert(informative.end(), flat.begin(), flat.end());
    informative.resize(static_cast<std::size_t>(count));
    return informative;
  }

  /// The KL estimate of the policy to the reference over the batch, from the last loss pass, or
  /// (when the loss has no KL term) computed from the reference log-probs.
  double loss_metrics_kl(RolloutBuffers<B>& batch, index_t n, index_t t) {
    if (loss_.uses_reference()) return to_host(backend_, loss_metrics_.view())[0].kl_mean();
    const auto logp = to_host(backend_, logp_.view().slice(0, n * t)), ref = to_host(backend_, ref_logp_.view().slice(0, n * t));
    const auto mask = to_host(backend_, batch.mask());
    double sum = 0.0, count = 0.0;
    for (index_t k = 0; k < n * t; ++k)
      if (mask[static_cast<std::size_t>(k)]) {
        sum += K3::value(static_cast<double>(logp[k]), static_cast<double>(ref[k]));
        count += 1.0;
      }
    return count > 0.0 ? sum / count : NAN;
  }

  double expert_load() {
    double worst = NAN;
    for (const auto& layer : policy_.moe_layers()) {
      const double load = layer.metrics().max_over_mean_load;
      worst = std::isnan(worst) ? load : std::max(worst, load);
    }
    return worst;
  }

  /// Accuracy over `problems` with `group` samples each under `sampling`; with `any_correct`, also
  /// the fraction of problems with at least one correct sample.
  double evaluate_with(const std::vector<tasks::Problem>& problems, SamplingConfig sampling, index_t group, double* any_correct) {
    const index_t prompts = static_cast<index_t>(problems.size());
    RolloutBuffers<B> rollout(backend_, prompts, group, task_.max_prompt_length(), task_.max_completion_length(),
                              sampling.max_new_tokens, Spec::kLayers - Spec::kFirstMoeLayer, Spec::kTopK);
    GroupSampler<B, Spec> sampler(backend_, sampling, tasks::Vocabulary::kEos);
    sampler.sample(policy_, problems, rollout, config_.seed + kEvalSeedOffset, 0);
    Buffer<float, B> correct(backend_, prompts * group);
    score(backend_, task_.accuracy(), rollout.view(), correct.view());
    const std::vector<float> values = to_host(backend_, correct.view());
    if (any_correct != nullptr) {
      double solved = 0.0;
      for (index_t q = 0; q < prompts; ++q)
        solved += std::any_of(values.begin() + q * group, values.begin() + (q + 1) * group, [](float v) { return v > 0.5f; });
      *any_correct = solved / static_cast<double>(prompts);
    }
    return detail::mean(values);
  }

  /// The learning curves: training reward and accuracy as moving averages over 2% of the run
  /// (the accuracy only when it differs from the reward), and the held-out accuracy.
  void write_curves(const std::string& file) const {
    const auto smoothed = [&](auto value) {
      const std::size_t window = std::max<std::size_t>(1, history_.size() / 50);
      std::vector<double> out;
      double sum = 0.0;
      for (std::size_t i = 0; i < history_.size(); ++i) {
        sum += value(history_[i]);
        if (i >= window) sum -= value(history_[i - window]);
        out.push_back(sum / static_cast<double>(std::min(i + 1, window)));
      }
      return out;
    };
    std::vector<double> steps;
    for (const StepMetrics& m : history_) steps.push_back(static_cast<double>(m.step + 1));
    std::vector<io::Series> series;
    series.push_back({"reward (training, moving average)", 0x1F77B4, steps, smoothed([](const StepMetrics& m) { return m.reward_mean; })});
    const bool same = std::all_of(history_.begin(), history_.end(), [](const StepMetrics& m) { return m.reward_mean == m.accuracy; });
    if (!same) series.push_back({"accuracy (training, moving average)", 0xFF7F0E, steps, smoothed([](const StepMetrics& m) { return m.accuracy; })});
    io::Series eval{"accuracy (held-out, greedy)", 0x2CA02C, {}, {}};
    if (std::isfinite(summary_.rl_start_accuracy)) {
      eval.x.push_back(0.0);
      eval.y.push_back(summary_.rl_start_accuracy);
    }
    for (const StepMetrics& m : history_)
      if (std::isfinite(m.eval_accuracy)) {
        eval.x.push_back(static_cast<double>(m.step + 1));
        eval.y.push_back(m.eval_accuracy);
      }
    series.push_back(eval);
    double low = 0.0, high = 1.0;
    for (const io::Series& s : series)
      for (double y : s.y)
        if (std::isfinite(y)) low = std::min(low, y), high = std::max(high, y);
    io::write_png(file, io::plot(series, {std::string("GRPO on ") + std::string(TaskT::kName), "step", low, high, 800, 450}));
  }

  /// After resuming: drops the lines a stopped run logged past its checkpoint (they will be
  /// logged again) and reloads the kept RL steps for the learning curves.
  void keep_logged_steps(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> kept;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const io::Json record = io::Json::parse(line);
      const std::string& phase = record.at("phase", "metrics line").string("phase");
      const index_t logged = record.at("step", "metrics line").integer("step");
      const bool keep = phase == "rl_start" || (phase == "cold_start" && logged < cold_start_done_) || (phase == "rl" && logged < step_);
      if (!keep) continue;
      kept.push_back(line);
      if (phase == "rl") {
        StepMetrics m;
        m.phase = phase;
        m.step = logged;
        const auto number = [&](const char* key) {
          const io::Json* v = record.find(key);
          return v != nullptr && v->is_number() ? v->number(key) : NAN;
        };
        m.reward_mean = number("reward_mean");
        m.accuracy = number("accuracy");
        m.eval_accuracy = number("eval_accuracy");
        history_.push_back(m);
      }
    }
    in.close();
    std::ofstream out(file, std::ios::trunc);
    for (const std::string& line : kept) out << line << '\n';
  }

  std::string path(const std::string& name) const { return (std::filesystem::path(config_.output_dir) / name).string(); }

  static std::string format(double v, int digits) {
    if (!std::isfinite(v)) return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
  }

  B backend_;
  TaskT task_;
  GrpoConfig config_;
  Loss loss_;
  Estimator estimator_;
  Policy policy_;
  std::unique_ptr<Policy> reference_;
  optim::AdamW<B> optimizer_;
  GroupSampler<B, Spec> sampler_;
  optim::WarmupCosineSchedule schedule_;
  std::unique_ptr<RolloutBuffers<B>> sampled_, train_;
  Buffer<float, B> rewards_, components_, accuracy_, advantages_, logp_, entropy_, ref_logp_, grad_;
  Buffer<AdvantageStats, B> advantage_stats_;
  Buffer<PolicyLossMetrics, B> loss_metrics_;
  Buffer<double, B> entropy_sum_;
  std::unique_ptr<nn::SupervisedScratch<B>> cold_start_scratch_;
  index_t step_ = 0, cold_start_done_ = 0;
  RunSummary summary_;
  std::vector<StepMetrics> history_;
};

}  // namespace rlmoe::rl
