#pragma once
// SequenceBatch: what a model's forward pass scores. Each row is a prompt followed by its
// completion, right-padded to a common length L; the outputs are per completion token, [B, Tc].
// In a header of its own so that the layers which only hand batches around (rollouts, the
// supervised step) need not include the Transformer.
#include <cstdint>

#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::nn {

/// Prompt-then-completion sequences, right-padded to a common length L.
struct SequenceBatch {
  MatrixView<const std::int32_t> tokens;          ///< [B, L]
  VectorView<const std::int32_t> lengths;         ///< [B]: prompt + completion tokens, <= L
  VectorView<const std::int32_t> prompt_lengths;  ///< [B]: >= 1
  index_t completion_width = 0;                   ///< Tc: width of the [B, Tc] outputs
};

}  // namespace rlmoe::nn
