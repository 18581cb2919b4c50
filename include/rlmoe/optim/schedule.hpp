#pragma once
// Learning-rate schedules, as functions of the optimizer step (0-based), evaluated on the host.
//   constant:        lr
//   warmup_cosine:   lr * (step + 1) / warmup during warmup, then
//                    min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2 over the remaining steps
#include <cmath>
#include <numbers>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe::optim {

struct ConstantSchedule {
  double learning_rate = 1e-3;

  [[nodiscard]] double operator()(index_t) const { return learning_rate; }
  void validate() const {
    RLMOE_CHECK(learning_rate > 0.0 && std::isfinite(learning_rate), ConfigError, "ConstantSchedule: learning_rate is ",
                learning_rate, " but must be finite and > 0");
  }
};

struct WarmupCosineSchedule {
  double learning_rate = 1e-3;     ///< the peak, reached at the end of the warmup
  double min_learning_rate = 0.0;  ///< the floor the cosine decays to
  index_t warmup_steps = 0;
  index_t total_steps = 1;         ///< warmup included; later steps stay at the floor

  [[nodiscard]] double operator()(index_t step) const {
    if (step < warmup_steps) return learning_rate * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const index_t decay_steps = total_steps - warmup_steps;
    if (decay_steps <= 0 || step >= total_steps) return min_learning_rate;
    const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(decay_steps);
    return min_learning_rate + (learning_rate - min_learning_rate) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }

  void validate() const {
    RLMOE_CHECK(learning_rate > 0.0 && std::isfinite(learning_rate), ConfigError,
                "WarmupCosineSchedule: learning_rate is ", learning_rate, " but must be finite and > 0");
    RLMOE_CHECK(min_learning_rate >= 0.0 && min_learning_rate <= learning_rate, ConfigError,
                "WarmupCosineSchedule: min_learning_rate is ", min_learning_rate, " but must lie in [0, learning_rate]");
    RLMOE_CHECK(warmup_steps >= 0 && total_steps >= 1 && warmup_steps <= total_steps, ConfigError,
                "WarmupCosineSchedule: warmup_steps (", warmup_steps, ") must lie in [0, total_steps = ", total_steps, "]");
  }
};

}  // namespace rlmoe::optim
