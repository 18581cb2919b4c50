#pragma once
// One pre-norm transformer block, the routine that training, prefill and decode all run:
//
//   middle = input + attention(rope(qk_norm(rmsnorm(input) [Wq Wk Wv]))) Wo
//   output = middle + ffn(rmsnorm(middle))        ffn: a dense SwiGLU or the MoE layer
//
// qk_norm is an RMSNorm over each head's dh values of q and of k, with one weight vector [dh] for
// q and one for k (Qwen3), or over all of q's and all of k's values, with weights [H dh] and
// [Hkv dh] (OLMoE): the weights' length says which. A block without it leaves q and k as projected.
// Llama 4's blocks differ by layer (BlockShape): some have no rotation, and their queries are
// scaled by a temperature of the position instead; the rotating ones may normalise each head's
// rotated q and k by a weightless RMSNorm (after the rotation, where Qwen's norm comes before). With
// grouped-query attention, k and v have fewer heads than q ([N, Hkv dh]). With DeepSeek's
// Multi-head Latent Attention (nn/latent_attention.hpp) q, k and v come from low-rank latents
// instead of [Wq Wk Wv], and the rest of the block is the same.
//
// Only the attention differs between the callers, so it is a callable: attend(q, k, v, out) with
// q and k already rotated (full causal attention over a padded batch when training, the KV cache
// when decoding). A block's weights are typed views bound once when the model is built, so the
// hot path does no name look-ups. block_backward() runs the same block in reverse from the
// activations block_forward() kept. A bf16 block computes in float (compute_t) and accumulates its
// weights' gradients in float (master_t).
#include <cstdint>
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/attention_temperature.hpp"
#include "rlmoe/layers/mlp.hpp"
#include "rlmoe/layers/rmsnorm.hpp"
#include "rlmoe/layers/rope.hpp"
#include "rlmoe/moe/moe_layer.hpp"
#include "rlmoe/moe/parameters.hpp"
#include "rlmoe/nn/latent_attention.hpp"

namespace rlmoe::nn {

/// One block's tensors (parameters, or their gradients: the same views over another buffer).
template <class T>
struct BlockWeights {
  VectorView<T> attn_norm, ffn_norm;   ///< [d]
  MatrixView<T> wq, wk, wv, wo;        ///< [d, H dh], [d, Hkv dh], [d, Hkv dh], [H dh, d]; MLA: see LatentWeights
  VectorView<T> q_norm, k_norm;        ///< [dh] (per head) or [H dh], [Hkv dh] (whole rows) with qk_norm; empty without
  LatentWeights<T> latent;             ///< Multi-head Latent Attention's; empty without
  MatrixView<T> ffn_gate_up, ffn_down; ///< dense blocks: [d, 2h], [h, d]
  moe::MoeParameters<T> moe;           ///< MoE blocks

  [[nodiscard]] bool has_qk_norm() const { return q_norm.data() != nullptr; }

  /// Mutable views convert to const ones.
  template <class U>
    requires(std::is_same_v<U, const T> && !std::is_const_v<T>)
  operator BlockWeights<U>() const {  // NOLINT: implicit on purpose
    return {attn_norm, ffn_norm, wq, wk, wv, wo, q_norm, k_norm, latent, ffn_gate_up, ffn_down, moe};
  }
};

/// What a block's forward pass writes (and its backward reads): [N, d] rows unless noted (q and
/// attended [N, H dh], k and v [N, Hkv dh]). Decoding reuses one set for every layer and may alias
/// normed with ffn_input and output with input; training keeps one set per layer.
template <class T>
struct BlockActivations {
  MatrixView<T> input, normed, q, k, v, attended, middle, ffn_input, output;
  VectorView<compute_t<T>> inverse_rms, ffn_inverse_rms;  ///< [N]
  MatrixView<T> q_projected, k_projected;                 ///< with qk_norm: q and k before it
  VectorView<compute_t<T>> q_inverse_rms, k_inverse_rms;  ///< with qk_norm: [N H], [N Hkv] (per head) or [N]
  layers::SwigluActivations<T> dense;          ///< dense blocks: [N, 2h], [N, h]
  LatentActivations<T> latent;                 ///< with Multi-head Latent Attention (v is [N, H dv])
};

/// The block's fixed settings.
struct BlockShape {
  index_t head_dim = 0;
  layers::RotaryFrequencies rope{};
  float norm_epsilon = 1e-6f;
  index_t heads = 0;
  bool expand_latent = true;  ///< MLA: compute k and v (decoding attends over the latents instead)
  bool rotary = true;         ///< this layer rotates q and k (Llama 4's no-rope layers do not)
  layers::AttentionTemperature temperature{};  ///< without rotation: the queries' temperature tuning
  bool weightless_qk_norm = false;  ///< with rotation: each head's rotated q and k RMS-normalised, no weight

