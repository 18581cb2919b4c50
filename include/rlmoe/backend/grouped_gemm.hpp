#pragma once
// grouped_gemm(backend, problems): many independent products of different sizes in one call,
// each with the semantics of gemm. A Mixture-of-Experts layer runs one product per expert whose
// row count is that expert's token count; on Cuda they go to cuBLAS's grouped GEMM in a single
// launch instead of one launch per expert. Problems are float, double, or bfloat16 with float
// accumulation into float or bfloat16 (as gemm).
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/host.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct GroupedGemm {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("grouped_gemm"));
};

template <>
struct GroupedGemm<Host> {
  template <class In, class Out>
  static void run(const Host& host, std::span<const GemmProblem<In, Out>> problems) {
    for (const GemmProblem<In, Out>& p : problems) Gemm<Host>::run(host, p);
  }
};

}  // namespace impl

template <Backend B, class In, class Out>
  requires GemmTypes<In, Out>
void grouped_gemm(const B& backend, std::span<const GemmProblem<In, Out>> problems) {
  for (std::size_t i = 0; i < problems.size(); ++i)
    detail::check_gemm(problems[i], "grouped_gemm: problem " + std::to_string(i));
  impl::GroupedGemm<B>::run(backend, problems);
}

template <Backend B, class In, class Out>
void grouped_gemm(const B& backend, const std::vector<GemmProblem<In, Out>>& problems) {
  grouped_gemm(backend, std::span<const GemmProblem<In, Out>>(problems));
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/grouped_gemm.cuh"
#endif
