#pragma once
// The routed experts: SwiGLU blocks that each run on their own contiguous range of the
// expert-sorted rows, as grouped GEMMs (one launch for all experts on Cuda). offsets[e] ..
// offsets[e + 1] are expert e's rows, read on the host: the problem sizes of a grouped GEMM are
// host arguments. Experts without rows get no GEMM at all, and their weight gradients are left as
// they were (zero, in a freshly zeroed gradient buffer). bf16 experts multiply in bf16 with float
// accumulation, and their weight gradients are float (master_t<T>).
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/gemm.hpp"
#include "rlmoe/backend/grouped_gemm.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/precision.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/layers/mlp.hpp"
#include "rlmoe/layers/swiglu.hpp"

namespace rlmoe::moe {

namespace detail {

/// One product per expert with rows: C_e = alpha op(A_e) op(B_e) + beta C_e, where each operand is
/// either the expert's row range of a [rows, *] matrix or the expert's slice of a weight tensor.
template <Backend B, class In, class Out, class MakeProblem>
void for_each_expert_gemm(const B& backend, const std::vector<index_t>& offsets, const MakeProblem& make) {
  std::vector<GemmProblem<In, Out>> problems;
  for (std::size_t e = 0; e + 1 < offsets.size(); ++e)
    if (offsets[e + 1] > offsets[e]) problems.push_back(make(static_cast<index_t>(e), offsets[e], offsets[e + 1]));
  if (!problems.empty()) grouped_gemm(backend, problems);
}

}  // namespace detail

/// out = swiglu(x W_gate_up[e]) W_down[e] on each expert's rows of the expert-sorted x.
template <Backend B, class T>
void experts_forward(const B& backend, const std::vector<index_t>& offsets, MatrixView<const T> x_sorted,
                     TensorView<const T, 3> w_gate_up, TensorView<const T, 3> w_down,
                     const layers::SwigluActivations<T>& saved, MatrixView<T> out) {
  using C = compute_t<T>;
  detail::for_each_expert_gemm<B, T, T>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T>{Transpose::No, Transpose::No, C(1), x_sorted.slice(begin, end), w_gate_up[e], C(0),
                          saved.gate_up.slice(begin, end)};
  });
  parallel_for(backend, saved.hidden.size(), layers::SwigluForward<T>{saved.gate_up, saved.hidden});
  detail::for_each_expert_gemm<B, T, T>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T>{Transpose::No, Transpose::No, C(1), saved.hidden.slice(begin, end), w_down[e], C(0),
                          out.slice(begin, end)};
  });
}

/// From d_out (expert order): weight gradients accumulate, d_x_sorted is overwritten.
template <Backend B, class T>
void experts_backward(const B& backend, const std::vector<index_t>& offsets, MatrixView<const T> x_sorted,
                      TensorView<const T, 3> w_gate_up, TensorView<const T, 3> w_down,
                      const layers::SwigluActivations<const T>& saved, MatrixView<const T> d_out,
                      const layers::SwigluActivations<T>& scratch, TensorView<master_t<T>, 3> grad_w_gate_up,
                      TensorView<master_t<T>, 3> grad_w_down, MatrixView<T> d_x_sorted) {
  using C = compute_t<T>;
  using G = master_t<T>;
  detail::for_each_expert_gemm<B, T, G>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T, G>{Transpose::Yes, Transpose::No, C(1), saved.hidden.slice(begin, end), d_out.slice(begin, end),
                             C(1), grad_w_down[e]};
  });
  detail::for_each_expert_gemm<B, T, T>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T>{Transpose::No, Transpose::Yes, C(1), d_out.slice(begin, end), w_down[e], C(0),
                          scratch.hidden.slice(begin, end)};
  });
  parallel_for(backend, scratch.hidden.size(), layers::SwigluBackward<T>{saved.gate_up, scratch.hidden, scratch.gate_up});
  detail::for_each_expert_gemm<B, T, G>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T, G>{Transpose::Yes, Transpose::No, C(1), x_sorted.slice(begin, end),
                             MatrixView<const T>(scratch.gate_up.slice(begin, end)), C(1), grad_w_gate_up[e]};
  });
  detail::for_each_expert_gemm<B, T, T>(backend, offsets, [&](index_t e, index_t begin, index_t end) {
    return GemmProblem<T>{Transpose::No, Transpose::Yes, C(1), MatrixView<const T>(scratch.gate_up.slice(begin, end)),
                          w_gate_up[e], C(0), d_x_sorted.slice(begin, end)};
  });
}

}  // namespace rlmoe::moe
