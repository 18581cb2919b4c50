#pragma once
// Checks for CUDA runtime and cuBLAS calls. A failure throws with the call's text, the file and
// line, and the library's own name and description of the status.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "rlmoe/core/error.hpp"

namespace rlmoe::detail {

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw CudaError(static_cast<int>(status),
                  message(call, " failed at ", file, ':', line, ": ", cudaGetErrorName(status),
                          " (", cudaGetErrorString(status), ')'));
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw CublasError(static_cast<int>(status),
                    message(call, " failed at ", file, ':', line, ": ", cublasGetStatusName(status),
                            " (", cublasGetStatusString(status), ')'));
}

}  // namespace rlmoe::detail

#define RLMOE_CUDA_CHECK(call) ::rlmoe::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define RLMOE_CUBLAS_CHECK(call) ::rlmoe::detail::check_cublas((call), #call, __FILE__, __LINE__)
/// After a kernel launch: reports launch-configuration errors at the launch site.
#define RLMOE_CUDA_CHECK_LAUNCH() RLMOE_CUDA_CHECK(cudaGetLastError())
