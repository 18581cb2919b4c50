#pragma once
// DecodeState: the KV cache of sequences being generated one token at a time, for every layer of
// a Transformer<B, Spec, T>: keys and values [B, Hkv, Lmax, dh] per layer (Hkv = H without
// grouped-query attention), or with Multi-head Latent Attention one latent cache [B, Lmax, r + dr]
// per layer (each token's kv latent and rotated shared key; nn/latent_attention.hpp). prefill()
// fills the prompt positions, decode() one more position per call; the sampler copies a prompt's
// caches to its G completions (cache(layer, i) for i < kCachesPerLayer, all [B, heads, Lmax, width]).
#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/memory.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"
#include "rlmoe/nn/transformer_spec.hpp"

namespace rlmoe::nn {

template <Backend B, class Spec, class T>
class DecodeState {
 public:
  static constexpr bool kLatent = latent_attention_v<Spec>;
  /// Keys and values, or the latents alone.
  static constexpr int kCachesPerLayer = kLatent ? 1 : 2;
  static constexpr index_t kKvHeads = kLatent ? 1 : kv_heads_v<Spec>;
  static constexpr index_t kKeyWidth = kLatent ? kv_lora_rank_v<Spec> + rope_dim_v<Spec> : head_dim_v<Spec>;
  static constexpr index_t kValueWidth = kLatent ? 0 : value_head_dim_v<Spec>;

  DecodeState(const B& backend, index_t batch, index_t max_length)
      : batch_(batch), max_length_(max_length), keys_(backend, Spec::kLayers * layer_size(kKeyWidth)),
        values_(backend, Spec::kLayers * layer_size(kValueWidth)) {
    RLMOE_CHECK(max_length >= 1 && max_length <= Spec::kMaxLength, ConfigError, "DecodeState: max_length is ", max_length,
                " but must lie in [1, Spec::kMaxLength = ", Spec::kMaxLength, "]");
  }

  [[nodiscard]] index_t batch() const { return batch_; }
  [[nodiscard]] index_t max_length() const { return max_length_; }
  TensorView<T, 4> keys(index_t layer) { return cache(layer, 0); }
  TensorView<T, 4> values(index_t layer) { return cache(layer, 1); }
  /// MLA: the layer's [B, Lmax, r + dr] latents.
  TensorView<T, 3> latent(index_t layer) {
    return {keys_.data() + layer * layer_size(kKeyWidth), Extents<3>{batch_, max_length_, kKeyWidth}};
  }
  /// Cache i of a layer: 0 the keys (or latents), 1 the values.
  TensorView<T, 4> cache(index_t layer, int i) {
    const index_t width = i == 0 ? kKeyWidth : kValueWidth;
    Buffer<T, B>& buffer = i == 0 ? keys_ : values_;
    return {buffer.data() + layer * layer_size(width), Extents<4>{batch_, kKvHeads, max_length_, width}};
  }

 private:
  [[nodiscard]] index_t layer_size(index_t width) const { return batch_ * kKvHeads * max_length_ * width; }

  index_t batch_, max_length_;
  Buffer<T, B> keys_, values_;
};

}  // namespace rlmoe::nn
