#pragma once
// Causal multi-head attention over a right-padded batch, and its single-token decode step over a
// KV cache; with grouped-query attention, each group of H / Hkv query heads shares one key and
// value head (query head h reads kv head h / (H / Hkv)).
//
// Rows of q [N, H dh] and k, v [N, Hkv dh] are the tokens of B sequences of padded length L (row
// b L + t), and sequence b has lengths[b] real tokens: token t attends to the tokens j <= t with
// j < lengths[b]; with chunked attention (Llama 4's local layers) only to those of its own chunk,
// t - t % chunk <= j. Values may be narrower or wider than queries and keys (value_dim, DeepSeek's
// Multi-head Latent Attention): v [N, Hkv dv] and the output [N, H dv].
// Per sequence and head, the scores P = softmax(Q K^T / sqrt(dh)) [L, L] (times scale_factor) and the output P V are
// grouped GEMMs over the B H (sequence, head) pairs, read straight from the [N, H dh] layout with
// a row stride of H dh; P is kept for the backward:
//   dP = dO V^T,  dV = P^T dO,  dS = P (dP - rowsum(dP P)),  dQ = dS K / sqrt(dh),  dK = dS^T Q / sqrt(dh)
// (with groups, dK and dV of each query head go to scratch [N, H dh] and are summed per group).
// Padding queries (t >= lengths[b]) are computed like the others and ignored downstream.
//
// Stored as bfloat16, q, k, v, P and dS are bf16 (the GEMMs' inputs) while the scores S and dP are
// float, and the softmax and its backward compute in float: the scores' logits are never rounded
// to bf16, P is rounded once. Stored as float or double, S and P (dP and dS) share one buffer.
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

struct AttentionShape {
  index_t batch = 0, length = 0, heads = 0, head_dim = 0;
  index_t kv_heads = 0;   ///< 0: heads (no grouping)
  index_t value_dim = 0;  ///< 0: head_dim
  double scale_factor = 1.0;  ///< multiplies the softmax scale 1 / sqrt(dh) (YaRN's mscale in latent attention)
  index_t chunk = 0;          ///< > 0: attention within chunks of this many positions only
  [[nodiscard]] index_t width() const { return heads * head_dim; }
  [[nodiscard]] index_t kv_width() const { return key_value_heads() * head_dim; }
  [[nodiscard]] index_t value_head_dim() const { return value_dim > 0 ? value_dim : head_dim; }
  [[nodiscard]] index_t value_width() const { return heads * value_head_dim(); }
  [[nodiscard]] index_t kv_value_width() const { return key_value_heads() * value_head_dim(); }
  [[nodiscard]] index_t key_value_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  [[nodiscard]] index_t group() const { return heads / key_value_heads(); }
  [[nodiscard]] index_t tokens() const { return batch * length; }
  /// The scores' scale, scale_factor / sqrt(dh), rounded once to C.
  template <class C>
  [[nodiscard]] C score_scale() const {
    if (scale_factor == 1.0) return C(1) / static_cast<C>(std::sqrt(static_cast<double>(head_dim)));
    return static_cast<C>(scale_factor / std::sqrt(static_cast<double>(head_dim)));
  }
};

/// Head h of sequence b in a [N, heads width] matrix: [L, width] with row stride heads width.
template <class T>
MatrixView<T> head_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h, index_t width) {
  return {m.data() + b * s.length * m.stride(0) + h * width, Extents<2>{s.length, width}, Extents<2>{m.stride(0), 1}};
}
/// Head h of sequence b in a [N, heads dh] matrix of queries or keys.
template <class T>
MatrixView<T> head_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h) {
  return head_rows(m, s, b, h, s.head_dim);
}
/// Head h of sequence b in a [N, heads dv] matrix of values or outputs.
template <class T>
MatrixView<T> value_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h) {
  return head_rows(m, s, b, h, s.value_head_dim());
}

