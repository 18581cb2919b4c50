#pragma once
// MappedFile: a file's bytes, read-only, mapped into memory rather than copied, so that a
// multi-gigabyte checkpoint is read in one pass (the pages come in as the tensors are copied out)
// and never held twice. Errors name the file and the system's reason.
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rlmoe/core/error.hpp"

namespace rlmoe::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    RLMOE_CHECK(fd >= 0, IoError, "cannot open '", path, "': ", std::strerror(errno));
    struct stat info {};
    const bool stat_ok = ::fstat(fd, &info) == 0;
    const int stat_error = errno;
    if (!stat_ok || !S_ISREG(info.st_mode)) {
      ::close(fd);
      if (stat_ok && S_ISDIR(info.st_mode)) throw IoError(rlmoe::detail::message("'", path, "' is a directory, not a file"));
      throw IoError(rlmoe::detail::message("cannot read '", path, "': ", stat_ok ? "not a regular file" : std::strerror(stat_error)));
    }
    size_ = static_cast<std::size_t>(info.st_size);
    if (size_ > 0) {
      void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      const int error = errno;
      ::close(fd);
      RLMOE_CHECK(mapped != MAP_FAILED, IoError, "cannot map '", path, "' (", size_, " bytes): ", std::strerror(error));
      data_ = static_cast<const std::byte*>(mapped);
    } else {
      ::close(fd);
    }
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  }

  [[nodiscard]] std::span<const std::byte> bytes() const { return {data_, size_}; }

 private:
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace rlmoe::io
