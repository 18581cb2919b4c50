// libFuzzer target: the safetensors reader. Any input is either a valid file, whose every tensor
// then reads into a buffer of its size (and, floating-point ones, as doubles), or refused with
// FormatError; with checksums required or not.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlmoe/io/safetensors.hpp"

namespace {

/// Reads tensor t as T (the dtype the file says it has) into a buffer of its size.
template <class T>
void read_as(const rlmoe::io::SafetensorsFile& file, const rlmoe::io::TensorInfo& t) {
  std::vector<T> out((t.end - t.begin) / sizeof(T));
  file.read_into<T>(t.name, t.shape, std::span<T>(out));
}

void read_all(const rlmoe::io::SafetensorsFile& file) {
  using rlmoe::io::Dtype;
  for (const auto& t : file.tensors()) {
    switch (t.dtype) {
      case Dtype::F32: read_as<float>(file, t); break;
      case Dtype::F64: read_as<double>(file, t); break;
      case Dtype::BF16: read_as<rlmoe::bfloat16>(file, t); break;
      case Dtype::F16: break;  // no C++ type: read as doubles below
      case Dtype::I32: read_as<std::int32_t>(file, t); break;
      case Dtype::I64: read_as<std::int64_t>(file, t); break;
      case Dtype::U8: read_as<std::uint8_t>(file, t); break;
    }
    if (t.dtype == Dtype::F32 || t.dtype == Dtype::F64 || t.dtype == Dtype::BF16 || t.dtype == Dtype::F16)
      (void)file.read_as_double(t.name, t.shape);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (auto checksums : {rlmoe::io::Checksums::WhenPresent, rlmoe::io::Checksums::Required}) {
    try {
      read_all(rlmoe::io::SafetensorsFile::parse("fuzz", bytes, checksums));
    } catch (const rlmoe::io::FormatError&) {
    }
  }
  return 0;
}
