#pragma once
// RLMOE_HOST_DEVICE marks functions that run on both backends: kernel bodies are written once as
// host/device functors, so the Host backend compiles the same code that the Cuda backend runs and
// serves as its reference.

#if defined(__CUDACC__)
#define RLMOE_HOST_DEVICE __host__ __device__
#define RLMOE_DEVICE __device__
#else
#define RLMOE_HOST_DEVICE
#define RLMOE_DEVICE
#endif

// True in the device pass of nvcc, where only device code is generated.
#if defined(__CUDA_ARCH__)
#define RLMOE_DEVICE_PASS 1
#else
#define RLMOE_DEVICE_PASS 0
#endif
