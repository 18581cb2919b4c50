#pragma once
// Checks of the sampler and the GRPO trainer, written once over the backend: token choice, the
// recorded rollouts against the policy's own scoring, one trainer step, determinism, a one-token
// task that must be learned, resuming, and refused configurations.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <omp.h>

#include "rlmoe/rl/grm/rejective_fine_tuning.hpp"
#include "rlmoe/rl/grpo_trainer.hpp"
#include "rlmoe/rl/tasks/reverse.hpp"
#include "rlmoe/rlmoe.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test {

using rl::tasks::DigitVocabulary;

/// Two layers of width 32, the second MoE (4 experts, top-2, one shared).
struct TrainerSpec {
  static constexpr index_t kVocab = DigitVocabulary::kSize, kModelDim = 32, kLayers = 2, kHeads = 2, kMaxLength = 16;
  static constexpr index_t kDenseHidden = 64, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 4, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr moe::ScoreFunction kScoreFunction = moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// One token to answer: the digit of the prompt "d =".
struct CopyDigit {
  static constexpr std::string_view kName = "copy-digit";
  using Vocabulary = DigitVocabulary;
  rl::tasks::Problem problem(std::uint64_t seed, index_t index) const {
    const auto d = static_cast<rl::token_t>(rl::tasks::problem_integer(seed, index, 0, 0, 9));
    return {{d, DigitVocabulary::kEquals}, {d}};
  }
  std::vector<rl::token_t> demonstration(const rl::tasks::Problem& p) const { return p.reference; }
  rl::ExactMatch reward() const { return rl::ExactMatch{}; }
  rl::ExactMatch accuracy() const { return rl::ExactMatch{}; }
  index_t max_prompt_length() const { return 2; }
  index_t max_completion_length() const { return 1; }
};
static_assert(rl::tasks::Task<CopyDigit>);

/// Rewards the value of the first generated token: every group has spread rewards, so that a
/// single step certainly has a learning signal.
struct TokenValueReward {
  RLMOE_HOST_DEVICE float operator()(const rl::Sample& s) const {
    return s.completion.empty() ? 0.0f : static_cast<float>(s.completion[0]) / static_cast<float>(DigitVocabulary::kSize);
  }
};
struct HighTokens : CopyDigit {
  static constexpr std::string_view kName = "high-tokens";
  TokenValueReward reward() const { return {}; }
};
static_assert(rl::tasks::Task<HighTokens>);

inline rl::GrpoConfig small_config() {
  rl::GrpoConfig c;
  c.seed = 5;
  c.steps = 4;
  c.prompts_per_step = 4;
  c.group_size = 4;
  c.eval_prompts = 16;
  c.eval_every = 0;
  c.pass_at_k = 2;
  c.progress = false;
  c.warmup_steps = 0;
  return c;
}

/// Metrics without the wall-clock ones, for comparisons between runs.
inline std::string comparable(const rl::StepMetrics& m) {
  rl::StepMetrics copy = m;
  copy.tokens_per_s = copy.step_time_s = NAN;
  return copy.to_json().dump();
}

// ---------------------------------------------------------------------------------------------
// token choice

inline void check_choose_token() {
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 1.9f, 0.0f};
  const VectorView<const float> row(logits.data(), Extents<1>{5});
  rl::SamplingConfig greedy{0.0f, 0, 1.0f, 0.0f, 4};
  BOOST_TEST(rl::choose_token(row, greedy, 0.3f) == 1);
  rl::SamplingConfig top1{1.0f, 1, 1.0f, 0.0f, 4};
  for (float u : {0.01f, 0.5f, 1.0f}) BOOST_TEST(rl::choose_token(row, top1, u) == 1, "top-1 is greedy, u " << u);
  // Top-2 keeps tokens 1 and 3 only.
  rl::SamplingConfig top2{1.0f, 2, 1.0f, 0.0f, 4};
  int counts[5] = {};
  RandomStream stream(1, 2);
  for (int i = 0; i < 20000; ++i) ++counts[rl::choose_token(row, top2, stream.uniform())];
  BOOST_TEST(counts[0] + counts[2] + counts[4] == 0);
  const double p1 = std::exp(2.0) / (std::exp(2.0) + std::exp(1.9));
  BOOST_TEST(std::abs(counts[1] / 20000.0 - p1) < 0.015);
  // min-p 0.5 keeps tokens whose probability is at least half the largest: 1 and 3.
  rl::SamplingConfig min_p{1.0f, 0, 1.0f, 0.5f, 4};
  for (int i = 0; i < 1000; ++i) {
    const index_t t = rl::choose_token(row, min_p, stream.uniform());
    BOOST_TEST_REQUIRE((t == 1 || t == 3));
  }
  // Nucleus 0.5: token 1 alone holds 37% of the mass, with token 3 72%: both are kept, no more.
  rl::SamplingConfig nucleus{1.0f, 0, 0.5f, 0.0f, 4};
  for (int i = 0; i < 1000; ++i) {
    const index_t t = rl::choose_token(row, nucleus, stream.uniform());
    BOOST_TEST_REQUIRE((t == 1 || t == 3));
  }
  // Plain sampling matches the softmax.
  rl::SamplingConfig plain{1.0f, 0, 1.0f, 0.0f, 4};
  int all[5] = {};
  const int draws = 50000;
  for (int i = 0; i < draws; ++i) ++all[rl::choose_token(row, plain, stream.uniform())];
  double z = 0.0;
  for (float l : logits) z += std::exp(l);
  for (int v = 0; v < 5; ++v) {
    const double p = std::exp(logits[v]) / z;
    BOOST_TEST(std::abs(all[v] / static_cast<double>(draws) - p) < 5.0 * std::sqrt(p * (1 - p) / draws), "token " << v);
  }
  BOOST_TEST(throws_with<ConfigError>([] { rl::SamplingConfig{1.0f, 0, 1.5f, 0.0f, 4}.validate(); }, {"top_p is 1.5"}));
}

