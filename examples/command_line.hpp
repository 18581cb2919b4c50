// The examples' command lines: flags with values, parsed strictly. A value must be the whole
// argument ("10x" is not 10) and lie in its range ("-1" is not a seed); anything refused names the
// flag, the value and what is allowed, and the program exits with status 2. --help prints the
// usage and exits with 0. Not part of the library: a program of your own will have its own.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace examples {

class CommandLine {
 public:
  CommandLine(int argc, char** argv, std::string usage) : argc_(argc), argv_(argv), usage_(std::move(usage)) {}

  /// The next argument, or false at the end; --help prints the usage and exits.
  bool next(std::string_view& flag) {
    if (++index_ >= argc_) return false;
    flag = argv_[index_];
    if (flag == "--help" || flag == "-h") {
      std::printf("%s", usage_.c_str());
      std::exit(0);
    }
    return true;
  }

  /// The value after `flag`.
  std::string text(std::string_view flag) {
    if (index_ + 1 >= argc_) refuse(flag, "", "a value");
    return argv_[++index_];
  }

  /// The integer after `flag`, in [low, high].
  long long integer(std::string_view flag, long long low, long long high = std::numeric_limits<long long>::max()) {
    const std::string value = text(flag);
    long long parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (value.empty() || error != std::errc{} || end != value.data() + value.size() || parsed < low || parsed > high)
      refuse(flag, value, "an integer from " + std::to_string(low) + (high == std::numeric_limits<long long>::max() ? " up" : " to " + std::to_string(high)));
    return parsed;
  }

  /// `value` for `flag` is refused: says why, then the usage, and exits with 2.
  [[noreturn]] void refuse(std::string_view flag, std::string_view value, const std::string& allowed) const {
    if (flag.rfind("--", 0) == 0 && allowed.empty())
      std::fprintf(stderr, "%s: unknown option '%.*s'\n", argv_[0], static_cast<int>(flag.size()), flag.data());
    else if (allowed.empty())
      std::fprintf(stderr, "%s: unexpected argument '%.*s'\n", argv_[0], static_cast<int>(flag.size()), flag.data());
    else
      std::fprintf(stderr, "%s: %.*s '%.*s' is refused: it takes %s\n", argv_[0], static_cast<int>(flag.size()), flag.data(),
                   static_cast<int>(value.size()), value.data(), allowed.c_str());
    std::fprintf(stderr, "%s", usage_.c_str());
    std::exit(2);
  }
  /// An argument that is no flag of this program.
  [[noreturn]] void unknown(std::string_view flag) const { refuse(flag, "", ""); }

 private:
  int argc_;
  char** argv_;
  std::string usage_;
  int index_ = 0;
};

}  // namespace examples
