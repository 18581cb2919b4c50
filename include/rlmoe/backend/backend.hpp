#pragma once
// What makes a type a backend. A backend is a small object passed as the first argument of every
// operation (rlmoe::fill(backend, ...)); it carries what the operation needs to run there: a
// thread count for Host, a stream, a cuBLAS handle and a workspace for Cuda.
//
// Each primitive is declared once as a primary template in rlmoe::impl that fails with a
// readable static_assert, and specialised once per backend; algorithms never branch on the
// backend themselves.
#include <concepts>
#include <string_view>

namespace rlmoe {

template <class B>
concept Backend = requires(const B& backend) {
  { B::kName } -> std::convertible_to<std::string_view>;
  { B::kIsDevice } -> std::convertible_to<bool>;
  synchronize(backend);
};

}  // namespace rlmoe

/// The message of every primary template in rlmoe::impl: the backend has no implementation of this
/// primitive in the current translation unit.
#define RLMOE_NO_BACKEND_IMPLEMENTATION(primitive)                                               \
  "rlmoe::" primitive " has no implementation for this backend in this translation unit. "      \
  "Cuda primitives are compiled by nvcc: put the code that calls them in a .cu file."
