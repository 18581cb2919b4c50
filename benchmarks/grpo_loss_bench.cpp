// GRPO advantages and the fused policy loss (value + d loss / d logp + metrics), at 1M to 64M
// completion tokens. One JSON line per case with the median time and the achieved GB/s against
// the measured copy bandwidth. benchmarks/reference/grpo_loss_torch.py is the PyTorch twin (TRL's
// formulas, autograd for the gradient) over the same inputs, for a side-by-side run.
//
// Inputs are a pure function of the token index (inputs.hpp's hash, mirrored in the twin), so
// both programs see the same batch and can compare their loss values.
//
//   grpo_loss_bench [--quick] [--cuda-only]
#include <cstring>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "grpo_inputs.hpp"

namespace {

using rlmoe::Buffer;
using rlmoe::index_t;
using rlmoe::bench::median_ms;

constexpr index_t kWidth = 1024;      // T, tokens per completion
constexpr index_t kGroupSize = 16;    // G

template <rlmoe::Backend B>
double copy_bandwidth(const B& backend, index_t bytes) {
  const index_t n = bytes / 4;
  Buffer<float, B> src = rlmoe::bench::random_buffer<B, float>(backend, n, 1), dst(backend, n);
  const double ms = median_ms(backend, [&] { rlmoe::copy(backend, dst.view(), src.view()); }, 3, 10);
  return 2.0 * n * 4 / (ms * 1e-3) / 1e9;
}

template <class Loss, rlmoe::Backend B>
void bench_case(const B& backend, index_t tokens, double copy_gbs, const char* name, const Loss& loss, int repetitions) {
  const index_t n = tokens / kWidth;
  Buffer<float, B> logp(backend, tokens), old_logp(backend, tokens), ref_logp(backend, tokens), grad(backend, tokens);
  Buffer<std::uint8_t, B> mask(backend, tokens);
  Buffer<float, B> rewards(backend, n), advantages(backend, n);
  rlmoe::parallel_for(backend, tokens,
                      rlmoe::bench::GrpoTokenInputs{logp.view(), old_logp.view(), ref_logp.view(), mask.view(), kWidth});
  rlmoe::parallel_for(backend, n, rlmoe::bench::GrpoRewards{rewards.view()});
  Buffer<rlmoe::rl::AdvantageStats, B> stats(backend, 1);
  Buffer<rlmoe::rl::PolicyLossMetrics, B> metrics(backend, 1);
  const rlmoe::rl::PolicyLossInputs<float> in{logp.view(n, kWidth), old_logp.view(n, kWidth), ref_logp.view(n, kWidth),
                                              mask.view(n, kWidth), advantages.view()};
  const auto advantages_step = [&] {
    rlmoe::rl::compute_advantages<B, rlmoe::rl::GroupNormalized, float>(backend, {}, rewards.view(), kGroupSize,
                                                                       advantages.view(), stats.view());
  };
  const auto loss_step = [&] { rlmoe::rl::policy_loss(backend, loss, in, grad.view(n, kWidth), metrics.view()); };
  const double advantages_ms = median_ms(backend, advantages_step, 3, repetitions);
  const double loss_ms = median_ms(backend, loss_step, 3, repetitions);
  const double both_ms = median_ms(backend, [&] { advantages_step(); loss_step(); }, 3, repetitions);
  const auto m = rlmoe::to_host(backend, metrics.view())[0];
  // Fewest bytes: logp, old and reference log-probs and the mask read once, the gradient written.
  const double bytes = static_cast<double>(tokens) * (3 * 4 + 1 + 4);
  const double gbs = bytes / (loss_ms * 1e-3) / 1e9;
  rlmoe::bench::JsonLine line;
  line.add("bench", std::string("grpo_loss_") + name).add("backend", B::kName.data())
      .add("device", rlmoe::bench::device_name(backend)).add("tokens", tokens).add("sequences", n)
      .add("advantages_ms", advantages_ms).add("loss_ms", loss_ms).add("advantages_plus_loss_ms", both_ms)
      .add("gb_per_s", gbs).add("pct_of_copy", 100.0 * gbs / copy_gbs).add("loss", m.loss)
      .add("clip_fraction", m.clip_fraction()).add("kl_mean", m.kl_mean()).print();
}

template <rlmoe::Backend B>
void run_all(const B& backend, const std::vector<index_t>& sizes, int repetitions) {
  const double copy_gbs = copy_bandwidth(backend, index_t{1} << 28);
  rlmoe::bench::JsonLine().add("bench", "copy").add("backend", B::kName.data())
      .add("device", rlmoe::bench::device_name(backend)).add("gb_per_s", copy_gbs).print();
  // DAPO-style: token-mean, clip-higher, k3 KL with beta = 0.04 (TRL's loss_type "bnpo").
  rlmoe::rl::ClippedSurrogate<rlmoe::rl::K3, rlmoe::rl::TokenMean> dapo;
  dapo.epsilon_high = 0.28f;
  dapo.beta = 0.04f;
  // GSPO: sequence-level ratio, seq-mean-token-mean, no KL.
  rlmoe::rl::ClippedSurrogate<rlmoe::rl::K3, rlmoe::rl::SeqMeanTokenMean, rlmoe::rl::RatioLevel::Sequence> gspo;
  gspo.epsilon_low = 3e-4f;
  gspo.epsilon_high = 4e-4f;
  for (index_t tokens : sizes) {
    bench_case(backend, tokens, copy_gbs, "token_mean_k3", dapo, repetitions);
    bench_case(backend, tokens, copy_gbs, "gspo", gspo, repetitions);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const rlmoe::bench::Options options = rlmoe::bench::parse_options(argc, argv);
  const bool quick = options.quick;
  const index_t m = index_t{1} << 20;
  if (options.host) run_all(rlmoe::Host{}, quick ? std::vector<index_t>{m} : std::vector<index_t>{m, 4 * m, 16 * m}, quick ? 3 : 7);
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0)
    run_all(rlmoe::Cuda{}, quick ? std::vector<index_t>{m} : std::vector<index_t>{m, 4 * m, 16 * m, 64 * m}, 30);
#endif
  return 0;
}
