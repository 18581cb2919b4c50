#pragma once
// Elementary functions callable from host and device code for float and double alike, so that
// one templated formula serves the float kernels and the float64 references and gradient checks.
#include <cmath>

#include "rlmoe/core/host_device.hpp"

namespace rlmoe::math {

RLMOE_HOST_DEVICE inline float exp(float x) { return ::expf(x); }
RLMOE_HOST_DEVICE inline double exp(double x) { return ::exp(x); }
RLMOE_HOST_DEVICE inline float log(float x) { return ::logf(x); }
RLMOE_HOST_DEVICE inline double log(double x) { return ::log(x); }
RLMOE_HOST_DEVICE inline float sqrt(float x) { return ::sqrtf(x); }
RLMOE_HOST_DEVICE inline double sqrt(double x) { return ::sqrt(x); }
RLMOE_HOST_DEVICE inline float abs(float x) { return ::fabsf(x); }
RLMOE_HOST_DEVICE inline double abs(double x) { return ::fabs(x); }
RLMOE_HOST_DEVICE inline float sin(float x) { return ::sinf(x); }
RLMOE_HOST_DEVICE inline double sin(double x) { return ::sin(x); }
RLMOE_HOST_DEVICE inline float cos(float x) { return ::cosf(x); }
RLMOE_HOST_DEVICE inline double cos(double x) { return ::cos(x); }
RLMOE_HOST_DEVICE inline double pow(double x, double y) { return ::pow(x, y); }
RLMOE_HOST_DEVICE inline double log1p(double x) { return ::log1p(x); }
RLMOE_HOST_DEVICE inline double floor(double x) { return ::floor(x); }
RLMOE_HOST_DEVICE inline bool isfinite(float x) { return std::isfinite(x); }
RLMOE_HOST_DEVICE inline bool isfinite(double x) { return std::isfinite(x); }

template <class T>
RLMOE_HOST_DEVICE constexpr T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
RLMOE_HOST_DEVICE constexpr T max(T a, T b) {
  return a < b ? b : a;
}
template <class T>
RLMOE_HOST_DEVICE constexpr T clamp(T x, T lo, T hi) {
  return x < lo ? lo : (hi < x ? hi : x);
}

}  // namespace rlmoe::math
