#pragma once
// AdamW over one flat parameter buffer, with global gradient-norm clipping, in one fused kernel
// per step after one reduction for the norm, and no host round-trip:
//   norm  = ||g||_2 over the whole buffer (float64 accumulation)
//   scale = min(1, max_grad_norm / (norm + 1e-6))            (1 when clipping is off)
//   m = b1 m + (1 - b1) scale g,   v = b2 v + (1 - b2) (scale g)^2
//   p = p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) - lr wd p     (decoupled decay)
// The norm stays in backend memory (grad_norm()) for metrics; a NaN or infinite norm makes the
// step leave the parameters unchanged (and it does not count as a step), and an update that makes
// a parameter NaN or infinite (a learning rate of 1e39, say) is counted in the same kernel: both
// are reported by grad_norm(), which the caller reads after each step anyway, so the check costs
// no synchronisation of its own.
#include <cmath>
#include <cstdint>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/dist/communicator.hpp"
#include "rlmoe/dist/single_process.hpp"

namespace rlmoe::optim {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  ///< global norm clipping; 0: off

  void validate() const {
    RLMOE_CHECK(beta1 >= 0.0 && beta1 < 1.0, ConfigError, "AdamWConfig: beta1 is ", beta1, " but must lie in [0, 1)");
    RLMOE_CHECK(beta2 >= 0.0 && beta2 < 1.0, ConfigError, "AdamWConfig: beta2 is ", beta2, " but must lie in [0, 1)");
    RLMOE_CHECK(epsilon > 0.0 && std::isfinite(epsilon), ConfigError, "AdamWConfig: epsilon is ", epsilon,
                " but must be finite and > 0");
    RLMOE_CHECK(weight_decay >= 0.0 && std::isfinite(weight_decay), ConfigError, "AdamWConfig: weight_decay is ", weight_decay,
                " but must be finite and >= 0");
    RLMOE_CHECK(max_grad_norm >= 0.0 && std::isfinite(max_grad_norm), ConfigError, "AdamWConfig: max_grad_norm is ",
                max_grad_norm, " but must be finite and >= 0 (0: no clipping)");
  }
};

namespace detail {

template <class T>
struct SquaredNorm {
  VectorView<const T> g;
  RLMOE_HOST_DEVICE double operator()(index_t i) const { return static_cast<double>(g[i]) * static_cast<double>(g[i]); }
};

/// total[0] += part[0].
struct AddInto {
  double* total;
  const double* part;
  RLMOE_HOST_DEVICE void operator()(index_t) const { *total += *part; }
};

/// Updates element i; returns 1 when its new value is not finite.
template <class T>
struct AdamWUpdate {
  VectorView<T> p, m, v;
  VectorView<const T> g;
  const double* squared_norm;
  double max_grad_norm, learning_rate, beta1, beta2, epsilon, weight_decay, bias1, bias2;

  RLMOE_HOST_DEVICE double operator()(index_t i) const {
    const double norm = math::sqrt(*squared_norm);
    if (!math::isfinite(norm)) return 0.0;  // a poisoned step changes nothing; the caller sees the norm
    const double coefficient = max_grad_norm > 0.0 ? max_grad_norm / (norm + 1e-6) : 1.0;  // torch's clip_grad_norm_
    const double scale = coefficient < 1.0 ? coefficient : 1.0;
    const double grad = scale * static_cast<double>(g[i]);
    const double m_new = beta1 * m[i] + (1.0 - beta1) * grad;
    const double v_new = beta2 * v[i] + (1.0 - beta2) * grad * grad;
    m[i] = static_cast<T>(m_new);
    v[i] = static_cast<T>(v_new);
    const double update = (m_new / bias1) / (math::sqrt(v_new / bias2) + epsilon) + weight_decay * p[i];
    p[i] = static_cast<T>(p[i] - learning_rate * update);
    return math::isfinite(p[i]) ? 0.0 : 1.0;
  }
};

}  // namespace detail

/// Owns the first and second moments of a flat parameter buffer of `size` elements of T (float;
/// double for float64 checks of whole training runs).
template <Backend B, class T = float>
class AdamW {
 public:
  AdamW(const B& backend, index_t size, const AdamWConfig& config)
      : backend_(backend), config_(config), m_(backend, size), v_(backend, size), report_(backend, 3) {
    config_.validate();
    fill(backend, m_.view(), T(0));
    fill(backend, v_.view(), T(0));
    fill(backend, report_.view(), 0.0);
  }

  /// One update of `parameters` from `gradients` at `learning_rate`; enqueued, no synchronisation.
  /// `norm_over`: the ranks whose buffers are parts of one parameter vector (ShardedAdamW): the
  /// clipping norm and the count of non-finite parameters are summed over them.
  template <dist::Communicator Comm = dist::SingleProcess>
  void step(VectorView<T> parameters, VectorView<const T> gradients, double learning_rate, const Comm& norm_over = {}) {
    update(parameters, gradients, learning_rate, 0, [&](VectorView<double> values) {
      if (norm_over.size() > 1) dist::all_reduce(norm_over, backend_, values, Sum{});
    });
  }

