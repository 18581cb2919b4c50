# Decides whether the Cuda backend is built (RLMOE_WITH_CUDA) and, when it is, enables the CUDA
# language and provides rlmoe_add_cuda_usage_requirements().
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
  # Hopper (H100/H200) by default; override with -DCMAKE_CUDA_ARCHITECTURES=...
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit 12.5 REQUIRED)   # 12.5 brings cuBLAS grouped GEMM
  message(STATUS "rlmoe: Cuda backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
                 "architectures ${CMAKE_CUDA_ARCHITECTURES})")
else()
  message(STATUS "rlmoe: Cuda backend disabled (RLMOE_ENABLE_CUDA=${RLMOE_ENABLE_CUDA})")
endif()

# Usage requirements that CUDA translation units of rlmoe users need: C++20 (passed as a flag,
# since CMake 3.25 does not know nvcc's C++20 dialect), the runtime and cuBLAS,
# device lambdas for parallel_for, constexpr std:: helpers in device code, OpenMP for the Host
# backend used in the same file, and Eigen kept to host code.
function(rlmoe_add_cuda_usage_requirements target)
  if(NOT RLMOE_WITH_CUDA)
    return()
  endif()
  target_link_libraries(${target} INTERFACE CUDA::cudart CUDA::cublas)
  target_compile_options(${target} INTERFACE
    $<$<COMPILE_LANGUAGE:CUDA>:-std=c++20 --extended-lambda --expt-relaxed-constexpr -Xcompiler=-fopenmp>)
  target_compile_definitions(${target} INTERFACE $<$<COMPILE_LANGUAGE:CUDA>:EIGEN_NO_CUDA>)
endfunction()
