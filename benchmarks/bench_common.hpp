#pragma once
// What every benchmark program shares: median timing after warm-up, the device's name, random
// (never zero) inputs, and one JSON object per line on stdout.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rlmoe/rlmoe.hpp>

namespace rlmoe::bench {

/// The command line every benchmark takes: [--quick] small sizes (a smoke test), [--cuda-only]
/// skip the Host cases (on a lent GPU machine, whose minutes are better spent on the GPU's).
struct Options {
  bool quick = false;
  bool host = true;
};

inline Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      options.quick = true;
    } else if (std::strcmp(argv[i], "--cuda-only") == 0) {
      options.host = false;
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (expected --quick or --cuda-only)\n", argv[0], argv[i]);
      std::exit(2);
    }
  }
  return options;
}

/// Median of `repetitions` timings of f after `warmup` untimed runs.
template <Backend B, class F>
double median_ms(const B& backend, F&& f, int warmup = 3, int repetitions = 20) {
  for (int i = 0; i < warmup; ++i) f();
  synchronize(backend);
  std::vector<double> times;
  for (int i = 0; i < repetitions; ++i) times.push_back(elapsed_ms(backend, f));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

inline std::string device_name(const Host& host) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + " (" + std::to_string(host.threads()) + " threads)";
}

#if defined(__CUDACC__)
inline std::string device_name(const Cuda& cuda) {
  cudaDeviceProp properties{};
  RLMOE_CUDA_CHECK(cudaGetDeviceProperties(&properties, cuda.device()));
  return properties.name;
}
#endif

/// Builds one JSON object, printed as one line.
class JsonLine {
 public:
  JsonLine& add(const std::string& key, const std::string& value) {
    append_key(key);
    out_ << '"' << value << '"';
    return *this;
  }
  JsonLine& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  template <class Number>
  JsonLine& add(const std::string& key, Number value) {
    append_key(key);
    out_ << std::setprecision(9) << value;
    return *this;
  }
  void print() const {
    std::printf("{%s}\n", out_.str().c_str());
    std::fflush(stdout);
  }

 private:
  void append_key(const std::string& key) {
    if (!first_) out_ << ", ";
    first_ = false;
    out_ << '"' << key << "\": ";
  }
  std::ostringstream out_;
  bool first_ = true;
};

/// Uniform values in (lo, hi] from Philox, generated where the buffer lives.
template <class T>
struct FillUniform {
  VectorView<T> out;
  std::uint64_t seed;
  T lo, hi;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    RandomStream stream(seed, static_cast<std::uint64_t>(i));
    out[i] = lo + (hi - lo) * static_cast<T>(stream.uniform());
  }
};

/// Integer keys in [0, 2^bits).
template <class K>
struct FillKeys {
  VectorView<K> out;
  std::uint64_t seed;
  int bits;
  RLMOE_HOST_DEVICE void operator()(index_t i) const {
    RandomStream stream(seed, static_cast<std::uint64_t>(i));
    const std::uint32_t x = stream.next_u32();
    out[i] = static_cast<K>(bits >= 32 ? x : x & ((1u << bits) - 1u));
  }
};

template <Backend B, class T>
Buffer<T, B> random_buffer(const B& backend, index_t n, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  Buffer<T, B> buffer(backend, n);
  parallel_for(backend, n, FillUniform<T>{buffer.view(), seed, lo, hi});
  return buffer;
}

}  // namespace rlmoe::bench
