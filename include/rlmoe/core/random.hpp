#pragma once
// Random numbers from Philox4x32-10 that are identical on host and device: a RandomStream is
// addressed by (seed, stream, offset) alone, so a kernel thread handling item i and a host loop
// handling item i draw the same numbers when both use stream i.
//
// Bits and uniforms are bitwise identical across backends. Normals go through log/cos/sin, which
// are computed in double precision and rounded to float so that the last-ulp differences between
// glibc and CUDA's libdevice practically never change the float result.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "rlmoe/core/host_device.hpp"
#include "rlmoe/core/philox.hpp"
#include "rlmoe/core/types.hpp"

namespace rlmoe {

/// Float in (0, 1] from the top 24 bits of x: exactly representable, never 0 (safe for log).
RLMOE_HOST_DEVICE constexpr float uniform_float(std::uint32_t x) {
  return static_cast<float>((x >> 8) + 1u) * (1.0f / 16777216.0f);
}

/// Double in (0, 1] from 53 bits of (hi, lo).
RLMOE_HOST_DEVICE constexpr double uniform_double(std::uint32_t hi, std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);  // 53 bits
  return static_cast<double>(bits + 1u) * (1.0 / 9007199254740992.0);
}

/// A pair of independent standard normals from two uniform words (Box-Muller).
struct NormalPair {
  float first;
  float second;
};

RLMOE_HOST_DEVICE inline NormalPair normal_pair(std::uint32_t x, std::uint32_t y) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const double u1 = (static_cast<double>(x) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]: log is finite
  const double u2 = static_cast<double>(y) * (1.0 / 4294967296.0);          // [0, 1)
  const double radius = ::sqrt(-2.0 * ::log(u1));
  const double angle = kTwoPi * u2;
  return {static_cast<float>(radius * ::cos(angle)), static_cast<float>(radius * ::sin(angle))};
}

/// Index i drawn with probability weight(i) / sum_j weight(j), by inverse CDF with u in (0, 1].
/// Weights must be non-negative; returns -1 when they are all zero. The running sum is
/// accumulated in the weights' own type in index order, so the choice is the same on every
/// backend for the same weights and u.
template <class WeightFn>
RLMOE_HOST_DEVICE constexpr index_t sample_categorical(index_t n, const WeightFn& weight,
                                                       std::type_identity_t<decltype(weight(index_t{}))> u) {
  using Real = decltype(weight(index_t{}));
  Real total = 0;
  for (index_t i = 0; i < n; ++i) total += weight(i);
  const Real target = u * total;
  Real cumulative = 0;
  index_t last_positive = -1;
  for (index_t i = 0; i < n; ++i) {
    const Real w = weight(i);
    if (w > Real(0)) {
      cumulative += w;
      last_positive = i;
      if (target <= cumulative) return i;
    }
  }
  return last_positive;  // only reached when all weights are zero
}

/// A stream of random numbers: block `offset` of stream `stream` under key `seed` is
/// philox4x32_10(counter = {offset_lo, offset_hi, stream_lo, stream_hi}, key = {seed_lo, seed_hi}).
class RandomStream {
 public:
  RLMOE_HOST_DEVICE constexpr RandomStream(std::uint64_t seed, std::uint64_t stream,
                                           std::uint64_t offset = 0)
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        stream_(stream),
        offset_(offset) {}

  /// The next four words; advances the offset by one block.
  RLMOE_HOST_DEVICE constexpr PhiloxBlock next_block() {
    const PhiloxCounter counter{{static_cast<std::uint32_t>(offset_),
                                 static_cast<std::uint32_t>(offset_ >> 32),
                                 static_cast<std::uint32_t>(stream_),
                                 static_cast<std::uint32_t>(stream_ >> 32)}};
    ++offset_;
    return philox4x32_10(counter, key_);
  }

  /// The next word; four words come from each block.
  RLMOE_HOST_DEVICE constexpr std::uint32_t next_u32() {
    if (buffered_ == 0) {
      buffer_ = next_block();
      buffered_ = 4;
    }
    return buffer_.v[4 - buffered_--];
  }

  /// Uniform in (0, 1].
  RLMOE_HOST_DEVICE constexpr float uniform() { return uniform_float(next_u32()); }

  /// Standard normal.
  RLMOE_HOST_DEVICE float normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    const std::uint32_t x = next_u32();
    const NormalPair pair = normal_pair(x, next_u32());
    spare_normal_ = pair.second;
    has_spare_normal_ = true;
    return pair.first;
  }

  /// Categorical draw, see sample_categorical.
  template <class WeightFn>
  RLMOE_HOST_DEVICE constexpr index_t categorical(index_t n, const WeightFn& weight) {
    using Real = decltype(weight(index_t{}));
    if constexpr (std::is_same_v<Real, double>) {
      const std::uint32_t hi = next_u32();
      return sample_categorical(n, weight, uniform_double(hi, next_u32()));
    } else {
      return sample_categorical(n, weight, static_cast<Real>(uniform()));
    }
  }

  /// Blocks consumed so far: with the seed and stream, the whole state of the generator between
  /// blocks (what a checkpoint stores).
  RLMOE_HOST_DEVICE constexpr std::uint64_t offset() const { return offset_; }

 private:
  PhiloxKey key_;
  std::uint64_t stream_;
  std::uint64_t offset_;
  PhiloxBlock buffer_{};
  int buffered_ = 0;
  float spare_normal_ = 0.0f;
  bool has_spare_normal_ = false;
};

}  // namespace rlmoe
