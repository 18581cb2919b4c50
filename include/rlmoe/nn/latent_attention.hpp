#pragma once
// Multi-head Latent Attention (DeepSeek-V2/V3): keys and values are made from one small latent per
// token, so that decoding caches the latent instead of every head's keys and values.
//
//   q      = (rmsnorm(x Wq_a) or x) Wq                  [N, H (dn + dr)]   each head: [nope | rope]
//   c      = rmsnorm(x Wkv_a)                           [N, r]             the latent
//   k_rope = rope(x Wk_rope)                            [N, dr]            one rotated key, shared by the heads
//   k      = per head [c Wk_nope | k_rope]              [N, H (dn + dr)]
//   v      = c Wv                                       [N, H dv]
//   q's last dr columns of each head are rotated; attention is then ordinary multi-head attention
//   with dn + dr wide queries and keys and dv wide values (scale 1 / sqrt(dn + dr)).
//
// Training runs that form (latent_qkv_forward / latent_qkv_backward). Decoding caches [c | k_rope]
// per token ([B, Lmax, r + dr]) and absorbs Wk_nope into the query and Wv into the output, so the
// cached latents are never expanded:
//   score_j = (q_nope Wk_nope_h^T) . c_j + q_rope . k_rope_j,  out_h = (sum_j p_j c_j) Wv_h
// Both equal the expanded attention exactly in real arithmetic.
//
// The latent norms use epsilon 1e-6, as transformers' DeepseekV3 does whatever rms_norm_eps says.
// Hugging Face's kv_a_proj_with_mqa is rlmoe's [Wkv_a | Wk_rope] and kv_b_proj its per-head
// [Wk_nope | Wv]; io/hf_checkpoint.hpp splits and joins them.
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/attention.hpp"
#include "rlmoe/layers/rmsnorm.hpp"
#include "rlmoe/layers/rope.hpp"

namespace rlmoe::nn {

/// The epsilon of the q and kv latent norms (transformers' DeepseekV3RMSNorm default).
inline constexpr float kLatentNormEpsilon = 1e-6f;

/// MLA's own weights (Wq [q_in, H (dn + dr)], Wv [r, H dv] and Wo are the block's wq, wv, wo).
template <class T>
struct LatentWeights {
  MatrixView<T> wq_a;       ///< [d, rq]; empty without q's bottleneck
  VectorView<T> q_a_norm;   ///< [rq]
  MatrixView<T> wkv_a;      ///< [d, r]
  VectorView<T> kv_a_norm;  ///< [r]
  MatrixView<T> wk_rope;    ///< [d, dr]
  MatrixView<T> wk_nope;    ///< [r, H dn]

  [[nodiscard]] bool present() const { return wkv_a.data() != nullptr; }
  [[nodiscard]] bool has_q_bottleneck() const { return wq_a.data() != nullptr; }
  [[nodiscard]] index_t rank() const { return wkv_a.extent(1); }
  [[nodiscard]] index_t rope_dim() const { return wk_rope.extent(1); }

