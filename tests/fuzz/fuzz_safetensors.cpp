// libFuzzer target: the safetensors reader. Any input is either a valid file, whose every tensor
// then reads into a buffer of its size, or refused with FormatError; with checksums required or
// not.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "rlmoe/io/safetensors.hpp"

namespace {

void read_all(const rlmoe::io::SafetensorsFile& file) {
  for (const auto& t : file.tensors()) {
    std::vector<std::byte> out(t.end - t.begin);
    switch (t.dtype) {
      case rlmoe::io::Dtype::F32:
        file.read_into<float>(t.name, t.shape, std::span<float>(reinterpret_cast<float*>(out.data()), out.size() / 4));
        break;
      case rlmoe::io::Dtype::F64:
        file.read_into<double>(t.name, t.shape, std::span<double>(reinterpret_cast<double*>(out.data()), out.size() / 8));
        break;
      case rlmoe::io::Dtype::BF16:
        file.read_into<rlmoe::bfloat16>(t.name, t.shape,
                                        std::span<rlmoe::bfloat16>(reinterpret_cast<rlmoe::bfloat16*>(out.data()), out.size() / 2));
        break;
      case rlmoe::io::Dtype::I32:
        file.read_into<std::int32_t>(t.name, t.shape,
                                     std::span<std::int32_t>(reinterpret_cast<std::int32_t*>(out.data()), out.size() / 4));
        break;
      case rlmoe::io::Dtype::I64:
        file.read_into<std::int64_t>(t.name, t.shape,
                                     std::span<std::int64_t>(reinterpret_cast<std::int64_t*>(out.data()), out.size() / 8));
        break;
      case rlmoe::io::Dtype::U8:
        file.read_into<std::uint8_t>(t.name, t.shape, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
        break;
    }
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
