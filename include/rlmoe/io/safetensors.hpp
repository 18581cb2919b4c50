#pragma once
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON naming each tensor's dtype, shape and byte range, then the
// tensors' bytes back to back. Files written here load in the Python safetensors library.
//
// Writing is atomic: the bytes go to a temporary file in the same directory, which is flushed,
// fsync'ed and renamed over the target, and the directory is fsync'ed, so a crash leaves either
// the old file or the new one, never a torn one. Reading checks everything before trusting it:
// the header length against the file size, the JSON, every dtype, that each tensor's byte range
// matches its shape and lies inside the file, that the ranges tile the data exactly, and a CRC-32
// per tensor kept in the metadata (which catches flipped bits the structure cannot). Every error
// names the file and the tensor.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/json.hpp"

namespace rlmoe::io {

enum class Dtype { F32, F64, I32, I64, U8 };

inline std::string_view dtype_name(Dtype d) {
  switch (d) {
    case Dtype::F32: return "F32";
    case Dtype::F64: return "F64";
    case Dtype::I32: return "I32";
    case Dtype::I64: return "I64";
    case Dtype::U8: return "U8";
  }
  return "?";
}

inline std::size_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::F32: case Dtype::I32: return 4;
    case Dtype::F64: case Dtype::I64: return 8;
    case Dtype::U8: return 1;
  }
  return 0;
}

template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::U8;
  else static_assert(dependent_false<T>, "no safetensors dtype for this type");
}

/// CRC-32 (IEEE 802.3, as zlib's crc32).
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0) {
  static const auto table = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::byte b : bytes) crc = table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;  ///< byte range within the data section

  [[nodiscard]] std::int64_t elements() const {
    std::int64_t n = 1;
    for (std::int64_t e : shape) n *= e;
    return n;
  }
};

class SafetensorsWriter {
 public:
  /// Adds a tensor whose bytes are in host memory; they are copied.
  void add(std::string name, Dtype dtype, std::vector<std::int64_t> shape, const void* data, std::size_t bytes) {
    TensorInfo info{std::move(name), dtype, std::move(shape), 0, 0};
    RLMOE_CHECK(static_cast<std::size_t>(info.elements()) * dtype_size(dtype) == bytes, ShapeError, "safetensors: tensor '",
                info.name, "' has ", bytes, " bytes, not the ", info.elements(), " elements of its shape");
    for (const auto& t : tensors_)
      RLMOE_CHECK(t.name != info.name, ConfigError, "safetensors: tensor '", info.name, "' is added twice");
    info.begin = data_.size();
    data_.insert(data_.end(), static_cast<const std::byte*>(data), static_cast<const std::byte*>(data) + bytes);
    info.end = data_.size();
    tensors_.push_back(std::move(info));
  }

  template <class T>
  void add(std::string name, std::vector<std::int64_t> shape, std::span<const T> values) {
    add(std::move(name), dtype_of<T>(), std::move(shape), values.data(), values.size_bytes());
  }

  void set_metadata(std::string key, std::string value) { metadata_.emplace_back(std::move(key), Json(std::move(value))); }

  /// The whole file's bytes.
  [[nodiscard]] std::vector<std::byte> serialize() const {
    Json::Object header;
    Json::Object metadata = metadata_;
    for (const auto& t : tensors_) {
      const std::uint32_t crc = crc32(std::span<const std::byte>(data_.data() + t.begin, t.end - t.begin));
      metadata.emplace_back("crc32." + t.name, Json(std::to_string(crc)));
    }
    header.emplace_back("__metadata__", Json(std::move(metadata)));
    for (const auto& t : tensors_) {
      Json::Array shape, offsets;
      for (std::int64_t e : t.shape) shape.emplace_back(e);
      offsets.emplace_back(static_cast<std::int64_t>(t.begin));
      offsets.emplace_back(static_cast<std::int64_t>(t.end));
      header.emplace_back(t.name, Json(Json::Object{{"dtype", Json(std::string(dtype_name(t.dtype)))},
                                                    {"shape", Json(std::move(shape))},
                                                    {"data_offsets", Json(std::move(offsets))}}));
    }
    std::string json = Json(std::move(header)).dump();
    while (json.size() % 8 != 0) json += ' ';  // the data section starts 8-byte aligned
    std::vector<std::byte> out(8 + json.size() + data_.size());
    const std::uint64_t length = json.size();
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>((length >> (8 * i)) & 0xFFu);
    std::memcpy(out.data() + 8, json.data(), json.size());
    if (!data_.empty()) std::memcpy(out.data() + 8 + json.size(), data_.data(), data_.size());
    return out;
  }

