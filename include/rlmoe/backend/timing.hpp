#pragma once
// elapsed_ms(backend, f): the time f takes to run on the backend, in milliseconds. On Host a
// steady clock around the call; on Cuda CUDA events recorded on the backend's stream around the
// work f enqueues, so the host-side cost of enqueueing is not counted.
#include <chrono>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct Timing {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("elapsed_ms"));
};

template <>
struct Timing<Host> {
  template <class F>
  static double elapsed_ms(const Host&, F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
};

}  // namespace impl

template <Backend B, class F>
double elapsed_ms(const B& backend, F&& f) {
  return impl::Timing<B>::elapsed_ms(backend, static_cast<F&&>(f));
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/timing.cuh"
#endif