  template <class U>
    requires(std::is_same_v<U, const T> && !std::is_const_v<T>)
  operator LatentWeights<U>() const {  // NOLINT: implicit on purpose
    return {wq_a, q_a_norm, wkv_a, kv_a_norm, wk_rope, wk_nope};
  }
};

/// What the forward keeps for the backward (and prefill for the cache): rows [N, ...].
template <class T>
struct LatentActivations {
  MatrixView<T> q_latent, q_latent_normed;     ///< [N, rq] with q's bottleneck
  MatrixView<T> kv_latent, kv_latent_normed;   ///< [N, r]: before the norm, and c
  MatrixView<T> k_nope;                        ///< [N, H dn]
  MatrixView<T> k_rope;                        ///< [N, dr], rotated
  VectorView<compute_t<T>> q_inverse_rms, kv_inverse_rms;  ///< [N]
};

/// Backward scratch, shaped as the activations of the same names.
template <class T>
struct LatentGradientScratch {
  MatrixView<T> d_q_latent_normed, d_q_latent, d_kv_latent_normed, d_kv_latent, dk_nope, dk_rope;
};

namespace detail {

/// k[n, h (dn + dr) + j] = j < dn ? k_nope[n, h dn + j] : k_rope[n, j - dn].
template <class T>
struct AssembleLatentKeys {
  MatrixView<const T> k_nope;  ///< [N, H dn]
  MatrixView<const T> k_rope;  ///< [N, dr]
  index_t heads;
  MatrixView<T> k;             ///< [N, H (dn + dr)]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = k.extent(1), n = i / width, c = i - n * width, head_width = width / heads;
    const index_t h = c / head_width, j = c - h * head_width, nope = head_width - k_rope.extent(1);
    k(n, c) = j < nope ? k_nope(n, h * nope + j) : k_rope(n, j - nope);
  }
};

/// The inverse of AssembleLatentKeys for gradients: dk_nope takes each head's first dn columns,
/// dk_rope the sum over the heads of their last dr. One thread per element of [dk_nope | dk_rope].
template <class T>
struct SplitLatentKeyGradients {
  MatrixView<const T> dk;  ///< [N, H (dn + dr)]
  index_t heads;
  MatrixView<T> dk_nope;   ///< [N, H dn]
  MatrixView<T> dk_rope;   ///< [N, dr]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t nope_width = dk_nope.extent(1), rope = dk_rope.extent(1), row = nope_width + rope;
    const index_t n = i / row, c = i - n * row, head_width = dk.extent(1) / heads, nope = head_width - rope;
    if (c < nope_width) {
      const index_t h = c / nope;
      dk_nope(n, c) = dk(n, h * head_width + c - h * nope);
    } else {
      compute_t<T> sum = compute_t<T>(0);
      for (index_t h = 0; h < heads; ++h) sum += static_cast<compute_t<T>>(dk(n, h * head_width + nope + c - nope_width));
      dk_rope(n, c - nope_width) = sum;
    }
  }
};

/// Columns [first, first + count) of a matrix.
template <class T>
MatrixView<T> columns(MatrixView<T> m, index_t first, index_t count) {
  return {m.data() + first, Extents<2>{m.extent(0), count}, Extents<2>{m.stride(0), 1}};
}

}  // namespace detail

/// The shape a block's latent attention is run with.
struct LatentShape {
  index_t heads = 0, head_dim = 0;  ///< head_dim: dn + dr
  layers::RotaryFrequencies rope{};
  bool expand = true;  ///< compute k and v (training, prefill); decoding needs only q and the latents
};

/// q, k, v of the rows x (the block's normalised input) into `q`, `k`, `v`, keeping what the
/// backward needs in `a`.
template <Backend B, class T>
void latent_qkv_forward(const B& backend, MatrixView<const T> wq, MatrixView<const T> wv, const LatentWeights<const T>& w,
                        MatrixView<const T> x, VectorView<const std::int32_t> positions, const LatentShape& shape,
                        const LatentActivations<T>& a, MatrixView<T> q, MatrixView<T> k, MatrixView<T> v) {
  using C = compute_t<T>;
  const C epsilon = static_cast<C>(kLatentNormEpsilon);
  MatrixView<const T> q_in = x;
  if (w.has_q_bottleneck()) {
    gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), x, w.wq_a, C(0), a.q_latent);
    layers::rmsnorm_forward<B, T>(backend, MatrixView<const T>(a.q_latent), w.q_a_norm, epsilon, a.q_latent_normed, a.q_inverse_rms);
    q_in = a.q_latent_normed;
  }
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), q_in, wq, C(0), q);
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), x, w.wkv_a, C(0), a.kv_latent);
  layers::rmsnorm_forward<B, T>(backend, MatrixView<const T>(a.kv_latent), w.kv_a_norm, epsilon, a.kv_latent_normed, a.kv_inverse_rms);
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), x, w.wk_rope, C(0), a.k_rope);
  const layers::RotaryEmbedding<T> rotate_q{q, positions, w.rope_dim(), shape.rope, false, shape.head_dim};
  const layers::RotaryEmbedding<T> rotate_k{a.k_rope, positions, w.rope_dim(), shape.rope, false};
  parallel_for(backend, rotate_q.pairs(), rotate_q);
  parallel_for(backend, rotate_k.pairs(), rotate_k);
  if (!shape.expand) return;
  const MatrixView<const T> latent = a.kv_latent_normed;
  if (w.wk_nope.size() > 0) gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), latent, w.wk_nope, C(0), a.k_nope);
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), latent, wv, C(0), v);
  parallel_for(backend, k.size(), detail::AssembleLatentKeys<T>{a.k_nope, a.k_rope, shape.heads, k});
}

