// An estimator that takes a single reward instead of a group must be refused by the
// AdvantageEstimator concept.
#include <rlmoe/rlmoe.hpp>

struct GoodEstimator {
  void operator()(rlmoe::VectorView<const float> r, rlmoe::VectorView<float> a) const { a[0] = r[0]; }
};
struct BadEstimator {
  float operator()(float reward) const { return reward; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Estimator = GoodEstimator;
#else
using Estimator = BadEstimator;
#endif

int main() {
  rlmoe::Host host;
  std::vector<float> r(4), a(4);
  rlmoe::rl::compute_advantages<rlmoe::Host, Estimator, float>(host, {}, rlmoe::make_view(r.data(), 4), 2,
                                                                rlmoe::make_view(a.data(), 4));
}