/// The key head that query head h of sequence b reads, in a [N, Hkv dh] matrix.
template <class T>
MatrixView<T> kv_head_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h) {
  return head_rows(m, s, b, h / s.group());
}
/// The value head that query head h of sequence b reads, in a [N, Hkv dv] matrix.
template <class T>
MatrixView<T> kv_value_rows(MatrixView<T> m, const AttentionShape& s, index_t b, index_t h) {
  return value_rows(m, s, b, h / s.group());
}

/// out[:, g dh + c] = sum over the group's query heads of per_head[:, h dh + c]: the gradients of
/// a shared key or value head.
template <class T>
struct SumHeadGroups {
  MatrixView<const T> per_head;  ///< [N, H dh]
  index_t group, head_dim;
  MatrixView<T> out;             ///< [N, Hkv dh]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = out.extent(1), r = i / width, c = i - r * width, g = c / head_dim, j = c - g * head_dim;
    compute_t<T> sum = compute_t<T>(0);
    for (index_t h = g * group; h < (g + 1) * group; ++h) sum += static_cast<compute_t<T>>(per_head(r, h * head_dim + j));
    out(r, c) = sum;
  }
};

/// The first key position the query at `position` sees: 0, or the start of its chunk.
RLMOE_HOST_DEVICE inline index_t first_visible(index_t position, index_t chunk) { return chunk > 0 ? position - position % chunk : 0; }

/// P = causal, length-masked (and chunk-masked) softmax of one row of scores S (P may be S itself).
/// (A padding query, past its sequence's length and ignored downstream, attends unchunked.)
template <class T>
struct CausalSoftmaxRows {
  using C = compute_t<T>;
  TensorView<const C, 3> scores;  ///< [B H, L, L]
  TensorView<T, 3> probs;         ///< [B H, L, L]
  VectorView<const std::int32_t> lengths;
  index_t heads;
  index_t chunk = 0;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t length = probs.extent(1), bh = r / length, i = r - bh * length;
    const index_t valid = math::min<index_t>(i + 1, lengths[bh / heads]);
    const index_t first = i < valid ? first_visible(i, chunk) : 0;
    C max = scores(bh, i, first);
    for (index_t j = first + 1; j < valid; ++j) max = math::max(max, scores(bh, i, j));
    C sum = C(0);
    for (index_t j = first; j < valid; ++j) sum += math::exp(scores(bh, i, j) - max);
    // Element j is read before it is written, so P may overwrite S.
    for (index_t j = 0; j < length; ++j) probs(bh, i, j) = j >= first && j < valid ? math::exp(scores(bh, i, j) - max) / sum : C(0);
  }
};

/// dS = P (dP - sum_j dP_j P_j) (dS may overwrite dP).
template <class T>
struct SoftmaxBackwardRows {
  using C = compute_t<T>;
  TensorView<const T, 3> probs;
  TensorView<const C, 3> d_probs;
  TensorView<T, 3> d_scores;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t length = probs.extent(1), bh = r / length, i = r - bh * length;
    C dot = C(0);
    for (index_t j = 0; j < length; ++j) dot += d_probs(bh, i, j) * static_cast<C>(probs(bh, i, j));
    for (index_t j = 0; j < length; ++j) d_scores(bh, i, j) = static_cast<C>(probs(bh, i, j)) * (d_probs(bh, i, j) - dot);
  }
};

namespace detail {

/// One GEMM per (sequence, head), all in one grouped call; A and B of In, C of Out.
template <Backend B, class In, class Out, class MakeProblem>
void for_each_head(const B& backend, const AttentionShape& s, const MakeProblem& make) {
  std::vector<GemmProblem<In, Out>> problems;
  problems.reserve(static_cast<std::size_t>(s.batch * s.heads));
  for (index_t b = 0; b < s.batch; ++b)
    for (index_t h = 0; h < s.heads; ++h) problems.push_back(make(b, h, b * s.heads + h));
  grouped_gemm(backend, problems);
}

}  // namespace detail

