#pragma once
// Metrics as JSON lines: one object per line, flushed as it is written, so a run that stops keeps
// every line it wrote and another program can follow the file while it grows.
#include <cstdio>
#include <string>

#include "rlmoe/core/error.hpp"
#include "rlmoe/io/json.hpp"

namespace rlmoe::io {

class MetricsLog {
 public:
  MetricsLog() = default;
  /// Opens `path` for appending (append = true, to continue a resumed run) or anew.
  MetricsLog(const std::string& path, bool append) : file_(std::fopen(path.c_str(), append ? "a" : "w")) {
    RLMOE_CHECK(file_ != nullptr, Error, "metrics: cannot open '", path, "'");
  }
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  MetricsLog(MetricsLog&& other) noexcept : file_(other.file_) { other.file_ = nullptr; }
  MetricsLog& operator=(MetricsLog&& other) noexcept {
    std::swap(file_, other.file_);
    return *this;
  }
  ~MetricsLog() {
    if (file_ != nullptr) std::fclose(file_);
  }

  void write(const Json& record) {
    if (file_ == nullptr) return;
    const std::string line = record.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }

 private:
  std::FILE* file_ = nullptr;
};

}  // namespace rlmoe::io
