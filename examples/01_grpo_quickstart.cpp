// 01: the main job. GRPO trains a small Mixture-of-Experts transformer, from scratch, on a
// built-in task: a short supervised cold start on demonstrations (as DeepSeek-R1 starts), then
// reinforcement learning with group-relative advantages and the clipped surrogate, DAPO-style
// (token-mean loss, clip-higher, dynamic sampling, no KL term). It prints a live progress line,
// writes runs/quickstart/metrics.jsonl, curves.png and checkpoint.safetensors, and ends with the
// held-out accuracy, checking that it reached 0.9 and that RL itself added at least 0.3.
//
//   01_grpo_quickstart [--task reverse|reverse-short|addition|formatted-reverse] [--steps N] [--cold-start N]
//                      [--seed S] [--out DIR] [--resume CHECKPOINT] [--stop-after N] [--bf16] [--quiet] [--no-check]
//
// --bf16 trains the same policy in mixed precision (bf16 weights and activations, float master
// weights, optimizer state and statistics), by naming rlmoe::bfloat16 as the Spec's Storage.
//
// Built with g++ it trains on the CPU; 01_grpo_quickstart_cuda trains on the GPU when there is one.
#include <rlmoe/rlmoe.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "available_backend.hpp"
#include "command_line.hpp"
#include "quickstart_recipe.hpp"

