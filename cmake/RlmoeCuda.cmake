# Decides whether the Cuda backend is built (RLMOE_WITH_CUDA) and, when it is, enables the CUDA
# language; rlmoe_add_cuda_target() then makes rlmoe::cuda.
include(CheckLanguage)

set(RLMOE_WITH_CUDA OFF)
if(RLMOE_ENABLE_CUDA STREQUAL "AUTO" OR RLMOE_ENABLE_CUDA)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(RLMOE_WITH_CUDA ON)
  elseif(NOT RLMOE_ENABLE_CUDA STREQUAL "AUTO")
    message(FATAL_ERROR "RLMOE_ENABLE_CUDA=${RLMOE_ENABLE_CUDA} but no CUDA compiler was found; "
                        "put nvcc on PATH or set CMAKE_CUDA_COMPILER")
  endif()
endif()

if(RLMOE_WITH_CUDA)
  # The GPU of this machine when there is one, otherwise Ampere and Hopper (A100, RTX 30/40 run
  # sm_80 code; H100/H200 sm_90); override with -DCMAKE_CUDA_ARCHITECTURES=...
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    execute_process(COMMAND nvidia-smi -L RESULT_VARIABLE no_gpu OUTPUT_VARIABLE gpus ERROR_QUIET)
    if(no_gpu EQUAL 0 AND gpus MATCHES "GPU")
      set(CMAKE_CUDA_ARCHITECTURES native)
    else()
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit 12.5 REQUIRED)   # 12.5 brings cuBLAS grouped GEMM
  message(STATUS "rlmoe: Cuda backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "rlmoe: Cuda backend disabled (RLMOE_ENABLE_CUDA=${RLMOE_ENABLE_CUDA})")
endif()

# rlmoe::cuda (target rlmoe_cuda, exported as rlmoe::cuda in its own file so that projects that do
# not ask for it need no CUDA toolkit): rlmoe::rlmoe plus what CUDA translation units need, namely
# C++20 (passed as a flag, since CMake 3.25 does not know nvcc's C++20 dialect), the runtime,
# cuBLAS and cuBLASLt, device lambdas for parallel_for, constexpr std:: helpers in device code, OpenMP for the
# Host backend used in the same file, and Eigen kept to host code.
function(rlmoe_add_cuda_target library)
  if(NOT RLMOE_WITH_CUDA)
    return()
  endif()
  add_library(rlmoe_cuda INTERFACE)
  add_library(rlmoe::cuda ALIAS rlmoe_cuda)
  set_target_properties(rlmoe_cuda PROPERTIES EXPORT_NAME cuda)
  target_link_libraries(rlmoe_cuda INTERFACE ${library} CUDA::cudart CUDA::cublas CUDA::cublasLt)
  target_compile_options(rlmoe_cuda INTERFACE
    $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --extended-lambda --expt-relaxed-constexpr -Xcompiler=-fopenmp>)
  target_compile_definitions(rlmoe_cuda INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:EIGEN_NO_CUDA>)
endfunction()
