// Transformer forward + backward throughput: a small DeepSeek-style model (the first layer dense,
// the others MoE with 16 experts, top-2, one shared expert), scoring every token of a batch of
// full-length sequences and back-propagating a log-probability gradient, as a GRPO training pass
// does. One JSON line per case with tokens/s and an estimate of the TFLOP/s (6 FLOPs per active
// parameter per token, plus the attention's 12 L d per token). benchmarks/reference/
// transformer_torch.py is the PyTorch twin of the same model. On Cuda the model runs twice: with
// float storage, and with bf16 storage (tensor-core GEMMs, float master weights; the "storage"
// field tells them apart), the twin's fp32/TF32/bf16-autocast variants beside them.
//
//   transformer_bench [--quick] [--cuda-only]
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_common.hpp"
#include "grpo_inputs.hpp"

namespace {

using rlmoe::Buffer;
using rlmoe::index_t;

struct BenchSpec {
  static constexpr index_t kVocab = 8192, kModelDim = 512, kLayers = 6, kHeads = 8, kMaxLength = 512;
  static constexpr index_t kDenseHidden = 1408, kFirstMoeLayer = 1;
  static constexpr index_t kRoutedExperts = 16, kTopK = 2, kExpertHidden = 352, kSharedExperts = 1, kGroups = 1, kTopkGroups = 1;
  static constexpr rlmoe::moe::ScoreFunction kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;
  static constexpr float kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-6f;
  static constexpr bool kTiedEmbeddings = true;
};

/// The same model in mixed precision: bf16 weights and activations, float master weights.
struct BenchSpecBf16 : BenchSpec {
  using Storage = rlmoe::bfloat16;
};

/// Parameters each token passes through: attention, dense or top-k + shared experts, router, head.
double active_parameters() {
  using S = BenchSpec;
  const double d = S::kModelDim;
  const double attention = 4 * d * d;
  const double dense = 3 * d * S::kDenseHidden;
  const double moe = 3 * d * S::kExpertHidden * (S::kTopK + S::kSharedExperts) + d * S::kRoutedExperts;
  return S::kFirstMoeLayer * (attention + dense) + (S::kLayers - S::kFirstMoeLayer) * (attention + moe) + d * S::kVocab;
}

struct Tokens {
  rlmoe::VectorView<std::int32_t> tokens;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    tokens[i] = static_cast<std::int32_t>(rlmoe::bench::hash32(static_cast<std::uint32_t>(i)) % BenchSpec::kVocab);
  }
};

template <rlmoe::Backend B, class Spec = BenchSpec>
void bench(const B& backend, index_t sequences, index_t length, int repetitions) {
  rlmoe::nn::Transformer<B, Spec> model(backend);
  model.initialize(1);
  const index_t n = sequences * length, width = length - 1;
  Buffer<std::int32_t, B> tokens(backend, n), lengths(backend, sequences), prompt_lengths(backend, sequences);
  rlmoe::parallel_for(backend, n, Tokens{tokens.view()});
  rlmoe::fill(backend, lengths.view(), static_cast<std::int32_t>(length));
  rlmoe::fill(backend, prompt_lengths.view(), 1);
  const rlmoe::nn::SequenceBatch batch{tokens.view(sequences, length), lengths.view(), prompt_lengths.view(), width};
  Buffer<float, B> logp(backend, sequences * width), d_logp(backend, sequences * width);
  rlmoe::fill(backend, d_logp.view(), -1.0f / static_cast<float>(sequences * width));
  const auto step = [&] {
    model.zero_gradients();
    model.forward(batch, logp.view(sequences, width));
    model.backward(d_logp.view(sequences, width));
  };
  const double forward_ms = rlmoe::bench::median_ms(backend, [&] { model.forward(batch, logp.view(sequences, width)); }, 1, repetitions);
  const double step_ms = rlmoe::bench::median_ms(backend, step, 1, repetitions);
  const double flops = 3.0 * (2.0 * active_parameters() + 12.0 * BenchSpec::kLayers * length * BenchSpec::kModelDim / 2.0) * n;
  rlmoe::bench::JsonLine().add("bench", "transformer_forward_backward").add("backend", B::kName.data())
      .add("device", rlmoe::bench::device_name(backend))
      .add("storage", std::is_same_v<rlmoe::nn::storage_t<Spec>, rlmoe::bfloat16> ? "bf16" : "float32").add("sequences", sequences).add("length", length)
      .add("parameters", model.parameters().size()).add("active_parameters_per_token", active_parameters())
      .add("forward_ms", forward_ms).add("forward_backward_ms", step_ms).add("tokens_per_s", n / (step_ms * 1e-3))
      .add("tflop_per_s", flops / (step_ms * 1e-3) / 1e12).print();
}

}  // namespace

int main(int argc, char** argv) {
  const rlmoe::bench::Options options = rlmoe::bench::parse_options(argc, argv);
  const bool quick = options.quick;
  if (options.host) {
    bench(rlmoe::Host{}, 1, quick ? 64 : 256, quick ? 1 : 3);
    if (quick) bench<rlmoe::Host, BenchSpecBf16>(rlmoe::Host{}, 1, 64, 1);  // bf16 is emulated on Host: a smoke test
  }
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) {
    bench(rlmoe::Cuda{}, quick ? 2 : 16, quick ? 128 : 512, 10);
    bench<rlmoe::Cuda, BenchSpecBf16>(rlmoe::Cuda{}, quick ? 2 : 16, quick ? 128 : 512, 10);
  }
#endif
  return 0;
}
