#pragma once
// Per-position partial credit: the fraction of positions at which the answer span agrees with the
// reference, over the longer of the two, so that extra or missing tokens cost like wrong ones.
// 1 for an exact match, 0 when no answer can be extracted; two empty spans agree fully.
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

struct PartialCredit {
  ThinkAnswerTags tags;

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const {
    const AnswerSpan answer = extract_answer(sample.completion, tags);
    if (!answer.found) return 0.0f;
    const TokenSpan& a = answer.tokens;
    const TokenSpan& r = sample.reference;
    const index_t longer = a.size > r.size ? a.size : r.size;
    if (longer == 0) return 1.0f;
    const index_t shorter = a.size < r.size ? a.size : r.size;
    index_t matches = 0;
    for (index_t i = 0; i < shorter; ++i) matches += a[i] == r[i] ? 1 : 0;
    return static_cast<float>(matches) / static_cast<float>(longer);
  }
};

}  // namespace rlmoe::rl
