#pragma once
// Token embedding: h[n, :] = E[token[n], :]. Its backward, dE[v, :] += sum over the positions n
// holding token v of dh[n, :], is a scatter-add with collisions; instead of atomics (whose order,
// and so whose float result, changes run to run), positions are sorted by token with the stable
// sort_pairs and each vocabulary row sums its positions in order: deterministic. The table's
// gradient is a parameter gradient (master_t<T>: float for a bfloat16 table), summed in it.
#include <algorithm>
#include <bit>
#include <cstdint>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/histogram.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/scan.hpp"
#include "rlmoe/backend/sort.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
struct EmbeddingForward {
  MatrixView<const T> table;            ///< [V, d]
  VectorView<const std::int32_t> tokens;  ///< [N]
  MatrixView<T> out;                    ///< [N, d]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t d = out.extent(1), n = i / d, c = i - n * d;
    out(n, c) = table(tokens[n], c);
  }
};

template <class T>
struct EmbeddingRowGradients {
  MatrixView<const T> d_out;                     ///< [N, d]
  VectorView<const std::int32_t> sorted_positions;  ///< positions sorted by token
  VectorView<const std::int32_t> row_offsets;    ///< [V + 1]
  MatrixView<master_t<T>> d_table;               ///< [V, d], accumulated
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t d = d_table.extent(1), v = i / d, c = i - v * d;
    master_t<T> sum = 0;
    for (index_t j = row_offsets[v]; j < row_offsets[v + 1]; ++j) sum += d_out(sorted_positions[j], c);
    d_table(v, c) += sum;
  }
};

struct PositionIndices {
  VectorView<std::int32_t> positions;
  RLMOE_HOST_DEVICE void operator()(index_t n) const { positions[n] = static_cast<std::int32_t>(n); }
};

/// out = table[tokens].
template <Backend B, class T>
void embedding_forward(const B& backend, MatrixView<const T> table, VectorView<const std::int32_t> tokens, MatrixView<T> out) {
  require_shape(out, Extents<2>{tokens.size(), table.extent(1)}, "embedding_forward: out");
  parallel_for(backend, out.size(), EmbeddingForward<T>{table, tokens, out});
}

/// d_table += the gradient of out = table[tokens] given d_out. Tokens must lie in [0, V).
template <Backend B, class T>
void embedding_backward(const B& backend, VectorView<const std::int32_t> tokens, MatrixView<const T> d_out,
                        MatrixView<master_t<T>> d_table) {
  const index_t n = tokens.size(), vocab = d_table.extent(0);
  require_shape(d_out, Extents<2>{n, d_table.extent(1)}, "embedding_backward: d_out");
  Buffer<std::int32_t, B> positions(backend, n), sorted_tokens(backend, n), sorted_positions(backend, n), counts(backend, vocab),
      offsets(backend, vocab + 1);
  parallel_for(backend, n, PositionIndices{positions.view()});
  const int bits = std::max(1, static_cast<int>(std::bit_width(static_cast<std::uint64_t>(vocab - 1))));
  sort_pairs<B, std::int32_t, std::int32_t>(backend, tokens, positions.view(), sorted_tokens.view(), sorted_positions.view(), bits);
  histogram<B, std::int32_t>(backend, tokens, counts.view());
  exclusive_scan(backend, counts.view(), offsets.view());
  parallel_for(backend, d_table.size(), EmbeddingRowGradients<T>{d_out, sorted_positions.view(), offsets.view(), d_table});
}

}  // namespace rlmoe::layers