// ---------------------------------------------------------------------------------------------
// sampler

/// The sampler's recorded log-probabilities are what the policy's training forward pass gives,
/// with the sampling routing replayed; completions end at their end-of-sequence token.
template <class B>
void check_sampler_records(const B& backend) {
  nn::Transformer<B, TrainerSpec> policy(backend);
  policy.initialize(7);
  const rl::tasks::ReverseDigits task{2, 4};
  const index_t prompts = 6, group = 5, width = task.max_completion_length();
  rl::RolloutBuffers<B> rollout(backend, prompts, group, task.max_prompt_length(), width, width, 1, TrainerSpec::kTopK);
  rl::GroupSampler<B, TrainerSpec> sampler(backend, {1.0f, 0, 1.0f, 0.0f, width},
                                           rl::tasks::special_tokens<rl::tasks::ReverseDigits>());
  std::vector<rl::tasks::Problem> problems;
  for (index_t i = 0; i < prompts; ++i) problems.push_back(task.problem(1, i));
  sampler.sample(policy, problems, rollout, 11, 0);
  const index_t n = prompts * group;
  Buffer<float, B> logp(backend, n * width);
  policy.forward(rollout.sequence_batch(0, n), logp.view(n, width), {}, rollout.routing(0, n), false);
  const auto scored = to_host(backend, logp.view()), recorded = to_host(backend, rollout.old_logp());
  const auto mask = to_host(backend, rollout.mask());
  const auto tokens = to_host(backend, rollout.completion_tokens());
  const auto lengths = to_host(backend, rollout.completion_lengths());
  const auto sequences = to_host(backend, rollout.sequences());
  std::vector<double> a, b;
  for (index_t i = 0; i < n; ++i) {
    const rl::tasks::Problem& p = problems[static_cast<std::size_t>(i / group)];
    for (index_t t = 0; t < width; ++t) {
      const bool active = t < lengths[i];
      BOOST_TEST_REQUIRE(mask[i * width + t] == (active ? 1 : 0));
      if (active) {
        a.push_back(scored[i * width + t]);
        b.push_back(recorded[i * width + t]);
        // The training layout holds the prompt then the completion.
        BOOST_TEST_REQUIRE(sequences[i * (task.max_prompt_length() + width) + static_cast<index_t>(p.prompt.size()) + t] ==
                           tokens[i * width + t]);
        // Nothing follows an end-of-sequence token.
        if (tokens[i * width + t] == DigitVocabulary::kEos) BOOST_TEST_REQUIRE(t + 1 == lengths[i]);
      }
    }
    if (lengths[i] < width) BOOST_TEST_REQUIRE(tokens[i * width + lengths[i] - 1] == DigitVocabulary::kEos);
  }
  BOOST_TEST(a.size() > 30u);
  BOOST_TEST(relative_error(a, b) < 1e-5, "training forward vs sampling log-probs, relative error " << relative_error(a, b));
  // Same seed and round: the same completions.
  rl::RolloutBuffers<B> again(backend, prompts, group, task.max_prompt_length(), width, width, 1, TrainerSpec::kTopK);
  sampler.sample(policy, problems, again, 11, 0);
  check_equal(to_host(backend, again.completion_tokens()), tokens, "resampling with the same seed");
}

