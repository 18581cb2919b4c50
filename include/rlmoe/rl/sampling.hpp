#pragma once
// Choosing the next token from a row of logits: greedy (temperature 0) or a draw from
// softmax(logits / temperature) restricted by top-k, top-p (nucleus) and min-p, with a uniform
// from Philox so that the same (seed, sequence, step) draws the same token on every backend.
//
// Restrictions are applied in the order min-p, top-k, top-p, each to what the previous ones kept:
//   min-p  keeps tokens whose probability is at least min_p times the largest
//   top-k  keeps the k most probable (all tokens tied with the k-th are kept)
//   top-p  keeps the most probable tokens until their mass reaches top_p of what is left
// The selections walk the vocabulary a few times per kept token instead of sorting it: cheap for
// the small vocabularies and the small k and nuclei of RL sampling.
#include <cstdint>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::rl {

struct SamplingConfig {
  float temperature = 1.0f;  ///< 0: greedy
  index_t top_k = 0;         ///< 0: off
  float top_p = 1.0f;        ///< 1: off
  float min_p = 0.0f;        ///< 0: off
  index_t max_new_tokens = 16;

  void validate() const {
    RLMOE_CHECK(temperature >= 0.0f && math::isfinite(temperature), ConfigError, "SamplingConfig: temperature is ", temperature,
                " but must be finite and >= 0 (0: greedy)");
    RLMOE_CHECK(top_k >= 0, ConfigError, "SamplingConfig: top_k is ", top_k, " but must be >= 0 (0: off)");
    RLMOE_CHECK(top_p > 0.0f && top_p <= 1.0f, ConfigError, "SamplingConfig: top_p is ", top_p, " but must lie in (0, 1]");
    RLMOE_CHECK(min_p >= 0.0f && min_p < 1.0f, ConfigError, "SamplingConfig: min_p is ", min_p, " but must lie in [0, 1)");
    RLMOE_CHECK(max_new_tokens >= 1, ConfigError, "SamplingConfig: max_new_tokens is ", max_new_tokens, " but must be >= 1");
  }
};

/// The token chosen from `logits` (a row of V values) with uniform u in (0, 1].
template <class T>
RLMOE_HOST_DEVICE index_t choose_token(const VectorView<const T>& logits, const SamplingConfig& c, float u) {
  const index_t vocab = logits.size();
  index_t best = 0;
  for (index_t v = 1; v < vocab; ++v)
    if (logits[v] > logits[best]) best = v;
  if (c.temperature == 0.0f) return best;
  const T top = logits[best];
  const T inverse_temperature = T(1) / static_cast<T>(c.temperature);
  // Unnormalised probabilities relative to the most probable token (which has weight 1).
  const auto weight = [&](index_t v) { return math::exp((logits[v] - top) * inverse_temperature); };
  // A token is kept when its weight is at least `floor`; each restriction raises the floor.
  T floor = static_cast<T>(c.min_p);
  if (c.top_k > 0 && c.top_k < vocab) {
    // The k-th largest weight among those above the floor: walk down distinct values k times.
    T ceiling = T(2);
    index_t counted = 0;
    while (counted < c.top_k) {
      T next = T(-1);
      for (index_t v = 0; v < vocab; ++v) {
        const T w = weight(v);
        if (w < ceiling && w > next) next = w;
      }
      if (next < floor) break;
      for (index_t v = 0; v < vocab; ++v) counted += weight(v) == next ? 1 : 0;
      ceiling = next;
    }
    floor = math::max(floor, ceiling);
  }
  if (c.top_p < 1.0f) {
    T total = T(0);
    for (index_t v = 0; v < vocab; ++v) total += weight(v) >= floor ? weight(v) : T(0);
    const T target = static_cast<T>(c.top_p) * total;
    T ceiling = T(2), mass = T(0);
    while (mass < target) {
      T next = T(-1);
      for (index_t v = 0; v < vocab; ++v) {
        const T w = weight(v);
        if (w < ceiling && w > next) next = w;
      }
      if (next < floor) break;
      for (index_t v = 0; v < vocab; ++v) mass += weight(v) == next ? next : T(0);
      ceiling = next;
    }
    floor = math::max(floor, ceiling);
  }
  const index_t chosen = sample_categorical(vocab, [&](index_t v) { return weight(v) >= floor ? weight(v) : T(0); }, static_cast<T>(u));
  return chosen >= 0 ? chosen : best;
}

}  // namespace rlmoe::rl
