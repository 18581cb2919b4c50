// A per-token loss rule with no aggregation is refused with one message naming what is missing.
#include "common.hpp"

struct RuleWithoutAggregation {
  static constexpr rlmoe::rl::RatioLevel kRatioLevel = rlmoe::rl::RatioLevel::Token;
  bool uses_reference() const { return false; }
  void validate() const {}
  template <class Real>
  rlmoe::rl::TokenLossTerms<Real> operator()(const rlmoe::rl::TokenLossInput<Real>& in) const {
    return {-in.advantage * in.log_ratio, -in.advantage, Real(0), Real(1), Real(0), false, false};
  }
};
struct Rule : RuleWithoutAggregation {
  using Aggregation = rlmoe::rl::TokenMean;
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Loss = Rule;
#else
using Loss = RuleWithoutAggregation;
#endif

int main() {
  rlmoe::Host host;
  rlmoe::rl::PolicyLossInputs<float> inputs;
  std::vector<rlmoe::rl::PolicyLossMetrics> metrics(1);
  rlmoe::rl::policy_loss(host, Loss{}, inputs, rlmoe::MatrixView<float>{}, rlmoe::make_view(metrics.data(), 1));
}