// ---------------------------------------------------------------------------------------------
// trainer

template <class B>
void check_trainer_step(const B& backend) {
  rl::GrpoConfig c = small_config();
  c.track_reference_kl = true;
  rl::GrpoTrainer<B, TrainerSpec, HighTokens> trainer(backend, HighTokens{}, c);
  trainer.initialize();
  const auto before = to_host(backend, trainer.policy().parameters());
  const rl::StepMetrics m = trainer.step();
  const auto after = to_host(backend, trainer.policy().parameters());
  BOOST_TEST(m.phase == "rl");
  BOOST_TEST(m.step == 0);
  for (double v : {m.reward_mean, m.reward_std, m.accuracy, m.kl, m.loss, m.entropy, m.clip_frac, m.completion_len_mean,
                   m.expert_load_max_over_mean, m.grad_norm, m.learning_rate, m.tokens_per_s, m.step_time_s})
    BOOST_TEST(std::isfinite(v));
  BOOST_TEST((m.reward_mean >= 0.0 && m.reward_mean <= 1.0));
  BOOST_TEST(m.completion_len_mean == 1.0);
  BOOST_TEST(m.zero_variance_groups == 0.0);
  BOOST_TEST(m.kl == 0.0, "the first step's policy is the reference");
  BOOST_TEST(m.entropy > 0.0);
  BOOST_TEST((after != before), "the step must change the parameters");
  BOOST_TEST(trainer.steps_done() == 1);
  const rl::StepMetrics cold = trainer.cold_start_step();
  BOOST_TEST(cold.phase == "cold_start");
  BOOST_TEST(std::isfinite(cold.loss));

  // A loop of one's own: cold-start steps, then GRPO. The first GRPO step's reference is the
  // policy after the cold start (not the initial one), so its KL is zero.
  rl::GrpoTrainer<B, TrainerSpec, HighTokens> own(backend, HighTokens{}, c);
  own.initialize();
  for (int s = 0; s < 3; ++s) (void)own.cold_start_step();
  BOOST_TEST(own.step().kl == 0.0, "the first GRPO step's reference is the policy after its cold start");
  BOOST_TEST(own.step().kl > 0.0, "later steps move away from it");
}

template <class B>
void check_trainer_determinism(const B& backend) {
  const auto run = [&] {
    rl::GrpoConfig c = small_config();
    c.dynamic_sampling = true;
    c.updates_per_batch = 2;
    c.minibatches = 2;
    rl::GrpoTrainer<B, TrainerSpec, rl::tasks::ReverseDigits> trainer(backend, rl::tasks::ReverseDigits{2, 3}, c);
    trainer.initialize();
    std::vector<std::string> metrics;
    metrics.push_back(comparable(trainer.cold_start_step()));
    for (int i = 0; i < 3; ++i) metrics.push_back(comparable(trainer.step()));
    return std::pair{metrics, to_host(backend, trainer.policy().parameters())};
  };
  const auto [first_metrics, first_params] = run();
  const auto [second_metrics, second_params] = run();
  BOOST_TEST(first_metrics == second_metrics);
  check_equal(second_params, first_params, "parameters after identical runs");
}

/// On the Host backend the bits do not depend on the thread count (OpenMP's or the backend's).
inline void check_trainer_thread_independence() {
  const auto run = [](int threads) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    rl::GrpoConfig c = small_config();
    c.prompts_per_step = 8;
    c.minibatches = 2;
    rl::GrpoTrainer<Host, TrainerSpec, rl::tasks::ReverseDigits> trainer(Host{threads}, rl::tasks::ReverseDigits{2, 3}, c);
    trainer.initialize();
    (void)trainer.cold_start_step();
    for (int i = 0; i < 3; ++i) (void)trainer.step();
    omp_set_num_threads(saved);
    return to_host(Host{}, trainer.policy().parameters());
  };
  const auto one = run(1);
  check_equal(run(2), one, "parameters after a cold-start step and 3 GRPO steps, 2 threads vs 1");
  check_equal(run(3), one, "3 threads vs 1");
}

