#pragma once
// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON naming each tensor's dtype, shape and byte range, then the
// tensors' bytes back to back. Files written here load in the Python safetensors library.
//
// Writing is atomic (atomic_file.hpp): a crash leaves either the old file or the new one, never a
// torn one. Reading maps the file (no copy) and checks
// everything before trusting it: the header length against the file size, the JSON, every dtype,
// every size and offset with overflow-checked arithmetic, unique names, that each tensor's byte
// range matches its shape and the ranges tile the data exactly, and the checksums rlmoe writes
// into the metadata: a CRC-32 per tensor (flipped bits the structure cannot catch) and one over
// the header itself (its metadata values, names, shapes and offsets). Files rlmoe wrote must carry
// them all (Checksums::Required); files from elsewhere need not. Every error names the file and
// the tensor.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#if !__has_include(<zlib.h>)
#error "rlmoe: io/safetensors.hpp (checkpoints) needs zlib for its checksums, and zlib.h was not found: install zlib (Debian: apt-get install zlib1g-dev)"
#endif
#include <zlib.h>

#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/core/error.hpp"
#include "rlmoe/core/types.hpp"
#include "rlmoe/io/atomic_file.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/mapped_file.hpp"

namespace rlmoe::io {

enum class Dtype { F32, F64, BF16, F16, I32, I64, U8 };

inline std::string_view dtype_name(Dtype d) {
  switch (d) {
    case Dtype::F32: return "F32";
    case Dtype::F64: return "F64";
    case Dtype::BF16: return "BF16";
    case Dtype::F16: return "F16";
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
    case Dtype::BF16: case Dtype::F16: return 2;
    case Dtype::U8: return 1;
  }
  return 0;
}

template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else if constexpr (std::is_same_v<T, bfloat16>) return Dtype::BF16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::U8;
  else static_assert(dependent_false<T>, "no safetensors dtype for this type");
}

