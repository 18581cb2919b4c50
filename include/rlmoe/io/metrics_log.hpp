#pragma once
// Metrics as JSON lines: one object per line, flushed as it is written, so a run that stops keeps
// every line it wrote and another program can follow the file while it grows. A resumed run first
// rewinds the file to what its checkpoint covers (rewind_metrics_log), dropping the lines a stopped
// run logged past it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/step_metrics.hpp"

namespace rlmoe::io {

class MetricsLog {
 public:
  MetricsLog() = default;
  /// Opens `path` for appending (append = true, to continue a resumed run) or anew; throws IoError
  /// naming the file when it cannot.
  MetricsLog(const std::string& path, bool append) : path_(path), file_(std::fopen(path.c_str(), append ? "a" : "w")) {
    RLMOE_CHECK(file_ != nullptr, IoError, "metrics: cannot open '", path, "' for writing: ", std::strerror(errno));
  }
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  MetricsLog(MetricsLog&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) { other.file_ = nullptr; }
  MetricsLog& operator=(MetricsLog&& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(file_, other.file_);
    return *this;
  }
  ~MetricsLog() {
    if (file_ != nullptr) std::fclose(file_);
  }

  /// Appends one record as a line; throws IoError naming the file when it cannot be written (a
  /// full disk).
  void write(const Json& record) { write_line(record.dump()); }

  void write_line(std::string line) {
    if (file_ == nullptr) return;
    line += '\n';
    const bool written = std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0;
    RLMOE_CHECK(written, IoError, "metrics: writing '", path_, "' failed: ", std::strerror(errno));
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

/// Keeps the lines of the metrics file at `path` for which `keep` holds (in order, unchanged) and
/// returns them as StepMetrics. A missing file is an empty log. A torn last line (a run killed
/// while writing it) is dropped with a warning on stderr; a bad line before it is a FormatError
/// naming the file and the line.
inline std::vector<StepMetrics> rewind_metrics_log(const std::string& path, const std::function<bool(const StepMetrics&)>& keep) {
  std::vector<StepMetrics> kept;
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    if (!in) return kept;
    std::vector<std::string> all;
    for (std::string line; std::getline(in, line);) all.push_back(line);
    for (std::size_t number = 1; number <= all.size(); ++number) {
      const std::string& line = all[number - 1];
      if (line.empty()) continue;
      StepMetrics m;
      try {
        m = StepMetrics::from_json(Json::parse(line));
      } catch (const FormatError& e) {
        if (number == all.size()) {
          std::fprintf(stderr, "metrics: dropping the torn last line %zu of '%s' (%s)\n", number, path.c_str(), e.what());
          break;
        }
        throw FormatError(rlmoe::detail::message("metrics: '", path, "' line ", number, ": ", e.what()));
      }
      if (!keep(m)) continue;
      lines.push_back(line);
      kept.push_back(m);
    }
  }
  MetricsLog out(path, false);
  for (const std::string& line : lines) out.write_line(line);
  return kept;
}

}  // namespace rlmoe::io
