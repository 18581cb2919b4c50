#pragma once
// gemm(backend, trans_a, trans_b, alpha, a, b, beta, c): C = alpha * op(A) * op(B) + beta * C for
// row-major matrices (unit stride along rows, leading dimension = stride(0)), as in BLAS: op(X)
// is X or its transpose, beta == 0 means C is not read (NaNs in C do not propagate), and k == 0
// gives C = beta * C. Eigen on Host, cuBLAS on Cuda (full fp32/fp64 precision, no TF32).
#include <algorithm>
#include <string_view>
#include <type_traits>

#include <Eigen/Core>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {

enum class Transpose : bool { No = false, Yes = true };

/// One product C = alpha * op(A) * op(B) + beta * C.
template <class T>
struct GemmProblem {
  Transpose trans_a = Transpose::No;
  Transpose trans_b = Transpose::No;
  T alpha = T(1);
  MatrixView<const T> a;
  MatrixView<const T> b;
  T beta = T(0);
  MatrixView<T> c;

  [[nodiscard]] index_t m() const { return c.extent(0); }
  [[nodiscard]] index_t n() const { return c.extent(1); }
  [[nodiscard]] index_t k() const { return trans_a == Transpose::Yes ? a.extent(0) : a.extent(1); }
};

namespace detail {

/// Leading dimension of a row-major matrix as BLAS wants it: at least max(1, columns).
template <class T>
index_t leading_dimension(const MatrixView<T>& m) {
  return std::max<index_t>(m.extent(0) > 1 ? m.stride(0) : 0, std::max<index_t>(1, m.extent(1)));
}

template <class T>
void require_blas_layout(const MatrixView<T>& m, std::string_view what) {
  const bool unit_rows = m.stride(1) == 1 || m.extent(1) <= 1;
  const bool rows_apart = m.extent(0) <= 1 || m.stride(0) >= m.extent(1);
  RLMOE_CHECK(unit_rows && rows_apart, ShapeError, what, " of shape ", m.shape(), " has strides ", m.strides(),
              " but gemm needs unit stride along rows and stride(0) >= extent(1)");
}

template <class T>
Extents<2> op_shape(const MatrixView<T>& m, Transpose t) {
  return t == Transpose::Yes ? Extents<2>{m.extent(1), m.extent(0)} : m.shape();
}

/// Checks one problem's shapes and layouts; `where` names the call, e.g. "grouped_gemm: problem 3".
template <class T>
void check_gemm(const GemmProblem<T>& p, std::string_view where) {
  require_blas_layout(p.a, std::string(where) + ": A");
  require_blas_layout(p.b, std::string(where) + ": B");
  require_blas_layout(p.c, std::string(where) + ": C");
  const Extents<2> a = op_shape(p.a, p.trans_a);
  const Extents<2> b = op_shape(p.b, p.trans_b);
  RLMOE_CHECK(a[1] == b[0], ShapeError, where, ": op(A) has shape ", a, " and op(B) has shape ", b,
              "; the inner extents must match (A ", p.a.shape(), p.trans_a == Transpose::Yes ? " transposed" : "",
              ", B ", p.b.shape(), p.trans_b == Transpose::Yes ? " transposed" : "", ")");
  const Extents<2> product{a[0], b[1]};
  RLMOE_CHECK(p.c.shape() == product, ShapeError, where, ": C has shape ", p.c.shape(),
              " but op(A) * op(B) has shape ", product);
}

template <class T>
struct ScaleMatrix {
  MatrixView<T> c;
  T beta;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    T& x = c.at_flat(i);
    x = beta == T(0) ? T(0) : beta * x;
  }
};

/// C = beta * C with BLAS's beta == 0 convention: what a product with k == 0 reduces to.
template <Backend B, class T>
void scale_matrix(const B& backend, MatrixView<T> c, T beta) {
  if (beta != T(1)) parallel_for(backend, c.size(), ScaleMatrix<T>{c, beta});
}

}  // namespace detail

namespace impl {

template <class B>
struct Gemm {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("gemm"));
};

template <>
struct Gemm<Host> {
  template <class T>
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  template <class T>
  using Map = Eigen::Map<Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
  template <class T>
  using ConstMap = Eigen::Map<const Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

  template <class T>
  static ConstMap<T> map(const MatrixView<const T>& v) {
    return {v.data(), v.extent(0), v.extent(1), Eigen::OuterStride<>(detail::leading_dimension(v))};
  }

  /// One checked problem; Eigen's product is itself parallelised with OpenMP.
  template <class T>
  static void run(const Host& host, const GemmProblem<T>& p) {
    if (p.m() == 0 || p.n() == 0) return;
    if (p.k() == 0 || p.alpha == T(0)) {
      detail::scale_matrix(host, p.c, p.beta);
      return;
    }
    Map<T> c(p.c.data(), p.m(), p.n(), Eigen::OuterStride<>(detail::leading_dimension(p.c)));
    if (p.beta == T(0))
      c.setZero();
    else if (p.beta != T(1))
      c *= p.beta;
    const ConstMap<T> a = map(p.a);
    const ConstMap<T> b = map(p.b);
    const bool ta = p.trans_a == Transpose::Yes;
    const bool tb = p.trans_b == Transpose::Yes;
    if (!ta && !tb)
      c.noalias() += p.alpha * (a * b);
    else if (ta && !tb)
      c.noalias() += p.alpha * (a.transpose() * b);
    else if (!ta && tb)
      c.noalias() += p.alpha * (a * b.transpose());
    else
      c.noalias() += p.alpha * (a.transpose() * b.transpose());
  }
};

}  // namespace impl

template <Backend B, class T>
  requires std::is_floating_point_v<T>
void gemm(const B& backend, Transpose trans_a, Transpose trans_b, std::type_identity_t<T> alpha,
          std::type_identity_t<MatrixView<const T>> a, std::type_identity_t<MatrixView<const T>> b,
          std::type_identity_t<T> beta, MatrixView<T> c) {
  const GemmProblem<T> problem{trans_a, trans_b, alpha, a, b, beta, c};
  detail::check_gemm(problem, "gemm");
  impl::Gemm<B>::run(backend, problem);
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/gemm.cuh"
#endif
