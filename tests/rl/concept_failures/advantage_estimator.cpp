// An estimator over single rewards instead of a group's views is refused with one message stating
// the expected signature, in compute_advantages and in the trainer alike.
#include "common.hpp"

struct GoodEstimator {
  template <class T>
  void operator()(rlmoe::VectorView<const T> r, rlmoe::VectorView<T> a) const {
    for (rlmoe::index_t i = 0; i < r.size(); ++i) a[i] = r[i];
  }
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
