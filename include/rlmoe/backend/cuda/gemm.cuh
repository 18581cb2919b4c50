#pragma once
// cuBLAS is column-major; a row-major matrix is the column-major view of its transpose. So the
// row-major product C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T: swap
// the operands and m with n, keep the transpose flags.
//
// bfloat16 products go to cuBLASLt (bf16 tensor cores, fp32 accumulation, C in fp32 or bf16),
// with the algorithm its heuristic picks for the shape and a workspace from the backend.
#include <cstddef>
#include <cstdint>
#include <type_traits>

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

template <class T>
constexpr cudaDataType_t data_type() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  else if constexpr (std::is_same_v<T, bfloat16>) return CUDA_R_16BF;
  else static_assert(dependent_false<T>, "no cuBLASLt data type for this type");
}

/// The descriptors of one cuBLASLt product, destroyed with it (cuBLASLt copies what an enqueued
/// product needs, so they may go before it runs).
struct LtProduct {
  cublasLtMatmulDesc_t operation = nullptr;
  cublasLtMatrixLayout_t first = nullptr, second = nullptr, out = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;

  LtProduct() = default;
  LtProduct(const LtProduct&) = delete;
  LtProduct& operator=(const LtProduct&) = delete;
  ~LtProduct() {
    if (preference != nullptr) cublasLtMatmulPreferenceDestroy(preference);
    if (out != nullptr) cublasLtMatrixLayoutDestroy(out);
    if (second != nullptr) cublasLtMatrixLayoutDestroy(second);
    if (first != nullptr) cublasLtMatrixLayoutDestroy(first);
    if (operation != nullptr) cublasLtMatmulDescDestroy(operation);
  }
};

/// A row-major [r, c] matrix is the column-major [c, r] one with the same leading dimension.
template <class T>
void describe(cublasLtMatrixLayout_t* layout, const MatrixView<T>& x) {
  RLMOE_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(layout, data_type<std::remove_const_t<T>>(), static_cast<std::uint64_t>(x.extent(1)),
                                                static_cast<std::uint64_t>(x.extent(0)), detail::leading_dimension(x)));
}

/// cuBLASLt's workspace: 32 MiB, what NVIDIA recommends for Hopper.
inline constexpr std::size_t kLtWorkspaceBytes = std::size_t{32} << 20;

}  // namespace cublas_detail

template <>
struct Gemm<Cuda> {
  /// bfloat16 operands on the tensor cores, accumulated in fp32; C rounded once when stored.
  template <class Out>
  static void run(const Cuda& cuda, const GemmProblem<bfloat16, Out>& p) {
    if (p.m() == 0 || p.n() == 0) return;
    if (p.k() == 0 || p.alpha == 0.0f) {
      detail::scale_matrix(cuda, p.c, p.beta);
      return;
    }
    cublas_detail::LtProduct product;
    RLMOE_CUBLAS_CHECK(cublasLtMatmulDescCreate(&product.operation, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t first_op = cublas_detail::to_cublas(p.trans_b), second_op = cublas_detail::to_cublas(p.trans_a);
    RLMOE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(product.operation, CUBLASLT_MATMUL_DESC_TRANSA, &first_op, sizeof first_op));
    RLMOE_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(product.operation, CUBLASLT_MATMUL_DESC_TRANSB, &second_op, sizeof second_op));
    cublas_detail::describe(&product.first, p.b);
    cublas_detail::describe(&product.second, p.a);
    cublas_detail::describe(&product.out, p.c);
    std::size_t workspace_bytes = cublas_detail::kLtWorkspaceBytes;
    RLMOE_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&product.preference));
    RLMOE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(product.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                            &workspace_bytes, sizeof workspace_bytes));
    // Split-K partial sums only in float: the in-place and output-type schemes would keep them in
    // C's type, rounding a bf16 C once per split instead of once.
    const std::uint32_t reductions = CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    RLMOE_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(product.preference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                                            &reductions, sizeof reductions));
    cublasLtMatmulHeuristicResult_t choice{};
    int found = 0;
    RLMOE_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(cuda.cublas_lt(), product.operation, product.first, product.second,
                                                      product.out, product.out, product.preference, 1, &choice, &found));
    if (found == 0)
      throw CublasError(static_cast<int>(CUBLAS_STATUS_NOT_SUPPORTED),
                        rlmoe::detail::message("gemm: cuBLASLt has no bf16 algorithm for C ", p.c.shape(), " = op(A ", p.a.shape(),
                                               ") op(B ", p.b.shape(), ")"));
    void* workspace = cuda.workspace(choice.workspaceSize);
    RLMOE_CUBLAS_CHECK(cublasLtMatmul(cuda.cublas_lt(), product.operation, &p.alpha, p.b.data(), product.first, p.a.data(),
                                      product.second, &p.beta, p.c.data(), product.out, p.c.data(), product.out, &choice.algo,
                                      workspace, choice.workspaceSize, cuda.stream()));
  }

  template <class T>
    requires std::is_floating_point_v<T>
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
