#pragma once
// The Cuda backend: one CUDA stream, cuBLAS and cuBLASLt handles and a reusable device workspace
// (for CUB temporary storage and other scratch). Every operation called with a Cuda object is
// enqueued on its stream and returns without waiting; synchronize(cuda) waits. Copies of a Cuda
// object share the stream, handle and workspace (the last copy releases them), so layers and
// optimizers keep a copy of their backend rather than a reference that could dangle.
//
// This header compiles with any C++ compiler that sees the CUDA toolkit's headers; the kernels of
// the Cuda primitives (backend/cuda/*.cuh) need nvcc.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "rlmoe/core/cuda_error.hpp"

namespace rlmoe {

class Cuda {
 public:
  static constexpr std::string_view kName = "cuda";
  static constexpr bool kIsDevice = true;

  /// Makes `device` current and creates a non-blocking stream and a cuBLAS handle on it.
  explicit Cuda(int device = 0) : state_(std::make_shared<State>()) {
    state_->device = device;
    RLMOE_CUDA_CHECK(cudaSetDevice(device));
    RLMOE_CUDA_CHECK(cudaDeviceGetAttribute(&state_->multiprocessors, cudaDevAttrMultiProcessorCount, device));
    RLMOE_CUDA_CHECK(cudaStreamCreateWithFlags(&state_->stream, cudaStreamNonBlocking));
    RLMOE_CUBLAS_CHECK(cublasCreate(&state_->cublas));
    RLMOE_CUBLAS_CHECK(cublasSetStream(state_->cublas, state_->stream));
    RLMOE_CUBLAS_CHECK(cublasLtCreate(&state_->cublas_lt));  // cuBLASLt takes the stream per call
    // Keep freed memory in the pool instead of returning it to the driver at every synchronisation,
    // so that stream-ordered allocations of temporaries stay cheap.
    cudaMemPool_t pool = nullptr;
    RLMOE_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
    std::uint64_t keep_all = UINT64_MAX;
    RLMOE_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep_all));
  }

  [[nodiscard]] int device() const { return state_->device; }
  [[nodiscard]] cudaStream_t stream() const { return state_->stream; }
  [[nodiscard]] cublasHandle_t cublas() const { return state_->cublas; }
  [[nodiscard]] cublasLtHandle_t cublas_lt() const { return state_->cublas_lt; }
  [[nodiscard]] int multiprocessor_count() const { return state_->multiprocessors; }

  /// Device scratch memory of at least `bytes`. The memory belongs to work enqueued on stream()
  /// after this call and before the next call; growing it frees the old block in stream order,
  /// so earlier work that still uses it is unaffected.
  [[nodiscard]] void* workspace(std::size_t bytes) const {
    State& s = *state_;
    if (bytes > s.workspace_bytes) {
      const std::size_t grown = bytes > 2 * s.workspace_bytes ? bytes : 2 * s.workspace_bytes;
      if (s.workspace != nullptr) RLMOE_CUDA_CHECK(cudaFreeAsync(s.workspace, s.stream));
      s.workspace = nullptr;
      s.workspace_bytes = 0;
      RLMOE_CUDA_CHECK(cudaMallocAsync(&s.workspace, grown, s.stream));
      s.workspace_bytes = grown;
    }
    return s.workspace;
  }

 private:
  struct State {
    int device = 0;
    int multiprocessors = 0;
    cudaStream_t stream = nullptr;
    cublasHandle_t cublas = nullptr;
    cublasLtHandle_t cublas_lt = nullptr;
    void* workspace = nullptr;
    std::size_t workspace_bytes = 0;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {  // errors cannot be reported from a destructor; the resources are released regardless
      if (workspace != nullptr) cudaFreeAsync(workspace, stream);
      if (stream != nullptr) cudaStreamSynchronize(stream);
      if (cublas != nullptr) cublasDestroy(cublas);
      if (cublas_lt != nullptr) cublasLtDestroy(cublas_lt);
      if (stream != nullptr) cudaStreamDestroy(stream);
    }
  };
  // Shared, so that copies of the backend use one stream, handle and workspace.
  std::shared_ptr<State> state_;
};

/// Waits for all work enqueued on the backend's stream; throws CudaError if any of it failed.
inline void synchronize(const Cuda& cuda) { RLMOE_CUDA_CHECK(cudaStreamSynchronize(cuda.stream())); }

/// Number of usable CUDA devices; 0 when there is no device or no driver.
[[nodiscard]] inline int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

}  // namespace rlmoe
