#pragma once
// gemm(backend, trans_a, trans_b, alpha, a, b, beta, c): C = alpha * op(A) * op(B) + beta * C for
// row-major matrices (unit stride along rows, leading dimension = stride(0)), as in BLAS: op(X)
// is X or its transpose, beta == 0 means C is not read (NaNs in C do not propagate), and k == 0
// gives C = beta * C. Eigen on Host (the same bits for every thread count), cuBLAS on Cuda (full
// fp32/fp64 precision, no TF32).
//
// Mixed precision: A and B in bfloat16, C in float or bfloat16, products accumulated in float and
// C rounded once when stored (the tensor cores' contract). Cuda runs it through cuBLASLt; Host
// widens the operands to float (exactly) and runs the float product, so Host and Cuda agree to
// float rounding before C's own rounding.
#include <algorithm>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {

enum class Transpose : bool { No = false, Yes = true };

/// The type of alpha, beta and the accumulation of a product of `In`s: double for double, float
/// for float and bfloat16.
template <class In>
using gemm_scalar_t = std::conditional_t<std::is_same_v<In, double>, double, float>;

/// The element types gemm and grouped_gemm multiply: float, double, and bfloat16 into float or
/// bfloat16.
template <class In, class Out>
concept GemmTypes = (std::is_floating_point_v<In> && std::is_same_v<In, Out>) ||
                    (std::is_same_v<In, bfloat16> && (std::is_same_v<Out, float> || std::is_same_v<Out, bfloat16>));

/// One product C = alpha * op(A) * op(B) + beta * C; A and B of `In`, C of `Out`.
template <class In, class Out = In>
struct GemmProblem {
  using Scalar = gemm_scalar_t<In>;
  Transpose trans_a = Transpose::No;
  Transpose trans_b = Transpose::No;
  Scalar alpha = Scalar(1);
  MatrixView<const In> a;
  MatrixView<const In> b;
  Scalar beta = Scalar(0);
  MatrixView<Out> c;

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
template <class In, class Out>
void check_gemm(const GemmProblem<In, Out>& p, std::string_view where) {
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

template <class T, class Scalar>
struct ScaleMatrix {
  MatrixView<T> c;
  Scalar beta;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    T& x = c.at_flat(i);
    x = beta == Scalar(0) ? T(Scalar(0)) : T(beta * Scalar(x));
  }
};

/// C = beta * C with BLAS's beta == 0 convention: what a product with k == 0 reduces to.
template <Backend B, class T, class Scalar>
void scale_matrix(const B& backend, MatrixView<T> c, Scalar beta) {
  if (beta != Scalar(1)) parallel_for(backend, c.size(), ScaleMatrix<T, Scalar>{c, beta});
}

/// to(i, j) = from(i, j), converting (bfloat16 to float is exact; float to bfloat16 rounds).
template <class From, class To>
struct ConvertMatrix {
  MatrixView<const From> from;
  MatrixView<To> to;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    const index_t columns = to.extent(1), r = i / columns, c = i - r * columns;
    to(r, c) = To(from(r, c));
  }
};

}  // namespace detail

namespace impl {

template <class B>
struct Gemm {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("gemm"));
};

/// Host products: Eigen, run single-threaded on row blocks of C that rlmoe's own threads share.
/// Eigen's own parallel product splits the work by the thread count, so its sums (and the run's
/// bits) would change with OMP_NUM_THREADS; here the blocks depend only on the problem's sizes, so
/// every thread count gives the same bits.
template <>
struct Gemm<Host> {
  template <class T>
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  template <class T>
  using Map = Eigen::Map<Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
  template <class T>
  using ConstMap = Eigen::Map<const Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

  /// About this many multiply-adds per block (Eigen's own threshold for a thread's share is 50k).
  static constexpr index_t kWorkPerBlock = index_t{1} << 17;
  static constexpr index_t kMinRowsPerBlock = 16;

  template <class T>
  static ConstMap<T> map(const MatrixView<const T>& v) {
    return {v.data(), v.extent(0), v.extent(1), Eigen::OuterStride<>(detail::leading_dimension(v))};
  }

  /// Rows of C per block: a function of the sizes alone.
  [[nodiscard]] static index_t rows_per_block(index_t m, index_t n, index_t k) {
    const index_t rows = kWorkPerBlock / std::max<index_t>(1, n * k);
    return std::min(m, std::max(kMinRowsPerBlock, rows));
  }

