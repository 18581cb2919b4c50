// 06: the quickstart trained data-parallel over MPI processes. Every rank runs this program; each
// samples, scores and trains on its share of every step's prompts (whole groups), the gradients
// are summed over the ranks before each optimizer step, and the batch statistics (the loss
// normalisers, the routing load, the metrics) are the whole batch's, so N ranks train the model
// one process trains on the same global batch. It prints what each rank holds, then trains with a
// progress line (rank 0), writes metrics.jsonl, curves.png and checkpoint.safetensors (rank 0),
// and checks the held-out accuracy like example 01. With --expert-parallel P the 8 routed experts
// of each MoE layer are split over groups of P ranks (each holds 8/P of them, and the token rows
// travel to the ranks that hold their experts); everything else stays data-parallel.
//
//   mpirun -np 2 06_distributed_grpo [--steps N] [--cold-start N] [--seed S] [--expert-parallel P] [--out DIR] [--quiet] [--no-check]
//
// As root, Open MPI wants --allow-run-as-root; with more ranks than cores, --oversubscribe. Give
// each rank one thread (OMP_NUM_THREADS=1) when the ranks share a machine's cores. See
// docs/distributed.md for clusters (hostfiles, Slurm) and GPUs (NCCL).
#include <rlmoe/dist/mpi.hpp>
#include <rlmoe/rlmoe.hpp>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.hpp"
#include "quickstart_recipe.hpp"

