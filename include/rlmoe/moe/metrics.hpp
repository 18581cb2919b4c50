#pragma once
// Load metrics of an MoE layer: tokens per expert, the largest load over the mean load (1 is
// perfect balance), and the experts that received no token.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace rlmoe::moe {

struct MoeMetrics {
  std::vector<std::int32_t> tokens_per_expert;
  double max_over_mean_load = 0.0;
  int dead_experts = 0;
  double aux_loss = 0.0;

  static MoeMetrics from_counts(std::vector<std::int32_t> counts, double aux_loss) {
    MoeMetrics m;
    m.tokens_per_expert = std::move(counts);
    m.aux_loss = aux_loss;
    if (m.tokens_per_expert.empty()) return m;
    const double total = std::accumulate(m.tokens_per_expert.begin(), m.tokens_per_expert.end(), 0.0);
    const double mean = total / static_cast<double>(m.tokens_per_expert.size());
    const auto max = *std::max_element(m.tokens_per_expert.begin(), m.tokens_per_expert.end());
    m.max_over_mean_load = mean > 0.0 ? static_cast<double>(max) / mean : 0.0;
    m.dead_experts = static_cast<int>(std::count(m.tokens_per_expert.begin(), m.tokens_per_expert.end(), 0));
    return m;
  }
};

}  // namespace rlmoe::moe