/// The one-token task: held-out greedy accuracy above 0.9 within kOneTokenSteps GRPO steps.
inline constexpr int kOneTokenSteps = 60;

template <class B>
void check_one_token_task(const B& backend) {
  rl::GrpoConfig c = small_config();
  c.steps = kOneTokenSteps;
  c.prompts_per_step = 16;
  c.group_size = 8;
  c.learning_rate = 3e-3;
  c.eval_prompts = 100;
  rl::GrpoTrainer<B, TrainerSpec, CopyDigit> trainer(backend, CopyDigit{}, c);
  trainer.initialize();
  int reached = -1;
  for (int step = 0; step < kOneTokenSteps; ++step) {
    const rl::StepMetrics m = trainer.step();
    if (m.reward_mean > 0.9 && reached < 0) reached = step;
  }
  const double accuracy = trainer.evaluate().accuracy;
  BOOST_TEST_MESSAGE("one-token task: training reward above 0.9 at step " << reached << ", held-out accuracy " << accuracy);
  BOOST_TEST(reached >= 0, "the training reward never exceeded 0.9 in " << kOneTokenSteps << " steps");
  BOOST_TEST(accuracy > 0.9);
}

template <class B>
void check_resume(const B& backend) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rlmoe-resume-" + std::to_string(::getpid()) + std::string(B::kName));
  fs::remove_all(dir);
  const auto trainer_for = [&](const std::string& out) {
    rl::GrpoConfig c = small_config();
    c.steps = 6;
    c.cold_start_steps = 2;
    c.eval_every = 2;
    c.output_dir = (dir / out).string();
    c.track_reference_kl = true;
    return rl::GrpoTrainer<B, TrainerSpec, rl::tasks::ReverseDigits>(backend, rl::tasks::ReverseDigits{2, 3}, c);
  };
  auto straight = trainer_for("straight");
  straight.initialize();
  const rl::RunSummary finished = straight.run();
  auto interrupted = trainer_for("resumed");
  interrupted.initialize();
  interrupted.run({}, 3);
  auto resumed = trainer_for("resumed");
  resumed.run((dir / "resumed" / "checkpoint.safetensors").string());
  const auto lines = [](const fs::path& file) {
    std::vector<std::string> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      io::Json record = io::Json::parse(line);
      io::Json::Object kept;
      for (const auto& [key, value] : record.object("line"))
        if (key != "tokens_per_s" && key != "step_time_s") kept.emplace_back(key, value);
      out.push_back(io::Json(kept).dump());
    }
    return out;
  };
  const auto a = lines(dir / "straight" / "metrics.jsonl"), b = lines(dir / "resumed" / "metrics.jsonl");
  BOOST_TEST(a.size() == 9u);  // 2 cold start, the RL start evaluation, 6 RL steps
  BOOST_TEST(a == b, "metrics of the resumed run differ from the uninterrupted one");
  check_equal(to_host(backend, resumed.policy().parameters()), to_host(backend, straight.policy().parameters()),
              "parameters after resuming");
  BOOST_TEST(fs::exists(dir / "straight" / "curves.png"));
  // Resuming a finished run trains no more and reports what the run ended with.
  auto again = trainer_for("straight");
  const rl::RunSummary rerun = again.run((dir / "straight" / "checkpoint.safetensors").string());
  BOOST_TEST(rerun.steps == 6);
  BOOST_TEST(std::isfinite(finished.final_accuracy));
  BOOST_TEST(rerun.final_accuracy == finished.final_accuracy);
  BOOST_TEST(rerun.final_pass_at_k == finished.final_pass_at_k);
  BOOST_TEST(rerun.rl_start_accuracy == finished.rl_start_accuracy);
  BOOST_TEST(lines(dir / "straight" / "metrics.jsonl") == a, "resuming a finished run changed its metrics");
  check_equal(to_host(backend, again.policy().parameters()), to_host(backend, straight.policy().parameters()),
              "parameters after resuming a finished run");
  // A directory is not a checkpoint.
  BOOST_TEST(throws_with<IoError>([&] { trainer_for("other").run(dir.string()); }, {dir.string(), "is a directory"}));
  fs::remove_all(dir);
}

