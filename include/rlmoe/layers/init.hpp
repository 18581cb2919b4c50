#pragma once
// Seeded parameter initialisation, identical on every backend: element i of a tensor draws from
// Philox stream (tensor_id << 40) + i under the seed, so a tensor's values depend only on the
// seed, its id and its size, not on the backend, the thread count or the other tensors. A part of
// a tensor (the experts one rank of several holds) starts at its first element's stream.
#include <cstdint>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/random.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe::layers {

template <class T, int Rank>
struct NormalInit {
  TensorView<T, Rank> values;
  float std;
  std::uint64_t seed, tensor_id, first_element;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    RandomStream stream(seed, (tensor_id << 40) + first_element + static_cast<std::uint64_t>(i));
    values.at_flat(i) = static_cast<T>(std * stream.normal());
  }
};

/// values ~ N(0, std^2), elementwise independent; `first_element`: where `values` starts in the
/// whole tensor, when it is a part of it.
template <Backend B, class T, int Rank>
void initialize_normal(const B& backend, TensorView<T, Rank> values, float std, std::uint64_t seed,
                       std::uint64_t tensor_id, std::uint64_t first_element = 0) {
  parallel_for(backend, values.size(), NormalInit<T, Rank>{values, std, seed, tensor_id, first_element});
}

}  // namespace rlmoe::layers