/// CRC-32 (IEEE 802.3), zlib's.
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t crc = 0) {
  return static_cast<std::uint32_t>(::crc32_z(crc, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

/// The metadata key of the header's own checksum.
inline constexpr std::string_view kHeaderChecksumKey = "header_crc32";

/// The checksum of a header's content: every metadata entry but the header checksum itself, then
/// every tensor's name, dtype, shape and offsets, in the order of the file. Computed the same way
/// by the writer and the reader, so any change to a value, a name or a number shows.
class HeaderChecksum {
 public:
  void metadata(std::string_view key, std::string_view value) {
    if (key == kHeaderChecksumKey) return;
    text(key);
    text(value);
  }
  void tensor(std::string_view name, std::string_view dtype, const std::vector<std::int64_t>& shape, std::uint64_t begin,
              std::uint64_t end) {
    text(name);
    text(dtype);
    for (std::int64_t e : shape) text(std::to_string(e));
    text(std::to_string(begin) + "-" + std::to_string(end));
  }
  [[nodiscard]] std::string value() const { return std::to_string(crc_); }

 private:
  void text(std::string_view t) {
    crc_ = crc32(std::as_bytes(std::span<const char>(t.data(), t.size())), crc_);
    crc_ = crc32(std::as_bytes(std::span<const char>("\0", 1)), crc_);  // separates the fields
  }
  std::uint32_t crc_ = 0;
};

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
    RLMOE_CHECK(names_.insert(info.name).second, ConfigError, "safetensors: tensor '", info.name, "' is added twice");
    info.begin = data_.size();
    data_.insert(data_.end(), static_cast<const std::byte*>(data), static_cast<const std::byte*>(data) + bytes);
    info.end = data_.size();
    tensors_.push_back(std::move(info));
  }

  template <class T>
  void add(std::string name, std::vector<std::int64_t> shape, std::span<const T> values) {
    add(std::move(name), dtype_of<T>(), std::move(shape), values.data(), values.size_bytes());
  }

  /// Adds a metadata entry; keys are unique, and the checksum keys are the writer's own.
  void set_metadata(std::string key, std::string value) {
    RLMOE_CHECK(key.rfind("crc32.", 0) != 0 && key != kHeaderChecksumKey, ConfigError, "safetensors: metadata key '", key,
                "' is reserved for the checksums");
    for (const auto& [k, v] : metadata_) RLMOE_CHECK(k != key, ConfigError, "safetensors: metadata '", key, "' is set twice");
    metadata_.emplace_back(std::move(key), Json(std::move(value)));
  }

  /// The header: 8 bytes of length, then the JSON padded so that the data starts 8-byte aligned.
  [[nodiscard]] std::string header() const {
    Json::Object metadata = metadata_;
    for (const auto& t : tensors_) {
      const std::uint32_t crc = crc32(std::span<const std::byte>(data_.data() + t.begin, t.end - t.begin));
      metadata.emplace_back("crc32." + t.name, Json(std::to_string(crc)));
    }
    HeaderChecksum checksum;
    for (const auto& [key, value] : metadata) checksum.metadata(key, value.string(key));
    for (const auto& t : tensors_) checksum.tensor(t.name, dtype_name(t.dtype), t.shape, t.begin, t.end);
    metadata.emplace_back(std::string(kHeaderChecksumKey), Json(checksum.value()));
    Json::Object header{{"__metadata__", Json(std::move(metadata))}};
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
    while (json.size() % 8 != 0) json += ' ';
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((json.size() >> (8 * i)) & 0xFFu);
    return out + json;
  }

  /// The whole file's bytes (for tests; write() does not build them).
  [[nodiscard]] std::vector<std::byte> serialize() const {
    const std::string head = header();
    std::vector<std::byte> out(head.size() + data_.size());
    std::memcpy(out.data(), head.data(), head.size());
    if (!data_.empty()) std::memcpy(out.data() + head.size(), data_.data(), data_.size());
    return out;
  }

  /// Writes the file atomically (atomic_file.hpp). Throws IoError naming the file, which is then
  /// unchanged.
  void write(const std::string& path) const {
    const std::string head = header();
    write_atomically(path, {std::as_bytes(std::span<const char>(head.data(), head.size())), std::span<const std::byte>(data_)},
                     "safetensors");
  }

 private:
  std::vector<TensorInfo> tensors_;
  std::unordered_set<std::string> names_;
  std::vector<std::byte> data_;
  Json::Object metadata_;
};

/// Whether a file must carry rlmoe's checksums: Required for files rlmoe wrote (checkpoints), so
/// that a flipped bit in a checksum's own key cannot switch it off.
enum class Checksums { WhenPresent, Required };

class SafetensorsFile {
 public:
  /// Maps and validates a whole file; throws IoError when it cannot be read and FormatError
  /// naming the file and what is wrong.
  static SafetensorsFile read(const std::string& path, Checksums checksums = Checksums::WhenPresent) {
    std::shared_ptr<const MappedFile> mapped;
    try {
      mapped = std::make_shared<const MappedFile>(path);
    } catch (const IoError& e) {
      throw IoError(rlmoe::detail::message("safetensors: ", e.what()));
    }
    SafetensorsFile file = validate(path, mapped->bytes(), checksums);
    file.owner_ = mapped;
    return file;
  }

  /// Validates bytes in memory (copied into the returned file).
  static SafetensorsFile parse(const std::string& path, std::span<const std::byte> bytes,
                               Checksums checksums = Checksums::WhenPresent) {
    auto copy = std::make_shared<const std::vector<std::byte>>(bytes.begin(), bytes.end());
    SafetensorsFile file = validate(path, std::span<const std::byte>(*copy), checksums);
    file.owner_ = copy;
    return file;
  }

  [[nodiscard]] const std::vector<TensorInfo>& tensors() const { return tensors_; }

  [[nodiscard]] bool contains(std::string_view name) const { return tensor_index_.contains(std::string(name)); }

  [[nodiscard]] const TensorInfo& tensor(std::string_view name) const {
    if (const auto found = tensor_index_.find(std::string(name)); found != tensor_index_.end()) return tensors_[found->second];
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

  /// Floating-point tensor `name` (F64, F32, BF16 or F16; each converts to double exactly) as
  /// doubles, after checking its shape: how checkpoints from elsewhere load whatever their dtype.
  [[nodiscard]] std::vector<double> read_as_double(std::string_view name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = tensor(name);
    RLMOE_CHECK(t.shape == shape, FormatError, "safetensors '", path_, "': tensor '", name, "' has shape ", shape_string(t.shape),
                " but ", shape_string(shape), " is expected");
    const std::byte* bytes = data_.data() + t.begin;
    std::vector<double> out(static_cast<std::size_t>(t.elements()));
    const auto convert = [&](auto element) {
      using E = decltype(element);
      for (std::size_t i = 0; i < out.size(); ++i) {
        std::memcpy(&element, bytes + i * sizeof(E), sizeof(E));
        out[i] = decode_float(element);
      }
    };
    switch (t.dtype) {
      case Dtype::F64: convert(double{}); break;
      case Dtype::F32: convert(float{}); break;
      case Dtype::BF16: convert(bfloat16{}); break;
      case Dtype::F16: convert(std::uint16_t{}); break;
      default:
        throw FormatError(rlmoe::detail::message("safetensors '", path_, "': tensor '", name, "' has dtype ", dtype_name(t.dtype),
                                                 " but a floating-point one (F64, F32, BF16 or F16) is expected"));
    }
    return out;
  }

  /// Whether the file carries the header's checksum and every tensor's (all of them verified).
  [[nodiscard]] bool fully_checksummed() const {
    if (find_metadata(kHeaderChecksumKey) == nullptr) return false;
    for (const TensorInfo& t : tensors_)
      if (find_metadata("crc32." + t.name) == nullptr) return false;
    return true;
  }

  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& metadata_entries() const { return metadata_; }

  [[nodiscard]] const std::string* find_metadata(std::string_view key) const {
    const auto found = metadata_index_.find(std::string(key));
    return found == metadata_index_.end() ? nullptr : &metadata_[found->second].second;
  }
  [[nodiscard]] const std::string& metadata(std::string_view key) const {
    const std::string* value = find_metadata(key);
    if (value == nullptr) throw FormatError(rlmoe::detail::message("safetensors '", path_, "': no metadata '", key, "'"));
    return *value;
  }

  /// IEEE binary16 bits as a double (exact): subnormals, infinities and NaN included.
  static double decode_float(std::uint16_t half) {
    const int exponent = (half >> 10) & 0x1F, mantissa = half & 0x3FF;
    const double sign = (half & 0x8000) != 0 ? -1.0 : 1.0;
    if (exponent == 0x1F) return mantissa == 0 ? sign * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    if (exponent == 0) return sign * std::ldexp(static_cast<double>(mantissa), -24);
    return sign * std::ldexp(static_cast<double>(mantissa + 1024), exponent - 25);
  }
  static double decode_float(float f) { return f; }
  static double decode_float(double d) { return d; }
  static double decode_float(bfloat16 b) { return static_cast<float>(b); }

  static std::string shape_string(const std::vector<std::int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }

 private:
  /// Checks `bytes` as a safetensors file; the result views them (the caller keeps them alive).
  static SafetensorsFile validate(const std::string& path, std::span<const std::byte> bytes, Checksums checksums) {
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
    Json header;
    try {
      header = Json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data() + 8), length));
    } catch (const FormatError& e) {
      throw fail("the header is not valid JSON (", e.what(), ")");
    }
    file.data_ = bytes.subspan(8 + length);
    HeaderChecksum checksum;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    bool seen_metadata = false;
    for (const auto& [name, entry] : header.object("safetensors header")) {
      if (name == "__metadata__") {
        if (seen_metadata) throw fail("__metadata__ appears twice");
        seen_metadata = true;
        for (const auto& [key, value] : entry.object("__metadata__")) {
          if (!file.metadata_index_.emplace(key, file.metadata_.size()).second) throw fail("metadata '", key, "' appears twice");
          file.metadata_.emplace_back(key, value.string("metadata " + key));
          checksum.metadata(key, file.metadata_.back().second);
        }
        continue;
      }
      const std::string what = "tensor '" + name + "'";
      if (!file.tensor_index_.emplace(name, file.tensors_.size()).second) throw fail(what, " appears twice");
      TensorInfo info;
      info.name = name;
      const std::string& dtype = entry.at("dtype", what).string(what + " dtype");
      bool known = false;
      for (Dtype d : {Dtype::F32, Dtype::F64, Dtype::BF16, Dtype::F16, Dtype::I32, Dtype::I64, Dtype::U8})
        if (dtype == dtype_name(d)) info.dtype = d, known = true;
      if (!known) throw fail(what, " has dtype ", dtype, ", which rlmoe does not read");
      // Its size in bytes, every product checked: a shape of [2^62, 4] must not wrap to 0.
      std::uint64_t size = dtype_size(info.dtype);
      for (const Json& e : entry.at("shape", what).array(what + " shape")) {
        const std::int64_t extent = e.integer(what + " shape");
        if (extent < 0) throw fail(what, " has a negative extent");
        info.shape.push_back(extent);
        if (__builtin_mul_overflow(size, static_cast<std::uint64_t>(extent), &size))
          throw fail(what, " has a shape starting ", shape_string(info.shape), " whose size in bytes overflows 64 bits");
      }
      const auto& offsets = entry.at("data_offsets", what).array(what + " data_offsets");
      if (offsets.size() != 2) throw fail(what, " needs two data_offsets");
      const std::int64_t begin = offsets[0].integer(what), end = offsets[1].integer(what);
      if (begin < 0 || end < begin || static_cast<std::uint64_t>(end) > file.data_.size())
        throw fail(what, " spans bytes [", begin, ", ", end, ") but the data section has ", file.data_.size(),
                   " bytes (truncated or corrupt)");
      if (static_cast<std::uint64_t>(end - begin) != size)
        throw fail(what, " has ", end - begin, " bytes but its shape ", shape_string(info.shape), " and dtype need ", size);
      info.begin = static_cast<std::size_t>(begin);
      info.end = static_cast<std::size_t>(end);
      checksum.tensor(name, dtype, info.shape, info.begin, info.end);
      ranges.emplace_back(info.begin, info.end);
      file.tensors_.push_back(std::move(info));
    }
    std::sort(ranges.begin(), ranges.end());
    std::uint64_t covered = 0;
    for (const auto& [begin, end] : ranges) {
      if (begin != covered) throw fail("tensor data has a gap or an overlap at byte ", begin);
      covered = end;
    }
    if (covered != file.data_.size())
      throw fail("the data section has ", file.data_.size(), " bytes but the tensors cover ", covered);
    const std::string* header_crc = file.find_metadata(kHeaderChecksumKey);
    if (header_crc == nullptr && checksums == Checksums::Required)
      throw fail("the header has no checksum (metadata '", kHeaderChecksumKey, "'), which rlmoe writes: it is corrupt");
    if (header_crc != nullptr && *header_crc != checksum.value())
      throw fail("the header fails its CRC-32 check (", checksum.value(), " instead of ", *header_crc,
                 "): a name, shape, offset or metadata value is corrupt");
    for (const TensorInfo& t : file.tensors_) {
      const std::string* expected = file.find_metadata("crc32." + t.name);
      if (expected == nullptr) {
        if (checksums == Checksums::Required)
          throw fail("tensor '", t.name, "' has no checksum, which rlmoe writes: the file is corrupt");
        continue;  // files from elsewhere carry no checksums
      }
      const std::uint32_t crc = crc32(file.data_.subspan(t.begin, t.end - t.begin));
      if (std::to_string(crc) != *expected)
        throw fail("tensor '", t.name, "' fails its CRC-32 check (", crc, " instead of ", *expected, "): the data is corrupt");
    }
    return file;
  }

  std::string path_;
  std::vector<TensorInfo> tensors_;
  std::span<const std::byte> data_;    ///< the data section, in owner_'s bytes
  std::shared_ptr<const void> owner_;  ///< the mapped file or the copied bytes
  std::vector<std::pair<std::string, std::string>> metadata_;
  // Positions by name: a Hugging Face checkpoint has tens of thousands of tensors.
  std::unordered_map<std::string, std::size_t> tensor_index_, metadata_index_;
};

}  // namespace rlmoe::io
