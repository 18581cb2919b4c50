#pragma once
// GrpoTrainer: a complete GRPO trainer assembled from template arguments,
//
//   GrpoTrainer<Backend, Spec, Task, AdvantageEstimator, PolicyLoss>
//
// where the policy is the Transformer<Backend, Spec>, the reward comes from the Task and the
// optimizer is AdamW. It owns the policy, the frozen reference policy (when the loss or the
// metrics need one) and the optimizer, and composes the steps, each in its own header:
//   ColdStart (rl/cold_start.hpp)   supervised steps on the task's demonstrations, as R1 starts
//   GrpoStep  (rl/grpo_step.hpp)    one GRPO step: sample, score, advantages, update
//   Evaluator (rl/evaluation.hpp)   held-out greedy accuracy and pass@k
// run() is the loop around them: metrics as JSON lines (io/metrics_log.hpp), a live progress line,
// checkpoints and resuming (io/checkpoint.hpp), and the learning curves (io/learning_curves.hpp).
// A loop of your own calls step(), cold_start_step() and evaluate(), or the steps themselves.
//
// Data parallel (Comm over N ranks, every rank running the same program): the steps divide their
// batches between the ranks (see GrpoStep), the evaluation its problems, and every rank holds the
// same policy and optimizer; rank 0 alone writes the metrics, the curves and the checkpoints and
// shows the progress line, and every rank reads a checkpoint to resume. Expert parallel (an
// ExpertParallel over the same ranks): the policy's routed experts are split over expert groups
// and the checkpoints still hold the whole model, so a run resumes with any number of ranks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/type_name.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"
#include "rlmoe/io/checkpoint.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/learning_curves.hpp"
#include "rlmoe/io/metrics_log.hpp"
#include "rlmoe/io/progress.hpp"
#include "rlmoe/io/step_metrics.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "rlmoe/optim/adamw.hpp"
#include "rlmoe/rl/cold_start.hpp"
#include "rlmoe/rl/evaluation.hpp"
#include "rlmoe/rl/grpo_config.hpp"
#include "rlmoe/rl/grpo_step.hpp"
#include "rlmoe/rl/tasks/task.hpp"

namespace rlmoe::rl {

/// What run() ends with.
struct RunSummary {
  double rl_start_accuracy = NAN;  ///< held-out accuracy when RL began (after any cold start)
  double final_accuracy = NAN;
  double final_pass_at_k = NAN;
  index_t steps = 0;
};

/// Spec, Task, Estimator and Loss: a TransformerSpec, a Task whose vocabulary has Spec::kVocab
/// tokens, an AdvantageEstimator and a PolicyLoss. A refused argument gets one message saying what
/// it lacks (rl/concept_checks.hpp), and nothing else. Comm: the data-parallel ranks.
template <Backend B, class SpecArg, class TaskArg, class EstimatorArg = GroupNormalized,
          class LossArg = ClippedSurrogate<K3, TokenMean>, dist::Communicator Comm = dist::SingleProcess>
class GrpoTrainer {
  using Step = GrpoStep<B, SpecArg, TaskArg, EstimatorArg, LossArg, Comm>;  // which checks the arguments

 public:
  using Spec = typename Step::Spec;
  using TaskT = typename Step::TaskT;
  using Estimator = typename Step::Estimator;
  using Loss = typename Step::Loss;
  using Policy = typename Step::Policy;
  using Optimizer = typename Step::Optimizer;  ///< AdamW over the master parameters (float, or double in float64 runs)

  // The vocabularies are compared when both the task and the Spec were accepted (not stand-ins).
  static constexpr bool kArgumentsAccepted = std::is_same_v<Spec, SpecArg> && std::is_same_v<TaskT, TaskArg>;
  static_assert(std::conditional_t<kArgumentsAccepted, tasks::TaskVocabularyMatchesSpec<TaskT::Vocabulary::kSize, Spec::kVocab>,
                                   std::true_type>::value &&
                tasks::VocabularyIsValid<typename TaskT::Vocabulary>::value);

