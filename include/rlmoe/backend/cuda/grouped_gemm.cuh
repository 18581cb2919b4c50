#pragma once
// cuBLAS grouped GEMM (cublas<t>gemmGroupedBatched, CUDA 12.5+; cublasGemmGroupedBatchedEx with
// fp32 accumulation for bfloat16), one group per problem. Sizes,
// transposes and scalars are read from host arrays; the matrix pointers must be device arrays, so
// they are staged through the backend's workspace. Products with an empty output are skipped and
// products with k == 0 become C = beta * C, which cuBLAS does not promise for grouped calls.
//
// cuBLAS's grouped GEMM does not take every type combination that a single GEMM does: on an H200
// with CUDA 13.0 it answered CUBLAS_STATUS_NOT_SUPPORTED for bfloat16 operands. Where it refuses a
// bfloat16 combination, the products run one by one through cuBLASLt (Gemm<Cuda>), and that
// combination is not offered to the grouped call again in this process.
#include <atomic>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/cuda.hpp"
#include "rlmoe/backend/cuda/gemm.cuh"
#include "rlmoe/backend/grouped_gemm.hpp"

namespace rlmoe::impl {

namespace cublas_detail {

inline cublasStatus_t grouped_gemm(cublasHandle_t h, const cublasOperation_t* ta, const cublasOperation_t* tb,
                                   const int64_t* m, const int64_t* n, const int64_t* k, const float* alpha,
                                   const float* const* a, const int64_t* lda, const float* const* b,
                                   const int64_t* ldb, const float* beta, float* const* c, const int64_t* ldc,
                                   int64_t count, const int64_t* group_size) {
  return cublasSgemmGroupedBatched_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, count, group_size);
}
inline cublasStatus_t grouped_gemm(cublasHandle_t h, const cublasOperation_t* ta, const cublasOperation_t* tb,
                                   const int64_t* m, const int64_t* n, const int64_t* k, const double* alpha,
                                   const double* const* a, const int64_t* lda, const double* const* b,
                                   const int64_t* ldb, const double* beta, double* const* c, const int64_t* ldc,
                                   int64_t count, const int64_t* group_size) {
  return cublasDgemmGroupedBatched_64(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, count, group_size);
}
template <class Out>
cublasStatus_t grouped_gemm(cublasHandle_t h, const cublasOperation_t* ta, const cublasOperation_t* tb, const int64_t* m,
                            const int64_t* n, const int64_t* k, const float* alpha, const bfloat16* const* a, const int64_t* lda,
                            const bfloat16* const* b, const int64_t* ldb, const float* beta, Out* const* c, const int64_t* ldc,
                            int64_t count, const int64_t* group_size) {
  return cublasGemmGroupedBatchedEx_64(h, ta, tb, m, n, k, alpha, reinterpret_cast<const void* const*>(a), CUDA_R_16BF, lda,
                                       reinterpret_cast<const void* const*>(b), CUDA_R_16BF, ldb, beta,
                                       reinterpret_cast<void* const*>(c), data_type<Out>(), ldc, count, group_size,
                                       CUBLAS_COMPUTE_32F);
}

/// Whether cuBLAS's grouped GEMM still gets bfloat16 operands with this output type: true until it
/// refuses them once.
template <class Out>
std::atomic<bool>& grouped_bf16_accepted() {
  static std::atomic<bool> accepted{true};
  return accepted;
}

}  // namespace cublas_detail

template <>
struct GroupedGemm<Cuda> {
  template <class In, class Out>
  static void run(const Cuda& cuda, std::span<const GemmProblem<In, Out>> problems) {
    constexpr bool kBf16 = std::is_same_v<In, bfloat16>;
    if constexpr (kBf16) {
      if (!cublas_detail::grouped_bf16_accepted<Out>().load(std::memory_order_relaxed)) return run_each(cuda, problems);
    }
    using Scalar = typename GemmProblem<In, Out>::Scalar;
    // Host-side argument arrays in cuBLAS's column-major terms (operands swapped, see gemm.cuh).
    std::vector<cublasOperation_t> trans_first, trans_second;
    std::vector<int64_t> rows, cols, inner, ld_first, ld_second, ld_out, group_size;
    std::vector<Scalar> alpha, beta;
    std::vector<const In*> first, second;
    std::vector<Out*> out;
    for (const GemmProblem<In, Out>& p : problems) {
      if (p.m() == 0 || p.n() == 0) continue;
      if (p.k() == 0 || p.alpha == Scalar(0)) {
        detail::scale_matrix(cuda, p.c, p.beta);
        continue;
      }
      trans_first.push_back(cublas_detail::to_cublas(p.trans_b));
      trans_second.push_back(cublas_detail::to_cublas(p.trans_a));
      rows.push_back(p.n());
      cols.push_back(p.m());
      inner.push_back(p.k());
      alpha.push_back(p.alpha);
      beta.push_back(p.beta);
      first.push_back(p.b.data());
      second.push_back(p.a.data());
      out.push_back(p.c.data());
      ld_first.push_back(detail::leading_dimension(p.b));
      ld_second.push_back(detail::leading_dimension(p.a));
      ld_out.push_back(detail::leading_dimension(p.c));
      group_size.push_back(1);
    }
    const auto count = static_cast<int64_t>(out.size());
    if (count == 0) return;

    // The three pointer arrays go to the device in one copy: [first..., second..., out...].
    std::vector<const void*> pointers;
    pointers.reserve(3 * out.size());
    pointers.insert(pointers.end(), first.begin(), first.end());
    pointers.insert(pointers.end(), second.begin(), second.end());
    pointers.insert(pointers.end(), out.begin(), out.end());
    void* staging = cuda.workspace(pointers.size() * sizeof(void*));
    // From pageable memory the copy returns once the source has been staged, so `pointers` may go.
    RLMOE_CUDA_CHECK(cudaMemcpyAsync(staging, pointers.data(), pointers.size() * sizeof(void*),
                                     cudaMemcpyHostToDevice, cuda.stream()));
    const auto* device_first = static_cast<const In* const*>(staging);
    const auto* device_second = device_first + count;
    auto* device_out = static_cast<Out* const*>(staging) + 2 * count;
    const cublasStatus_t status = cublas_detail::grouped_gemm(
        cuda.cublas(), trans_first.data(), trans_second.data(), rows.data(), cols.data(), inner.data(), alpha.data(), device_first,
        ld_first.data(), device_second, ld_second.data(), beta.data(), device_out, ld_out.data(), count, group_size.data());
    if constexpr (kBf16) {
      if (status == CUBLAS_STATUS_NOT_SUPPORTED) {
        cublas_detail::grouped_bf16_accepted<Out>().store(false, std::memory_order_relaxed);
        return run_each(cuda, problems);
      }
    }
    rlmoe::detail::check_cublas(status, "cublas<t>gemmGroupedBatched", __FILE__, __LINE__);
  }

 private:
  template <class In, class Out>
  static void run_each(const Cuda& cuda, std::span<const GemmProblem<In, Out>> problems) {
    for (const GemmProblem<In, Out>& p : problems) Gemm<Cuda>::run(cuda, p);
  }
};

}  // namespace rlmoe::impl
