#pragma once
// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w, per row of x [rows, d]. The forward pass keeps the
// inverse RMS of each row for the backward:
//   x^ = x inv,   dx = inv (dy w - x^ mean(dy w x^)),   dw += sum_rows dy x^
// dx runs one row per thread; dw one column per thread over all rows, which reads rows in order
// (coalesced) and sums them in a fixed order (deterministic).
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T>
struct RmsNormForward {
  MatrixView<const T> x;
  VectorView<const T> weight;
  T epsilon;
  MatrixView<T> y;
  VectorView<T> inverse_rms;  ///< [rows], kept for the backward

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t d = x.extent(1);
    T squares = T(0);
    for (index_t c = 0; c < d; ++c) squares += x(r, c) * x(r, c);
    const T inv = T(1) / math::sqrt(squares / static_cast<T>(d) + epsilon);
    inverse_rms[r] = inv;
    for (index_t c = 0; c < d; ++c) y(r, c) = x(r, c) * inv * weight[c];
  }
};

template <class T>
struct RmsNormBackwardInput {
  MatrixView<const T> x, dy;
  VectorView<const T> weight, inverse_rms;
  MatrixView<T> dx;

  RLMOE_HOST_DEVICE void operator()(index_t r) const {
    const index_t d = x.extent(1);
    const T inv = inverse_rms[r];
    T dot = T(0);
    for (index_t c = 0; c < d; ++c) dot += dy(r, c) * weight[c] * x(r, c) * inv;
    const T mean = dot / static_cast<T>(d);
    for (index_t c = 0; c < d; ++c) dx(r, c) = inv * (dy(r, c) * weight[c] - x(r, c) * inv * mean);
  }
};

template <class T>
struct RmsNormBackwardWeight {
  MatrixView<const T> x, dy;
  VectorView<const T> inverse_rms;
  VectorView<T> d_weight;  ///< accumulated

  RLMOE_HOST_DEVICE void operator()(index_t c) const {
    T sum = T(0);
    for (index_t r = 0; r < x.extent(0); ++r) sum += dy(r, c) * x(r, c) * inverse_rms[r];
    d_weight[c] += sum;
  }
};

template <Backend B, class T>
void rmsnorm_forward(const B& backend, MatrixView<const T> x, VectorView<const T> weight, T epsilon, MatrixView<T> y,
                     VectorView<T> inverse_rms) {
  parallel_for(backend, x.extent(0), RmsNormForward<T>{x, weight, epsilon, y, inverse_rms});
}

/// dx (overwritten) and d_weight (accumulated) from dy.
template <Backend B, class T>
void rmsnorm_backward(const B& backend, MatrixView<const T> x, VectorView<const T> weight, VectorView<const T> inverse_rms,
                      MatrixView<const T> dy, MatrixView<T> dx, VectorView<T> d_weight) {
  parallel_for(backend, x.extent(0), RmsNormBackwardInput<T>{x, dy, weight, inverse_rms, dx});
  parallel_for(backend, x.extent(1), RmsNormBackwardWeight<T>{x, dy, inverse_rms, d_weight});
}

}  // namespace rlmoe::layers