/// From the gradients of the attention's q, k, v (dq is rotated back in place): every weight's
/// gradient accumulates into the grad views, and dx (overwritten) is the gradient of x.
template <Backend B, class T>
void latent_qkv_backward(const B& backend, MatrixView<const T> wq, MatrixView<const T> wv, const LatentWeights<const T>& w,
                         MatrixView<master_t<T>> grad_wq, MatrixView<master_t<T>> grad_wv, const LatentWeights<master_t<T>>& grad,
                         MatrixView<const T> x, VectorView<const std::int32_t> positions, const LatentShape& shape,
                         const LatentActivations<T>& a, MatrixView<T> dq, MatrixView<const T> dk, MatrixView<const T> dv,
                         const LatentGradientScratch<T>& s, MatrixView<T> dx) {
  using C = compute_t<T>;
  using G = master_t<T>;
  const layers::RotaryEmbedding<T> rotate_dq{dq, positions, w.rope_dim(), shape.rope, true, shape.head_dim};
  const layers::RotaryEmbedding<T> rotate_dk{s.dk_rope, positions, w.rope_dim(), shape.rope, true};
  parallel_for(backend, rotate_dq.pairs(), rotate_dq);
  parallel_for(backend, dk.extent(0) * (s.dk_nope.extent(1) + s.dk_rope.extent(1)),
               detail::SplitLatentKeyGradients<T>{dk, shape.heads, s.dk_nope, s.dk_rope});
  parallel_for(backend, rotate_dk.pairs(), rotate_dk);
  // The latent: c feeds k_nope and v.
  const MatrixView<const T> latent = a.kv_latent_normed;
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), latent, dv, C(1), grad_wv);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dv, wv, C(0), s.d_kv_latent_normed);
  if (w.wk_nope.size() > 0) {
    gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), latent, s.dk_nope, C(1), grad.wk_nope);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.dk_nope, w.wk_nope, C(1), s.d_kv_latent_normed);
  }
  layers::rmsnorm_backward<B, T>(backend, MatrixView<const T>(a.kv_latent), w.kv_a_norm, a.kv_inverse_rms, s.d_kv_latent_normed,
                                 s.d_kv_latent, grad.kv_a_norm);
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), x, s.d_kv_latent, C(1), grad.wkv_a);
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), x, s.dk_rope, C(1), grad.wk_rope);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.d_kv_latent, w.wkv_a, C(0), dx);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.dk_rope, w.wk_rope, C(1), dx);
  // The query, through its bottleneck if it has one.
  if (w.has_q_bottleneck()) {
    gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), a.q_latent_normed, dq, C(1), grad_wq);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dq, wq, C(0), s.d_q_latent_normed);
    layers::rmsnorm_backward<B, T>(backend, MatrixView<const T>(a.q_latent), w.q_a_norm, a.q_inverse_rms, s.d_q_latent_normed,
                                   s.d_q_latent, grad.q_a_norm);
    gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), x, s.d_q_latent, C(1), grad.wq_a);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.d_q_latent, w.wq_a, C(1), dx);
  } else {
    gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), x, dq, C(1), grad_wq);
    gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dq, wq, C(1), dx);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding over the latent cache [B, Lmax, r + dr]: per token, c then the rotated k_rope.

/// cache[b, t, :] = [latent | k_rope] of row n, for rows b L + t (prefill, length L) or, with
/// positions, one row per sequence at t = positions[b] (decode, length 1).
template <class T>
struct StoreLatents {
  MatrixView<const T> latent, k_rope;        ///< [N, r], [N, dr]
  index_t length;
  VectorView<const std::int32_t> positions;  ///< [B], or empty
  TensorView<T, 3> cache;                    ///< [B, Lmax, r + dr]
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t width = cache.extent(2), n = i / width, c = i - n * width, rank = latent.extent(1);
    const index_t b = n / length, t = positions.data() != nullptr ? static_cast<index_t>(positions[b]) : n - b * length;
    cache(b, t, c) = c < rank ? latent(n, c) : k_rope(n, c - rank);
  }
};

/// For sequence b and head h: scores over the cached positions j <= positions[b] from the
/// absorbed query (q_nope Wk_nope_h^T, [r]) and the rotated q_rope, then the softmax-weighted sum
/// of the cached latents into out_latent [B, H r]. One thread per (sequence, head).
template <class T>
struct LatentDecodeAttention {
  using C = compute_t<T>;
  MatrixView<const T> q;           ///< [B, H (dn + dr)], rotated
  MatrixView<const T> q_absorbed;  ///< [B, H r]
  TensorView<const T, 3> cache;    ///< [B, Lmax, r + dr]
  VectorView<const std::int32_t> positions;
  index_t heads;
  TensorView<C, 3> scores;         ///< [B, H, Lmax] scratch
  MatrixView<T> out_latent;        ///< [B, H r]
  double scale_factor = 1.0;       ///< multiplies 1 / sqrt(dn + dr), as in training (AttentionShape)