  GrpoTrainer(const B& backend, const TaskT& task, const GrpoConfig& config, const Loss& loss = {},
              const Estimator& estimator = {}, const nn::MoeTraining& moe = {}, const Comm& comm = {},
              const moe::ExpertParallel<B>& ep = {})
      : backend_(backend), moe_(moe), comm_(comm), grpo_(backend, task, config, loss, estimator, comm),
        cold_start_(backend, task, config, comm), evaluator_(backend, task, config, comm), policy_(backend, moe, ep),
        optimizer_(backend, policy_.parameters().size(), config.adam) {
    RLMOE_CHECK(ep.size() == 1 || ep.size() * ep.replicas() == comm.size(), ConfigError, "GrpoTrainer: the experts are split over ",
                ep.size(), " ranks with ", ep.replicas(), " replicas, which is not the ", comm.size(), " ranks of ", comm.name());
    if (grpo_.needs_reference()) reference_ = std::make_unique<Policy>(backend, moe, ep);
  }

  /// Seeded initialisation of the policy (and the reference, a copy of it).
  void initialize() {
    policy_.initialize(config().seed);
    if (reference_) reference_->copy_from(policy_);
  }

  [[nodiscard]] Policy& policy() { return policy_; }
  /// The policy's optimizer, for steps of one's own (rejective fine-tuning, say).
  [[nodiscard]] Optimizer& optimizer() { return optimizer_; }
  [[nodiscard]] const GrpoConfig& config() const { return grpo_.config(); }
  [[nodiscard]] index_t steps_done() const { return step_; }
  [[nodiscard]] index_t cold_start_steps_done() const { return cold_start_done_; }
  [[nodiscard]] const std::vector<StepMetrics>& history() const { return history_; }
  [[nodiscard]] const Comm& communicator() const { return comm_; }

  /// The next supervised step on demonstrations (the cold start).
  StepMetrics cold_start_step() {
    const StepMetrics m = cold_start_(policy_, optimizer_, cold_start_done_);
    ++cold_start_done_;  // only once the step is done: a step that throws is not counted
    return m;
  }
  /// The next GRPO step. The first one starts RL: the reference policy (of the KL term and
  /// metric) becomes the policy as it is then, after whatever cold start came before, as in R1.
  StepMetrics step() {
    if (step_ == 0 && reference_) reference_->copy_from(policy_);
    const StepMetrics m = grpo_(policy_, reference_.get(), optimizer_, step_);
    ++step_;
    return m;
  }
  /// Greedy accuracy and pass@k on held-out prompts (a fixed set, from another seed stream).
  Evaluation evaluate() { return evaluator_(policy_); }

  /// The whole run: cold start, RL with evaluation, metrics, progress, checkpoints and curves;
  /// continues from `resume_from` when given. With stop_after >= 0 it stops (and checkpoints)
  /// once that many RL steps are done, as an interrupted run would, to be resumed later.
  RunSummary run(const std::string& resume_from = {}, index_t stop_after = -1) {
    const GrpoConfig& c = config();
    const bool resumed = !resume_from.empty(), root = comm_.rank() == 0;
    if (resumed) load(resume_from);
    io::MetricsLog log;
    if (!c.output_dir.empty() && root) {
      std::error_code error;
      std::filesystem::create_directories(c.output_dir, error);
      RLMOE_CHECK(!error, IoError, "GrpoTrainer: cannot create the output directory '", c.output_dir, "': ", error.message());
      if (resumed) rewind_log();
      log = io::MetricsLog(path("metrics.jsonl"), resumed);
    }
    io::ProgressLine progress(c.cold_start_steps + c.steps, c.progress && root);
    const auto number = &io::ProgressLine::number;
    progress.start_at(cold_start_done_ + step_);
    while (cold_start_done_ < c.cold_start_steps) {
      const StepMetrics m = cold_start_step();
      log.write(m.to_json());
      progress.update(m.step, {{"cold start loss", number(m.loss, 4)}});
    }
    if (step_ == 0 && std::isnan(summary_.rl_start_accuracy)) {
      // RL starts here (step() makes the policy after its cold start the reference).
      StepMetrics m;
      m.phase = "rl_start";
      record_evaluation(m, summary_.rl_start_accuracy);
      log.write(m.to_json());
    }
    while (step_ < c.steps && step_ != stop_after) {
      StepMetrics m = step();
      if (m.step + 1 == c.steps) {
        record_evaluation(m, summary_.final_accuracy);
        summary_.final_pass_at_k = m.pass_at_k;
      } else if (c.eval_every > 0 && (m.step + 1) % c.eval_every == 0) {
        record_evaluation(m, m.eval_accuracy);
      }
      log.write(m.to_json());
      history_.push_back(m);
      progress.update(c.cold_start_steps + m.step,
                      {{"reward", number(m.reward_mean, 3)}, {"acc", number(m.accuracy, 3)}, {"kl", number(m.kl, 4)},
                       {"eval", number(m.eval_accuracy, 3)}, {"tok/s", number(m.tokens_per_s, 0)}});
      if (!c.output_dir.empty() && c.checkpoint_every > 0 && step_ % c.checkpoint_every == 0) save(path("checkpoint.safetensors"));
    }
    progress.finish();
    if (!c.output_dir.empty()) {
      save(path("checkpoint.safetensors"));
      if (step_ == c.steps && root) io::write_learning_curves(path("curves.png"), TaskT::kName, history_, summary_.rl_start_accuracy);
    }
    summary_.steps = step_;
    return summary_;
  }

