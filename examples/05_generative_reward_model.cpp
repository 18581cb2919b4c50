// 05_generative_reward_model: DeepSeek-GRM's recipe (Self-Principled Critique Tuning, arXiv
// 2504.02495) end to end at toy scale, then the GRM as the reward of another policy.
//
//  1. A generative reward model learns to judge n = 4 candidate sums of an addition problem: it
//     states a principle, one quick check of the sum (its last digit, casting out nines, its tens
//     digit), works the check out for the sum and each candidate in a critique, and scores each
//     candidate 10 (passed) or 1 (failed) (rl/grm/arithmetic_judging.hpp, Critique::check). No
//     check catches every wrong candidate, so one judgment is often wrong where several with
//     different checks are right: room for voting. Cold start on ideal judgments (each with a
//     check drawn per prompt), then rejective fine-tuning (keep its own correct judgments), then
//     GRPO with the rule reward (+1 correct, -1 not; KL 0.08), which teaches it which check to
//     state for which problem.
//  2. A meta RM (a copy of the GRM that rates a judgment by its likelihood plus a yes/no verdict)
//     learns by binary cross-entropy which of the GRM's judgments are correct.
//  3. Inference-time scaling on held-out examples: greedy, voting@k and meta-RM voting@k for
//     k = 1 .. 32, printed and drawn (scaling.png).
//  4. Two policies learn 1-digit addition by GRPO from the same start, one rewarded by exact match,
//     one by the GRM (GrmReward: each group of 4 answers is judged as one request).
//
// --size full (the default) checks the figures docs/benchmarks.md reports; --size small runs every
// stage briefly (CI) and checks nothing but that they ran.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "available_backend.hpp"
#include "command_line.hpp"
#include "rlmoe/rlmoe.hpp"