/// out = causal attention of q, k, v; scores [B H, L, L] is scratch and probs [B H, L, L] keeps
/// the attention weights for the backward (the same buffer when T computes in itself).
template <Backend B, class T>
void attention_forward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                       MatrixView<const T> v, VectorView<const std::int32_t> lengths, TensorView<compute_t<T>, 3> scores,
                       TensorView<T, 3> probs, MatrixView<T> out) {
  using C = compute_t<T>;
  const C scale = s.template score_scale<C>();
  detail::for_each_head<B, T, C>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T, C>{Transpose::No, Transpose::Yes, scale, head_rows(q, s, b, h), kv_head_rows(k, s, b, h), C(0), scores[bh]};
  });
  parallel_for(backend, s.batch * s.heads * s.length, CausalSoftmaxRows<T>{scores, probs, lengths, s.heads, s.chunk});
  detail::for_each_head<B, T, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::No, C(1), MatrixView<const T>(probs[bh]), kv_value_rows(v, s, b, h), C(0),
                          value_rows(out, s, b, h)};
  });
}

/// As above, the scores computed in probs itself (float and double).
template <Backend B, class T>
  requires std::is_same_v<compute_t<T>, T>
void attention_forward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                       MatrixView<const T> v, VectorView<const std::int32_t> lengths, TensorView<T, 3> probs, MatrixView<T> out) {
  attention_forward<B, T>(backend, s, q, k, v, lengths, probs, probs, out);
}

/// Scratch for the gradients of grouped keys and values, [N, H dh] and [N, H dv] (unused without groups).
template <class T>
struct GroupedKvGradients {
  MatrixView<T> dk_per_head, dv_per_head;
};

/// dq, dk, dv (overwritten) from d_out; d_probs [B H, L, L] (compute type) and d_scores (stored
/// type; the same buffer when they match) are scratch, as is `grouped` when the heads are grouped.
template <Backend B, class T>
void attention_backward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                        MatrixView<const T> v, TensorView<const T, 3> probs, MatrixView<const T> d_out,
                        TensorView<compute_t<T>, 3> d_probs, TensorView<T, 3> d_scores, MatrixView<T> dq, MatrixView<T> dk,
                        MatrixView<T> dv, const GroupedKvGradients<T>& grouped = {}) {
  using C = compute_t<T>;
  const C scale = s.template score_scale<C>();
  const bool grouped_heads = s.group() > 1;
  if (grouped_heads) {
    RLMOE_CHECK(grouped.dk_per_head.size() == s.tokens() * s.width() && grouped.dv_per_head.size() == s.tokens() * s.value_width(),
                ShapeError, "attention_backward: grouped heads need dk_per_head of ", s.tokens(), " x ", s.width(),
                " and dv_per_head of ", s.tokens(), " x ", s.value_width());
  }
  // Each query head's dK and dV: straight into dk, dv, or per head to be summed over its group.
  const MatrixView<T> dk_heads = grouped_heads ? grouped.dk_per_head : dk, dv_heads = grouped_heads ? grouped.dv_per_head : dv;
  detail::for_each_head<B, T, C>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T, C>{Transpose::No, Transpose::Yes, C(1), value_rows(d_out, s, b, h), kv_value_rows(v, s, b, h), C(0), d_probs[bh]};
  });
  detail::for_each_head<B, T, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::Yes, Transpose::No, C(1), probs[bh], value_rows(d_out, s, b, h), C(0), value_rows(dv_heads, s, b, h)};
  });
  parallel_for(backend, s.batch * s.heads * s.length, SoftmaxBackwardRows<T>{probs, d_probs, d_scores});
  detail::for_each_head<B, T, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::No, Transpose::No, scale, MatrixView<const T>(d_scores[bh]), kv_head_rows(k, s, b, h), C(0),
                          head_rows(dq, s, b, h)};
  });
  detail::for_each_head<B, T, T>(backend, s, [&](index_t b, index_t h, index_t bh) {
    return GemmProblem<T>{Transpose::Yes, Transpose::No, scale, MatrixView<const T>(d_scores[bh]), head_rows(q, s, b, h), C(0),
                          head_rows(dk_heads, s, b, h)};
  });
  if (grouped_heads) {
    parallel_for(backend, s.tokens() * s.kv_width(), SumHeadGroups<T>{MatrixView<const T>(dk_heads), s.group(), s.head_dim, dk});
    parallel_for(backend, s.tokens() * s.kv_value_width(), SumHeadGroups<T>{MatrixView<const T>(dv_heads), s.group(), s.value_head_dim(), dv});
  }
}

