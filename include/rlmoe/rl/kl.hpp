#pragma once
// Per-token estimators of KL(pi_theta || pi_ref) from the log-probs of the sampled token, in
// Schulman's notation with delta = log pi_ref - log pi_theta (http://joschu.net/blog/kl-approx.html):
//   k1 = -delta                      unbiased, can be negative
//   k2 = delta^2 / 2                 biased, low variance
//   k3 = exp(delta) - delta - 1      unbiased and always >= 0 (DeepSeekMath, DeepSeek-R1)
// grad() is the exact derivative in log pi_theta (d delta / d logp = -1). Templated on the
// scalar so that the float kernels and the float64 gradient checks run the same formula.
#include <string_view>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"

namespace rlmoe::rl {

struct K1 {
  static constexpr std::string_view kName = "k1";
  template <class Real>
  RLMOE_HOST_DEVICE static Real value(Real logp, Real ref_logp) {
    return logp - ref_logp;
  }
  template <class Real>
  RLMOE_HOST_DEVICE static Real grad(Real, Real) {
    return Real(1);
  }
};

struct K2 {
  static constexpr std::string_view kName = "k2";
  template <class Real>
  RLMOE_HOST_DEVICE static Real value(Real logp, Real ref_logp) {
    const Real delta = ref_logp - logp;
    return delta * delta / Real(2);
  }
  template <class Real>
  RLMOE_HOST_DEVICE static Real grad(Real logp, Real ref_logp) {
    return logp - ref_logp;
  }
};

struct K3 {
  static constexpr std::string_view kName = "k3";
  template <class Real>
  RLMOE_HOST_DEVICE static Real value(Real logp, Real ref_logp) {
    const Real delta = ref_logp - logp;
    return math::exp(delta) - delta - Real(1);
  }
  template <class Real>
  RLMOE_HOST_DEVICE static Real grad(Real logp, Real ref_logp) {
    return Real(1) - math::exp(ref_logp - logp);
  }
};

}  // namespace rlmoe::rl
