#pragma once
// The types a model stored in T computes and keeps its gradients in. float and double models do
// everything in their own type. A bfloat16 model stores its weights and activations in bf16 (half
// the bytes, the tensor cores' input) and computes in float: every sum, norm statistic, softmax,
// log-probability and loss is float, and so are the gradients of its parameters, its master
// weights and its optimizer state, as in DeepSeek-V3's mixed-precision recipe.
#include <type_traits>

#include "rlmoe/core/bfloat16.hpp"

namespace rlmoe {

template <class T>
struct compute_type {
  using type = T;
};
template <>
struct compute_type<bfloat16> {
  using type = float;
};

/// What arithmetic on values stored as T runs in: float for bfloat16, T otherwise.
template <class T>
using compute_t = typename compute_type<std::remove_const_t<T>>::type;

/// What the parameters' gradients, master copy and optimizer state of a model stored as T are
/// kept in: float for bfloat16, T otherwise.
template <class T>
using master_t = compute_t<T>;

}  // namespace rlmoe