  /// Writes the file atomically: temporary file, fsync, rename, fsync of the directory.
  void write(const std::string& path) const {
    const std::vector<std::byte> bytes = serialize();
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    RLMOE_CHECK(fd >= 0, IoError, "safetensors: cannot write '", path, "': creating '", temporary, "' failed: ", std::strerror(errno));
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        const int error = errno;
        ::close(fd);
        ::unlink(temporary.c_str());
        throw IoError(rlmoe::detail::message("safetensors: cannot write '", path, "': writing '", temporary,
                                             "' failed: ", std::strerror(error), "; the file is unchanged"));
      }
      written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
      const int error = errno;
      ::unlink(temporary.c_str());
      throw IoError(rlmoe::detail::message("safetensors: cannot write '", path, "': ", synced ? "renaming" : "syncing", " '",
                                           temporary, "' failed: ", std::strerror(error), "; the file is unchanged"));
    }
    const std::size_t slash = path.find_last_of('/');
    const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::vector<TensorInfo> tensors_;
  std::vector<std::byte> data_;
  Json::Object metadata_;
};

class SafetensorsFile {
 public:
  /// Reads and validates a whole file; throws FormatError naming the file and what is wrong.
  static SafetensorsFile read(const std::string& path) {
    std::error_code error;
    RLMOE_CHECK(!std::filesystem::is_directory(path, error), IoError, "safetensors: '", path, "' is a directory, not a file");
    std::ifstream in(path, std::ios::binary);
    RLMOE_CHECK(in.good(), IoError, "safetensors: cannot open '", path, "': ", std::strerror(errno));
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    RLMOE_CHECK(!in.bad(), IoError, "safetensors: reading '", path, "' failed: ", std::strerror(errno));
    return parse(path, std::span<const std::byte>(reinterpret_cast<const std::byte*>(raw.data()), raw.size()));
  }