/// As above, dS computed over dP in place (float and double).
template <Backend B, class T>
  requires std::is_same_v<compute_t<T>, T>
void attention_backward(const B& backend, const AttentionShape& s, MatrixView<const T> q, MatrixView<const T> k,
                        MatrixView<const T> v, TensorView<const T, 3> probs, MatrixView<const T> d_out, TensorView<T, 3> d_probs,
                        MatrixView<T> dq, MatrixView<T> dk, MatrixView<T> dv, const GroupedKvGradients<T>& grouped = {}) {
  attention_backward<B, T>(backend, s, q, k, v, probs, d_out, d_probs, d_probs, dq, dk, dv, grouped);
}

// ---------------------------------------------------------------------------------------------
// Decoding with a KV cache: one new token per sequence.

/// cache[b, h, positions[b], :] = rows[b, h dh .. (h + 1) dh]: stores the new keys or values.
template <class T>
struct WriteKvCache {
  MatrixView<const T> rows;                  ///< [B, Hkv dh]
  VectorView<const std::int32_t> positions;  ///< [B]
  TensorView<T, 4> cache;                    ///< [B, Hkv, Lmax, dh]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t heads = cache.extent(1), dh = cache.extent(3), width = heads * dh;
    const index_t b = i / width, c = i - b * width, h = c / dh, j = c - h * dh;
    cache(b, h, positions[b], j) = rows(b, c);
  }
};

/// A decode step's softmax numerators in place: row[j] = exp(row[j] - max) for j < valid; returns
/// their sum, the denominator.
template <class C>
RLMOE_HOST_DEVICE C exponentiate_scores(C* row, index_t valid) {
  C max = row[0];
  for (index_t j = 1; j < valid; ++j) max = math::max(max, row[j]);
  C sum = C(0);
  for (index_t j = 0; j < valid; ++j) {
    row[j] = math::exp(row[j] - max);
    sum += row[j];
  }
  return sum;
}

/// out[b, h, :] = softmax_j(q[b, h] . K[b, g, j] / sqrt(dh)) V[b, g, j] over j <= positions[b]
/// (and within its chunk, with chunked attention), g = h / (H / Hkv) the query head's key/value
/// head. One thread per (sequence, query head): decoding reads the cache once, which is what bounds it.
template <class T>
struct DecodeAttention {
  using C = compute_t<T>;
  MatrixView<const T> q;                      ///< [B, H dh]
  TensorView<const T, 4> keys, values;        ///< [B, Hkv, Lmax, dh]
  VectorView<const std::int32_t> positions;   ///< [B]
  TensorView<C, 3> scores;                    ///< [B, H, Lmax] scratch
  MatrixView<T> out;                          ///< [B, H dh]
  index_t chunk = 0;                          ///< > 0: attend within the position's chunk only

  RLMOE_HOST_DEVICE void operator()(index_t bh) const {
    const index_t dh = keys.extent(3), heads = q.extent(1) / dh, b = bh / heads, h = bh - b * heads;
    const index_t g = h / (heads / keys.extent(1));
    const index_t valid = positions[b] + 1, first = first_visible(positions[b], chunk);
    const C scale = C(1) / math::sqrt(static_cast<C>(dh));
    for (index_t j = first; j < valid; ++j) {
      C dot = C(0);
      for (index_t c = 0; c < dh; ++c) dot += static_cast<C>(q(b, h * dh + c)) * static_cast<C>(keys(b, g, j, c));
      scores(b, h, j) = dot * scale;
    }
    const C sum = exponentiate_scores(&scores(b, h, first), valid - first);
    for (index_t c = 0; c < dh; ++c) {
      C acc = C(0);
      for (index_t j = first; j < valid; ++j) acc += scores(b, h, j) * static_cast<C>(values(b, g, j, c));
      out(b, h * dh + c) = acc / sum;
    }
  }
};

}  // namespace rlmoe::layers
