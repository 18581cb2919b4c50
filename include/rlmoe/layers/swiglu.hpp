#pragma once
// SwiGLU, the gated activation of DeepSeek's feed-forward blocks: with the gate and up
// projections side by side in one [rows, 2h] matrix H = x [W_gate | W_up],
//   A = silu(H[:, :h]) * H[:, h:],   silu(g) = g * sigmoid(g),
// and its backward from dA to dH. Elementwise, so written once as host/device functors; computed
// in compute_t<T> (float for bfloat16).
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
RLMOE_HOST_DEVICE T sigmoid(T x) {
  return T(1) / (T(1) + math::exp(-x));
}

/// A[r, j] = silu(H[r, j]) * H[r, h + j] for every element of A ([rows, h]).
template <class T>
struct SwigluForward {
  MatrixView<const T> gate_up;  ///< [rows, 2h]
  MatrixView<T> out;            ///< [rows, h]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    using C = compute_t<T>;
    const index_t h = out.extent(1), r = i / h, j = i - r * h;
    const C g = gate_up(r, j);
    out(r, j) = g * sigmoid(g) * static_cast<C>(gate_up(r, h + j));
  }
};

/// dH from dA: d gate = dA * up * silu'(gate), d up = dA * silu(gate), where
/// silu'(g) = sigmoid(g) (1 + g (1 - sigmoid(g))).
template <class T>
struct SwigluBackward {
  MatrixView<const T> gate_up;    ///< [rows, 2h], saved from the forward pass
  MatrixView<const T> d_out;      ///< [rows, h]
  MatrixView<T> d_gate_up;        ///< [rows, 2h]

  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t h = d_out.extent(1), r = i / h, j = i - r * h;
    using C = compute_t<T>;
    const C g = gate_up(r, j), up = gate_up(r, h + j), d = d_out(r, j);
    const C s = sigmoid(g);
    d_gate_up(r, j) = d * up * s * (C(1) + g * (C(1) - s));
    d_gate_up(r, h + j) = d * g * s;
  }
};

}  // namespace rlmoe::layers
