// 00: the backend primitives on a small GRPO-and-MoE-flavoured workload, written once for any
// backend. Built with g++ it runs on the Host backend; built with nvcc (00_backend_primitives_cuda)
// it runs on the GPU when there is one. Every step is checked against a plain loop on the host.
#include <rlmoe/rlmoe.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr rlmoe::index_t kPrompts = 4;
constexpr rlmoe::index_t kGroupSize = 8;  // completions per prompt
constexpr rlmoe::index_t kCompletions = kPrompts * kGroupSize;

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("  %-56s %s\n", what, ok ? "ok" : "FAILED");
  failures += ok ? 0 : 1;
}

/// A Bernoulli reward per completion, drawn from Philox stream i: the same on every backend.
struct DrawRewards {
  rlmoe::VectorView<float> rewards;
  RLMOE_HOST_DEVICE void operator()(rlmoe::index_t i) const {
    rlmoe::RandomStream stream(/*seed=*/2026, /*stream=*/static_cast<std::uint64_t>(i));
    rewards[i] = stream.uniform() < 0.5f ? 1.0f : 0.0f;
  }
};

/// GRPO's group-normalised advantage (r - mean) / (std + eps).
struct NormaliseInGroup {
  rlmoe::VectorView<const float> rewards, mean, stddev;
  rlmoe::VectorView<float> advantages;
  RLMOE_HOST_DEVICE void operator()(rlmoe::index_t i) const {
    const rlmoe::index_t g = i / kGroupSize;
    advantages[i] = (rewards[i] - mean[g]) / (stddev[g] + 1e-4f);
  }
};

template <rlmoe::Backend B>
int run(const B& backend) {
  std::printf("backend: %s\n", B::kName.data());

  // 1. Rewards from counter-based random numbers.
  rlmoe::Buffer<float, B> rewards(backend, kCompletions);
  rlmoe::parallel_for(backend, kCompletions, DrawRewards{rewards.view()});
  const std::vector<float> r = rlmoe::to_host(backend, rewards.view());
  bool same = true;
  for (rlmoe::index_t i = 0; i < kCompletions; ++i) {
    rlmoe::RandomStream stream(2026, static_cast<std::uint64_t>(i));
    same = same && r[static_cast<std::size_t>(i)] == (stream.uniform() < 0.5f ? 1.0f : 0.0f);
  }
  check(same, "rewards equal a host draw from the same Philox streams");

  // 2. Group statistics: one segment per prompt.
  std::vector<rlmoe::index_t> offsets;
  for (rlmoe::index_t g = 0; g <= kPrompts; ++g) offsets.push_back(g * kGroupSize);
  auto group_offsets = rlmoe::to_backend(backend, offsets);
  rlmoe::Buffer<float, B> mean(backend, kPrompts), stddev(backend, kPrompts);
  rlmoe::segmented_reduce<B, float>(backend, rewards.view(), group_offsets.view(), {{}, mean.view(), stddev.view()});

  // 3. Advantages, and their sum: zero per group, so zero overall.
  rlmoe::Buffer<float, B> advantages(backend, kCompletions), total(backend, 1);
  rlmoe::parallel_for(backend, kCompletions, NormaliseInGroup{rewards.view(), mean.view(), stddev.view(), advantages.view()});
  rlmoe::reduce(backend, advantages.view(), total.view());
  const std::vector<float> m = rlmoe::to_host(backend, mean.view());
  bool means_ok = true;
  for (rlmoe::index_t g = 0; g < kPrompts; ++g) {
    float sum = 0;
    for (rlmoe::index_t j = 0; j < kGroupSize; ++j) sum += r[static_cast<std::size_t>(g * kGroupSize + j)];
    means_ok = means_ok && m[static_cast<std::size_t>(g)] == sum / kGroupSize;
  }
  check(means_ok, "group means equal the host's");
  check(std::abs(rlmoe::to_host(backend, total.view())[0]) < 1e-4f, "advantages sum to zero");

  // 4. MoE-style dispatch: stable sort of (expert id, token) pairs, then offsets by scan.
  const std::vector<int> expert_of_token = {2, 0, 1, 2, 2, 0, 3, 1, 0, 2};
  std::vector<int> tokens(expert_of_token.size());
  for (std::size_t t = 0; t < tokens.size(); ++t) tokens[t] = static_cast<int>(t);
  auto keys = rlmoe::to_backend(backend, expert_of_token);
  auto values = rlmoe::to_backend(backend, tokens);
  rlmoe::Buffer<int, B> sorted_experts(backend, keys.size()), sorted_tokens(backend, keys.size());
  rlmoe::sort_pairs<B, int, int>(backend, keys.view(), values.view(), sorted_experts.view(), sorted_tokens.view(), 2);
  const std::vector<int> dispatch = rlmoe::to_host(backend, sorted_tokens.view());
  check(dispatch == std::vector<int>({1, 5, 8, 2, 7, 0, 3, 4, 9, 6}), "tokens grouped by expert, in token order");
  auto counts = rlmoe::to_backend(backend, std::vector<int>{3, 2, 4, 1});
  rlmoe::Buffer<int, B> expert_offsets(backend, 5);
  rlmoe::exclusive_scan(backend, counts.view(), expert_offsets.view());
  check(rlmoe::to_host(backend, expert_offsets.view()) == std::vector<int>({0, 3, 5, 9, 10}), "expert offsets");

  // 5. A product: [2 x 3] * [3 x 2].
  auto a = rlmoe::to_backend(backend, std::vector<float>{1, 2, 3, 4, 5, 6});
  auto b = rlmoe::to_backend(backend, std::vector<float>{1, 0, 0, 1, 1, 1});
  rlmoe::Buffer<float, B> c(backend, 4);
  rlmoe::gemm<B, float>(backend, rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f, a.view(2, 3), b.view(3, 2), 0.0f,
                        c.view(2, 2));
  check(rlmoe::to_host(backend, c.view()) == std::vector<float>({4, 5, 10, 11}), "gemm");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main() {
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) return run(rlmoe::Cuda{});
  std::printf("(no CUDA device: running on the host)\n");
#endif
  return run(rlmoe::Host{});
}
