#pragma once
// The synthetic GRPO batch of the loss benchmark, as a pure function of the token index so that
// the PyTorch twin (reference/grpo_loss_torch.py) builds the same batch: a 32-bit integer hash
// (lowbias32) gives uniforms, from which log-probs, ratios spread across the clip range, ragged
// completion lengths and binary rewards follow.
#include <cstdint>

#include <rlmoe/rlmoe.hpp>

namespace rlmoe::bench {

RLMOE_HOST_DEVICE constexpr std::uint32_t hash32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

/// Uniform in [0, 1) for item k of stream s (s < 4).
RLMOE_HOST_DEVICE constexpr float hashed_uniform(index_t k, std::uint32_t s) {
  return static_cast<float>(hash32(static_cast<std::uint32_t>(k) * 4u + s) >> 8) * (1.0f / 16777216.0f);
}

/// Completion i has 1 + hash % width active tokens.
RLMOE_HOST_DEVICE constexpr index_t hashed_length(index_t i, index_t width) {
  return 1 + static_cast<index_t>(hash32(static_cast<std::uint32_t>(i) * 4u + 3u) % static_cast<std::uint32_t>(width));
}

struct GrpoTokenInputs {
  VectorView<float> logp, old_logp, ref_logp;
  VectorView<std::uint8_t> mask;
  index_t width;

  RLMOE_HOST_DEVICE void operator()(index_t k) const {
    const float lp = -3.0f + 2.9f * hashed_uniform(k, 0);
    logp[k] = lp;
    old_logp[k] = lp + 0.8f * (hashed_uniform(k, 1) - 0.5f);
    ref_logp[k] = lp + (hashed_uniform(k, 2) - 0.5f);
    mask[k] = (k % width) < hashed_length(k / width, width) ? 1 : 0;
  }
};

/// Binary rewards: 1 when the top bit of the completion's hash is set.
struct GrpoRewards {
  VectorView<float> rewards;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    rewards[i] = (hash32(static_cast<std::uint32_t>(i) * 4u + 2u) >> 31) != 0u ? 1.0f : 0.0f;
  }
};

}  // namespace rlmoe::bench
