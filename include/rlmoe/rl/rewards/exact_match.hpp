#pragma once
// Accuracy reward (R1's rule-based accuracy): 1 when the answer span of the completion equals the
// reference answer token for token, 0 otherwise (also when no answer can be extracted).
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/rewards/tags.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

struct ExactMatch {
  ThinkAnswerTags tags;

  RLMOE_HOST_DEVICE float operator()(const Sample& sample) const {
    const AnswerSpan answer = extract_answer(sample.completion, tags);
    return answer.found && answer.tokens.equals(sample.reference) ? 1.0f : 0.0f;
  }
};

}  // namespace rlmoe::rl
