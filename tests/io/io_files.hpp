#pragma once
// Files for the io tests: a temporary directory removed afterwards, and whole-file reads and
// writes.
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace rlmoe::test {

namespace fs = std::filesystem;

/// A fresh directory under the system's temporary directory, removed at the end of the test.
struct TemporaryDirectory {
  fs::path path;
  TemporaryDirectory() : path(fs::temp_directory_path() / ("rlmoe-io-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
    fs::create_directories(path);
  }
  ~TemporaryDirectory() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return {reinterpret_cast<const std::byte*>(raw.data()), reinterpret_cast<const std::byte*>(raw.data()) + raw.size()};
}

inline void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace rlmoe::test
