#pragma once
// Binary reduction operators shared by the backends, each with its identity element.
#include <limits>

#include "rlmoe/core/host_device.hpp"

namespace rlmoe {

struct Sum {
  template <class T>
  RLMOE_HOST_DEVICE constexpr T operator()(const T& a, const T& b) const {
    return a + b;
  }
  template <class T>
  static constexpr T identity() {
    return T(0);
  }
};

struct Max {
  template <class T>
  RLMOE_HOST_DEVICE constexpr T operator()(const T& a, const T& b) const {
    return a < b ? b : a;
  }
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::lowest();
  }
};

struct Min {
  template <class T>
  RLMOE_HOST_DEVICE constexpr T operator()(const T& a, const T& b) const {
    return b < a ? b : a;
  }
  template <class T>
  static constexpr T identity() {
    return std::numeric_limits<T>::max();
  }
};

}  // namespace rlmoe
