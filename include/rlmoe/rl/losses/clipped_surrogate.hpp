#pragma once
// PPO's clipped surrogate as GRPO uses it, per token, with rho the importance ratio and A the
// advantage:
//
//   L = -min(rho' A, clip(rho, 1 - eps_low, 1 + eps_high) A) + beta KL(pi_theta || pi_ref)
//
// where rho' = min(rho, ratio_cap) when a cap is set (two-sided clipping, TRL's `delta`) and rho
// otherwise. eps_high > eps_low is DAPO's clip-higher. The KL term uses the estimator Kl and is
// skipped when beta == 0. Derivatives follow PyTorch's conventions, so they agree with autograd on
// TRL's formulas: clamp passes the gradient at its bounds, and min splits it evenly on ties.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/rl/concepts.hpp"
#include "rlmoe/rl/kl.hpp"
#include "rlmoe/rl/losses/aggregation.hpp"
#include "rlmoe/rl/token_loss.hpp"

namespace rlmoe::rl {

template <KlEstimator KlT = K3, LossAggregation AggregationT = TokenMean, RatioLevel kLevel = RatioLevel::Token>
struct ClippedSurrogate {
  using Kl = KlT;
  using Aggregation = AggregationT;
  static constexpr RatioLevel kRatioLevel = kLevel;

  float epsilon_low = 0.2f;   ///< lower clip: rho >= 1 - epsilon_low
  float epsilon_high = 0.2f;  ///< upper clip: rho <= 1 + epsilon_high (DAPO: 0.28)
  float ratio_cap = 0.0f;     ///< > 0: cap on the unclipped ratio (two-sided clipping); 0: off
  float beta = 0.0f;          ///< weight of the KL penalty; 0: no reference policy needed

  static constexpr std::string_view kName = "ClippedSurrogate";

  [[nodiscard]] bool uses_reference() const { return beta != 0.0f; }

  /// Its settings by name: checkpoints keep them, and a resumed run must use the same.
  [[nodiscard]] std::vector<std::pair<std::string, io::Json>> settings() const {
    return {{"kl", io::Json(std::string(Kl::kName))},
            {"aggregation", io::Json(std::string(Aggregation::kName))},
            {"ratio_level", io::Json(kLevel == RatioLevel::Token ? "token" : "sequence")},
            {"epsilon_low", io::Json(static_cast<double>(epsilon_low))},
            {"epsilon_high", io::Json(static_cast<double>(epsilon_high))},
            {"ratio_cap", io::Json(static_cast<double>(ratio_cap))},
            {"beta", io::Json(static_cast<double>(beta))}};
  }

  void validate() const {
    RLMOE_CHECK(epsilon_low >= 0.0f && epsilon_low < 1.0f, ConfigError, "ClippedSurrogate: epsilon_low is ",
                epsilon_low, " but must lie in [0, 1)");
    RLMOE_CHECK(epsilon_high >= 0.0f && math::isfinite(epsilon_high), ConfigError, "ClippedSurrogate: epsilon_high is ",
                epsilon_high, " but must be finite and >= 0");
    RLMOE_CHECK(ratio_cap == 0.0f || (ratio_cap > 1.0f + epsilon_high && math::isfinite(ratio_cap)), ConfigError,
                "ClippedSurrogate: ratio_cap is ", ratio_cap, " but must be 0 (off) or finite and > 1 + epsilon_high = ",
                1.0f + epsilon_high);
    RLMOE_CHECK(beta >= 0.0f && math::isfinite(beta), ConfigError, "ClippedSurrogate: beta is ", beta,
                " but must be finite and >= 0");
  }

  template <class Real>
  RLMOE_HOST_DEVICE TokenLossTerms<Real> operator()(const TokenLossInput<Real>& in) const {
    const Real a = in.advantage;
    const Real rho = math::exp(in.log_ratio);
    const Real low = Real(1) - static_cast<Real>(epsilon_low);
    const Real high = Real(1) + static_cast<Real>(epsilon_high);
    const bool capped = ratio_cap > 0.0f && rho > static_cast<Real>(ratio_cap);
    const Real unclipped = (capped ? static_cast<Real>(ratio_cap) : rho) * a;
    const Real clipped = math::clamp(rho, low, high) * a;
    // d/d log_ratio of each branch; rho = exp(log_ratio) is its own derivative.
    const Real d_unclipped = capped ? Real(0) : rho * a;
    const Real d_clipped = (rho >= low && rho <= high) ? rho * a : Real(0);
    Real objective, d_objective;
    if (unclipped < clipped) {
      objective = unclipped;
      d_objective = d_unclipped;
    } else if (clipped < unclipped) {
      objective = clipped;
      d_objective = d_clipped;
    } else {
      objective = unclipped;
      d_objective = (d_unclipped + d_clipped) / Real(2);
    }
    TokenLossTerms<Real> out{};
    out.loss = -objective;
    out.dloss_dlog_ratio = -d_objective;
    out.dloss_dlogp = Real(0);
    out.ratio = rho;
    out.kl = Real(0);
    out.clipped_low = rho < low && a < Real(0);
    out.clipped_high = rho > high && a > Real(0);
    if (beta != 0.0f) {
      const Real b = static_cast<Real>(beta);
      out.kl = Kl::value(in.logp, in.ref_logp);
      out.loss += b * out.kl;
      out.dloss_dlogp = b * Kl::grad(in.logp, in.ref_logp);
    }
    return out;
  }
};

}  // namespace rlmoe::rl
