#pragma once
// R1's output template over token ids: "<think> reasoning </think> <answer> answer </answer>",
// each tag a single (special) token, optionally followed by an end-of-sequence token. A tag set
// to kNoToken is not used.
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/rl/rollout.hpp"

namespace rlmoe::rl {

inline constexpr token_t kNoToken = -1;

struct ThinkAnswerTags {
  token_t think_open = kNoToken;
  token_t think_close = kNoToken;
  token_t answer_open = kNoToken;
  token_t answer_close = kNoToken;
  token_t eos = kNoToken;  ///< dropped from the end of a completion before it is judged

  RLMOE_HOST_DEVICE constexpr bool has_answer_tags() const { return answer_open != kNoToken && answer_close != kNoToken; }
};

/// The completion without a trailing end-of-sequence token.
RLMOE_HOST_DEVICE constexpr TokenSpan strip_eos(TokenSpan completion, token_t eos) {
  if (eos != kNoToken && completion.size > 0 && completion[completion.size - 1] == eos) --completion.size;
  return completion;
}

struct AnswerSpan {
  TokenSpan tokens;
  bool found = false;
};

/// The answer a completion gives: the tokens between the first answer_open and the answer_close
/// after it; with no answer tags configured, the whole completion without its EOS. Not found when
/// the tags are configured but the pair is missing.
RLMOE_HOST_DEVICE constexpr AnswerSpan extract_answer(TokenSpan completion, const ThinkAnswerTags& tags) {
  const TokenSpan body = strip_eos(completion, tags.eos);
  if (!tags.has_answer_tags()) return {body, true};
  const index_t open = body.find(tags.answer_open);
  if (open < 0) return {};
  const index_t close = body.find(tags.answer_close, open + 1);
  if (close < 0) return {};
  return {body.subspan(open + 1, close), true};
}

}  // namespace rlmoe::rl