  /// The rotated q and k are normalised afterwards (into q and k, from q_projected and k_projected).
  [[nodiscard]] bool norms_after_rotation() const { return rotary && weightless_qk_norm; }

  [[nodiscard]] LatentShape latent() const { return {heads, head_dim, rope, expand_latent}; }
};

namespace detail {

/// a += b, elementwise.
template <class T>
struct AddInPlace {
  MatrixView<T> a;
  MatrixView<const T> b;
  RLMOE_HOST_DEVICE void operator()(index_t i) const { a.at_flat(i) += b.at_flat(i); }
};

/// [N, heads dh] as [N heads dh / width, width]: one row per normalised group (a head, or the
/// whole row), for the q/k norm of that width.
template <class T>
MatrixView<T> head_by_head(MatrixView<T> m, index_t width) {
  return m.reshape(Extents<2>{m.size() / width, width});
}

}  // namespace detail

/// q, k, v of the normalised rows: [Wq Wk Wv], the per-head norms if any, the rotation.
template <Backend B, class T>
void project_qkv(const B& backend, const BlockWeights<const T>& w, VectorView<const std::int32_t> positions,
                 const BlockShape& shape, const BlockActivations<T>& a) {
  using C = compute_t<T>;
  const C epsilon = static_cast<C>(shape.norm_epsilon);
  const index_t dh = shape.head_dim;
  const bool qk_norm = w.has_qk_norm(), norm_after = shape.norms_after_rotation();
  const bool into_projected = qk_norm || norm_after;
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), a.normed, w.wq, C(0), into_projected ? a.q_projected : a.q);
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), a.normed, w.wk, C(0), into_projected ? a.k_projected : a.k);
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), a.normed, w.wv, C(0), a.v);
  if (qk_norm) {
    const index_t qw = w.q_norm.size(), kw = w.k_norm.size();
    layers::rmsnorm_forward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.q_projected), qw), w.q_norm, epsilon,
                                  detail::head_by_head(a.q, qw), a.q_inverse_rms);
    layers::rmsnorm_forward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.k_projected), kw), w.k_norm, epsilon,
                                  detail::head_by_head(a.k, kw), a.k_inverse_rms);
  }
  if (shape.rotary) {
    const MatrixView<T> q = norm_after ? a.q_projected : a.q, k = norm_after ? a.k_projected : a.k;
    parallel_for(backend, q.size() / 2, layers::RotaryEmbedding<T>{q, positions, dh, shape.rope, false});
    parallel_for(backend, k.size() / 2, layers::RotaryEmbedding<T>{k, positions, dh, shape.rope, false});
  } else if (shape.temperature.enabled()) {
    parallel_for(backend, a.q.size(), layers::ScaleByTemperature<T>{a.q, positions, shape.temperature});
  }
  if (norm_after) {
    layers::rmsnorm_forward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.q_projected), dh), {}, epsilon,
                                  detail::head_by_head(a.q, dh), a.q_inverse_rms);
    layers::rmsnorm_forward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.k_projected), dh), {}, epsilon,
                                  detail::head_by_head(a.k, dh), a.k_inverse_rms);
  }
}