  /// Expert parallel: the first `replicated` elements are alike on every rank of an expert group
  /// and the rest (this rank's experts) its own, so the clipping norm counts the first once and
  /// sums the rest over the group: `sum_over_group(VectorView<double>)` sums in place over its ranks.
  template <class SumOverGroup>
  void step(VectorView<T> parameters, VectorView<const T> gradients, double learning_rate, index_t replicated,
            const SumOverGroup& sum_over_group) {
    RLMOE_CHECK(replicated >= 0 && replicated <= gradients.size(), ShapeError, "AdamW::step: ", replicated,
                " replicated elements of ", gradients.size());
    update(parameters, gradients, learning_rate, replicated, sum_over_group);
  }

 private:
  template <class SumOverRanks>
  void update(VectorView<T> parameters, VectorView<const T> gradients, double learning_rate, index_t replicated,
              const SumOverRanks& sum_over_ranks) {
    require_shape(parameters, m_.view().shape(), "AdamW::step: parameters");
    require_shape(gradients, m_.view().shape(), "AdamW::step: gradients");
    RLMOE_CHECK(learning_rate >= 0.0 && std::isfinite(learning_rate), ConfigError, "AdamW::step: learning_rate is ",
                learning_rate, " but must be finite and >= 0");
    const index_t n = gradients.size();
    transform_reduce(backend_, n - replicated, detail::SquaredNorm<T>{gradients.slice(replicated, n)}, report_.view().slice(0, 1),
                     Sum{}, 0.0);
    sum_over_ranks(report_.view().slice(0, 1));
    if (replicated > 0) {
      transform_reduce(backend_, replicated, detail::SquaredNorm<T>{gradients.slice(0, replicated)}, report_.view().slice(2, 3),
                       Sum{}, 0.0);
      parallel_for(backend_, 1, detail::AddInto{report_.data(), report_.data() + 2});
    }
    ++steps_;
    checked_ = false;
    learning_rate_ = learning_rate;
    const double bias1 = 1.0 - std::pow(config_.beta1, static_cast<double>(steps_));
    const double bias2 = 1.0 - std::pow(config_.beta2, static_cast<double>(steps_));
    transform_reduce(backend_, parameters.size(),
                     detail::AdamWUpdate<T>{parameters, m_.view(), v_.view(), gradients, report_.data(), config_.max_grad_norm,
                                         learning_rate, config_.beta1, config_.beta2, config_.epsilon, config_.weight_decay,
                                         bias1, bias2},
                     report_.view().slice(1, 2), Sum{}, 0.0);
    sum_over_ranks(report_.view().slice(1, 2));
  }

 public:

  /// The gradient norm of the last step, before clipping (copies to the host: waits). Throws
  /// NumericError when it was NaN or infinite (the step then left the parameters unchanged and is
  /// not counted) or when the update made parameters NaN or infinite.
  [[nodiscard]] double grad_norm() {
    const std::vector<double> report = to_host(backend_, report_.view().slice(0, 2));
    const double norm = std::sqrt(report[0]);
    if (!std::isfinite(norm)) {
      if (!checked_) --steps_;  // skipped: the moments and the bias correction did not advance
      checked_ = true;
      throw NumericError(rlmoe::detail::message("AdamW: the gradient norm of step ", steps_ + 1, " is ", norm,
                                                "; the step was skipped"));
    }
    checked_ = true;
    RLMOE_CHECK(report[1] == 0.0, NumericError, "AdamW: step ", steps_, " at learning rate ", learning_rate_, " made ",
                static_cast<std::int64_t>(report[1]), " parameters NaN or infinite (gradient norm ", norm, ")");
    return norm;
  }

  [[nodiscard]] const AdamWConfig& config() const { return config_; }
  [[nodiscard]] index_t steps() const { return steps_; }
  /// Bytes of optimizer state this process holds (the two moments).
  [[nodiscard]] index_t state_bytes() const { return 2 * m_.size() * static_cast<index_t>(sizeof(T)); }
  /// Optimizer state, for checkpoints.
  [[nodiscard]] VectorView<T> first_moment() { return m_.view(); }
  [[nodiscard]] VectorView<T> second_moment() { return v_.view(); }
  [[nodiscard]] VectorView<const T> first_moment() const { return m_.view(); }
  [[nodiscard]] VectorView<const T> second_moment() const { return v_.view(); }
  void set_steps(index_t steps) { steps_ = steps; }

 private:
  B backend_;  // a copy: Host is a few bytes, Cuda a shared handle
  AdamWConfig config_;
  Buffer<T, B> m_, v_;
  Buffer<double, B> report_;  ///< the last step's squared gradient norm, its count of non-finite parameters, and the
                              ///< squared norm of the replicated part (expert parallelism)
  index_t steps_ = 0;
  bool checked_ = true;        ///< grad_norm() has seen the last step's report
  double learning_rate_ = 0.0;
};

}  // namespace rlmoe::optim
