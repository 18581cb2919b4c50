#pragma once
// fill(backend, view, value): every element of the view (any rank, any strides) becomes value.
// Written once over parallel_for, so it needs no per-backend code.
#include <type_traits>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace detail {

template <class T, int Rank>
struct FillFunctor {
  TensorView<T, Rank> view;
  T value;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    if constexpr (Rank == 1)
      view[i] = value;
    else
      view.at_flat(i) = value;
  }
};

}  // namespace detail

template <Backend B, class T, int Rank>
void fill(const B& backend, TensorView<T, Rank> view, std::type_identity_t<T> value) {
  if (view.is_contiguous()) {
    const TensorView<T, 1> flat(view.data(), Extents<1>{view.size()});
    parallel_for(backend, view.size(), detail::FillFunctor<T, 1>{flat, value});
  } else {
    parallel_for(backend, view.size(), detail::FillFunctor<T, Rank>{view, value});
  }
}

}  // namespace rlmoe
