#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. Output is a pure function of (counter, key) computed with integer
// arithmetic only, so a kernel thread and a host loop that use the same counter and key get the
// same bits. That is what lets the Cuda backend be checked against the Host backend bit for bit
// wherever randomness is involved (sampling, initialisation, dropout).
#include <cstdint>

#include "rlmoe/core/host_device.hpp"

namespace rlmoe {

struct PhiloxCounter {
  std::uint32_t v[4];
};
struct PhiloxKey {
  std::uint32_t v[2];
};
/// Four 32-bit outputs of one Philox block.
struct PhiloxBlock {
  std::uint32_t v[4];
};

namespace detail {

inline constexpr std::uint32_t kPhiloxMultiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t kPhiloxMultiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kPhiloxWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t kPhiloxWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

RLMOE_HOST_DEVICE constexpr void mul_hi_lo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                           std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

RLMOE_HOST_DEVICE constexpr void philox_round(std::uint32_t (&x)[4], const std::uint32_t (&k)[2]) {
  std::uint32_t hi0 = 0, lo0 = 0, hi1 = 0, lo1 = 0;
  mul_hi_lo(kPhiloxMultiplier0, x[0], hi0, lo0);
  mul_hi_lo(kPhiloxMultiplier1, x[2], hi1, lo1);
  const std::uint32_t y0 = hi1 ^ x[1] ^ k[0];
  const std::uint32_t y1 = lo1;
  const std::uint32_t y2 = hi0 ^ x[3] ^ k[1];
  const std::uint32_t y3 = lo0;
  x[0] = y0;
  x[1] = y1;
  x[2] = y2;
  x[3] = y3;
}

}  // namespace detail

/// One Philox4x32 block with 10 rounds: the standard variant, matching Random123 and cuRAND.
RLMOE_HOST_DEVICE constexpr PhiloxBlock philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  std::uint32_t x[4] = {counter.v[0], counter.v[1], counter.v[2], counter.v[3]};
  std::uint32_t k[2] = {key.v[0], key.v[1]};
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k[0] += detail::kPhiloxWeyl0;
      k[1] += detail::kPhiloxWeyl1;
    }
    detail::philox_round(x, k);
  }
  return {{x[0], x[1], x[2], x[3]}};
}

}  // namespace rlmoe
