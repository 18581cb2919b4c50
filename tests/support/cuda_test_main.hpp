#pragma once
// The entry point of CUDA test programs: exits 77 (ctest's SKIP_RETURN_CODE) when no GPU is
// present, so that a CPU-only machine compiles the CUDA tests and reports them as skipped.
// Include in exactly one translation unit, in place of BOOST_TEST_MODULE.
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_ALTERNATIVE_INIT_API
#include "support/boost_test.hpp"

#include <cstdio>

#include "rlmoe/backend/cuda.hpp"

namespace rlmoe::test {

/// One Cuda backend for the whole test program: creating streams and cuBLAS handles is slow.
inline const Cuda& gpu() {
  static const Cuda backend(0);
  return backend;
}

}  // namespace rlmoe::test

inline bool init_unit_test() {
  boost::unit_test::framework::master_test_suite().p_name.value = "rlmoe CUDA tests";
  return true;
}

int main(int argc, char* argv[]) {
  if (rlmoe::cuda_device_count() == 0) {
    std::puts("no CUDA device: skipping the CUDA tests");
    return 77;
  }
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
