// A reward whose call returns no number is refused with one message saying so.
#include "common.hpp"

struct TextReward {
  const char* operator()(const rlmoe::rl::Sample&) const { return "one"; }
};
struct NumberReward {
  float operator()(const rlmoe::rl::Sample&) const { return 1.0f; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Reward = NumberReward;
#else
using Reward = TextReward;
#endif

int main() { score_with(Reward{}); }
