#pragma once
// write_atomically(path, parts, what): a file replaced whole or not at all. The bytes go to a
// temporary file in the same directory, which is flushed, fsync'ed and renamed over the target,
// and the directory is fsync'ed, so a crash leaves either the old file or the new one, never a
// torn one. Temporaries that crashed writers left behind (`path`.tmp.<pid> of a process that no
// longer runs) are removed by the next write of the same file. Every file rlmoe writes goes
// through here: checkpoints, exported models, their JSON, images.
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "rlmoe/core/error.hpp"

namespace rlmoe::io {

namespace detail {

inline std::string directory_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace detail

/// Removes `path`.tmp.<pid> files whose writer process no longer runs (it was killed mid-write).
inline void remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const std::string prefix = fs::path(path).filename().string() + ".tmp.";
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(detail::directory_of(path), error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string_view pid_text = std::string_view(name).substr(prefix.size());
    long long pid = 0;
    const auto [end, parsed] = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (parsed != std::errc{} || end != pid_text.data() + pid_text.size() || pid <= 0) continue;
    if (pid != ::getpid() && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), error);
  }
}

/// Writes the parts, one after the other, as the file `path`; throws IoError naming `what` and
/// the file, which is then unchanged.
inline void write_atomically(const std::string& path, std::initializer_list<std::span<const std::byte>> parts, std::string_view what) {
  remove_stale_temporaries(path);
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  RLMOE_CHECK(fd >= 0, IoError, what, ": cannot write '", path, "': creating '", temporary, "' failed: ", std::strerror(errno));
  for (const std::span<const std::byte> part : parts) {
    std::size_t written = 0;
    while (written < part.size()) {
      const ssize_t n = ::write(fd, part.data() + written, part.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        ::close(fd);
        ::unlink(temporary.c_str());
        throw IoError(rlmoe::detail::message(what, ": cannot write '", path, "': writing '", temporary, "' failed: ",
                                             std::strerror(error), "; the file is unchanged"));
      }
      written += static_cast<std::size_t>(n);
    }
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    throw IoError(rlmoe::detail::message(what, ": cannot write '", path, "': ", synced ? "renaming" : "syncing", " '", temporary,
                                         "' failed: ", std::strerror(error), "; the file is unchanged"));
  }
  const int dir = ::open(detail::directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

/// Text (JSON, say) written atomically.
inline void write_text_atomically(const std::string& path, std::string_view text, std::string_view what) {
  write_atomically(path, {std::as_bytes(std::span<const char>(text.data(), text.size()))}, what);
}

}  // namespace rlmoe::io
