#pragma once
// A reward that can only run on the host (it calls a library, parses text, runs code). score()
// evaluates it in a host loop; on a device backend it first copies the batch's tokens to the host
// once, then copies the rewards back.
//   HostReward reward{[](const rlmoe::rl::Sample& s) { return my_checker(s) ? 1.0f : 0.0f; }};
#include <type_traits>

#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

template <class F>
struct HostReward {
  F function;
  float operator()(const Sample& sample) const { return static_cast<float>(function(sample)); }
  /// The function's own checks, when it has them (score() calls this first).
  void validate() const
    requires requires(const F& f) { f.validate(); }
  {
    function.validate();
  }
};

template <class F>
HostReward(F) -> HostReward<F>;

template <class R>
inline constexpr bool is_host_reward = false;
template <class F>
inline constexpr bool is_host_reward<HostReward<F>> = true;

}  // namespace rlmoe::rl
