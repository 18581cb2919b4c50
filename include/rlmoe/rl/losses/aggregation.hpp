#pragma once
// How per-token losses L_t are weighted into the batch loss, with m the loss mask, N the number of
// sequences, |o_i| = sum_t m_it the active tokens of sequence i and T_max the generation budget.
// Each is a weight shared by the active tokens of a sequence:
//
//   TokenMean            sum_it m L / sum_it m             DAPO; TRL "bnpo"/"dapo"; veRL "token-mean"
//   SeqMeanTokenMean     1/N sum_i (sum_t m L / |o_i|)     original GRPO; TRL "grpo"; veRL "seq-mean-token-mean"
//   SeqMeanTokenSum      1/N sum_i sum_t m L               veRL "seq-mean-token-sum"
//   SeqMeanTokenSumNorm  sum_it m L / (N * T_max)          Dr. GRPO; TRL "dr_grpo"
//
// Empty sequences (|o_i| = 0) contribute nothing; SeqMeanTokenMean still counts them in N, as
// TRL's mask.sum(-1).clamp(min=1) does, and TokenMean divides by max(1, active tokens).
#include <string_view>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe::rl {

struct TokenMean {
  static constexpr std::string_view kName = "token-mean";
  RLMOE_HOST_DEVICE static double sequence_weight(index_t, index_t, double batch_active, index_t) {
    return 1.0 / (batch_active > 1.0 ? batch_active : 1.0);
  }
};

struct SeqMeanTokenMean {
  static constexpr std::string_view kName = "seq-mean-token-mean";
  RLMOE_HOST_DEVICE static double sequence_weight(index_t active, index_t sequences, double, index_t) {
    return 1.0 / (static_cast<double>(active > 1 ? active : 1) * static_cast<double>(sequences));
  }
};

struct SeqMeanTokenSum {
  static constexpr std::string_view kName = "seq-mean-token-sum";
  RLMOE_HOST_DEVICE static double sequence_weight(index_t, index_t sequences, double, index_t) {
    return 1.0 / static_cast<double>(sequences);
  }
};

struct SeqMeanTokenSumNorm {
  static constexpr std::string_view kName = "seq-mean-token-sum-norm";
  RLMOE_HOST_DEVICE static double sequence_weight(index_t, index_t sequences, double, index_t max_length) {
    return 1.0 / (static_cast<double>(sequences) * static_cast<double>(max_length));
  }
};

}  // namespace rlmoe::rl