namespace {

/// The policy (quickstart_recipe.hpp): 2 layers of width 64, the second an MoE layer of 8 routed
/// experts (top-2) and one shared expert, with DeepSeek-V3's sigmoid router.
using examples::QuickstartSpec;

/// The same policy in mixed precision.
struct QuickstartSpecBf16 : QuickstartSpec {
  using Storage = rlmoe::bfloat16;
};

struct Options {
  std::string task = "reverse";
  long long steps = -1, cold_start = -1, stop_after = -1;
  unsigned long long seed = 1;
  std::string out = "runs/quickstart", resume;
  bool quiet = false, check = true, bf16 = false;
};

constexpr const char* kUsage =
    "usage: 01_grpo_quickstart [--task reverse|reverse-short|addition|formatted-reverse] [--steps N] [--cold-start N]\n"
    "                          [--seed S] [--out DIR] [--resume CHECKPOINT] [--stop-after N] [--bf16] [--quiet] [--no-check]\n"
    "  --task        the built-in task (default reverse: reverse 2 to 4 digits)\n"
    "  --steps       GRPO steps, >= 0 (default: the task's, 2000 for reverse)\n"
    "  --cold-start  supervised steps on demonstrations before RL, >= 0 (default: the task's, 30 for reverse)\n"
    "  --seed        initialisation, problems and sampling, >= 0 (default 1)\n"
    "  --out         where metrics.jsonl, curves.png and checkpoint.safetensors go (default runs/quickstart)\n"
    "  --resume      continue from this checkpoint\n"
    "  --stop-after  stop (and checkpoint) after this many RL steps, >= 0, to resume later\n"
    "  --bf16        mixed precision: bf16 weights and activations, float master weights (task reverse)\n"
    "  --quiet       no progress line\n"
    "  --no-check    do not check the final accuracy\n";

Options parse(int argc, char** argv) {
  Options o;
  examples::CommandLine line(argc, argv, kUsage);
  for (std::string_view flag; line.next(flag);) {
    if (flag == "--task") {
      o.task = line.text(flag);
      if (o.task != "reverse" && o.task != "reverse-short" && o.task != "addition" && o.task != "formatted-reverse")
        line.refuse(flag, o.task, "reverse, reverse-short, addition or formatted-reverse");
    } else if (flag == "--steps") {
      o.steps = line.integer(flag, 0);
    } else if (flag == "--cold-start") {
      o.cold_start = line.integer(flag, 0);
    } else if (flag == "--seed") {
      o.seed = static_cast<unsigned long long>(line.integer(flag, 0));
    } else if (flag == "--out") {
      o.out = line.text(flag);
    } else if (flag == "--resume") {
      o.resume = line.text(flag);
    } else if (flag == "--stop-after") {
      o.stop_after = line.integer(flag, 0);
    } else if (flag == "--bf16") {
      o.bf16 = true;
    } else if (flag == "--quiet") {
      o.quiet = true;
    } else if (flag == "--no-check") {
      o.check = false;
    } else {
      line.unknown(flag);
    }
  }
  if (o.bf16 && o.task != "reverse") line.refuse("--bf16", o.task, "--task reverse (the one task built in mixed precision)");
  return o;
}

/// The embedded default configuration.
rlmoe::rl::GrpoConfig default_config(const Options& o, long long steps, long long cold_start) {
  rlmoe::rl::GrpoConfig c = examples::quickstart_config();
  c.seed = o.seed;
  c.steps = o.steps >= 0 ? o.steps : steps;
  c.cold_start_steps = o.cold_start >= 0 ? o.cold_start : cold_start;
  c.output_dir = o.out;
  c.progress = !o.quiet;
  return c;
}

template <class Spec, rlmoe::Backend B, class Task>
int train(const B& backend, const Task& task, const rlmoe::rl::GrpoConfig& config, const Options& o, bool is_default_run) {
  std::printf("GRPO on '%s' (backend %s, %s): %lld cold-start steps, %lld RL steps, %lld prompts x %lld completions per step\n",
              std::string(Task::kName).c_str(), B::kName.data(),
              std::is_same_v<rlmoe::nn::storage_t<Spec>, rlmoe::bfloat16> ? "bf16" : "float32",
              static_cast<long long>(config.cold_start_steps),
              static_cast<long long>(config.steps), static_cast<long long>(config.prompts_per_step),
              static_cast<long long>(config.group_size));
  // DAPO's loss: token-mean aggregation, clip-higher, no KL term.
  rlmoe::rl::GrpoTrainer<B, Spec, Task> trainer(backend, task, config, examples::quickstart_loss(), rlmoe::rl::GroupNormalized{},
                                                examples::quickstart_moe());
  trainer.initialize();
  const rlmoe::rl::RunSummary s = trainer.run(o.resume, o.stop_after);
  if (s.steps < config.steps) {
    std::printf("stopped after %lld RL steps; continue with --resume %s/checkpoint.safetensors\n",
                static_cast<long long>(s.steps), config.output_dir.c_str());
    return 0;
  }
  std::printf("held-out accuracy: %.3f when RL started (after %lld cold-start steps), %.3f after %lld RL steps; pass@%lld %.3f\n",
              s.rl_start_accuracy, static_cast<long long>(config.cold_start_steps), s.final_accuracy,
              static_cast<long long>(s.steps), static_cast<long long>(config.pass_at_k), s.final_pass_at_k);
  if (!config.output_dir.empty())
    std::printf("wrote %s/metrics.jsonl, curves.png, checkpoint.safetensors\n", config.output_dir.c_str());
  if (!o.check) return 0;
  bool ok = s.final_accuracy >= s.rl_start_accuracy;
  if (is_default_run) ok = s.final_accuracy >= 0.9 && s.final_accuracy - s.rl_start_accuracy >= 0.3;
  std::printf("check (%s): %s\n",
              is_default_run ? "held-out accuracy >= 0.9, RL gain >= 0.3" : "RL did not lower held-out accuracy",
              ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

template <rlmoe::Backend B>
int run(const B& backend, const Options& o) {
  const bool defaults = o.steps < 0 && o.cold_start < 0;
  if (o.task == "reverse" && o.bf16)
    return train<QuickstartSpecBf16>(backend, rlmoe::rl::tasks::ReverseDigits{2, 4}, default_config(o, 2000, 30), o, defaults);
  if (o.task == "reverse")
    return train<QuickstartSpec>(backend, rlmoe::rl::tasks::ReverseDigits{2, 4}, default_config(o, 2000, 30), o, defaults);
  if (o.task == "reverse-short")  // R1-Zero's point: pure RL, no cold start, on 1-2 digits
    return train<QuickstartSpec>(backend, rlmoe::rl::tasks::ReverseDigits{1, 2}, default_config(o, 800, 0), o, false);
  if (o.task == "addition")
    return train<QuickstartSpec>(backend, rlmoe::rl::tasks::Addition{2}, default_config(o, 1500, 150), o, false);
  if (o.task == "formatted-reverse")
    return train<QuickstartSpec>(backend, rlmoe::rl::tasks::FormattedReverse{2, 3}, default_config(o, 1000, 30), o, false);
  std::fprintf(stderr, "unknown task '%s'\n", o.task.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  return examples::run_on_available_backend([&](const auto& backend) { return run(backend, options); });
}
