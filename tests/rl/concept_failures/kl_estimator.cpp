// A KL estimator without a gradient must be refused by the KlEstimator concept.
#include <rlmoe/rlmoe.hpp>

struct GoodKl {
  static float value(float logp, float ref) { return logp - ref; }
  static float grad(float, float) { return 1.0f; }
};
struct BadKl {
  static float value(float logp, float ref) { return logp - ref; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Kl = GoodKl;
#else
using Kl = BadKl;
#endif

int main() {
  rlmoe::rl::ClippedSurrogate<Kl> loss;
  loss.validate();
}
