#pragma once
// DecodeState: the KV cache of sequences being generated one token at a time, for every layer of
// a Transformer<B, Spec, T>: keys and values [B, Hkv, Lmax, dh] per layer (Hkv = H without
// grouped-query attention). prefill() fills the
// prompt positions, decode() one more position per call; the sampler copies a prompt's cache to
// its G completions.
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::nn {

template <Backend B, class Spec, class T>
class DecodeState {
 public:
  static constexpr index_t kKvHeads = kv_heads_v<Spec>, kHeadDim = head_dim_v<Spec>;

  DecodeState(const B& backend, index_t batch, index_t max_length)
      : batch_(batch), max_length_(max_length), keys_(backend, Spec::kLayers * layer_size()),
        values_(backend, Spec::kLayers * layer_size()) {
    RLMOE_CHECK(max_length >= 1 && max_length <= Spec::kMaxLength, ConfigError, "DecodeState: max_length is ", max_length,
                " but must lie in [1, Spec::kMaxLength = ", Spec::kMaxLength, "]");
  }

  [[nodiscard]] index_t batch() const { return batch_; }
  [[nodiscard]] index_t max_length() const { return max_length_; }
  TensorView<T, 4> keys(index_t layer) { return cache(keys_, layer); }
  TensorView<T, 4> values(index_t layer) { return cache(values_, layer); }

 private:
  [[nodiscard]] index_t layer_size() const { return batch_ * kKvHeads * max_length_ * kHeadDim; }
  TensorView<T, 4> cache(Buffer<T, B>& buffer, index_t layer) {
    return {buffer.data() + layer * layer_size(), Extents<4>{batch_, kKvHeads, max_length_, kHeadDim}};
  }

  index_t batch_, max_length_;
  Buffer<T, B> keys_, values_;
};

}  // namespace rlmoe::nn
