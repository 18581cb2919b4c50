#pragma once
// DAPO's soft overlong punishment, for a completion of |y| tokens, a maximum length L_max and a
// punishment interval L_cache:
//   0                                  |y| <= L_max - L_cache
//   ((L_max - L_cache) - |y|) / L_cache   L_max - L_cache < |y| <= L_max
//   -1                                 |y| > L_max
// The length counts every generated token, the end-of-sequence token included.
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

struct OverlongPenalty {
  index_t max_length = 0;    ///< L_max
  index_t cache_length = 0;  ///< L_cache, in [1, L_max]

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const {
    const index_t length = sample.completion.size;
    const index_t expected = max_length - cache_length;
    if (length <= expected) return 0.0f;
    if (length <= max_length) return static_cast<float>(expected - length) / static_cast<float>(cache_length);
    return -1.0f;
  }

  void validate() const {
    RLMOE_CHECK(cache_length >= 1 && cache_length <= max_length, ConfigError, "OverlongPenalty: cache_length is ",
                cache_length, " but must lie in [1, max_length = ", max_length, "]");
  }
};

}  // namespace rlmoe::rl
