// A reward whose call returns no number must be refused by the RewardFunction concept.
#include <rlmoe/rlmoe.hpp>

struct GoodReward {
  float operator()(const rlmoe::rl::Sample&) const { return 1.0f; }
};
struct BadReward {
  const char* operator()(const rlmoe::rl::Sample&) const { return "one"; }
};
#if defined(RLMOE_EXPECT_SUCCESS)
using Reward = GoodReward;
#else
using Reward = BadReward;
#endif

int main() {
  rlmoe::Host host;
  rlmoe::rl::RolloutView rollout;
  std::vector<float> rewards(0);
  rlmoe::rl::score(host, Reward{}, rollout, rlmoe::make_view(rewards.data(), 0));
}
