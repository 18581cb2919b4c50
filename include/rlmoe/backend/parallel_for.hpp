#pragma once
// parallel_for(backend, n, f) calls f(i) for every i in [0, n), in any order and concurrently.
// f is a RLMOE_HOST_DEVICE functor (or, in .cu files, a __host__ __device__ lambda) taking index_t;
// it is copied into the kernel, so it captures views, not containers.
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct ParallelFor {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("parallel_for"));
};

template <>
struct ParallelFor<Host> {
  // Below this many iterations a thread team costs more than it saves.
  static constexpr index_t kMinParallelIterations = 2048;

  template <class F>
  static void run(const Host& host, index_t n, const F& f) {
    const int threads = host.threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (n >= kMinParallelIterations)
    for (index_t i = 0; i < n; ++i) f(i);
  }
};

}  // namespace impl

template <Backend B, class F>
void parallel_for(const B& backend, index_t n, const F& f) {
  RLMOE_CHECK(n >= 0, ShapeError, "parallel_for: n is ", n, " but must be >= 0");
  if (n == 0) return;  // no empty kernel launches
  impl::ParallelFor<B>::run(backend, n, f);
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/parallel_for.cuh"
#endif
