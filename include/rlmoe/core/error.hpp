#pragma once
// The exception hierarchy. Every error names what is wrong (the field, the shape, the call) and
// what was expected, so that the message alone is enough to fix the caller.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace rlmoe {

/// Base of every exception rlmoe throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A tensor has the wrong shape, rank or layout for an operation.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A runtime configuration value is outside its allowed range.
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A NaN or infinity appeared where a finite value is required.
class NumericError : public Error {
 public:
  using Error::Error;
};

/// Reading or writing a file failed (missing, a directory, no permission, a full disk); the
/// message names the file and the system's reason.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A CUDA runtime call failed.
class CudaError : public Error {
 public:
  CudaError(int code, const std::string& what) : Error(what), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

/// A cuBLAS call failed.
class CublasError : public Error {
 public:
  CublasError(int status, const std::string& what) : Error(what), status_(status) {}
  [[nodiscard]] int status() const noexcept { return status_; }

 private:
  int status_;
};

namespace detail {

/// Concatenates any streamable arguments into one message.
template <class... Parts>
[[nodiscard]] std::string message(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail
}  // namespace rlmoe

/// Throws ErrorType with the concatenated message parts when cond is false.
#define RLMOE_CHECK(cond, ErrorType, ...)                          \
  do {                                                             \
    if (!(cond)) throw ErrorType(::rlmoe::detail::message(__VA_ARGS__)); \
  } while (false)