namespace {

using rlmoe::index_t;
namespace rl = rlmoe::rl;
namespace grm = rlmoe::rl::grm;

/// The judge: a 2-layer MoE transformer over the judging vocabulary, long enough for a prompt and
/// its judgment.
struct JudgeSpec {
  static constexpr index_t kVocab = grm::JudgingVocabulary::kSize;
  static constexpr index_t kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 68;
  static constexpr index_t kDenseHidden = 128, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 8, kTopK = 2, kExpertHidden = 64, kSharedExperts = 1;
  static constexpr index_t kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// The policy of stage 4: the same shape over the addition task's vocabulary.
struct PolicySpec : JudgeSpec {
  static constexpr index_t kVocab = rl::tasks::DigitVocabulary::kSize;
  static constexpr index_t kMaxLength = 24;
};

struct Sizes {
  index_t cold_start, rft_steps, grpo_steps;        // the GRM's three stages
  index_t eval_examples;                             // held-out judging examples
  std::vector<index_t> ks;                           // judgments voted over
  index_t meta_examples, meta_judgments, meta_steps, meta_batch;
  index_t policy_cold_start, policy_steps, policy_judgments;
};
const Sizes kFull{1600, 40, 150, 200, {1, 2, 4, 8, 16, 32}, 1024, 8, 400, 64, 20, 100, 4};
const Sizes kSmall{20, 2, 2, 12, {1, 2, 4}, 8, 2, 2, 8, 2, 2, 1};

struct Options {
  bool small = false, quiet = false, check = true;
  unsigned long long seed = 1;
  std::string out = "runs/grm";
};

constexpr const char* kUsage =
    "usage: 05_generative_reward_model [--size full|small] [--seed S] [--out DIR] [--quiet] [--no-check]\n"
    "  --size      full (default; about 3 minutes on two CPU cores) or small (every stage briefly)\n"
    "  --seed      initialisation, problems and sampling, >= 0 (default 1)\n"
    "  --out       where scaling.png goes (default runs/grm)\n"
    "  --quiet     no progress lines\n"
    "  --no-check  do not check the figures\n";

Options parse(int argc, char** argv) {
  Options o;
  examples::CommandLine line(argc, argv, kUsage);
  for (std::string_view flag; line.next(flag);) {
    if (flag == "--size") {
      const std::string size = line.text(flag);
      if (size != "full" && size != "small") line.refuse(flag, size, "full or small");
      o.small = size == "small";
    } else if (flag == "--seed") {
      o.seed = static_cast<unsigned long long>(line.integer(flag, 0));
    } else if (flag == "--out") {
      o.out = line.text(flag);
    } else if (flag == "--quiet") {
      o.quiet = true;
    } else if (flag == "--no-check") {
      o.check = false;
    } else {
      line.unknown(flag);
    }
  }
  return o;
}

/// Held-out examples come from their own seed, which no training stage draws from.
constexpr std::uint64_t kHeldOutSeed = 0xE7A1ull, kMetaSeed = 0x3E7Aull;

rl::GrpoConfig grm_config(const Options& o, const Sizes& s) {
  rl::GrpoConfig c;
  c.seed = o.seed;
  c.steps = s.grpo_steps;
  c.prompts_per_step = 16;
  c.group_size = 4;  // the paper's G
  c.learning_rate = 1e-3;
  c.min_learning_rate = 1e-4;
  c.warmup_steps = 5;
  c.cold_start_steps = s.cold_start;
  c.cold_start_batch = 32;
  c.cold_start_learning_rate = 3e-3;
  c.eval_prompts = s.eval_examples;
  c.pass_at_k = 0;
  c.progress = false;
  return c;
}

/// A line every `every` steps of a long stage, unless quiet.
void report(const Options& o, const char* stage, index_t step, index_t steps, const std::string& what) {
  const index_t every = steps >= 50 ? steps / 5 : steps;
  if (!o.quiet && ((step + 1) % every == 0 || step + 1 == steps))
    std::printf("  %s %4lld/%lld  %s\n", stage, static_cast<long long>(step + 1), static_cast<long long>(steps), what.c_str());
}

std::string number(const char* name, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s %.3f", name, v);
  return buffer;
}

/// The meta RM's training set: k judgments of each of `examples` training problems by the GRM,
/// labelled by Eq. 10, as rows of the shown prompt and the judgment.
template <rlmoe::Backend B>
void meta_training_set(const B& backend, grm::Judge<B, JudgeSpec>& judge, rlmoe::nn::Transformer<B, JudgeSpec>& model,
                       const grm::ArithmeticJudging& task, const Sizes& s, std::uint64_t seed,
                       std::vector<grm::JudgmentRow>& rows, std::vector<float>& labels) {
  std::vector<grm::JudgingRequest> requests;
  std::vector<grm::JudgmentTruth> truth;
  for (index_t e = 0; e < s.meta_examples; ++e) {
    const rl::tasks::Problem p = task.problem(seed, e);
    requests.push_back(task.request(p));
    truth.push_back(grm::problem_truth(p));
  }
  judge(model, requests, s.meta_judgments, seed, 0);
  rows = grm::judgment_rows(backend, judge.judgments());
  const std::vector<std::int32_t> scores = rlmoe::to_host(backend, judge.scores().flatten());
  const std::vector<std::uint8_t> valid = rlmoe::to_host(backend, judge.valid().flatten());
  const index_t n = task.responses;
  labels.clear();
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const grm::JudgmentScores judged = grm::judgment_scores(scores.data() + i * static_cast<std::size_t>(n), n, valid[i] != 0);
    labels.push_back(grm::judgment_is_correct(judged, truth[i / static_cast<std::size_t>(s.meta_judgments)]) ? 1.0f : 0.0f);
  }
}

/// Stage 4: a policy trained on 1-digit addition by GRPO with `task`'s reward; its held-out accuracy.
template <rlmoe::Backend B, class Task>
double train_policy(const B& backend, const Task& task, index_t group, const Options& o, const Sizes& s, const char* name) {
  rl::GrpoConfig c;
  c.seed = o.seed;
  c.steps = s.policy_steps;
  c.prompts_per_step = 16;
  c.group_size = group;  // the GRM judges a group's answers together
  c.cold_start_steps = s.policy_cold_start;
  c.cold_start_batch = 32;
  c.warmup_steps = 5;
  c.learning_rate = 5e-4;
  c.eval_prompts = 200;
  c.pass_at_k = 0;
  c.progress = false;
  rl::ClippedSurrogate<rl::K3, rl::TokenMean> loss;
  loss.beta = 0.04f;  // a KL term keeps both policies near their start while the rewards disagree
  rl::GrpoTrainer<B, PolicySpec, Task> trainer(backend, task, c, loss);
  trainer.initialize();
  for (index_t i = 0; i < c.cold_start_steps; ++i) trainer.cold_start_step();
  const double start = trainer.evaluate().accuracy;
  for (index_t i = 0; i < c.steps; ++i) {
    const rl::StepMetrics m = trainer.step();
    report(o, name, i, c.steps, number("reward", m.reward_mean) + "  " + number("accuracy", m.accuracy));
  }
  const double end = trainer.evaluate().accuracy;
  std::printf("  policy rewarded by %s: held-out accuracy %.3f after the cold start, %.3f after %lld GRPO steps\n", name, start, end,
              static_cast<long long>(c.steps));
  return end;
}

template <rlmoe::Backend B>
int run(const B& backend, const Options& o) {
  const Sizes& s = o.small ? kSmall : kFull;
  // n = 4 candidates of 1-digit sums, one right; as in a policy's group of answers, half of the
  // examples with the right one repeated, half with a wrong one repeated. Judged by quick checks
  // (a check cannot find a nearest miss, so every example has a right candidate).
  grm::ArithmeticJudging task{4, 1, 0.0, 0.5, 0.5};
  task.critique = grm::ArithmeticJudging::Critique::check;
  const rl::GrpoConfig c = grm_config(o, s);
  rl::ClippedSurrogate<rl::K3, rl::TokenMean> loss;
  loss.beta = 0.08f;  // the paper's KL coefficient
  rl::GrpoTrainer<B, JudgeSpec, grm::ArithmeticJudging> trainer(backend, task, c, loss);
  trainer.initialize();
  rl::SamplingConfig voting_sampling;
  voting_sampling.temperature = 0.7f;
  grm::VotingEvaluator<B, JudgeSpec, grm::ArithmeticJudging> evaluator(backend, task, s.eval_examples, kHeldOutSeed, voting_sampling,
                                                                      s.ks);
  const double chance = 1.0 / static_cast<double>(task.responses);
  std::printf("1. the GRM (judging %lld candidates; chance %.3f): cold start, rejective fine-tuning, rule-based GRPO\n",
              static_cast<long long>(task.responses), chance);
  for (index_t i = 0; i < c.cold_start_steps; ++i) {
    const rl::StepMetrics m = trainer.cold_start_step();
    report(o, "cold start", i, c.cold_start_steps, number("loss", m.loss));
  }
  const double after_cold_start = evaluator.greedy(trainer.policy());
  grm::RftConfig rft;
  rft.examples_per_step = 32;
  rft.temperature = 0.7f;
  rft.learning_rate = 3e-4;  // 1e-3 undid much of the cold start (0.575 -> 0.41 held-out)
  grm::RejectiveFineTuning<B, JudgeSpec, grm::ArithmeticJudging> rejective(backend, task, c, rft);
  for (index_t i = 0; i < s.rft_steps; ++i) {
    const grm::RftStepResult r = rejective(trainer.policy(), trainer.optimizer(), i);
    report(o, "RFT", i, s.rft_steps, number("sampled accuracy", r.accuracy()) + "  kept " + std::to_string(r.kept));
  }
  const double after_rft = evaluator.greedy(trainer.policy());
  for (index_t i = 0; i < c.steps; ++i) {
    const rl::StepMetrics m = trainer.step();
    report(o, "GRPO", i, c.steps, number("reward", m.reward_mean) + "  " + number("kl", m.kl));
  }
  const double after_grpo = evaluator.greedy(trainer.policy());
  std::printf("  held-out greedy accuracy: %.3f after the cold start, %.3f after RFT, %.3f after GRPO\n", after_cold_start, after_rft,
              after_grpo);

  std::printf("2. the meta RM: %lld judgments of %lld training examples, %lld BCE steps\n",
              static_cast<long long>(s.meta_examples * s.meta_judgments), static_cast<long long>(s.meta_examples),
              static_cast<long long>(s.meta_steps));
  grm::MetaRm<B, JudgeSpec> meta(backend, grm::JudgingVocabulary::kRight, grm::JudgingVocabulary::kWrong, grm::JudgingVocabulary::kPad);
  meta.initialize_from(trainer.policy());
  std::vector<grm::JudgmentRow> rows;
  std::vector<float> labels;
  auto judge = grm::judge_for<B, JudgeSpec>(backend, task, voting_sampling);
  meta_training_set(backend, judge, trainer.policy(), task, s, o.seed + kMetaSeed, rows, labels);
  double correct = 0.0;
  for (float y : labels) correct += y;
  std::printf("  %.3f of them correct\n", correct / static_cast<double>(labels.size()));
  // Minibatches from a seeded shuffle of the judgments (consecutive ones judge the same example).
  std::vector<std::size_t> shuffled(rows.size());
  std::iota(shuffled.begin(), shuffled.end(), std::size_t{0});
  rlmoe::RandomStream stream(o.seed, kMetaSeed);
  for (std::size_t i = shuffled.size() - 1; i > 0; --i) std::swap(shuffled[i], shuffled[stream.next_u32() % (i + 1)]);
  for (index_t i = 0; i < s.meta_steps; ++i) {
    std::vector<grm::JudgmentRow> batch_rows;
    std::vector<float> batch_labels;
    for (index_t b = 0; b < s.meta_batch; ++b) {
      const std::size_t r = shuffled[static_cast<std::size_t>(i * s.meta_batch + b) % shuffled.size()];
      batch_rows.push_back(rows[r]);
      batch_labels.push_back(labels[r]);
    }
    const double l = meta.train_step(batch_rows, batch_labels, 3e-4);
    report(o, "meta RM", i, s.meta_steps, number("BCE", l));
  }

  std::printf("3. inference-time scaling on %lld held-out examples (temperature %.1f)\n", static_cast<long long>(s.eval_examples),
              voting_sampling.temperature);
  const grm::VotingCurve curve = evaluator(trainer.policy(), &meta);
  std::printf("  %-8s %-8s %-10s %s\n", "k", "greedy", "voting@k", "meta-RM voting@k");
  for (std::size_t i = 0; i < curve.k.size(); ++i)
    std::printf("  %-8lld %-8.3f %-10.3f %.3f\n", static_cast<long long>(curve.k[i]), curve.greedy, curve.voting[i], curve.meta_voting[i]);
  std::filesystem::create_directories(o.out);
  rlmoe::io::Series greedy{"greedy", 0x7F7F7F, {}, {}}, voting{"voting@k", 0x1F77B4, {}, {}}, meta_voting{"meta RM voting@k", 0xD62728, {}, {}};
  for (std::size_t i = 0; i < curve.k.size(); ++i) {
    const double x = std::log2(static_cast<double>(curve.k[i]));
    greedy.x.push_back(x), greedy.y.push_back(curve.greedy);
    voting.x.push_back(x), voting.y.push_back(curve.voting[i]);
    meta_voting.x.push_back(x), meta_voting.y.push_back(curve.meta_voting[i]);
  }
  rlmoe::io::PlotOptions plot;
  plot.title = "GRM accuracy (held-out) by judgments sampled";
  plot.x_label = "log2 k";
  // Accuracy up to 1, from a round 0.05 below the lowest point, so that no line lies on the frame.
  double lowest = curve.greedy;
  for (const rlmoe::io::Series* series : {&voting, &meta_voting})
    for (double y : series->y) lowest = std::min(lowest, y);
  plot.y_min = std::floor(20.0 * lowest - 1.0) / 20.0;
  plot.y_max = 1.0;
  rlmoe::io::write_png(o.out + "/scaling.png", rlmoe::io::plot({greedy, voting, meta_voting}, plot));
  std::printf("  wrote %s/scaling.png\n", o.out.c_str());

  std::printf("4. 1-digit addition by GRPO: exact-match reward against the GRM's judgments (%lld per group of %lld)\n",
              static_cast<long long>(s.policy_judgments), static_cast<long long>(task.responses));
  const rl::tasks::Addition addition{1};
  const double rule = train_policy(backend, addition, task.responses, o, s, "exact match");
  auto policy_judge = grm::judge_for<B, JudgeSpec>(backend, task, voting_sampling);
  const rl::tasks::WithReward judged(
      addition, grm::GrmReward<B, JudgeSpec>(trainer.policy(), std::move(policy_judge), s.policy_judgments,
                                             rl::tasks::DigitVocabulary::kEos, o.seed));
  const double by_grm = train_policy(backend, judged, task.responses, o, s, "the GRM");

  if (!o.check || o.small) return 0;  // a small run is too short for the figures
  const auto at = [&](index_t k) {
    for (std::size_t i = 0; i < curve.k.size(); ++i)
      if (curve.k[i] == k) return i;
    return curve.k.size() - 1;
  };
  const std::size_t k8 = at(8);
  const bool checks[] = {after_rft >= chance + 0.1, after_grpo > after_rft, curve.voting[k8] >= curve.greedy + 0.05,
                         curve.meta_voting[k8] >= curve.voting[k8], by_grm >= 0.8 * rule};
  const char* what[] = {"accuracy after RFT >= chance + 0.1", "accuracy after GRPO > after RFT", "voting@8 >= greedy + 0.05",
                        "meta-RM voting@8 >= voting@8", "GRM-rewarded policy >= 0.8 x exact-match-rewarded"};
  bool ok = true;
  for (std::size_t i = 0; i < std::size(checks); ++i) {
    std::printf("check %s: %s\n", what[i], checks[i] ? "passed" : "FAILED");
    ok = ok && checks[i];
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show as they come, also into a file
  const Options options = parse(argc, argv);
  return examples::run_on_available_backend([&](const auto& backend) { return run(backend, options); });
}