  RLMOE_HOST_DEVICE void operator()(index_t bh) const {
    const index_t b = bh / heads, h = bh - b * heads, rank = q_absorbed.extent(1) / heads;
    const index_t rope = cache.extent(2) - rank, head_width = q.extent(1) / heads, nope = head_width - rope;
    const index_t valid = positions[b] + 1;
    const C scale = scale_factor == 1.0 ? C(1) / math::sqrt(static_cast<C>(head_width))
                                        : static_cast<C>(scale_factor / math::sqrt(static_cast<double>(head_width)));
    for (index_t j = 0; j < valid; ++j) {
      C dot = C(0);
      for (index_t c = 0; c < rank; ++c) dot += static_cast<C>(q_absorbed(b, h * rank + c)) * static_cast<C>(cache(b, j, c));
      for (index_t c = 0; c < rope; ++c)
        dot += static_cast<C>(q(b, h * head_width + nope + c)) * static_cast<C>(cache(b, j, rank + c));
      scores(b, h, j) = dot * scale;
    }
    const C sum = layers::exponentiate_scores(&scores(b, h, 0), valid);
    for (index_t c = 0; c < rank; ++c) {
      C acc = C(0);
      for (index_t j = 0; j < valid; ++j) acc += scores(b, h, j) * static_cast<C>(cache(b, j, c));
      out_latent(b, h * rank + c) = acc / sum;
    }
  }
};

/// Scratch of latent_decode_attention.
template <class T>
struct LatentDecodeScratch {
  MatrixView<T> q_absorbed, out_latent;  ///< [B, H r]
  TensorView<compute_t<T>, 3> scores;    ///< [B, H, Lmax]
};

/// One decode step's attention for a block: stores this step's latents (a.kv_latent_normed and
/// a.k_rope, one row per sequence) at `positions`, then attends over the cache with the absorbed
/// weights; out [B, H dv].
template <Backend B, class T>
void latent_decode_attention(const B& backend, MatrixView<const T> wv, const LatentWeights<const T>& w, MatrixView<const T> q,
                             const LatentActivations<T>& a, VectorView<const std::int32_t> positions, index_t heads,
                             TensorView<T, 3> cache, const LatentDecodeScratch<T>& s, MatrixView<T> out, double scale_factor = 1.0) {
  using C = compute_t<T>;
  const index_t batch = q.extent(0), rank = w.rank(), head_width = q.extent(1) / heads, nope = head_width - w.rope_dim();
  const index_t value_dim = wv.extent(1) / heads;
  parallel_for(backend, batch * cache.extent(2),
               StoreLatents<T>{a.kv_latent_normed, a.k_rope, 1, positions, cache});
  // q_absorbed_h = q_nope_h Wk_nope_h^T: [B, dn] x [dn, r] per head.
  if (nope == 0) {
    fill(backend, s.q_absorbed, T(0.0f));
  } else {
    std::vector<GemmProblem<T>> problems;
    for (index_t h = 0; h < heads; ++h)
      problems.push_back({Transpose::No, Transpose::Yes, C(1), detail::columns(q, h * head_width, nope),
                          detail::columns(w.wk_nope, h * nope, nope), C(0), detail::columns(s.q_absorbed, h * rank, rank)});
    grouped_gemm(backend, problems);
  }
  parallel_for(backend, batch * heads,
               LatentDecodeAttention<T>{q, s.q_absorbed, cache, positions, heads, s.scores, s.out_latent, scale_factor});
  // out_h = out_latent_h Wv_h: [B, r] x [r, dv] per head.
  std::vector<GemmProblem<T>> problems;
  for (index_t h = 0; h < heads; ++h)
    problems.push_back({Transpose::No, Transpose::No, C(1), detail::columns(MatrixView<const T>(s.out_latent), h * rank, rank),
                        detail::columns(wv, h * value_dim, value_dim), C(0), detail::columns(out, h * value_dim, value_dim)});
  grouped_gemm(backend, problems);
}

}  // namespace rlmoe::nn
