#pragma once
// The dense SwiGLU feed-forward block: y = (silu(x W_gate) * (x W_up)) W_down, with
// W_gate_up = [W_gate | W_up] of shape [d, 2h] and W_down [h, d]. Two GEMMs and an elementwise
// pass each way; the intermediate H = x W_gate_up and A = swiglu(H) are kept for the backward.
// Weight gradients accumulate (+=) so that micro-batches add up in one gradient buffer. A bf16
// block multiplies bf16 matrices with float accumulation; its weight gradients are float
// (master_t<T>).
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/swiglu.hpp"

namespace rlmoe::layers {

/// What a SwiGLU block keeps from its forward pass: H [rows, 2h] and A [rows, h].
template <class T>
struct SwigluActivations {
  MatrixView<T> gate_up;
  MatrixView<T> hidden;

  /// Mutable activations convert to const ones (a template, so that it is never a conversion of
  /// a type to itself).
  template <class U>
    requires(std::is_same_v<U, const T> && !std::is_const_v<T>)
  operator SwigluActivations<U>() const {  // NOLINT: implicit on purpose
    return {gate_up, hidden};
  }
};

/// y = beta y + swiglu(x W_gate_up) W_down.
template <Backend B, class T>
void swiglu_mlp_forward(const B& backend, MatrixView<const T> x, MatrixView<const T> w_gate_up, MatrixView<const T> w_down,
                        const SwigluActivations<T>& saved, MatrixView<T> y, compute_t<T> beta = 0) {
  using C = compute_t<T>;
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), x, w_gate_up, C(0), saved.gate_up);
  parallel_for(backend, saved.hidden.size(), SwigluForward<T>{saved.gate_up, saved.hidden});
  gemm<B, T>(backend, Transpose::No, Transpose::No, C(1), saved.hidden, w_down, beta, y);
}

/// From dy: grad_w_down += A^T dy, grad_w_gate_up += x^T dH, dx = dx_beta dx + dH W_gate_up^T.
/// scratch holds dA [rows, h] and dH [rows, 2h].
template <Backend B, class T>
void swiglu_mlp_backward(const B& backend, MatrixView<const T> x, MatrixView<const T> w_gate_up, MatrixView<const T> w_down,
                         const SwigluActivations<const T>& saved, MatrixView<const T> dy,
                         const SwigluActivations<T>& scratch, MatrixView<master_t<T>> grad_w_gate_up,
                         MatrixView<master_t<T>> grad_w_down, MatrixView<T> dx, compute_t<T> dx_beta = 0) {
  using C = compute_t<T>;
  using G = master_t<T>;
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), saved.hidden, dy, C(1), grad_w_down);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), dy, w_down, C(0), scratch.hidden);
  parallel_for(backend, scratch.hidden.size(), SwigluBackward<T>{saved.gate_up, scratch.hidden, scratch.gate_up});
  gemm<B, G>(backend, Transpose::Yes, Transpose::No, C(1), x, scratch.gate_up, C(1), grad_w_gate_up);
  gemm<B, T>(backend, Transpose::No, Transpose::Yes, C(1), scratch.gate_up, w_gate_up, dx_beta, dx);
}

}  // namespace rlmoe::layers
