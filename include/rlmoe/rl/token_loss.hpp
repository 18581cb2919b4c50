#pragma once
// The per-token vocabulary of policy losses. A loss rule sees one active token at a time and
// returns its loss and the loss's derivatives; the driver (losses/policy_loss.hpp) applies the
// aggregation weights and the chain rule through the importance ratio.
#include "rlmoe/core/host_device.hpp"

namespace rlmoe::rl {

/// Where the importance ratio pi_theta / pi_old is taken: per token (GRPO, DAPO), or per sequence
/// as the geometric mean of its tokens' ratios (GSPO), shared by all the sequence's tokens.
enum class RatioLevel { Token, Sequence };

template <class Real>
struct TokenLossInput {
  Real log_ratio;  ///< log(pi_theta / pi_old): the token's, or its sequence's mean (GSPO)
  Real logp;       ///< log pi_theta of the token
  Real ref_logp;   ///< log pi_ref of the token (meaningful only when the rule uses a reference)
  Real advantage;  ///< the advantage of the token's sequence
};

template <class Real>
struct TokenLossTerms {
  Real loss;              ///< the token's loss before aggregation
  Real dloss_dlog_ratio;  ///< d loss / d log_ratio
  Real dloss_dlogp;       ///< d loss / d logp through everything but the ratio (the KL term)
  Real ratio;             ///< exp(log_ratio), for metrics
  Real kl;                ///< the KL estimate, for metrics (0 without a reference)
  bool clipped_low;       ///< ratio below 1 - eps_low with A < 0: the clip cut the gradient
  bool clipped_high;      ///< ratio above 1 + eps_high with A > 0: the clip cut the gradient
};

}  // namespace rlmoe::rl
