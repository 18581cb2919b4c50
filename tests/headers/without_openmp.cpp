// Built without OpenMP (tests/headers/CMakeLists.txt): the Host backend runs its reductions and
// products on one thread, with the right results.
#include <cstdio>
#include <vector>

#include "rlmoe/rlmoe.hpp"

#if defined(_OPENMP)
#error "this program must be built without OpenMP"
#endif

int main() {
  const rlmoe::Host host{4};  // asks for 4 threads; without OpenMP there is one
  int failures = 0;
  const auto check = [&](bool ok, const char* what) {
    if (!ok) std::printf("failed: %s\n", what);
    failures += ok ? 0 : 1;
  };
  check(host.threads() == 1, "threads() is 1");
  std::vector<float> values(10000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 7);
  rlmoe::Buffer<float, rlmoe::Host> x = rlmoe::to_backend(host, values), sum(host, 1);
  rlmoe::reduce(host, x.view(), sum.view());
  check(rlmoe::to_host(host, sum.view())[0] == 29994.0f, "reduce");  // 1428 cycles of 0..6 (21 each), then 0+1+2+3
  const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  std::vector<float> c(4, 0.0f);
  rlmoe::gemm<rlmoe::Host, float>(host, rlmoe::Transpose::No, rlmoe::Transpose::No, 1.0f, rlmoe::make_view(a.data(), 2, 2),
                                  rlmoe::make_view(b.data(), 2, 2), 0.0f, rlmoe::make_view(c.data(), 2, 2));
  check(c == std::vector<float>{19, 22, 43, 50}, "gemm");
  return failures == 0 ? 0 : 1;
}