  /// Writes the policy, optimizer, reference and counters atomically to `file` (rank 0; every
  /// rank holds the same, or under expert parallelism gives its experts), and returns when it is
  /// written.
  void save(const std::string& file) const {
    const bool root = comm_.rank() == 0;
    if (root || policy_.expert_parallel().size() > 1) write_checkpoint(file, root);
    dist::barrier(comm_);  // no rank goes on, or reads it, before it is whole
  }

 private:
  void write_checkpoint(const std::string& file, bool write) const {
    io::CheckpointState state;
    state.step = step_;
    state.values = {{"cold_start_done", std::to_string(cold_start_done_)},
                    {"seed", std::to_string(config().seed)},
                    {"rl_start_accuracy", io::Json(summary_.rl_start_accuracy).dump()},
                    {"trajectory", io::Json(io::Json::Object(trajectory())).dump()}};
    if (step_ == config().steps) {  // a finished run keeps what it ended with
      state.values.emplace_back("final_accuracy", io::Json(summary_.final_accuracy).dump());
      state.values.emplace_back("final_pass_at_k", io::Json(summary_.final_pass_at_k).dump());
    }
    io::save_checkpoint(file, backend_, policy_, optimizer_, state, reference_.get(), write);
  }

 public:

  /// Restores what save() wrote. Refuses, leaving this trainer as it was, a checkpoint of another
  /// seed or of a run configured otherwise (trajectory(); unless allow_resume_with_changes, which
  /// prints each difference instead).
  void load(const std::string& file) {
    const auto accept = [&](const io::CheckpointState& state) {
      RLMOE_CHECK(state.value("seed") == std::to_string(config().seed), ConfigError, "GrpoTrainer: the checkpoint '", file,
                  "' was written with seed ", state.value("seed"), " but this run's seed is ", config().seed);
      if (const std::string* saved = state.find("trajectory")) check_trajectory(file, io::Json::parse(*saved));
    };
    const io::CheckpointState state = io::load_checkpoint(file, backend_, policy_, optimizer_, reference_.get(), accept);
    step_ = state.step;
    cold_start_done_ = io::parse_integer(state.value("cold_start_done"), "checkpoint '" + file + "': cold_start_done");
    const auto number = [&](const char* key) {
      const std::string* text = state.find(key);
      const io::Json value = text != nullptr ? io::Json::parse(*text) : io::Json(nullptr);
      return value.is_null() ? NAN : value.number(key);
    };
    summary_.rl_start_accuracy = number("rl_start_accuracy");
    summary_.final_accuracy = number("final_accuracy");
    summary_.final_pass_at_k = number("final_pass_at_k");
  }