/// The block over rows at `positions`; `moe_layer` is null for a dense block.
template <Backend B, class T, class Attend>
void block_forward(const B& backend, const BlockWeights<const T>& w, moe::MoeLayer<B, T>* moe_layer,
                   const typename moe::MoeLayer<B, T>::ForwardOptions& moe_options, VectorView<const std::int32_t> positions,
                   const BlockShape& shape, const BlockActivations<T>& a, const Attend& attend) {
  using C = compute_t<T>;
  const index_t n = a.input.extent(0), d = a.input.extent(1);
  const C epsilon = static_cast<C>(shape.norm_epsilon);
  layers::rmsnorm_forward<B, T>(backend, a.input, w.attn_norm, epsilon, a.normed, a.inverse_rms);
  if (w.latent.present()) {
    latent_qkv_forward<B, T>(backend, w.wq, w.wv, w.latent, a.normed, positions, shape.latent(), a.latent, a.q, a.k, a.v);
  } else {
    project_qkv<B, T>(backend, w, positions, shape, a);
  }
  attend(MatrixView<const T>(a.q), MatrixView<const T>(a.k), MatrixView<const T>(a.v), a.attended);
  copy(backend, a.middle, MatrixView<const T>(a.input));
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), a.attended, w.wo, C(1), a.middle);
  layers::rmsnorm_forward<B, T>(backend, a.middle, w.ffn_norm, epsilon, a.ffn_input, a.ffn_inverse_rms);
  if (moe_layer != nullptr) {
    moe_layer->forward(w.moe, a.ffn_input, a.output, moe_options);
    parallel_for(backend, n * d, detail::AddInPlace<T>{a.output, a.middle});
  } else {
    copy(backend, a.output, MatrixView<const T>(a.middle));
    layers::swiglu_mlp_forward<B, T>(backend, a.ffn_input, w.ffn_gate_up, w.ffn_down, a.dense, a.output, C(1));
  }
}

/// Scratch for block_backward, shaped as the activations of the same names and shared by the
/// layers; d_dense for dense blocks, dq_projected and dk_projected with qk_norm, latent with MLA.
template <class T>
struct BlockGradientScratch {
  MatrixView<T> d_ffn_input, d_middle, d_normed, d_attended, dq, dk, dv;
  layers::SwigluActivations<T> d_dense;
  MatrixView<T> dq_projected, dk_projected;
  LatentGradientScratch<T> latent;
};

/// The backward of project_qkv, from the gradients of the rotated q, k (rotated back in place)
/// and of v: the weights' gradients, and s.d_normed (overwritten).
template <Backend B, class T>
void project_qkv_backward(const B& backend, const BlockWeights<const T>& w, const BlockWeights<master_t<T>>& grad,
                          VectorView<const std::int32_t> positions, const BlockShape& shape, const BlockActivations<T>& a,
                          const BlockGradientScratch<T>& s) {
  using C = compute_t<T>;
  using G = master_t<T>;
  const index_t dh = shape.head_dim;
  MatrixView<T> dq = s.dq, dk = s.dk;
  // Back through what followed the rotation: the weightless norm, or without rotation the temperature.
  if (shape.norms_after_rotation()) {
    layers::rmsnorm_backward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.q_projected), dh), {}, a.q_inverse_rms,
                                   detail::head_by_head(MatrixView<const T>(s.dq), dh), detail::head_by_head(s.dq_projected, dh), {});
    layers::rmsnorm_backward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.k_projected), dh), {}, a.k_inverse_rms,
                                   detail::head_by_head(MatrixView<const T>(s.dk), dh), detail::head_by_head(s.dk_projected, dh), {});
    dq = s.dq_projected;
    dk = s.dk_projected;
  } else if (!shape.rotary && shape.temperature.enabled()) {
    parallel_for(backend, dq.size(), layers::ScaleByTemperature<T>{dq, positions, shape.temperature});
  }
  if (shape.rotary) {
    parallel_for(backend, dq.size() / 2, layers::RotaryEmbedding<T>{dq, positions, dh, shape.rope, true});
    parallel_for(backend, dk.size() / 2, layers::RotaryEmbedding<T>{dk, positions, dh, shape.rope, true});
  }
  // The gradients of the projections' outputs: through the per-head norms, if any.
  if (w.has_qk_norm()) {
    const index_t qw = w.q_norm.size(), kw = w.k_norm.size();
    layers::rmsnorm_backward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.q_projected), qw), w.q_norm,
                                   a.q_inverse_rms, detail::head_by_head(MatrixView<const T>(s.dq), qw),
                                   detail::head_by_head(s.dq_projected, qw), grad.q_norm);
    layers::rmsnorm_backward<B, T>(backend, detail::head_by_head(MatrixView<const T>(a.k_projected), kw), w.k_norm,
                                   a.k_inverse_rms, detail::head_by_head(MatrixView<const T>(s.dk), kw),
                                   detail::head_by_head(s.dk_projected, kw), grad.k_norm);
    dq = s.dq_projected;
    dk = s.dk_projected;
  }
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), a.normed, dq, C(1), grad.wq);
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), a.normed, dk, C(1), grad.wk);
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), a.normed, s.dv, C(1), grad.wv);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dq, w.wq, C(0), s.d_normed);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dk, w.wk, C(1), s.d_normed);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.dv, w.wv, C(1), s.d_normed);
}

