#pragma once
// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w, per row of x [rows, d]; an empty w is a weightless
// norm (w = 1, no weight gradient: Llama 4's q/k norm). The forward pass keeps the inverse RMS of
// each row for the backward:
//   x^ = x inv,   dx = inv (dy w - x^ mean(dy w x^)),   dw += sum_rows dy x^
// dx runs one row per thread; dw one column per thread over all rows, which reads rows in order
// (coalesced) and sums them in a fixed order (deterministic). Values stored as T are computed on
// in compute_t<T> (float for bfloat16), in which the inverse RMS is kept; dw is a parameter
// gradient (master_t<T>).
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

/// w[c], or 1 for a weightless norm.
template <class T>
RLMOE_HOST_DEVICE compute_t<T> weight_at(VectorView<const T> weight, index_t c) {
  return weight.data() != nullptr ? static_cast<compute_t<T>>(weight[c]) : compute_t<T>(1);
}

template <class T>
struct RmsNormForward {
  using C = compute_t<T>;
  MatrixView<const T> x;
  VectorView<const T> weight;
  C epsilon;
  MatrixView<T> y;
  VectorView<C> inverse_rms;  ///< [rows], kept for the backward

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t d = x.extent(1);
    C squares = C(0);
    for (index_t c = 0; c < d; ++c) {
      const C v = x(r, c);
      squares += v * v;
    }
    const C inv = C(1) / math::sqrt(squares / static_cast<C>(d) + epsilon);
    inverse_rms[r] = inv;
    for (index_t c = 0; c < d; ++c) y(r, c) = static_cast<C>(x(r, c)) * inv * weight_at(weight, c);
  }
};

template <class T>
struct RmsNormBackwardInput {
  using C = compute_t<T>;
  MatrixView<const T> x, dy;
  VectorView<const T> weight;
  VectorView<const C> inverse_rms;
  MatrixView<T> dx;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t d = x.extent(1);
    const C inv = inverse_rms[r];
    C dot = C(0);
    for (index_t c = 0; c < d; ++c) dot += static_cast<C>(dy(r, c)) * weight_at(weight, c) * static_cast<C>(x(r, c)) * inv;
    const C mean = dot / static_cast<C>(d);
    for (index_t c = 0; c < d; ++c)
      dx(r, c) = inv * (static_cast<C>(dy(r, c)) * weight_at(weight, c) - static_cast<C>(x(r, c)) * inv * mean);
  }
};

template <class T>
struct RmsNormBackwardWeight {
  using C = compute_t<T>;
  MatrixView<const T> x, dy;
  VectorView<const C> inverse_rms;
  VectorView<master_t<T>> d_weight;  ///< accumulated

  RLMOE_HOST_DEVICE void operator()(index_t c) const {
    C sum = C(0);
    for (index_t r = 0; r < x.extent(0); ++r) sum += static_cast<C>(dy(r, c)) * static_cast<C>(x(r, c)) * inverse_rms[r];
    d_weight[c] += sum;
  }
};

template <Backend B, class T>
void rmsnorm_forward(const B& backend, MatrixView<const T> x, VectorView<const T> weight, compute_t<T> epsilon, MatrixView<T> y,
                     VectorView<compute_t<T>> inverse_rms) {
  parallel_for(backend, x.extent(0), RmsNormForward<T>{x, weight, epsilon, y, inverse_rms});
}

/// dx (overwritten) and d_weight (accumulated; nothing for a weightless norm) from dy.
template <Backend B, class T>
void rmsnorm_backward(const B& backend, MatrixView<const T> x, VectorView<const T> weight,
                      VectorView<const compute_t<T>> inverse_rms, MatrixView<const T> dy, MatrixView<T> dx,
                      VectorView<master_t<T>> d_weight) {
  parallel_for(backend, x.extent(0), RmsNormBackwardInput<T>{x, dy, weight, inverse_rms, dx});
  if (weight.data() != nullptr) parallel_for(backend, x.extent(1), RmsNormBackwardWeight<T>{x, dy, inverse_rms, d_weight});
}

}  // namespace rlmoe::layers
