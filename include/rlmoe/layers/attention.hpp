#pragma once
// Causal multi-head attention over a right-padded batch, and its single-token decode step over a
// KV cache.
//
// Rows of q, k, v [N, H dh] are the tokens of B sequences of padded length L (row b L + t), and
// sequence b has lengths[b] real tokens: token t attends to the tokens j <= t with j < lengths[b].
// Per sequence and head, the scores P = softmax(Q K^T / sqrt(dh)) [L, L] and the output P V are
// grouped GEMMs over the B H (sequence, head) pairs, read straight from the [N, H dh] layout with
// a row stride of H dh; P is kept for the backward:
//   dP = dO V^T,  dV = P^T dO,  dS = P (dP - rowsum(dP P)),  dQ = dS K / sqrt(dh),  dK = dS^T Q / sqrt(dh)
// Padding queries (t >= lengths[b]) are computed like the others and ignored downstream.
#include <cmath>
#include <cstdint>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

struct AttentionShape {
  index_t batch = 0, length = 0, heads = 0, head_dim = 0;
  [[nodiscard]] index_t width() const { return heads * head_dim; }
  [[nodiscard]] index_t tokens() const { return batch * length; }
};

/// Head h of sequence b in a [N, H dh] matrix: [L, dh] with row stride H dh.
template <class T>
MatrixView<T> head_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h) {
  return {m.data() + b * s.length * m.stride(0) + h * s.head_dim, Extents<2>{s.length, s.head_dim}, Extents<2>{m.stride(0), 1}};
}

/// Causal, length-masked softmax over one row of scores, in place.
template <class T>
struct CausalSoftmaxRows {
  TensorView<T, 3> probs;  ///< [B H, L, L]
  VectorView<const std::int32_t> lengths;
  index_t heads;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t length = probs.extent(1), bh = r / length, i = r - bh * length;
    const index_t valid = math::min<index_t>(i + 1, lengths[bh / heads]);
    T max = probs(bh, i, 0);
    for (index_t j = 1; j < valid; ++j) max = math::max(max, probs(bh, i, j));
    T sum = T(0);
    for (index_t j = 0; j < valid; ++j) {
      const T e = math::exp(probs(bh, i, j) - max);
      probs(bh, i, j) = e;
      sum += e;
    }
    for (index_t j = 0; j < length; ++j) probs(bh, i, j) = j < valid ? probs(bh, i, j) / sum : T(0);
  }
};

/// dS = P (dP - sum_j dP_j P_j), in place over dP.
template <class T>
struct SoftmaxBackwardRows {
  TensorView<const T, 3> probs;
  TensorView<T, 3> d_probs;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t length = probs.extent(1), bh = r / length, i = r - bh * length;
    T dot = T(0);
    for (index_t j = 0; j < length; ++j) dot += d_probs(bh, i, j) * probs(bh, i, j);
    for (index_t j = 0; j < length; ++j) d_probs(bh, i, j) = probs(bh, i, j) * (d_probs(bh, i, j) - dot);
  }
};

namespace detail {

/// One GEMM per (sequence, head), all in one grouped call.
template <Backend B, class T, class MakeProblem>
void for_each_head(const B& backend, const AttentionShape& s, const MakeProblem& make) {
  std::vector<GemmProblem<T>> problems;
  problems.reserve(static_cast<std::size_t>(s.batch * s.heads));
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h) problems.push_back(make(b, h, b * s.heads + h));
  grouped_gemm(backend, problems);
}

}  // namespace detail

/// out = causal attention of q, k, v; probs [B H, L, L] keeps the attention weights.
template <Backend B, class T>
void attention_forward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                       MatrixView<const T> v, VectorView<const std::int32_t> lengths, TensorView<T, 3> probs,
                       MatrixView<T> out) {
  const T scale = T(1) / static_cast<T>(std::sqrt(static_cast<double>(s.head_dim)));
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::Yes, scale, head_rows(q, s, b, h), head_rows(k, s, b, h), T(0), probs[bh]};
  });
  parallel_for(backend, s.batch * s.heads * s.length, CausalSoftmaxRows<T>{probs, lengths, s.heads});
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::No, T(1), MatrixView<const T>(probs[bh]), head_rows(v, s, b, h), T(0),
                          head_rows(out, s, b, h)};
  });
}

