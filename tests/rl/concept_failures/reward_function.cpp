// A reward whose operator() is not const is refused with one message saying so.
#include "common.hpp"

struct MutableReward {
  float calls = 0;
  float operator()(const rlmoe::rl::Sample&) { return calls += 1; }
};
struct ConstReward {
  float operator()(const rlmoe::rl::Sample&) const { return 1.0f; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Reward = ConstReward;
#else
using Reward = MutableReward;
#endif

int main() { score_with(Reward{}); }
