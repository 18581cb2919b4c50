#pragma once
// GrpoStep: one GRPO step of a policy, with no file I/O, for GrpoTrainer and for users who write
// their own loop:
//
//   rl::GrpoStep<B, Spec, Task> grpo(backend, task, config);       // + loss, estimator
//   for (index_t s = 0; s < config.steps; ++s) {
//     const rl::StepMetrics m = grpo(policy, reference, optimizer, s);   // reference: null if unused
//     ...
//   }
//
// Step s:
//   1. samples G completions for each of P prompts (GroupSampler), problems s P .. (s + 1) P - 1 of
//      the task; with dynamic sampling, more prompts, keeping the groups whose rewards differ;
//   2. scores them with the task's reward (one kernel) and its accuracy;
//   3. advantages per group (one kernel; non-finite ones name the estimator);
//   4. reference log-probs when the loss has a KL term or the KL is tracked;
//   5. updates_per_batch passes over minibatches: the policy's log-probs with the sampling
//      routing replayed, the fused loss and its gradient, backward, AdamW with clipping at the
//      step's learning rate (warmup + cosine), the MoE bias update;
//   6. metrics: the first pass's loss and clipping, and, over the whole batch on the backend, the
//      entropy and the loss's own KL estimate to the reference;
//   7. every reference_refresh_every steps, the reference becomes a copy of the policy.
//
// Data parallel (Comm over N ranks; SingleProcess by default): each rank samples, scores and trains
// on P / N of the prompts, whole groups, and every batch statistic is the whole batch's: the loss
// normalisers, BatchNormalized's std, the gradients (summed before each optimizer step, so the
// ranks stay equal), the routing load, and every metric. Of each minibatch of P / M prompts a rank
// holds P / (M N) consecutive ones, and its completions are sampled with the random streams of
// their place in the whole batch, so N ranks draw exactly the completions one rank draws and the
// minibatches are the same: the run is one rank's run, divided. Initial parameters must agree
// (dist::broadcast the model's parameters, or seed every rank alike).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/io/step_metrics.hpp"
#include "rlmoe/nn/training.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/optim/schedule.hpp"
#include "rlmoe/rl/advantages.hpp"
#include "rlmoe/rl/concept_checks.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/group_sampler.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/kl.hpp"
#include "rlmoe/rl/losses/clipped_surrogate.hpp"
#include "rlmoe/rl/losses/policy_loss.hpp"
#include "rlmoe/rl/rewards/weighted_sum.hpp"
#include "rlmoe/rl/rollout_buffers.hpp"
#include "rlmoe/rl/score.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl {

using io::StepMetrics;

namespace detail {

/// The KL estimator a loss uses for its penalty (Loss::Kl), or k3 for a loss without one.
template <class Loss>
struct LossKl {
  using type = K3;
};
template <class Loss>
  requires requires { typename Loss::Kl; }
struct LossKl<Loss> {
  using type = typename Loss::Kl;
};

/// Sums over the active completion tokens of the batch.
struct TokenSums {
  double active = 0.0, entropy = 0.0, kl = 0.0;
  RLMOE_HOST_DEVICE friend TokenSums operator+(const TokenSums& a, const TokenSums& b) {
    return {a.active + b.active, a.entropy + b.entropy, a.kl + b.kl};
  }
};

/// Each active token's entropy and, with reference log-probs, its KL estimate K(logp, ref).
template <class K, class C>
struct SumTokenTerms {
  MatrixView<const C> logp, entropy, ref_logp;  ///< [N, T]; ref_logp empty: no KL
  MatrixView<const std::uint8_t> mask;
  RLMOE_HOST_DEVICE TokenSums operator()(index_t k) const {
    const index_t width = mask.extent(1), i = k / width, t = k - i * width;
    if (mask(i, t) == 0) return {};
    TokenSums s{1.0, static_cast<double>(entropy(i, t)), 0.0};
    if (ref_logp.data() != nullptr) s.kl = K::value(static_cast<double>(logp(i, t)), static_cast<double>(ref_logp(i, t)));
    return s;
  }
};

/// A float64 policy's advantages come from float rewards.
template <class C>
struct Widen {
  VectorView<const float> from;
  VectorView<C> to;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { to[i] = static_cast<C>(from[i]); }
};

/// The mean of the values of every rank (each rank passes its own).
template <class Comm>
double mean(const Comm& comm, const std::vector<float>& v) {
  const double sum = dist::all_reduce_value(comm, std::accumulate(v.begin(), v.end(), 0.0));
  const auto count = dist::all_reduce_value(comm, static_cast<std::int64_t>(v.size()));
  return count == 0 ? NAN : sum / static_cast<double>(count);
}
/// Their standard deviation (Bessel-corrected), around the mean of every rank's values.
template <class Comm>
double standard_deviation(const Comm& comm, const std::vector<float>& v) {
  const double m = mean(comm, v);
  double s = 0.0;
  for (float x : v) s += (x - m) * (x - m);
  s = dist::all_reduce_value(comm, s);
  const auto count = dist::all_reduce_value(comm, static_cast<std::int64_t>(v.size()));
  return count > 1 ? std::sqrt(s / static_cast<double>(count - 1)) : 0.0;
}

}  // namespace detail

