#pragma once
// A live progress line for long runs: "step 120/600 | reward 0.82 | ... | 3m12s left", redrawn in
// place on a terminal, printed as plain lines (every tenth of the run) when the output is a file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace rlmoe::io {

class ProgressLine {
 public:
  ProgressLine(long long total, bool enabled, std::FILE* out = stderr)
      : total_(total), enabled_(enabled), out_(out), terminal_(::isatty(::fileno(out)) != 0),
        start_(std::chrono::steady_clock::now()) {}

  /// Shows `step` (0-based, of total) with name/value fields.
  void update(long long step, const std::vector<std::pair<std::string, std::string>>& fields) {
    if (!enabled_) return;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const long long done = step + 1 - first_step_;
    const double left = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - step - 1) : 0.0;
    std::string line = "step " + std::to_string(step + 1) + "/" + std::to_string(total_);
    for (const auto& [name, value] : fields) line += " | " + name + " " + value;
    line += " | " + duration(left) + " left";
    if (terminal_) {
      std::fprintf(out_, "\r%s\033[K", line.c_str());
    } else if (total_ < 10 || (step + 1) % std::max(1LL, total_ / 10) == 0 || step + 1 == total_) {
      std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
  }

  /// The step the run starts from, for a resumed run's time estimate.
  void start_at(long long step) { first_step_ = step; }

  void finish() {
    if (enabled_ && terminal_) std::fprintf(out_, "\n");
  }

  /// A field's value with `digits` decimals, or "-" when not measured (NaN).
  static std::string number(double v, int digits) {
    if (!std::isfinite(v)) return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
    return buffer;
  }

  static std::string duration(double seconds) {
    const long long s = static_cast<long long>(seconds + 0.5);
    char buffer[32];
    if (s >= 3600) std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) std::snprintf(buffer, sizeof buffer, "%lldm%02llds", s / 60, s % 60);
    else std::snprintf(buffer, sizeof buffer, "%llds", s);
    return buffer;
  }

 private:
  long long total_;
  bool enabled_;
  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  long long first_step_ = 0;
};

}  // namespace rlmoe::io