  template <class T>
    requires std::is_floating_point_v<T>
  static void run(const Host& host, const GemmProblem<T>& p) {
    if (p.m() == 0 || p.n() == 0) return;
    if (p.k() == 0 || p.alpha == T(0)) {
      detail::scale_matrix(host, p.c, p.beta);
      return;
    }
    const index_t rows = rows_per_block(p.m(), p.n(), p.k()), blocks = (p.m() + rows - 1) / rows;
    const int threads = static_cast<int>(std::min<index_t>(host.threads(), blocks));
    // Always a parallel region, even of one thread: omp_set_num_threads() then sets the thread
    // count of that region's tasks only (a team's own copy), never the caller's.
#pragma omp parallel num_threads(threads)
    {
#if defined(_OPENMP)
      omp_set_num_threads(1);  // nested regions of this thread (Eigen's product) get one thread
#endif
#pragma omp for schedule(static)
      for (index_t block = 0; block < blocks; ++block) {
        const index_t begin = block * rows;
        run_rows(p, begin, std::min(p.m(), begin + rows) - begin);
      }
    }
  }

  /// bfloat16 operands: widened to float (exact), the float product, C rounded once when stored.
  template <class Out>
  static void run(const Host& host, const GemmProblem<bfloat16, Out>& p) {
    if (p.m() == 0 || p.n() == 0) return;
    if (p.k() == 0 || p.alpha == 0.0f) {
      detail::scale_matrix(host, p.c, p.beta);
      return;
    }
    const auto widened = [&](MatrixView<const bfloat16> x, std::vector<float>& storage) {
      storage.resize(static_cast<std::size_t>(x.size()));
      const MatrixView<float> wide(storage.data(), x.shape());
      parallel_for(host, x.size(), detail::ConvertMatrix<bfloat16, float>{x, wide});
      return MatrixView<const float>(wide);
    };
    std::vector<float> a, b, c;
    GemmProblem<float> wide{p.trans_a, p.trans_b, p.alpha, widened(p.a, a), widened(p.b, b), p.beta, {}};
    if constexpr (std::is_same_v<Out, float>) {
      wide.c = p.c;
      run(host, wide);
    } else {
      c.resize(static_cast<std::size_t>(p.c.size()));
      wide.c = MatrixView<float>(c.data(), p.c.shape());
      if (p.beta != 0.0f) parallel_for(host, p.c.size(), detail::ConvertMatrix<bfloat16, float>{p.c, wide.c});
      run(host, wide);
      parallel_for(host, p.c.size(), detail::ConvertMatrix<float, bfloat16>{wide.c, p.c});
    }
  }

  /// Rows [begin, begin + count) of C.
  template <class T>
  static void run_rows(const GemmProblem<T>& p, index_t begin, index_t count) {
    Map<T> full(p.c.data(), p.m(), p.n(), Eigen::OuterStride<>(detail::leading_dimension(p.c)));
    auto c = full.middleRows(begin, count);
    if (p.beta == T(0))
      c.setZero();
    else if (p.beta != T(1))
      c *= p.beta;
    const ConstMap<T> a = map(p.a);
    const ConstMap<T> b = map(p.b);
    const bool tb = p.trans_b == Transpose::Yes;
    if (p.trans_a == Transpose::Yes) {
      const auto a_rows = a.middleCols(begin, count).transpose();
      if (tb) c.noalias() += p.alpha * (a_rows * b.transpose());
      else c.noalias() += p.alpha * (a_rows * b);
    } else {
      const auto a_rows = a.middleRows(begin, count);
      if (tb) c.noalias() += p.alpha * (a_rows * b.transpose());
      else c.noalias() += p.alpha * (a_rows * b);
    }
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

/// bfloat16 A and B, float accumulation, C in float or bfloat16 (rounded once).
template <Backend B, class Out>
  requires GemmTypes<bfloat16, Out>
void gemm(const B& backend, Transpose trans_a, Transpose trans_b, float alpha, MatrixView<const bfloat16> a,
          MatrixView<const bfloat16> b, float beta, MatrixView<Out> c) {
  const GemmProblem<bfloat16, Out> problem{trans_a, trans_b, alpha, a, b, beta, c};
  detail::check_gemm(problem, "gemm");
  impl::Gemm<B>::run(backend, problem);
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/gemm.cuh"
#endif