/// Resuming refuses, leaving the trainer untouched, a checkpoint of another seed or another
/// configuration (unless allowed), and survives a torn last metrics line; a learning rate that
/// overflows the parameters stops the run.
template <class B>
void check_resume_refusals(const B& backend) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rlmoe-refusals-" + std::to_string(::getpid()) + std::string(B::kName));
  fs::remove_all(dir);
  rl::GrpoConfig c = small_config();
  c.steps = 3;
  c.output_dir = (dir / "run").string();
  c.track_reference_kl = true;
  using Trainer = rl::GrpoTrainer<B, TrainerSpec, rl::tasks::ReverseDigits>;
  Trainer first(backend, rl::tasks::ReverseDigits{2, 3}, c);
  first.initialize();
  first.run({}, 2);
  const std::string checkpoint = (dir / "run" / "checkpoint.safetensors").string();
  const auto untouched = [&](rl::GrpoConfig other, std::initializer_list<std::string_view> why) {
    Trainer t(backend, rl::tasks::ReverseDigits{2, 3}, other);
    t.initialize();
    const auto before = to_host(backend, t.policy().parameters());
    const bool refused = throws_with<ConfigError>([&] { t.load(checkpoint); }, why);
    check_equal(to_host(backend, t.policy().parameters()), before, "parameters after a refused checkpoint");
    return refused && t.steps_done() == 0;
  };
  rl::GrpoConfig other_seed = c;
  other_seed.seed = 6;
  BOOST_TEST(untouched(other_seed, {"written with seed 5", "this run's seed is 6"}));
  rl::GrpoConfig faster = c;
  faster.learning_rate = 10 * c.learning_rate;
  BOOST_TEST(untouched(faster, {"configured otherwise", "learning_rate: 0.001 in the checkpoint, 0.01 in this run"}));
  rl::GrpoConfig larger = c;
  larger.group_size = 8;
  BOOST_TEST(untouched(larger, {"group_size: 4 in the checkpoint, 8 in this run"}));
  // Allowed, and the evaluation settings may change freely.
  faster.allow_resume_with_changes = true;
  faster.eval_prompts = 8;
  Trainer allowed(backend, rl::tasks::ReverseDigits{2, 3}, faster);
  allowed.load(checkpoint);
  BOOST_TEST(allowed.steps_done() == 2);
  rl::GrpoConfig quieter = c;
  quieter.eval_prompts = 8;
  quieter.checkpoint_every = 1;
  Trainer same(backend, rl::tasks::ReverseDigits{2, 3}, quieter);
  same.load(checkpoint);
  // A torn last line in metrics.jsonl (a run killed while writing it) is dropped on resume.
  {
    std::ofstream log(dir / "run" / "metrics.jsonl", std::ios::app);
    log << "{\"step\":2,\"phase\":\"rl\",\"rew";
  }
  Trainer resumed(backend, rl::tasks::ReverseDigits{2, 3}, c);
  const rl::RunSummary s = resumed.run(checkpoint);
  BOOST_TEST(s.steps == 3);
  std::ifstream log(dir / "run" / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) (void)io::Json::parse(line);
  BOOST_TEST(lines == 4);  // the RL start and three steps
  // A learning rate that sends the parameters to infinity stops the run at that step.
  rl::GrpoConfig explosive = small_config();
  explosive.learning_rate = 1e39;
  explosive.min_learning_rate = 0.0;
  rl::GrpoTrainer<B, TrainerSpec, HighTokens> exploding(backend, HighTokens{}, explosive);
  exploding.initialize();
  BOOST_TEST(throws_with<NumericError>([&] { (void)exploding.step(); }, {"NaN or infinite", "learning rate 1e+39"}));
  fs::remove_all(dir);
}

