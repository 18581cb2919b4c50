#pragma once
// Format reward (R1): 1 when the completion is exactly
//   <think> t* </think> <answer> a+ </answer> [eos]
// with no tag token inside the reasoning t* or the answer a+ (a non-empty answer), and nothing
// after </answer> but the optional end-of-sequence token; 0 otherwise. All four tags must be set.
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

struct FormatReward {
  ThinkAnswerTags tags;

  RLMOE_HOST_DEVICE constexpr bool is_tag(token_t t) const {
    return t == tags.think_open || t == tags.think_close || t == tags.answer_open || t == tags.answer_close;
  }

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const {
    const TokenSpan c = strip_eos(sample.completion, tags.eos);
    // Positions of the four tags, each the first of its kind after the previous one.
    if (c.size < 5 || c[0] != tags.think_open) return 0.0f;
    const index_t think_close = c.find(tags.think_close, 1);
    if (think_close < 0 || think_close + 1 >= c.size || c[think_close + 1] != tags.answer_open) return 0.0f;
    const index_t answer_open = think_close + 1;
    if (c[c.size - 1] != tags.answer_close || c.size - 1 <= answer_open + 1) return 0.0f;  // non-empty answer
    for (index_t i = 1; i < c.size - 1; ++i)
      if (i != think_close && i != answer_open && is_tag(c[i])) return 0.0f;
    return 1.0f;
  }

  void validate() const {
    RLMOE_CHECK(tags.think_open != kNoToken && tags.think_close != kNoToken && tags.answer_open != kNoToken &&
                    tags.answer_close != kNoToken,
                ConfigError, "FormatReward: all four tags (think_open, think_close, answer_open, answer_close) must be set");
  }
};

}  // namespace rlmoe::rl