  static SafetensorsFile parse(const std::string& path, std::span<const std::byte> bytes) {
    SafetensorsFile file;
    file.path_ = path;
    const auto fail = [&](auto&&... parts) -> FormatError {
      return FormatError(rlmoe::detail::message("safetensors '", path, "': ", parts...));
    };
    if (bytes.size() < 8) throw fail("the file has ", bytes.size(), " bytes, fewer than the 8 of the header length");
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(bytes[static_cast<std::size_t>(i)]) << (8 * i);
    if (length > bytes.size() - 8)
      throw fail("the header claims ", length, " bytes but only ", bytes.size() - 8, " follow (truncated or corrupt)");
    const std::string_view json(reinterpret_cast<const char*>(bytes.data() + 8), length);
    Json header;
    try {
      header = Json::parse(json);
    } catch (const FormatError& e) {
      throw fail("the header is not valid JSON (", e.what(), ")");
    }
    const std::span<const std::byte> data = bytes.subspan(8 + length);
    file.data_.assign(data.begin(), data.end());
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
    for (const auto& [name, entry] : header.object("safetensors header")) {
      if (name == "__metadata__") {
        for (const auto& [key, value] : entry.object("__metadata__")) file.metadata_.emplace_back(key, value.string("metadata " + key));
        continue;
      }
      const std::string what = "tensor '" + name + "'";
      TensorInfo info;
      info.name = name;
      const std::string& dtype = entry.at("dtype", what).string(what + " dtype");
      bool known = false;
      for (Dtype d : {Dtype::F32, Dtype::F64, Dtype::I32, Dtype::I64, Dtype::U8})
        if (dtype == dtype_name(d)) info.dtype = d, known = true;
      if (!known) throw fail(what, " has dtype ", dtype, ", which rlmoe does not read");
      for (const Json& e : entry.at("shape", what).array(what + " shape")) {
        const std::int64_t extent = e.integer(what + " shape");
        if (extent < 0) throw fail(what, " has a negative extent");
        info.shape.push_back(extent);
      }
      const auto& offsets = entry.at("data_offsets", what).array(what + " data_offsets");
      if (offsets.size() != 2) throw fail(what, " needs two data_offsets");
      const std::int64_t begin = offsets[0].integer(what), end = offsets[1].integer(what);
      if (begin < 0 || end < begin || static_cast<std::uint64_t>(end) > file.data_.size())
        throw fail(what, " spans bytes [", begin, ", ", end, ") but the data section has ", file.data_.size(),
                   " bytes (truncated or corrupt)");
      info.begin = static_cast<std::size_t>(begin);
      info.end = static_cast<std::size_t>(end);
      if (info.end - info.begin != static_cast<std::size_t>(info.elements()) * dtype_size(info.dtype))
        throw fail(what, " has ", info.end - info.begin, " bytes but its shape and dtype need ",
                   static_cast<std::size_t>(info.elements()) * dtype_size(info.dtype));
      ranges.emplace_back(info.begin, info.end);
      file.tensors_.push_back(std::move(info));
    }
    std::sort(ranges.begin(), ranges.end());
    std::size_t covered = 0;
    for (const auto& [begin, end] : ranges) {
      if (begin != covered) throw fail("tensor data has a gap or an overlap at byte ", begin);
      covered = end;
    }
    if (covered != file.data_.size())
      throw fail("the data section has ", file.data_.size(), " bytes but the tensors cover ", covered);
    for (const TensorInfo& t : file.tensors_) {
      const std::string* expected = file.find_metadata("crc32." + t.name);
      if (expected == nullptr) continue;  // files from elsewhere carry no checksums
      const std::uint32_t crc = crc32(std::span<const std::byte>(file.data_.data() + t.begin, t.end - t.begin));
      if (std::to_string(crc) != *expected)
        throw fail("tensor '", t.name, "' fails its CRC-32 check (", crc, " instead of ", *expected, "): the data is corrupt");
    }
    return file;
  }

  [[nodiscard]] const std::vector<TensorInfo>& tensors() const { return tensors_; }

  [[nodiscard]] const TensorInfo& tensor(std::string_view name) const {
    for (const TensorInfo& t : tensors_)
      if (t.name == name) return t;
    throw FormatError(rlmoe::detail::message("safetensors '", path_, "': no tensor '", name, "'"));
  }

  /// Copies tensor `name` into `out` after checking its dtype and shape.
  template <class T>
  void read_into(std::string_view name, const std::vector<std::int64_t>& shape, std::span<T> out) const {
    const TensorInfo& t = tensor(name);
    RLMOE_CHECK(t.dtype == dtype_of<T>(), FormatError, "safetensors '", path_, "': tensor '", name, "' has dtype ",
                dtype_name(t.dtype), " but ", dtype_name(dtype_of<T>()), " is expected");
    RLMOE_CHECK(t.shape == shape, FormatError, "safetensors '", path_, "': tensor '", name, "' has shape ", shape_string(t.shape),
                " but ", shape_string(shape), " is expected");
    RLMOE_CHECK(out.size_bytes() == t.end - t.begin, ShapeError, "safetensors: the destination of '", name, "' has ",
                out.size(), " elements, not ", t.elements());
    if (!out.empty()) std::memcpy(out.data(), data_.data() + t.begin, t.end - t.begin);
  }

  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& metadata_entries() const { return metadata_; }

  [[nodiscard]] const std::string* find_metadata(std::string_view key) const {
    for (const auto& [k, v] : metadata_)
      if (k == key) return &v;
    return nullptr;
  }
  [[nodiscard]] const std::string& metadata(std::string_view key) const {
    const std::string* value = find_metadata(key);
    if (value == nullptr) throw FormatError(rlmoe::detail::message("safetensors '", path_, "': no metadata '", key, "'"));
    return *value;
  }

  static std::string shape_string(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }

 private:
  std::string path_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::byte> data_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

}  // namespace rlmoe::io