/// Spec, Task, Estimator and Loss: a TransformerSpec, a Task, an AdvantageEstimator and a
/// PolicyLoss; a refused argument gets one message saying what it lacks, and nothing else. Comm:
/// the data-parallel ranks.
template <Backend B, class SpecArg, class TaskArg, class EstimatorArg = GroupNormalized,
          class LossArg = ClippedSurrogate<K3, TokenMean>, dist::Communicator Comm = dist::SingleProcess>
class GrpoStep {
 public:
  using Spec = nn::checked_spec_t<SpecArg>;
  using TaskT = tasks::checked_task_t<TaskArg>;
  using Estimator = checked_estimator_t<EstimatorArg>;
  using Loss = checked_loss_t<LossArg>;
  using Policy = nn::Transformer<B, Spec>;  // stored as the Spec says (float, bfloat16; double for checks)
  using C = compute_t<nn::storage_t<Spec>>;  // log-probabilities, advantages, the loss
  using G = master_t<nn::storage_t<Spec>>;   // the optimizer's parameters
  using Optimizer = optim::AdamW<B, G>;
  using Reward = decltype(std::declval<const TaskT&>().reward());

  GrpoStep(const B& backend, const TaskT& task, const GrpoConfig& config, const Loss& loss = {}, const Estimator& estimator = {},
           const Comm& comm = {})
      : backend_(backend), task_(task), config_(config.resolved(task.max_completion_length())), loss_(loss),
        estimator_(estimator), comm_(comm), sampler_(backend, config_.sampling, tasks::special_tokens<TaskT>()),
        schedule_{config_.learning_rate, config_.min_learning_rate,
                  std::min(config_.warmup_steps, std::max<index_t>(config_.steps, 1)), std::max<index_t>(config_.steps, 1)} {
    loss_.validate();
    RLMOE_CHECK(task_.max_prompt_length() + config_.sampling.max_new_tokens <= Spec::kMaxLength, ConfigError,
                "GrpoStep: prompts of up to ", task_.max_prompt_length(), " tokens plus ", config_.sampling.max_new_tokens,
                " new tokens exceed the model's maximum length Spec::kMaxLength = ", Spec::kMaxLength);
    check_data_parallel();
    const index_t p = local_prompts(), g = config_.group_size, n = p * g, t = config_.sampling.max_new_tokens;
    const index_t sampled_prompts = p * (config_.dynamic_sampling ? config_.dynamic_sampling_oversample : 1);
    sampled_ = make_rollout(sampled_prompts);
    if (config_.dynamic_sampling) train_ = make_rollout(p);
    rewards_ = Buffer<float, B>(backend, sampled_prompts * g);
    components_ = Buffer<float, B>(backend, reward_components<Reward>() * sampled_prompts * g);
    accuracy_ = Buffer<float, B>(backend, n);
    advantages_ = Buffer<C, B>(backend, n);
    if constexpr (!std::is_same_v<C, float>) rewards_widened_ = Buffer<C, B>(backend, n);
    advantage_stats_ = Buffer<AdvantageStats, B>(backend, 1);
    logp_ = Buffer<C, B>(backend, n * t);
    entropy_ = Buffer<C, B>(backend, n * t);
    ref_logp_ = Buffer<C, B>(backend, n * t);
    grad_ = Buffer<C, B>(backend, n * t);
    loss_metrics_ = Buffer<PolicyLossMetrics, B>(backend, 1);
    token_sums_ = Buffer<detail::TokenSums, B>(backend, 1);
  }

