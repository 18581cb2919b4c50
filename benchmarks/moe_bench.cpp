// The MoE layer, forward + backward, in the two shapes of the MoE issue: 8 experts of width 2048
// with top-2 (d = 1024), and a fine-grained 64 experts of width 512 with top-8 and one shared
// expert. One JSON line per case with the median time, the TFLOP/s achieved and that rate as a
// percentage of one dense GEMM doing the same forward FLOPs on the same device (the ceiling the
// grouped expert GEMMs are held against). On Cuda each shape runs in float32 and in bf16 (weights
// and activations bf16, tensor-core GEMMs with float accumulation, float gradients; the "storage"
// field tells them apart). benchmarks/reference/moe_torch.py is the PyTorch twin.
//
// FLOPs counted: per routed slot 6 d h forward (gate+up and down projections), per token 6 d Hs
// for the shared experts and 2 d E for the router; the backward pass twice the forward.
//
//   moe_bench [--quick] [--cuda-only]
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_common.hpp"

namespace {

using rlmoe::Buffer;
using rlmoe::index_t;
using rlmoe::bench::median_ms;

struct MoeCase {
  const char* name;
  index_t tokens, model_dim, expert_hidden, experts, top_k, shared;
};

/// The same FLOPs as the forward pass's expert GEMMs, as one dense product [T K, d] x [d, 3h] in
/// the layer's storage type.
template <rlmoe::Backend B, class T>
double dense_tflops(const B& backend, index_t m, index_t k, index_t n, int repetitions) {
  Buffer<T, B> a = rlmoe::bench::random_buffer<B, T>(backend, m * k, 3), b = rlmoe::bench::random_buffer<B, T>(backend, k * n, 4),
               c(backend, m * n);
  const rlmoe::MatrixView<const T> av = a.view(m, k), bv = b.view(k, n);
  const double ms = median_ms(
      backend, [&] { rlmoe::gemm<B, T>(backend, rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f, av, bv, 0.0f, c.view(m, n)); },
      2, repetitions);
  return 2.0 * m * n * k / (ms * 1e-3) / 1e12;
}

template <rlmoe::Backend B, class T = float>
void bench_case(const B& backend, const MoeCase& mc, int repetitions) {
  using G = rlmoe::master_t<T>;
  rlmoe::moe::MoeConfig c;
  c.model_dim = mc.model_dim;
  c.expert_hidden = mc.expert_hidden;
  c.routed_experts = mc.experts;
  c.top_k = mc.top_k;
  c.shared_experts = mc.shared;
  c.score_function = rlmoe::moe::ScoreFunction::Sigmoid;
  c.balancing = rlmoe::moe::Balancing::AuxLossFree;
  rlmoe::ParameterLayout layout;
  rlmoe::moe::declare_moe_parameters(layout, "", c);
  Buffer<T, B> params(backend, layout.size());
  Buffer<G, B> grads(backend, layout.size());
  rlmoe::fill(backend, params.view(), T(0.0f));
  rlmoe::fill(backend, grads.view(), G(0.0f));
  const auto p = rlmoe::moe::moe_parameters(params.data(), layout, "", c);
  const auto g = rlmoe::moe::moe_parameters(grads.data(), layout, "", c);
  rlmoe::moe::initialize_moe_parameters(backend, p, c, 1, 0);
  using Layer = rlmoe::moe::MoeLayer<B, T>;
  Layer layer(backend, c);
  const index_t t = mc.tokens, d = mc.model_dim;
  Buffer<T, B> x = rlmoe::bench::random_buffer<B, T>(backend, t * d, 5), y(backend, t * d),
               dy = rlmoe::bench::random_buffer<B, T>(backend, t * d, 6), dx(backend, t * d);
  const auto forward = [&] { layer.forward(p, x.view(t, d), y.view(t, d), Layer::ForwardOptions::inference()); };
  const double forward_ms = median_ms(backend, forward, 2, repetitions);
  const double step_ms = median_ms(
      backend,
      [&] {
        forward();
        layer.backward(p, dy.view(t, d), dx.view(t, d), g);
      },
      2, repetitions);
  const double slots = static_cast<double>(t * mc.top_k);
  const double forward_flops = 6.0 * d * mc.expert_hidden * slots + 6.0 * d * c.shared_width() * t + 2.0 * d * mc.experts * t;
  const double tflops = 3.0 * forward_flops / (step_ms * 1e-3) / 1e12;
  const double dense = dense_tflops<B, T>(backend, t * mc.top_k, d, 3 * mc.expert_hidden, repetitions);
  const auto m = layer.metrics();
  rlmoe::bench::JsonLine line;
  line.add("bench", std::string("moe_") + mc.name).add("backend", B::kName.data())
      .add("device", rlmoe::bench::device_name(backend))
      .add("storage", std::is_same_v<T, rlmoe::bfloat16> ? "bf16" : "float32").add("tokens", t).add("model_dim", d)
      .add("expert_hidden", mc.expert_hidden).add("experts", mc.experts).add("top_k", mc.top_k).add("shared", mc.shared)
      .add("forward_ms", forward_ms).add("forward_backward_ms", step_ms).add("tflop_per_s", tflops)
      .add("dense_gemm_tflop_per_s", dense).add("pct_of_dense", 100.0 * tflops / dense)
      .add("max_over_mean_load", m.max_over_mean_load).print();
}

}  // namespace

int main(int argc, char** argv) {
  const rlmoe::bench::Options options = rlmoe::bench::parse_options(argc, argv);
  const bool quick = options.quick;
  // On two CPU threads the full shapes take minutes per step: the host runs them on fewer tokens.
  const index_t host_tokens = quick ? 256 : 1024;
  const std::vector<MoeCase> host = {{"8x2048_top2", host_tokens, 1024, 2048, 8, 2, 0},
                                     {"64x512_top8_shared1", host_tokens, 1024, 512, 64, 8, 1}};
  if (options.host) {
    for (const MoeCase& mc : host) bench_case(rlmoe::Host{}, mc, quick ? 2 : 3);
    if (quick) bench_case<rlmoe::Host, rlmoe::bfloat16>(rlmoe::Host{}, host.front(), 1);  // bf16 is emulated on Host: a smoke test
  }
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) {
    const rlmoe::Cuda cuda;
    const std::vector<MoeCase> device = {{"8x2048_top2", 16384, 1024, 2048, 8, 2, 0},
                                         {"64x512_top8_shared1", 16384, 1024, 512, 64, 8, 1}};
    for (const MoeCase& mc : device) bench_case(cuda, mc, 20);
    for (const MoeCase& mc : device) bench_case<rlmoe::Cuda, rlmoe::bfloat16>(cuda, mc, 20);
  }
#endif
  return 0;
}