/// dx holds d loss / d output on entry and d loss / d input on return; the weights' gradients
/// accumulate into `grad`. attend_backward(d_attended, dq, dk, dv) is the attention's backward,
/// giving the gradients of the rotated q and k.
template <Backend B, class T, class AttendBackward>
void block_backward(const B& backend, const BlockWeights<const T>& w, const BlockWeights<master_t<T>>& grad,
                    moe::MoeLayer<B, T>* moe_layer, VectorView<const std::int32_t> positions, const BlockShape& shape,
                    const BlockActivations<T>& a, MatrixView<T> dx, const BlockGradientScratch<T>& s,
                    const AttendBackward& attend_backward) {
  using C = compute_t<T>;
  using G = master_t<T>;
  const index_t n = a.input.extent(0), d = a.input.extent(1);
  // Feed-forward: output = middle + ffn(norm(middle)).
  if (moe_layer != nullptr) {
    moe_layer->backward(w.moe, dx, s.d_ffn_input, grad.moe);
  } else {
    layers::swiglu_mlp_backward<B, T>(backend, a.ffn_input, w.ffn_gate_up, w.ffn_down, a.dense, dx, s.d_dense, grad.ffn_gate_up,
                                      grad.ffn_down, s.d_ffn_input, C(0));
  }
  layers::rmsnorm_backward<B, T>(backend, a.middle, w.ffn_norm, a.ffn_inverse_rms, s.d_ffn_input, s.d_middle, grad.ffn_norm);
  parallel_for(backend, n * d, detail::AddInPlace<T>{s.d_middle, dx});
  // Attention: middle = input + attention(norm(input)) Wo.
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), a.attended, s.d_middle, C(1), grad.wo);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), s.d_middle, w.wo, C(0), s.d_attended);
  attend_backward(MatrixView<const T>(s.d_attended), s.dq, s.dk, s.dv);
  if (w.latent.present()) {
    latent_qkv_backward<B, T>(backend, w.wq, w.wv, w.latent, grad.wq, grad.wv, grad.latent, a.normed, positions, shape.latent(),
                              a.latent, s.dq, s.dk, s.dv, s.latent, s.d_normed);
  } else {
    project_qkv_backward<B, T>(backend, w, grad, positions, shape, a, s);
  }
  layers::rmsnorm_backward<B, T>(backend, a.input, w.attn_norm, a.inverse_rms, s.d_normed, dx, grad.attn_norm);
  parallel_for(backend, n * d, detail::AddInPlace<T>{dx, s.d_middle});
}

}  // namespace rlmoe::nn
