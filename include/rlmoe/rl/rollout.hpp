#pragma once
// The layout of a batch of rollouts, which rewards, advantage estimators and losses all read.
//
// A batch holds P prompts and G completions of each (N = P * G completions): completion i belongs
// to prompt i / G, and the completions of one prompt form its group. Tokens are padded to a fixed
// width: prompts [P, Lp], reference answers [P, Lr] (the task's ground truth; Lr may be 0),
// completions [N, T]. Per-token quantities over completions (log-probs, the loss mask, gradients)
// share the [N, T] layout. Views point into the memory of the backend in use.
#include <cstdint>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe::rl {

/// Token ids.
using token_t = std::int32_t;

/// The token ids that end a completion and fill the rows past each sequence's end.
struct SpecialTokens {
  token_t eos = 0;
  token_t pad = 0;
};

/// A read-only run of tokens.
struct TokenSpan {
  const token_t* tokens = nullptr;
  index_t size = 0;

  RLMOE_HOST_DEVICE constexpr token_t operator[](index_t i) const { return tokens[i]; }
  RLMOE_HOST_DEVICE constexpr bool empty() const { return size == 0; }
  RLMOE_HOST_DEVICE constexpr TokenSpan subspan(index_t begin, index_t end) const { return {tokens + begin, end - begin}; }

  /// Position of the first `token` at or after `from`, or -1.
  RLMOE_HOST_DEVICE constexpr index_t find(token_t token, index_t from = 0) const {
    for (index_t i = from; i < size; ++i)
      if (tokens[i] == token) return i;
    return -1;
  }

  RLMOE_HOST_DEVICE constexpr bool equals(const TokenSpan& other) const {
    if (size != other.size) return false;
    for (index_t i = 0; i < size; ++i)
      if (tokens[i] != other.tokens[i]) return false;
    return true;
  }
};

/// What a reward function sees of one completion.
struct Sample {
  index_t index = 0;              ///< completion index in the batch, in [0, N)
  index_t prompt = 0;             ///< its prompt, which is also its group
  TokenSpan prompt_tokens;        ///< the prompt, up to its length
  TokenSpan completion;           ///< the generated tokens, up to the completion's length; it ends with the
                                  ///< end-of-sequence token unless the generation budget ran out first
  TokenSpan reference;            ///< the prompt's reference answer (empty if the task has none)
  index_t max_completion_length = 0;  ///< T, the generation budget
};

/// A batch of rollouts. Lengths count the real tokens of each padded row.
struct RolloutView {
  index_t group_size = 0;                         ///< G, completions per prompt
  MatrixView<const token_t> prompt_tokens;        ///< [P, Lp]
  VectorView<const std::int32_t> prompt_lengths;  ///< [P]
  MatrixView<const token_t> reference_tokens;     ///< [P, Lr], Lr may be 0
  VectorView<const std::int32_t> reference_lengths;  ///< [P], or empty with Lr = 0
  MatrixView<const token_t> completion_tokens;    ///< [N, T]
  VectorView<const std::int32_t> completion_lengths;  ///< [N]
  MatrixView<const std::uint8_t> completion_mask;  ///< [N, T]: 1 where the token counts in the loss

  RLMOE_HOST_DEVICE constexpr index_t num_prompts() const { return prompt_tokens.extent(0); }
  RLMOE_HOST_DEVICE constexpr index_t num_completions() const { return completion_tokens.extent(0); }
  RLMOE_HOST_DEVICE constexpr index_t max_completion_length() const { return completion_tokens.extent(1); }

  RLMOE_HOST_DEVICE Sample sample(index_t i) const {
    const index_t p = i / group_size;
    Sample s;
    s.index = i;
    s.prompt = p;
    s.prompt_tokens = {&prompt_tokens(p, 0), prompt_lengths[p]};
    s.completion = {&completion_tokens(i, 0), completion_lengths[i]};
    if (reference_lengths.size() > 0) s.reference = {reference_tokens.data() + p * reference_tokens.stride(0), reference_lengths[p]};
    s.max_completion_length = max_completion_length();
    return s;
  }

  /// Checks that the shapes fit together; throws ShapeError or ConfigError naming the field.
  void validate() const {
    const index_t p = num_prompts(), n = num_completions(), t = max_completion_length();
    RLMOE_CHECK(group_size >= 1, ConfigError, "rollout: group_size is ", group_size, " but must be >= 1");
    RLMOE_CHECK(n == p * group_size, ShapeError, "rollout: completion_tokens has ", n, " rows but ", p,
                " prompts x group_size ", group_size, " = ", p * group_size, " are required");
    require_shape(prompt_lengths, Extents<1>{p}, "rollout: prompt_lengths");
    require_shape(completion_lengths, Extents<1>{n}, "rollout: completion_lengths");
    require_shape(completion_mask, Extents<2>{n, t}, "rollout: completion_mask");
    if (reference_lengths.size() > 0 || reference_tokens.extent(1) > 0) {
      require_shape(reference_lengths, Extents<1>{p}, "rollout: reference_lengths");
      RLMOE_CHECK(reference_tokens.extent(0) == p, ShapeError, "rollout: reference_tokens has shape ",
                  reference_tokens.shape(), " but needs ", p, " rows (one per prompt)");
    }
    for (const auto* m : {&prompt_tokens, &completion_tokens, &reference_tokens})
      RLMOE_CHECK(m->stride(1) == 1 || m->extent(1) <= 1, ShapeError,
                  "rollout: token matrices need contiguous rows, got strides ", m->strides());
  }
};

}  // namespace rlmoe::rl
