#pragma once
// The umbrella header: everything rlmoe offers. Under nvcc the Cuda backend comes with it.
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/philox.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/core/types.hpp"

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/fill.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/histogram.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/backend/reduce.hpp"
#include "rlmoe/backend/scan.hpp"
#include "rlmoe/backend/segmented_reduce.hpp"
#include "rlmoe/backend/sort.hpp"
#include "rlmoe/backend/timing.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#if defined(__CUDACC__)
#include "rlmoe/backend/cuda.hpp"
#endif