namespace {

struct Options {
  long long steps = 2000, cold_start = 30;
  unsigned long long seed = 1;
  long long expert_parallel = 1;
  std::string out = "runs/distributed";
  bool quiet = false, check = true;
};

constexpr const char* kUsage =
    "usage: mpirun -np N 06_distributed_grpo [--steps N] [--cold-start N] [--seed S] [--expert-parallel P] [--out DIR] [--quiet] [--no-check]\n"
    "  --steps       GRPO steps, >= 0 (default 2000)\n"
    "  --cold-start  supervised steps on demonstrations before RL, >= 0 (default 30)\n"
    "  --seed        initialisation, problems and sampling, >= 0 (default 1)\n"
    "  --expert-parallel  ranks that share each MoE layer's 8 routed experts: 1, 2, 4 or 8, dividing N (default 1)\n"
    "  --out         where rank 0 writes metrics.jsonl, curves.png and checkpoint.safetensors (default runs/distributed)\n"
    "  --quiet       no progress line\n"
    "  --no-check    do not check the final accuracy\n"
    "N must divide the 32 prompts of a step and the 64 demonstrations of a cold-start step.\n";

Options parse(int argc, char** argv) {
  Options o;
  examples::CommandLine line(argc, argv, kUsage);
  for (std::string_view flag; line.next(flag);) {
    if (flag == "--steps") {
      o.steps = line.integer(flag, 0);
    } else if (flag == "--cold-start") {
      o.cold_start = line.integer(flag, 0);
    } else if (flag == "--seed") {
      o.seed = static_cast<unsigned long long>(line.integer(flag, 0));
    } else if (flag == "--expert-parallel") {
      o.expert_parallel = line.integer(flag, 1);
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

/// The quickstart's configuration (example 01's). With dynamic sampling each rank samples
/// 2 x 32 / N prompts, and the kept groups move to the ranks that train on them.
rlmoe::rl::GrpoConfig config(const Options& o) {
  rlmoe::rl::GrpoConfig c = examples::quickstart_config();
  c.seed = o.seed;
  c.steps = o.steps;
  c.cold_start_steps = o.cold_start;
  c.output_dir = o.out;
  c.progress = !o.quiet;
  return c;
}

/// One line per rank, printed by rank 0 in rank order: what each holds and does per step.
template <class Trainer>
void print_ranks(const rlmoe::dist::Mpi& world, Trainer& trainer, const rlmoe::rl::GrpoConfig& c) {
  const auto parameters = trainer.policy().parameters().size();
  const std::vector<double> mine = {static_cast<double>(c.prompts_per_step / world.size()),
                                    static_cast<double>(c.eval_prompts * (world.rank() + 1) / world.size() -
                                                        c.eval_prompts * world.rank() / world.size()),
                                    static_cast<double>(parameters), static_cast<double>(trainer.optimizer().state_bytes())};
  std::vector<double> all(mine.size() * static_cast<std::size_t>(world.size()));
  rlmoe::dist::all_gather(world, rlmoe::Host{1}, rlmoe::VectorView<const double>(mine.data(), rlmoe::Extents<1>{4}),
                          rlmoe::VectorView<double>(all.data(), rlmoe::Extents<1>{static_cast<rlmoe::index_t>(all.size())}));
  if (world.rank() != 0) return;
  const auto& ep = trainer.policy().expert_parallel();
  if (ep.size() == 1)
    std::printf("%d ranks (%s): each holds the whole policy and its optimizer, and a share of every batch\n", world.size(),
                world.name().c_str());
  else
    std::printf("%d ranks (%s): the routed experts split over groups of %d (%lld of %lld each, %d replicas), the rest of the "
                "policy whole on each, and a share of every batch\n",
                world.size(), world.name().c_str(), ep.size(), static_cast<long long>(ep.local_experts(examples::QuickstartSpec::kRoutedExperts)),
                static_cast<long long>(examples::QuickstartSpec::kRoutedExperts), ep.replicas());
  for (int r = 0; r < world.size(); ++r) {
    const double* v = &all[static_cast<std::size_t>(r) * 4];
    std::printf("  rank %d: %.0f prompts x %lld completions per step, %.0f held-out problems, %.0f parameters (%.2f MB), "
                "optimizer state %.2f MB\n",
                r, v[0], static_cast<long long>(c.group_size), v[1], v[2], v[2] * 4.0 / 1e6, v[3] / 1e6);
  }
}

int train(const rlmoe::dist::Mpi& world, const Options& o) {
  const rlmoe::rl::GrpoConfig c = config(o);
  using Trainer = rlmoe::rl::GrpoTrainer<rlmoe::Host, examples::QuickstartSpec, rlmoe::rl::tasks::ReverseDigits,
                                         rlmoe::rl::GroupNormalized, decltype(examples::quickstart_loss()), rlmoe::dist::Mpi>;
  const rlmoe::moe::ExpertParallel<rlmoe::Host> ep(rlmoe::Host{}, world, static_cast<int>(o.expert_parallel));
  Trainer trainer(rlmoe::Host{}, rlmoe::rl::tasks::ReverseDigits{2, 4}, c, examples::quickstart_loss(), rlmoe::rl::GroupNormalized{},
                  examples::quickstart_moe(), world, ep);
  trainer.initialize();  // seeded: every rank starts from the same parameters
  print_ranks(world, trainer, c);
  const rlmoe::rl::RunSummary s = trainer.run();
  if (world.rank() != 0) return 0;
  std::printf("held-out accuracy: %.3f when RL started (after %lld cold-start steps), %.3f after %lld RL steps; pass@%lld %.3f\n",
              s.rl_start_accuracy, o.cold_start, s.final_accuracy, static_cast<long long>(s.steps),
              static_cast<long long>(c.pass_at_k), s.final_pass_at_k);
  if (!c.output_dir.empty()) std::printf("wrote %s/metrics.jsonl, curves.png, checkpoint.safetensors\n", c.output_dir.c_str());
  if (!o.check) return 0;
  const bool defaults = o.steps == 2000 && o.cold_start == 30;
  const bool ok = defaults ? s.final_accuracy >= 0.9 : s.final_accuracy >= s.rl_start_accuracy;
  std::printf("check (%s): %s\n", defaults ? "held-out accuracy >= 0.9" : "RL did not lower held-out accuracy",
              ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  rlmoe::dist::MpiSession mpi(argc, argv);
  int status = 0;
  // An exception on any rank (a refused option, a NaN) ends every rank with its message.
  mpi.run([&] {
    const Options options = parse(argc, argv);
    const rlmoe::dist::Mpi world = mpi.world();
    status = train(world, options);
    status = rlmoe::dist::all_reduce_value(world, status, rlmoe::Max{});  // rank 0's check decides for all
  });
  return status;
}
