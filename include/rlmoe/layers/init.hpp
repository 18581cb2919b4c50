#pragma once
// Seeded parameter initialisation, identical on every backend: element i of a tensor draws from
// Philox stream (tensor_id << 40) + i under the seed, so a tensor's values depend only on the
// seed, its id and its size, not on the backend, the thread count or the other tensors.
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
  std::uint64_t seed, tensor_id;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    RandomStream stream(seed, (tensor_id << 40) + static_cast<std::uint64_t>(i));
    values.at_flat(i) = static_cast<T>(std * stream.normal());
  }
};

/// values ~ N(0, std^2), elementwise independent.
template <Backend B, class T, int Rank>
void initialize_normal(const B& backend, TensorView<T, Rank> values, float std, std::uint64_t seed,
                       std::uint64_t tensor_id) {
  parallel_for(backend, values.size(), NormalInit<T, Rank>{values, std, seed, tensor_id});
}

}  // namespace rlmoe::layers
