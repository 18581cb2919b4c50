#pragma once
// bfloat16: the upper 16 bits of an IEEE float32 (sign, 8 exponent bits, 7 mantissa bits), so
// float32's range at about 3 significant digits. rlmoe stores bf16 weights and activations in it
// and computes in float32:
//   - to float is exact (the bits shifted back);
//   - from float rounds to nearest, ties to even, as the tensor cores, torch's c10::BFloat16 and
//     ml_dtypes do; values past the largest bf16 by half a step or more become infinity; every
//     NaN becomes the quiet NaN 0x7FC0 (torch's choice), so results compare bit for bit.
// One formula, compiled for host and device, so that the Host backend emulates the Cuda
// backend's bf16 storage bit for bit. The layout is __nv_bfloat16's (two bytes, same bits), so a
// device buffer of it goes to cuBLASLt as CUDA_R_16BF.
#include <cstdint>
#include <cstring>
#include <limits>

#include "rlmoe/core/host_device.hpp"

namespace rlmoe {

struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  /// Rounds to nearest, ties to even. Implicit, like a float's conversion to double: a kernel
  /// written for T computes in float and stores into T.
  RLMOE_HOST_DEVICE bfloat16(float f) : bits(round_to_nearest_even(f)) {}  // NOLINT
  RLMOE_HOST_DEVICE operator float() const {                                // NOLINT
    const std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }

  [[nodiscard]] RLMOE_HOST_DEVICE static bfloat16 from_bits(std::uint16_t b) {
    bfloat16 x;
    x.bits = b;
    return x;
  }

  // Compound assignment computes in float and rounds once.
  RLMOE_HOST_DEVICE bfloat16& operator+=(float x) { return *this = bfloat16(float(*this) + x); }
  RLMOE_HOST_DEVICE bfloat16& operator-=(float x) { return *this = bfloat16(float(*this) - x); }
  RLMOE_HOST_DEVICE bfloat16& operator*=(float x) { return *this = bfloat16(float(*this) * x); }
  RLMOE_HOST_DEVICE bfloat16& operator/=(float x) { return *this = bfloat16(float(*this) / x); }

  [[nodiscard]] RLMOE_HOST_DEVICE static std::uint16_t round_to_nearest_even(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0u;  // NaN
    // Adding 0x7FFF rounds up past the halfway point; the kept bit's parity breaks the tie. A
    // carry into the exponent is right (the next binade, or infinity past the largest value).
    const std::uint32_t kept_lsb = (u >> 16) & 1u;
    return static_cast<std::uint16_t>((u + 0x7FFFu + kept_lsb) >> 16);
  }
};

static_assert(sizeof(bfloat16) == 2 && alignof(bfloat16) == 2, "bfloat16 must have __nv_bfloat16's layout");

}  // namespace rlmoe

/// The numeric limits of bfloat16 (8 significant bits, float32's exponent range), so that
/// tolerances and sentinels written for float and double serve it too.
template <>
struct std::numeric_limits<rlmoe::bfloat16> {
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr std::float_round_style round_style = std::round_to_nearest;
  static constexpr int digits = 8;
  static constexpr int radix = 2;
  static constexpr int min_exponent = -125;
  static constexpr int max_exponent = 128;
  static rlmoe::bfloat16 min() { return rlmoe::bfloat16::from_bits(0x0080u); }  // smallest normal, 2^-126
  static rlmoe::bfloat16 max() { return rlmoe::bfloat16::from_bits(0x7F7Fu); }
  static rlmoe::bfloat16 lowest() { return rlmoe::bfloat16::from_bits(0xFF7Fu); }
  static rlmoe::bfloat16 epsilon() { return rlmoe::bfloat16::from_bits(0x3C00u); }  // 2^-7
  static rlmoe::bfloat16 round_error() { return rlmoe::bfloat16::from_bits(0x3F00u); }  // 0.5
  static rlmoe::bfloat16 infinity() { return rlmoe::bfloat16::from_bits(0x7F80u); }
  static rlmoe::bfloat16 quiet_NaN() { return rlmoe::bfloat16::from_bits(0x7FC0u); }
  static rlmoe::bfloat16 denorm_min() { return rlmoe::bfloat16::from_bits(0x0001u); }
};