  /// The configuration in use (sampling.max_new_tokens resolved).
  [[nodiscard]] const GrpoConfig& config() const { return config_; }
  [[nodiscard]] const Loss& loss() const { return loss_; }
  /// Whether a frozen reference policy must be passed: the loss has a KL term or the KL is tracked.
  [[nodiscard]] bool needs_reference() const { return loss_.uses_reference() || config_.track_reference_kl; }
  [[nodiscard]] const Comm& communicator() const { return comm_; }
  /// The prompts of a step this rank samples and trains on: P / N.
  [[nodiscard]] index_t local_prompts() const { return config_.prompts_per_step / comm_.size(); }
  /// The prompt of the whole step (0 .. P - 1) that is local prompt `l` of `rank` (this one by
  /// default): of each minibatch of P / M prompts, rank r holds the P / (M N) from r P / (M N) on.
  [[nodiscard]] index_t global_prompt(index_t l, int rank = -1) const {
    const index_t per_minibatch = config_.prompts_per_step / config_.minibatches, share = per_minibatch / comm_.size();
    return (l / share) * per_minibatch + (rank < 0 ? comm_.rank() : rank) * share + l % share;
  }

  /// GRPO step `step` (0, 1, ...: it chooses the problems, the sampling draws and the learning
  /// rate) of `policy`, with `reference` the frozen policy of the KL (null when not needed).
  /// OptimizerT: Optimizer (AdamW), or optim::ShardedAdamW over the same ranks (ZeRO-1/2).
  template <class OptimizerT = Optimizer>
  StepMetrics operator()(Policy& policy, Policy* reference, OptimizerT& optimizer, index_t step) {
    RLMOE_CHECK(reference != nullptr || !needs_reference(), ConfigError, "GrpoStep: ",
                loss_.uses_reference() ? "the loss has a KL term" : "track_reference_kl is set",
                " but no reference policy was given");
    check_data_parallel(policy);
    const auto start = std::chrono::steady_clock::now();
    const index_t p = local_prompts(), g = config_.group_size, n = p * g, t = config_.sampling.max_new_tokens;
    const index_t sampled_prompts = sampled_->num_prompts(), all_sampled_prompts = sampled_prompts * comm_.size();
    std::vector<tasks::Problem> problems;
    for (index_t i = 0; i < sampled_prompts; ++i)
      problems.push_back(task_.problem(config_.seed, step * all_sampled_prompts + sampled_prompt(i)));
    sampler_.sample(policy, problems, *sampled_, config_.seed, static_cast<std::uint64_t>(step), numbering());
    const Reward reward = task_.reward();
    score(backend_, reward, sampled_->view(), rewards_.view().slice(0, sampled_prompts * g),
          MatrixView<float>(components_.data(), Extents<2>{reward_components<Reward>(), sampled_prompts * g}));
    double generated = 0.0;
    for (std::int32_t length : to_host(backend_, sampled_->completion_lengths())) generated += length;

    Rollout& batch = config_.dynamic_sampling ? *train_ : *sampled_;
    if (config_.dynamic_sampling) {
      const std::vector<float> rewards = to_host(backend_, rewards_.view().slice(0, sampled_prompts * g));
      if (comm_.size() == 1)
        batch.gather_groups(*sampled_, keep_groups(rewards, p));
      else
        batch.exchange_groups(comm_, *sampled_, kept_group_plan(rewards));
      score(backend_, reward, batch.view(), rewards_.view().slice(0, n));
    }
    score(backend_, task_.accuracy(), batch.view(), accuracy_.view());
    compute_advantages<B, Estimator, C>(backend_, estimator_, rewards_for_advantages(n), g, advantages_.view(),
                                        advantage_stats_.view(), comm_);
    if (reference != nullptr && needs_reference())
      reference->forward(batch.sequence_batch(0, n), matrix(ref_logp_, n, t), {}, batch.routing(0, n), false);

    const double learning_rate = schedule_(step);
    const index_t rows = n / config_.minibatches;
    PolicyLossMetrics loss_metrics;
    double grad_norm = 0.0;
    for (index_t pass = 0; pass < config_.updates_per_batch; ++pass) {
      for (index_t mb = 0; mb < config_.minibatches; ++mb) {
        const index_t begin = mb * rows, end = begin + rows;
        const MatrixView<C> logp = matrix(logp_, n, t).slice(begin, end), entropy = matrix(entropy_, n, t).slice(begin, end);
        policy.zero_gradients();
        policy.forward(batch.sequence_batch(begin, end), logp, entropy, batch.routing(begin, end));
        PolicyLossInputs<C> inputs;
        inputs.logp = logp;
        inputs.old_logp = batch.old_logp().slice(begin, end);
        if (loss_.uses_reference()) inputs.ref_logp = matrix(ref_logp_, n, t).slice(begin, end);
        inputs.mask = batch.mask().slice(begin, end);
        inputs.advantages = advantages_.view().slice(begin, end);
        policy_loss(backend_, loss_, inputs, matrix(grad_, n, t).slice(begin, end), loss_metrics_.view(), t, comm_);
        policy.backward(matrix(grad_, n, t).slice(begin, end));
        nn::optimizer_step(policy, optimizer, learning_rate, comm_);
        if (pass == 0) {
          const PolicyLossMetrics m = all_ranks(to_host(backend_, loss_metrics_.view())[0]);
          RLMOE_CHECK(std::isfinite(m.loss), NumericError, "GrpoStep: the loss of step ", step, " is ", m.loss,
                      " (minibatch ", mb, "; its rewards and advantages were finite)");
          loss_metrics = loss_metrics + m;
        }
        grad_norm = optimizer.grad_norm();
      }
      if (pass == 0) sum_token_terms(batch, n, t, reference != nullptr && needs_reference());
    }
    if (config_.reference_refresh_every > 0 && (step + 1) % config_.reference_refresh_every == 0 && reference != nullptr)
      reference->copy_from(policy);

    StepMetrics m;
    m.phase = "rl";
    m.step = step;
    const std::vector<float> rewards = to_host(backend_, rewards_.view().slice(0, n)), accuracy = to_host(backend_, accuracy_.view());
    m.reward_mean = detail::mean(comm_, rewards);
    m.reward_std = detail::standard_deviation(comm_, rewards);
    m.accuracy = detail::mean(comm_, accuracy);
    m.loss = loss_metrics.loss / static_cast<double>(config_.minibatches);
    const detail::TokenSums sums = all_ranks(to_host(backend_, token_sums_.view())[0]);
    m.entropy = sums.active > 0.0 ? sums.entropy / sums.active : NAN;
    m.kl = reference != nullptr && needs_reference() && sums.active > 0.0 ? sums.kl / sums.active : NAN;
    m.clip_frac = loss_metrics.clip_fraction();
    m.clip_frac_low = loss_metrics.clip_fraction_low();
    m.clip_frac_high = loss_metrics.clip_fraction_high();
    m.ratio_mean = loss_metrics.ratio_mean();
    const std::vector<std::int32_t> lengths = to_host(backend_, batch.completion_lengths());
    m.completion_len_mean = dist::all_reduce_value(comm_, std::accumulate(lengths.begin(), lengths.end(), 0.0)) /
                            static_cast<double>(n * comm_.size());
    m.zero_variance_groups = to_host(backend_, advantage_stats_.view())[0].zero_variance_groups;  // the whole batch's
    m.expert_load_max_over_mean = expert_load(policy);
    m.grad_norm = grad_norm;
    m.learning_rate = learning_rate;
    // The slowest rank's time, and the tokens of every rank.
    m.step_time_s =
        dist::all_reduce_value(comm_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), Max{});
    m.tokens_per_s = dist::all_reduce_value(comm_, generated) / m.step_time_s;
    return m;
  }

 private:
  /// Data parallelism needs whole groups in whole minibatches on every rank, and (for now) the
  /// statistics this step makes global: refused otherwise, by name.
  void check_data_parallel() const {
    const index_t ranks = comm_.size();
    if (ranks == 1) return;
    RLMOE_CHECK(config_.prompts_per_step % (config_.minibatches * ranks) == 0, ConfigError, "GrpoStep: prompts_per_step (",
                config_.prompts_per_step, ") must be a multiple of minibatches x ranks = ", config_.minibatches, " x ", ranks,
                " so that every rank holds whole groups of every minibatch (", comm_.name(), ")");
  }
  /// The balance and z-losses normalise by the tokens of the batch they see: over several ranks
  /// that would be a rank's, so they are refused there (for now).
  void check_data_parallel(const Policy& policy) const {
    if (comm_.size() == 1) return;
    for (const auto& layer : policy.moe_layers()) {
      const moe::MoeConfig& c = layer.config();
      RLMOE_CHECK((c.balancing == moe::Balancing::AuxLossFree || c.balancing == moe::Balancing::None) && c.z_loss_coef == 0.0f,
                  ConfigError, "GrpoStep: over ", comm_.size(),
                  " ranks the MoE layers' balancing must be AuxLossFree or None and z_loss_coef 0 (the balance and z-losses "
                  "would be normalised by one rank's tokens)");
    }
  }

  /// The prompt of the whole sampled set that is this rank's sampled prompt `i`: the batch's
  /// global_prompt, or, with dynamic sampling, a contiguous N-th of the oversampled prompts (whose
  /// kept groups are then exchanged into the batch's places).
  [[nodiscard]] index_t sampled_prompt(index_t i) const {
    return config_.dynamic_sampling ? comm_.rank() * sampled_->num_prompts() + i : global_prompt(i);
  }

  /// Where this rank's sampled completion rows are in the whole sampled set (see SequenceNumbering).
  [[nodiscard]] SequenceNumbering numbering() const {
    if (comm_.size() == 1) return {};
    const index_t g = config_.group_size;
    if (config_.dynamic_sampling) {
      const index_t rows = sampled_->num_prompts() * g;
      return {comm_.rank() * rows, rows, 0};
    }
    const index_t share = config_.prompts_per_step / config_.minibatches / comm_.size();
    return {comm_.rank() * share * g, share * g, share * comm_.size() * g};
  }

  /// Dynamic sampling over the ranks: every rank gathers every sampled group's rewards, chooses
  /// the kept groups as one process would (keep_groups), and gives each kept group to the rank
  /// that holds its place in the batch (global_prompt).
  std::vector<std::vector<GroupAddress>> kept_group_plan(const std::vector<float>& rewards) const {
    const int ranks = comm_.size();
    const index_t local_groups = sampled_->num_prompts();
    std::vector<float> all(rewards.size() * static_cast<std::size_t>(ranks));
    dist::all_gather(comm_, Host{1}, VectorView<const float>(rewards.data(), Extents<1>{static_cast<index_t>(rewards.size())}),
                     VectorView<float>(all.data(), Extents<1>{static_cast<index_t>(all.size())}));
    const std::vector<index_t> kept = keep_groups(all, config_.prompts_per_step);
    std::vector<std::vector<GroupAddress>> plan(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r)
      for (index_t l = 0; l < local_prompts(); ++l) {
        const index_t group = kept[static_cast<std::size_t>(global_prompt(l, r))];
        plan[static_cast<std::size_t>(r)].push_back({static_cast<int>(group / local_groups), group % local_groups});
      }
    return plan;
  }

  /// The loss metrics summed over the ranks.
  PolicyLossMetrics all_ranks(PolicyLossMetrics m) const {
    if (comm_.size() == 1) return m;
    std::array<double, 6> v{m.loss, m.active_tokens, m.clipped_low, m.clipped_high, m.ratio_sum, m.kl_sum};
    dist::all_reduce(comm_, Host{1}, VectorView<double>(v.data(), Extents<1>{6}), Sum{});
    return {v[0], v[1], v[2], v[3], v[4], v[5]};
  }
  detail::TokenSums all_ranks(detail::TokenSums s) const {
    if (comm_.size() == 1) return s;
    std::array<double, 3> v{s.active, s.entropy, s.kl};
    dist::all_reduce(comm_, Host{1}, VectorView<double>(v.data(), Extents<1>{3}), Sum{});
    return {v[0], v[1], v[2]};
  }

  using Rollout = typename GroupSampler<B, Spec>::Rollout;

  /// The rewards in the advantages' type: the rewards themselves, or widened for a float64 policy.
  VectorView<const C> rewards_for_advantages(index_t n) {
    if constexpr (std::is_same_v<C, float>) {
      return rewards_.view().slice(0, n);
    } else {
      parallel_for(backend_, n, detail::Widen<C>{rewards_.view().slice(0, n), rewards_widened_.view()});
      return rewards_widened_.view();
    }
  }

  std::unique_ptr<Rollout> make_rollout(index_t prompts) const {
    return std::make_unique<Rollout>(backend_, prompts, config_.group_size, task_.max_prompt_length(), task_.max_completion_length(),
                                     config_.sampling.max_new_tokens, nn::moe_layer_count_v<Spec>, Spec::kTopK);
  }

  static MatrixView<C> matrix(Buffer<C, B>& b, index_t rows, index_t cols) { return {b.data(), Extents<2>{rows, cols}}; }

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

  /// The first pass's entropy and KL to the reference over the whole batch, into token_sums_.
  void sum_token_terms(Rollout& batch, index_t n, index_t t, bool with_kl) {
    using Kl = typename detail::LossKl<Loss>::type;
    const detail::SumTokenTerms<Kl, C> terms{matrix(logp_, n, t), matrix(entropy_, n, t),
                                             with_kl ? MatrixView<const C>(matrix(ref_logp_, n, t)) : MatrixView<const C>{},
                                          batch.mask()};
    transform_reduce(backend_, n * t, terms, token_sums_.view(), Sum{}, detail::TokenSums{});
  }

  double expert_load(Policy& policy) const {
    double worst = NAN;
    for (const auto& layer : policy.moe_layers()) {
      const double load = comm_.size() == 1 ? layer.metrics().max_over_mean_load : global_load(layer);
      worst = std::isnan(worst) ? load : std::max(worst, load);
    }
    return worst;
  }

  /// max / mean tokens per expert of a layer's last forward pass, over every rank's tokens.
  template <class Layer>
  double global_load(const Layer& layer) const {
    std::vector<std::int32_t> counts = to_host(backend_, layer.expert_counts());
    dist::all_reduce(comm_, Host{1}, VectorView<std::int32_t>(counts.data(), Extents<1>{static_cast<index_t>(counts.size())}), Sum{});
    return moe::MoeMetrics::from_counts(counts, 0.0).max_over_mean_load;
  }

  B backend_;
  TaskT task_;
  GrpoConfig config_;
  Loss loss_;
  Estimator estimator_;
  Comm comm_;
  GroupSampler<B, Spec> sampler_;
  optim::WarmupCosineSchedule schedule_;
  std::unique_ptr<Rollout> sampled_, train_;
  Buffer<float, B> rewards_, components_, accuracy_;
  Buffer<C, B> rewards_widened_, advantages_, logp_, entropy_, ref_logp_, grad_;
  Buffer<AdvantageStats, B> advantage_stats_;
  Buffer<PolicyLossMetrics, B> loss_metrics_;
  Buffer<detail::TokenSums, B> token_sums_;
};

}  // namespace rlmoe::rl
