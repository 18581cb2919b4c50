#pragma once
// Float64 references for the GRPO math, written as plain loops straight from the formulas in
// docs/grpo.md, sharing no code with the library: advantages, KL estimates and the aggregated
// clipped-surrogate loss (whose gradients the tests take by central finite differences).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "rlmoe/core/types.hpp"

namespace rlmoe::test {

enum class Estimator { GroupNormalized, GroupMean, LeaveOneOut, BatchNormalized };

inline std::vector<double> reference_advantages(const std::vector<double>& r, index_t g, Estimator e, double eps,
                                                bool unbiased) {
  const auto n = static_cast<index_t>(r.size());
  std::vector<double> a(r.size(), 0.0);
  for (index_t start = 0; start < n; start += g) {
    bool equal = true;
    double sum = 0.0;
    for (index_t i = start; i < start + g; ++i) {
      sum += r[i];
      equal = equal && r[i] == r[start];
    }
    if (equal) continue;  // zero advantage
    const double mean = sum / g;
    double squares = 0.0;
    for (index_t i = start; i < start + g; ++i) squares += (r[i] - mean) * (r[i] - mean);
    const double std = std::sqrt(squares / (g - (unbiased ? 1 : 0)));
    for (index_t i = start; i < start + g; ++i) {
      switch (e) {
        case Estimator::GroupNormalized: a[i] = (r[i] - mean) / (std + eps); break;
        case Estimator::GroupMean:
        case Estimator::BatchNormalized: a[i] = r[i] - mean; break;
        case Estimator::LeaveOneOut: a[i] = r[i] - (sum - r[i]) / (g - 1); break;
      }
    }
  }
  if (e == Estimator::BatchNormalized) {
    double mean = 0.0;
    for (double x : a) mean += x / n;
    double squares = 0.0;
    for (double x : a) squares += (x - mean) * (x - mean);
    const double std = std::sqrt(squares / (n - (unbiased ? 1 : 0)));
    for (double& x : a) x /= std + eps;
  }
  return a;
}

enum class Kl { K1, K2, K3 };
enum class Aggregation { TokenMean, SeqMeanTokenMean, SeqMeanTokenSum, SeqMeanTokenSumNorm };

inline double reference_kl(Kl kind, double logp, double ref) {
  const double delta = ref - logp;
  switch (kind) {
    case Kl::K1: return -delta;
    case Kl::K2: return 0.5 * delta * delta;
    case Kl::K3: return std::exp(delta) - delta - 1.0;
  }
  return 0.0;
}

struct LossConfig {
  Kl kl = Kl::K3;
  Aggregation aggregation = Aggregation::TokenMean;
  bool sequence_ratio = false;
  double epsilon_low = 0.2, epsilon_high = 0.2, ratio_cap = 0.0, beta = 0.0;
  index_t max_completion_length = 0;  // 0: the width

  std::string describe() const {
    const char* kls[] = {"k1", "k2", "k3"};
    const char* aggs[] = {"token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"};
    return std::string(kls[static_cast<int>(kl)]) + " " + aggs[static_cast<int>(aggregation)] +
           (sequence_ratio ? " sequence-ratio" : " token-ratio") + " beta=" + std::to_string(beta) +
           " cap=" + std::to_string(ratio_cap) + " eps=" + std::to_string(epsilon_low) + "/" + std::to_string(epsilon_high);
  }
};

/// One batch of per-token inputs, [N, T] row-major, and per-sequence advantages.
struct LossBatch {
  index_t n = 0, width = 0;
  std::vector<double> logp, old_logp, ref_logp, advantages;
  std::vector<std::uint8_t> mask;
};

struct ReferenceLoss {
  double loss = 0.0, active = 0.0, clipped_low = 0.0, clipped_high = 0.0, ratio_sum = 0.0, kl_sum = 0.0;
};

/// The aggregated loss J and its metrics, straight from the formulas.
inline ReferenceLoss reference_loss(const LossConfig& c, const LossBatch& b) {
  ReferenceLoss out;
  double batch_active = 0.0;
  for (std::uint8_t m : b.mask) batch_active += m;
  const index_t t_max = c.max_completion_length > 0 ? c.max_completion_length : b.width;
  for (index_t i = 0; i < b.n; ++i) {
    double active = 0.0, log_ratio_sum = 0.0;
    for (index_t t = 0; t < b.width; ++t)
      if (b.mask[i * b.width + t]) {
        active += 1.0;
        log_ratio_sum += b.logp[i * b.width + t] - b.old_logp[i * b.width + t];
      }
    double weight = 0.0;
    switch (c.aggregation) {
      case Aggregation::TokenMean: weight = 1.0 / std::max(batch_active, 1.0); break;
      case Aggregation::SeqMeanTokenMean: weight = 1.0 / (std::max(active, 1.0) * b.n); break;
      case Aggregation::SeqMeanTokenSum: weight = 1.0 / b.n; break;
      case Aggregation::SeqMeanTokenSumNorm: weight = 1.0 / (static_cast<double>(b.n) * t_max); break;
    }
    for (index_t t = 0; t < b.width; ++t) {
      const index_t k = i * b.width + t;
      if (!b.mask[k]) continue;
      const double log_ratio = c.sequence_ratio ? log_ratio_sum / active : b.logp[k] - b.old_logp[k];
      const double rho = std::exp(log_ratio);
      const double a = b.advantages[i];
      const double unclipped = (c.ratio_cap > 0.0 ? std::min(rho, c.ratio_cap) : rho) * a;
      const double clipped = std::clamp(rho, 1.0 - c.epsilon_low, 1.0 + c.epsilon_high) * a;
      const double kl = c.beta > 0.0 ? reference_kl(c.kl, b.logp[k], b.ref_logp[k]) : 0.0;
      out.loss += weight * (-std::min(unclipped, clipped) + c.beta * kl);
      out.active += 1.0;
      out.clipped_low += (rho < 1.0 - c.epsilon_low && a < 0.0) ? 1.0 : 0.0;
      out.clipped_high += (rho > 1.0 + c.epsilon_high && a > 0.0) ? 1.0 : 0.0;
      out.ratio_sum += rho;
      out.kl_sum += kl;
    }
  }
  return out;
}

}  // namespace rlmoe::test
