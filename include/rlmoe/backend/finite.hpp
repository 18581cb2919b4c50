#pragma once
// first_non_finite(backend, values): the index of the first NaN or infinity in a vector in
// backend memory, or -1. Waits for the backend (the answer comes back to the host): call it where
// a result is needed on the host anyway, so that NaN never passes silently.
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/backend/transform_reduce.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/math.hpp"
#include "rlmoe/core/ops.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace detail {

template <class T>
struct NonFiniteIndex {
  VectorView<const T> values;
  RLMOE_HOST_DEVICE index_t operator()(index_t i) const { return math::isfinite(values[i]) ? values.size() : i; }
};

}  // namespace detail

template <Backend B, class T>
  requires std::is_floating_point_v<T>
[[nodiscard]] index_t first_non_finite(const B& backend, std::type_identity_t<VectorView<const T>> values) {
  Buffer<index_t, B> first(backend, 1);
  transform_reduce(backend, values.size(), detail::NonFiniteIndex<T>{values}, first.view(), Min{}, values.size());
  const index_t index = to_host(backend, first.view())[0];
  return index < values.size() ? index : -1;
}

}  // namespace rlmoe
