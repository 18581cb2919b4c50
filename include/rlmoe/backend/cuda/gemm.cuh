#pragma once
// cuBLAS is column-major; a row-major matrix is the column-major view of its transpose. So the
// row-major product C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: swap
// the operands and m with n, keep the transpose flags.
#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/gemm.hpp"

namespace rlmoe::impl {

namespace cublas_detail {

inline cublasOperation_t to_cublas(Transpose t) { return t == Transpose::Yes ? CUBLAS_OP_T : CUBLAS_OP_N; }

inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                           int64_t k, const float* alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                           const float* beta, float* c, int64_t ldc) {
  return cublasSgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
                           int64_t k, const double* alpha, const double* a, int64_t lda, const double* b, int64_t ldb,
                           const double* beta, double* c, int64_t ldc) {
  return cublasDgemm_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cublas_detail

template <>
struct Gemm<Cuda> {
  template <class T>
  static void run(const Cuda& cuda, const GemmProblem<T>& p) {
    if (p.m() == 0 || p.n() == 0) return;
    if (p.k() == 0 || p.alpha == T(0)) {
      detail::scale_matrix(cuda, p.c, p.beta);
      return;
    }
    RLMOE_CUBLAS_CHECK(cublas_detail::gemm(cuda.cublas(), cublas_detail::to_cublas(p.trans_b),
                                           cublas_detail::to_cublas(p.trans_a), p.n(), p.m(), p.k(), &p.alpha,
                                           p.b.data(), detail::leading_dimension(p.b), p.a.data(),
                                           detail::leading_dimension(p.a), &p.beta, p.c.data(),
                                           detail::leading_dimension(p.c)));
  }
};

}  // namespace rlmoe::impl
