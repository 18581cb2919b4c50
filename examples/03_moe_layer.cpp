// 03: a DeepSeek-style Mixture-of-Experts layer on its own. It builds a layer (8 routed experts,
// top-2, one shared expert, sigmoid router with aux-loss-free balancing), skews its router towards
// two experts, and trains it by plain SGD for 300 steps of 2048 tokens to imitate a second, fixed
// MoE layer (a synthetic regression target), updating the selection bias after every step. It
// prints the expert loads before and after, and checks that the loss at least halved and that the
// largest load ended within 1.2 times the mean.
// Built with g++ it runs on the Host backend; 03_moe_layer_cuda runs on the GPU when there is one.
#include <rlmoe/rlmoe.hpp>

#include <cstdio>
#include <vector>

namespace {

using rlmoe::index_t;

/// p -= learning_rate * g over the flat buffers.
struct SgdStep {
  rlmoe::VectorView<float> parameters;
  rlmoe::VectorView<const float> gradients;
  float learning_rate;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { parameters[i] -= learning_rate * gradients[i]; }
};

/// dy = 2 (y - target) / n and returns (y - target)^2 / n: the gradient and the mean squared error.
struct SquaredError {
  rlmoe::VectorView<const float> y, target;
  rlmoe::VectorView<float> dy;
  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const float n = static_cast<float>(y.size());
    const float diff = y[i] - target[i];
    dy[i] = 2.0f * diff / n;
    return static_cast<double>(diff) * diff / n;
  }
};

/// Tokens with a shared offset, so that a router with a matching direction prefers a few experts.
struct DrawTokens {
  rlmoe::VectorView<float> x;
  std::uint64_t step;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    rlmoe::RandomStream stream(/*seed=*/7, (step << 32) + static_cast<std::uint64_t>(i));
    x[i] = 0.5f + stream.normal();
  }
};

void print_loads(const char* when, const rlmoe::moe::MoeMetrics& m) {
  std::printf("  %-8s tokens per expert:", when);
  for (int count : m.tokens_per_expert) std::printf(" %5d", count);
  std::printf("   max/mean %.2f\n", m.max_over_mean_load);
}

template <rlmoe::Backend B>
int run(const B& backend) {
  std::printf("backend: %s\n", B::kName.data());
  rlmoe::moe::MoeConfig config;
  config.model_dim = 32;
  config.expert_hidden = 64;
  config.routed_experts = 8;
  config.top_k = 2;
  config.shared_experts = 1;
  config.score_function = rlmoe::moe::ScoreFunction::Sigmoid;
  config.balancing = rlmoe::moe::Balancing::AuxLossFree;
  config.bias_update_rate = 0.01f;

  // The student's and the teacher's parameters, each in one flat buffer.
  rlmoe::ParameterLayout layout;
  rlmoe::moe::declare_moe_parameters(layout, "moe.", config);
  rlmoe::Buffer<float, B> student(backend, layout.size()), teacher(backend, layout.size()), grads(backend, layout.size());
  for (auto* buffer : {&student, &teacher, &grads}) rlmoe::fill(backend, buffer->view(), 0.0f);
  const auto p = rlmoe::moe::moe_parameters(student.data(), layout, "moe.", config);
  const auto t = rlmoe::moe::moe_parameters(teacher.data(), layout, "moe.", config);
  const auto g = rlmoe::moe::moe_parameters(grads.data(), layout, "moe.", config);
  rlmoe::moe::initialize_moe_parameters(backend, p, config, /*seed=*/1, 0);
  rlmoe::moe::initialize_moe_parameters(backend, t, config, /*seed=*/2, 0);
  // Skew the student's router: experts 0 and 1 align with the tokens' shared offset.
  std::vector<float> router = rlmoe::to_host(backend, p.router);
  for (index_t c = 0; c < config.model_dim; ++c) router[c] += 0.15f, router[config.model_dim + c] += 0.1f;
  rlmoe::copy(backend, p.router, rlmoe::MatrixView<const float>(router.data(), p.router.shape()));

  rlmoe::moe::MoeLayer<B> layer(backend, config), teacher_layer(backend, config);
  const index_t tokens = 2048, d = config.model_dim, steps = 300;
  rlmoe::Buffer<float, B> x(backend, tokens * d), y(backend, tokens * d), target(backend, tokens * d),
      dy(backend, tokens * d), dx(backend, tokens * d);
  rlmoe::Buffer<double, B> loss(backend, 1);
  double first_loss = 0.0, last_loss = 0.0;
  rlmoe::moe::MoeMetrics before, after;
  for (index_t step = 0; step < steps; ++step) {
    rlmoe::parallel_for(backend, tokens * d, DrawTokens{x.view(), static_cast<std::uint64_t>(step)});
    teacher_layer.forward(t, x.view(tokens, d), target.view(tokens, d), rlmoe::moe::MoeLayer<B>::ForwardOptions::inference());
    layer.forward(p, x.view(tokens, d), y.view(tokens, d));
    rlmoe::transform_reduce(backend, tokens * d, SquaredError{y.view(), target.view(), dy.view()}, loss.view(),
                            rlmoe::Sum{}, 0.0);
    rlmoe::fill(backend, grads.view(), 0.0f);
    layer.backward(p, dy.view(tokens, d), dx.view(tokens, d), g);
    rlmoe::parallel_for(backend, grads.size(), SgdStep{student.view(), grads.view(), 0.5f});
    if (step == 0) before = layer.metrics();
    layer.update_bias();
    const double l = rlmoe::to_host(backend, loss.view())[0];
    if (step == 0) first_loss = l;
    if (step % 50 == 0 || step == steps - 1) std::printf("  step %3lld  mse %.5f\n", static_cast<long long>(step), l);
    last_loss = l;
  }
  after = layer.metrics();
  print_loads("before", before);
  print_loads("after", after);
  const bool learned = last_loss < 0.5 * first_loss;
  const bool balanced = after.max_over_mean_load < 1.2;
  std::printf("  loss fell by half: %s; balanced (max/mean < 1.2): %s\n", learned ? "yes" : "NO", balanced ? "yes" : "NO");
  return learned && balanced ? 0 : 1;
}

}  // namespace

int main() {
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) return run(rlmoe::Cuda{});
  std::printf("(no CUDA device: running on the host)\n");
#endif
  return run(rlmoe::Host{});
}
