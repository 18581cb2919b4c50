// GRPO's group statistics with rlmoe: the mean and spread of the rewards of each prompt's group.
#include <rlmoe/rlmoe.hpp>

#include <cstdio>
#include <vector>

template <rlmoe::Backend B>
int run(const B& backend) {
  const std::vector<float> rewards = {1, 0, 0, 1, /* group 2 */ 1, 1, 1, 0};
  const std::vector<rlmoe::index_t> group_offsets = {0, 4, 8};
  auto r = rlmoe::to_backend(backend, rewards);
  auto groups = rlmoe::to_backend(backend, group_offsets);
  rlmoe::Buffer<float, B> mean(backend, 2), stddev(backend, 2);
  rlmoe::segmented_reduce<B, float>(backend, r.view(), groups.view(), {{}, mean.view(), stddev.view()});
  const auto m = rlmoe::to_host(backend, mean.view());
  std::printf("%s: group means %g %g\n", B::kName.data(), m[0], m[1]);
  return m[0] == 0.5f && m[1] == 0.75f ? 0 : 1;
}

int main() {
#if defined(__CUDACC__)
  if (rlmoe::cuda_device_count() > 0) return run(rlmoe::Cuda{});
#endif
  return run(rlmoe::Host{});
}
