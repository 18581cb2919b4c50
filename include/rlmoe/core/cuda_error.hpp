#pragma once
// Checks for CUDA runtime and cuBLAS calls. A failure throws with the call's text, the file and
// line, and the library's own name and description of the status.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "rlmoe/core/error.hpp"

namespace rlmoe::detail {

/// Throws for a failed call. A failed runtime call also sets the runtime's "last error", which
/// the next kernel launch check would report as its own: it is cleared here, so that a caught
/// error does not poison later work. A sticky error (a kernel fault: the context is lost) cannot
/// be cleared, and the message says so.
inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();
  const bool sticky = cudaPeekAtLastError() != cudaSuccess;
  throw CudaError(static_cast<int>(status),
                  message(call, " failed at ", file, ':', line, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status),
                          ')', sticky ? "; the error is sticky: this process's CUDA context is unusable" : ""));
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
