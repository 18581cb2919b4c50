#pragma once
// sort_pairs(backend, keys_in, values_in, keys_out, values_out, key_bits): a stable sort of
// integer keys carrying values along: equal keys keep their input order. MoE dispatch sorts
// (expert id, token slot) pairs with it, so that each expert's tokens are contiguous and in token
// order, which makes the result independent of thread scheduling.
//
// Both backends are least-significant-digit radix sorts (CUB's on Cuda), so they agree exactly,
// including on negative keys. key_bits < the key width sorts on the low key_bits bits only, which
// is faster; keys must then lie in [0, 2^key_bits).
#include <cstdint>
#include <type_traits>
#include <vector>

#include "rlmoe/backend/backend.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/tensor_view.hpp"

namespace rlmoe {
namespace impl {

template <class B>
struct SortPairs {
  static_assert(dependent_false<B>, RLMOE_NO_BACKEND_IMPLEMENTATION("sort_pairs"));
};

template <>
struct SortPairs<Host> {
  static constexpr int kDigitBits = 8;

  template <class K, class V>
  static void run(const Host&, const K* keys_in, const V* values_in, K* keys_out, V* values_out, index_t n,
                  int key_bits) {
    using U = std::make_unsigned_t<K>;
    // Flipping the sign bit orders two's-complement keys correctly as unsigned numbers.
    constexpr U kFlip = std::is_signed_v<K> ? U(U(1) << (sizeof(K) * 8 - 1)) : U(0);
    const auto count = static_cast<std::size_t>(n);
    std::vector<U> keys(count), keys_next(count);
    std::vector<V> values(values_in, values_in + count), values_next(count);
    for (std::size_t i = 0; i < count; ++i) keys[i] = static_cast<U>(keys_in[i]) ^ kFlip;

    for (int shift = 0; shift < key_bits; shift += kDigitBits) {
      const int bits = key_bits - shift < kDigitBits ? key_bits - shift : kDigitBits;
      const U mask = static_cast<U>((U(1) << bits) - 1);
      std::size_t bucket_start[(1 << kDigitBits) + 1] = {};
      for (std::size_t i = 0; i < count; ++i) ++bucket_start[((keys[i] >> shift) & mask) + 1];
      for (int d = 0; d < (1 << kDigitBits); ++d) bucket_start[d + 1] += bucket_start[d];
      for (std::size_t i = 0; i < count; ++i) {  // in input order: stable
        const std::size_t slot = bucket_start[(keys[i] >> shift) & mask]++;
        keys_next[slot] = keys[i];
        values_next[slot] = values[i];
      }
      keys.swap(keys_next);
      values.swap(values_next);
    }
    for (std::size_t i = 0; i < count; ++i) {
      keys_out[i] = static_cast<K>(keys[i] ^ kFlip);
      values_out[i] = values[i];
    }
  }
};

}  // namespace impl

template <Backend B, class K, class V>
  requires std::is_integral_v<K> && std::is_trivially_copyable_v<V>
void sort_pairs(const B& backend, std::type_identity_t<VectorView<const K>> keys_in,
                std::type_identity_t<VectorView<const V>> values_in, VectorView<K> keys_out, VectorView<V> values_out,
                int key_bits = static_cast<int>(sizeof(K) * 8)) {
  constexpr int kKeyWidth = static_cast<int>(sizeof(K) * 8);
  RLMOE_CHECK(key_bits >= 1 && key_bits <= kKeyWidth, ConfigError, "sort_pairs: key_bits is ", key_bits,
              " but must lie in [1, ", kKeyWidth, "]");
  require_same_shape(keys_in, "sort_pairs: keys_in", values_in, "values_in");
  require_same_shape(keys_in, "sort_pairs: keys_in", keys_out, "keys_out");
  require_same_shape(keys_in, "sort_pairs: keys_in", values_out, "values_out");
  require_contiguous(keys_in, "sort_pairs: keys_in");
  require_contiguous(values_in, "sort_pairs: values_in");
  require_contiguous(keys_out, "sort_pairs: keys_out");
  require_contiguous(values_out, "sort_pairs: values_out");
  RLMOE_CHECK(keys_in.empty() || (keys_in.data() != keys_out.data() && values_in.data() != values_out.data()), ShapeError,
              "sort_pairs: outputs must not be the inputs (the sort is not in place)");
  if constexpr (!B::kIsDevice) {
    if (key_bits < kKeyWidth) {
      for (index_t i = 0; i < keys_in.size(); ++i) {
        bool negative = false;
        if constexpr (std::is_signed_v<K>) negative = keys_in[i] < 0;
        RLMOE_CHECK(!negative && (static_cast<std::uint64_t>(keys_in[i]) >> key_bits) == 0, ConfigError,
                    "sort_pairs: keys_in[", i, "] = ", +keys_in[i], " does not lie in [0, 2^", key_bits, ")");
      }
    }
  }
  if (keys_in.empty()) return;
  impl::SortPairs<B>::run(backend, keys_in.data(), values_in.data(), keys_out.data(), values_out.data(),
                          keys_in.size(), key_bits);
}

}  // namespace rlmoe

#if defined(__CUDACC__)
#include "rlmoe/backend/cuda/sort.cuh"
#endif