template <class B>
void check_trainer_refusals(const B& backend) {
  const auto refused = [&](auto edit, std::initializer_list<std::string_view> parts) {
    rl::GrpoConfig c = small_config();
    edit(c);
    return throws_with<ConfigError>(
        [&] { rl::GrpoTrainer<B, TrainerSpec, rl::tasks::ReverseDigits> t(backend, rl::tasks::ReverseDigits{2, 3}, c); }, parts);
  };
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.group_size = 1; }, {"group_size is 1"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.minibatches = 3; }, {"minibatches (3)", "prompts_per_step (4)"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.learning_rate = 0.0; }, {"learning_rate"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.sampling.top_p = 0.0f; }, {"top_p is 0"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.adam.beta2 = 1.0; }, {"beta2 is 1"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.adam.weight_decay = INFINITY; }, {"weight_decay is inf", "finite"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.learning_rate = INFINITY; }, {"learning_rate (inf)", "finite"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.cold_start_learning_rate = NAN; }, {"cold_start_learning_rate (nan)"}));
  BOOST_TEST(refused([](rl::GrpoConfig& c) { c.sampling.max_new_tokens = 20; }, {"exceed", "kMaxLength = 16"}));
  rl::ClippedSurrogate<> loss;
  loss.epsilon_low = 2.0f;
  BOOST_TEST(throws_with<ConfigError>(
      [&] {
        rl::GrpoTrainer<B, TrainerSpec, rl::tasks::ReverseDigits> t(backend, rl::tasks::ReverseDigits{2, 3}, small_config(), loss);
      },
      {"epsilon_low is 2"}));
}

/// Rejective fine-tuning: the filter on a hand-worked case, then steps on CopyDigit (a judgment is
/// correct when it copies the digit): every step's counts add up, nothing is trained on when nothing
/// is kept, and sampling-then-keeping-the-correct raises the greedy accuracy from chance.
template <class B>
void check_rejective_fine_tuning(const B& backend) {
  // Four examples of three judgments: all correct (too easy), two of three, none, one.
  rl::grm::RftStepResult counted;
  const auto kept = rl::grm::kept_judgments({1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0}, 3, counted);
  check_equal(kept, std::vector<index_t>{3, 5, 10}, "kept judgments");
  BOOST_TEST((counted.correct == 6 && counted.too_easy == 1 && counted.none_correct == 1));

  rl::GrpoConfig c = small_config();
  rl::grm::RftConfig rft;
  rft.examples_per_step = 32;
  rft.samples = 4;
  rft.learning_rate = 3e-3;
  rl::GrpoTrainer<B, TrainerSpec, CopyDigit> trainer(backend, CopyDigit{}, c);
  trainer.initialize();
  rl::grm::RejectiveFineTuning<B, TrainerSpec, CopyDigit> step(backend, CopyDigit{}, c, rft);
  const double before = trainer.evaluate().accuracy;
  double last = 0.0;
  for (index_t s = 0; s < 40; ++s) {
    const auto params = to_host(backend, std::as_const(trainer.policy()).parameters());
    const rl::grm::RftStepResult r = step(trainer.policy(), trainer.optimizer(), s);
    BOOST_TEST_REQUIRE((r.examples == 32 && r.judgments == 128));
    BOOST_TEST(r.kept == r.correct - 4 * r.too_easy, "step " << s);
    BOOST_TEST(std::isfinite(r.loss) == (r.kept > 0));
    if (r.kept == 0) check_equal(to_host(backend, std::as_const(trainer.policy()).parameters()), params, "no update without kept judgments");
    last = r.accuracy();
  }
  const double after = trainer.evaluate().accuracy;
  BOOST_TEST_MESSAGE("rejective fine-tuning on copy-digit: greedy accuracy " << before << " -> " << after << ", last sampled " << last);
  BOOST_TEST(after > before + 0.5, "greedy accuracy " << before << " -> " << after);
  rft.hinted = true;
  BOOST_TEST(throws_with<ConfigError>([&] { rl::grm::RejectiveFineTuning<B, TrainerSpec, CopyDigit>(backend, CopyDigit{}, c, rft); },
                                      {"hinted", "copy-digit", "hinted_prompt"}));
  rft.hinted = false;
  rft.samples = 0;
  BOOST_TEST(throws_with<ConfigError>([&] { rl::grm::RejectiveFineTuning<B, TrainerSpec, CopyDigit>(backend, CopyDigit{}, c, rft); },
                                      {"RftConfig: samples is 0"}));
}

}  // namespace rlmoe::test