/// dq, dk, dv (overwritten) from d_out; d_probs [B H, L, L] is scratch.
template <Backend B, class T>
void attention_backward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                        MatrixView<const T> v, TensorView<const T, 3> probs, MatrixView<const T> d_out,
                        TensorView<T, 3> d_probs, MatrixView<T> dq, MatrixView<T> dk, MatrixView<T> dv) {
  const T scale = T(1) / static_cast<T>(std::sqrt(static_cast<double>(s.head_dim)));
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::Yes, T(1), head_rows(d_out, s, b, h), head_rows(v, s, b, h), T(0), d_probs[bh]};
  });
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::Yes, Transpose::No, T(1), probs[bh], head_rows(d_out, s, b, h), T(0), head_rows(dv, s, b, h)};
  });
  parallel_for(backend, s.batch * s.heads * s.length, SoftmaxBackwardRows<T>{probs, d_probs});
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::No, scale, MatrixView<const T>(d_probs[bh]), head_rows(k, s, b, h), T(0),
                          head_rows(dq, s, b, h)};
  });
  detail::for_each_head<B, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::Yes, Transpose::No, scale, MatrixView<const T>(d_probs[bh]), head_rows(q, s, b, h), T(0),
                          head_rows(dk, s, b, h)};
  });
}

// ---------------------------------------------------------------------------------------------
// Decoding with a KV cache: one new token per sequence.

/// cache[b, h, positions[b], :] = rows[b, h dh .. (h + 1) dh]: stores the new keys or values.
template <class T>
struct WriteKvCache {
  MatrixView<const T> rows;                  ///< [B, H dh]
  VectorView<const std::int32_t> positions;  ///< [B]
  TensorView<T, 4> cache;                    ///< [B, H, Lmax, dh]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t heads = cache.extent(1), dh = cache.extent(3), width = heads * dh;
    const index_t b = i / width, c = i - b * width, h = c / dh, j = c - h * dh;
    cache(b, h, positions[b], j) = rows(b, c);
  }
};

/// out[b, h, :] = softmax_j(q[b, h] . K[b, h, j] / sqrt(dh)) V[b, h, j] over j <= positions[b].
/// One thread per (sequence, head): decoding reads the cache once, which is what bounds it.
template <class T>
struct DecodeAttention {
  MatrixView<const T> q;                      ///< [B, H dh]
  TensorView<const T, 4> keys, values;        ///< [B, H, Lmax, dh]
  VectorView<const std::int32_t> positions;   ///< [B]
  TensorView<T, 3> scores;                    ///< [B, H, Lmax] scratch
  MatrixView<T> out;                          ///< [B, H dh]

  RLMOE_HOST_DEVICE void operator()(index_t bh) const {
    const index_t heads = keys.extent(1), dh = keys.extent(3), b = bh / heads, h = bh - b * heads;
    const index_t valid = positions[b] + 1;
    const T scale = T(1) / math::sqrt(static_cast<T>(dh));
    T max = T(0);
    for (index_t j = 0; j < valid; ++j) {
      T dot = T(0);
      for (index_t c = 0; c < dh; ++c) dot += q(b, h * dh + c) * keys(b, h, j, c);
      scores(b, h, j) = dot * scale;
      max = j == 0 ? scores(b, h, j) : math::max(max, scores(b, h, j));
    }
    T sum = T(0);
    for (index_t j = 0; j < valid; ++j) {
      scores(b, h, j) = math::exp(scores(b, h, j) - max);
      sum += scores(b, h, j);
    }
    for (index_t c = 0; c < dh; ++c) {
      T acc = T(0);
      for (index_t j = 0; j < valid; ++j) acc += scores(b, h, j) * values(b, h, j, c);
      out(b, h * dh + c) = acc / sum;
    }
  }
};

}  // namespace rlmoe::layers
