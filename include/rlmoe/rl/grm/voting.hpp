#pragma once
// Inference-time scaling of a generative reward model by voting (DeepSeek-GRM, Eq. 14): k
// judgments of the same example are sampled (each over its own shuffle of the responses, mapped
// back to the original order by unshuffle_scores before voting), and each response's votes are its scores summed over
// the k judgments, S*_i = sum_k S_i,k; the best response is the argmax. Ties are broken by a
// seeded shuffle: among the tied responses, the one a Philox draw keyed on (seed, example)
// picks, the same on every backend. Judgments whose scores could not be read (valid = 0) cast no
// votes; with none valid every response ties at zero.
//
// Meta-RM-guided voting: a meta reward model rates each judgment; only the k_meta readable
// judgments it rates highest (ties to the lower index) vote. One thread per example in both.
//
//   scores [P, k, n] int, valid [P, k] (0/1), meta [P, k] float  ->  votes [P, n] int, best [P] int
#include <cstdint>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::rl::grm {

/// The most judgments one example's vote takes (the meta-RM selection's fixed-size row).
inline constexpr index_t kMaxJudgments = 256;

/// The Philox stream of voting's tie-breaks (apart from the sampler's and the trainer's).
inline constexpr std::uint64_t kVoteTieStream = 0x766f7465ull;  // "vote"

/// Votes of example p over the judgments `use` allows; writes votes[p, :] and best[p].
struct VoteExample {
  TensorView<const std::int32_t, 3> scores;  ///< [P, k, n]
  MatrixView<const std::uint8_t> valid;      ///< [P, k]
  MatrixView<const float> meta;              ///< [P, k], or empty: every valid judgment votes
  index_t meta_keep = 0;                     ///< k_meta, with meta
  std::uint64_t seed = 0;
  MatrixView<std::int32_t> votes;            ///< [P, n]
  VectorView<std::int32_t> best;             ///< [P]

  RLMOE_HOST_DEVICE void operator()(index_t p) const {
    const index_t k = scores.extent(1), n = scores.extent(2);
    bool voting[kMaxJudgments] = {};
    if (meta.data() == nullptr) {
      for (index_t j = 0; j < k; ++j) voting[j] = valid(p, j) != 0;
    } else {
      // The meta RM's k_meta best-rated readable judgments (an unreadable one could not vote).
      for (index_t chosen = 0; chosen < meta_keep; ++chosen) {
        index_t top = -1;
        for (index_t j = 0; j < k; ++j)
          if (valid(p, j) != 0 && !voting[j] && (top < 0 || meta(p, j) > meta(p, top))) top = j;
        if (top < 0) break;  // fewer readable judgments than k_meta
        voting[top] = true;
      }
    }
    std::int32_t most = 0;
    for (index_t i = 0; i < n; ++i) {
      std::int32_t sum = 0;
      for (index_t j = 0; j < k; ++j)
        if (voting[j]) sum += scores(p, j, i);
      votes(p, i) = sum;
      most = i == 0 ? sum : (sum > most ? sum : most);
    }
    index_t tied = 0;
    for (index_t i = 0; i < n; ++i) tied += votes(p, i) == most;
    RandomStream stream(seed, kVoteTieStream ^ static_cast<std::uint64_t>(p));
    index_t pick = static_cast<index_t>(stream.next_u32() % static_cast<std::uint32_t>(tied));
    for (index_t i = 0; i < n; ++i)
      if (votes(p, i) == most && pick-- == 0) {
        best[p] = static_cast<std::int32_t>(i);
        return;
      }
  }
};

/// Scores in the order each judgment was shown ([P, k, n]) back to the responses' original order:
/// out(p, j, order(p, j, i)) = shown(p, j, i). One thread per score.
struct UnshuffleScores {
  TensorView<const std::int32_t, 3> shown, order;
  TensorView<std::int32_t, 3> out;
  RLMOE_HOST_DEVICE void operator()(index_t x) const {
    const index_t k = shown.extent(1), n = shown.extent(2), p = x / (k * n), j = (x / n) % k, i = x % n;
    out(p, j, order(p, j, i)) = shown(p, j, i);
  }
};

/// Scores of shuffled judgments back in the original order (order(p, j, :) a permutation of 0..n-1).
template <Backend B>
void unshuffle_scores(const B& backend, TensorView<const std::int32_t, 3> shown, TensorView<const std::int32_t, 3> order,
                      TensorView<std::int32_t, 3> out) {
  require_shape(order, shown.shape(), "grm unshuffle_scores: order");
  require_shape(out, shown.shape(), "grm unshuffle_scores: out");
  parallel_for(backend, shown.size(), UnshuffleScores{shown, order, out});
}

namespace detail {

inline void check_vote_shapes(TensorView<const std::int32_t, 3> scores, MatrixView<const std::uint8_t> valid,
                              MatrixView<std::int32_t> votes, VectorView<std::int32_t> best) {
  const index_t p = scores.extent(0), k = scores.extent(1), n = scores.extent(2);
  RLMOE_CHECK(k >= 1 && k <= kMaxJudgments && n >= 1, ShapeError, "grm voting: scores has shape ", scores.shape(),
              " but needs 1 to ", kMaxJudgments, " judgments of at least one response");
  require_shape(valid, Extents<2>{p, k}, "grm voting: valid");
  require_shape(votes, Extents<2>{p, n}, "grm voting: votes");
  require_shape(best, Extents<1>{p}, "grm voting: best");
}

}  // namespace detail

/// Eq. 14: votes [P, n] and the best response [P] of every example from its k judgments.
template <Backend B>
void vote(const B& backend, TensorView<const std::int32_t, 3> scores, MatrixView<const std::uint8_t> valid, std::uint64_t seed,
          MatrixView<std::int32_t> votes, VectorView<std::int32_t> best) {
  detail::check_vote_shapes(scores, valid, votes, best);
  parallel_for(backend, scores.extent(0), VoteExample{scores, valid, {}, 0, seed, votes, best});
}

/// Meta-RM-guided voting: as vote(), counting only the `keep` judgments of each example that the
/// meta RM rates highest (meta [P, k]; the paper's default keep = k / 2).
template <Backend B>
void meta_vote(const B& backend, TensorView<const std::int32_t, 3> scores, MatrixView<const std::uint8_t> valid,
               MatrixView<const float> meta, index_t keep, std::uint64_t seed, MatrixView<std::int32_t> votes,
               VectorView<std::int32_t> best) {
  detail::check_vote_shapes(scores, valid, votes, best);
  require_shape(meta, Extents<2>{scores.extent(0), scores.extent(1)}, "grm meta_vote: meta");
  RLMOE_CHECK(keep >= 1 && keep <= scores.extent(1), ConfigError, "grm meta_vote: keep is ", keep, " but must lie in [1, k = ",
              scores.extent(1), "]");
  parallel_for(backend, scores.extent(0), VoteExample{scores, valid, meta, keep, seed, votes, best});
}

}  // namespace rlmoe::rl::grm