  /// What a resumed run must share with the run that wrote its checkpoint: the configuration's
  /// trajectory settings, the task, the estimator, the loss and its settings, the MoE training.
  [[nodiscard]] std::vector<std::pair<std::string, io::Json>> trajectory() const {
    auto fields = config().trajectory();
    fields.emplace_back("task", io::Json(std::string(TaskT::kName)));
    fields.emplace_back("estimator", io::Json(std::string(type_name<Estimator>())));
    fields.emplace_back("loss", io::Json(std::string(type_name<Loss>())));
    if constexpr (requires { grpo_.loss().settings(); })
      for (auto& [name, value] : grpo_.loss().settings()) fields.emplace_back("loss." + name, std::move(value));
    fields.emplace_back("moe.balancing", io::Json(static_cast<std::int64_t>(moe_.balancing)));
    fields.emplace_back("moe.bias_update_rate", io::Json(static_cast<double>(moe_.bias_update_rate)));
    fields.emplace_back("moe.aux_loss_coef", io::Json(static_cast<double>(moe_.aux_loss_coef)));
    fields.emplace_back("moe.z_loss_coef", io::Json(static_cast<double>(moe_.z_loss_coef)));
    // Named only for mixed precision, so that float runs keep the trajectory they always had.
    if constexpr (std::is_same_v<nn::storage_t<Spec>, bfloat16>) fields.emplace_back("storage", io::Json("bfloat16"));
    return fields;
  }

 private:
  /// Compares the checkpoint's trajectory with this run's: refuses a difference, naming each,
  /// unless allow_resume_with_changes.
  void check_trajectory(const std::string& file, const io::Json& saved) const {
    std::string differences;
    const auto ours = trajectory();
    for (const auto& [name, value] : ours) {
      const io::Json* before = saved.find(name);
      const std::string was = before != nullptr ? before->dump() : "(absent)";
      if (was != value.dump()) differences += "\n  " + name + ": " + was + " in the checkpoint, " + value.dump() + " in this run";
    }
    for (const auto& [name, value] : saved.object("trajectory")) {
      const bool known = std::any_of(ours.begin(), ours.end(), [&](const auto& field) { return field.first == name; });
      if (!known) differences += "\n  " + name + ": " + value.dump() + " in the checkpoint, (absent) in this run";
    }
    if (differences.empty()) return;
    RLMOE_CHECK(config().allow_resume_with_changes, ConfigError, "GrpoTrainer: the checkpoint '", file,
                "' was written by a run configured otherwise:", differences,
                "\n(set allow_resume_with_changes to resume anyway)");
    std::fprintf(stderr, "GrpoTrainer: resuming '%s' with changes (allow_resume_with_changes):%s\n", file.c_str(),
                 differences.c_str());
  }

  /// Evaluates into m's eval_accuracy and pass_at_k, and `accuracy`.
  void record_evaluation(StepMetrics& m, double& accuracy) {
    const Evaluation e = evaluate();
    m.eval_accuracy = accuracy = e.accuracy;
    m.pass_at_k = e.pass_at_k;
  }

  /// After resuming: drops the lines a stopped run logged past its checkpoint (they will be
  /// logged again) and keeps the RL steps before it for the learning curves.
  void rewind_log() {
    for (const StepMetrics& m : io::rewind_metrics_log(path("metrics.jsonl"), [&](const StepMetrics& m) {
           return m.phase == "rl_start" || (m.phase == "cold_start" && m.step < cold_start_done_) || (m.phase == "rl" && m.step < step_);
         }))
      if (m.phase == "rl") history_.push_back(m);
  }

  std::string path(const std::string& name) const { return (std::filesystem::path(config().output_dir) / name).string(); }

  B backend_;
  nn::MoeTraining moe_;
  Comm comm_;
  Step grpo_;
  ColdStart<B, Spec, TaskT, Comm> cold_start_;
  Evaluator<B, Spec, TaskT, Comm> evaluator_;
  Policy policy_;
  std::unique_ptr<Policy> reference_;
  Optimizer optimizer_;
  index_t step_ = 0, cold_start_done_ = 0;
  RunSummary summary_;
  std::vector<StepMetrics> history_;
};

}  // namespace rlmoe::rl
