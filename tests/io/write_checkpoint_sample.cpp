// The C++ side of tests/io/check_with_python_safetensors.py:
//   write_checkpoint_sample <out.safetensors>
//       writes a checkpoint of a small MoE transformer and prints, as one JSON object, each
//       tensor's shape and sum, for the Python safetensors library to load and compare;
//   write_checkpoint_sample --bf16 <out.safetensors>
//       writes F32 "inputs" (floats around every bf16 rounding boundary, NaNs and infinities
//       included) and BF16 "rounded", rlmoe's rounding of them, for ml_dtypes to compare;
//   write_checkpoint_sample --check-bf16 <in.safetensors>
//       reads "inputs" and "rounded" written by Python (ml_dtypes' rounding) and exits 1 when
//       rlmoe's rounding differs anywhere.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "nn/tiny_specs.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/core/bfloat16.hpp"
#include "rlmoe/io/checkpoint.hpp"

namespace {

int write_checkpoint(const std::string& path) {
  rlmoe::nn::Transformer<rlmoe::Host, rlmoe::test::TinyMoeSpec> model(rlmoe::Host{});
  model.initialize(7);
  rlmoe::optim::AdamW<rlmoe::Host> adam(rlmoe::Host{}, model.parameters().size(), {});
  rlmoe::io::save_checkpoint(path, rlmoe::Host{}, model, adam, {42, {{"note", "written by rlmoe"}}});
  const rlmoe::io::SafetensorsFile file = rlmoe::io::SafetensorsFile::read(path);
  rlmoe::io::Json::Object summary;
  for (const auto& t : file.tensors()) {
    std::vector<float> values(static_cast<std::size_t>(t.elements()));
    file.read_into<float>(t.name, t.shape, std::span<float>(values));
    rlmoe::io::Json::Array shape;
    for (auto e : t.shape) shape.emplace_back(static_cast<std::int64_t>(e));
    summary.emplace_back(t.name, rlmoe::io::Json(rlmoe::io::Json::Object{
                                     {"shape", rlmoe::io::Json(std::move(shape))},
                                     {"sum", rlmoe::io::Json(std::accumulate(values.begin(), values.end(), 0.0))}}));
  }
  std::puts(rlmoe::io::Json(std::move(summary)).dump().c_str());
  return 0;
}

/// Every upper half of a float with low halves just below, at and just above the halfway point.
std::vector<float> rounding_inputs() {
  std::vector<float> inputs;
  for (std::uint32_t upper = 0; upper <= 0xFFFFu; ++upper)
    for (std::uint32_t lower : {0x0000u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu}) {
      const std::uint32_t u = upper << 16 | lower;
      float f;
      std::memcpy(&f, &u, sizeof f);
      inputs.push_back(f);
    }
  return inputs;
}

int write_bf16(const std::string& path) {
  const std::vector<float> inputs = rounding_inputs();
  const std::vector<rlmoe::bfloat16> rounded(inputs.begin(), inputs.end());
  rlmoe::io::SafetensorsWriter writer;
  writer.add<float>("inputs", {static_cast<std::int64_t>(inputs.size())}, inputs);
  writer.add<rlmoe::bfloat16>("rounded", {static_cast<std::int64_t>(rounded.size())}, rounded);
  writer.write(path);
  return 0;
}

int check_bf16(const std::string& path) {
  const rlmoe::io::SafetensorsFile file = rlmoe::io::SafetensorsFile::read(path);
  const auto& info = file.tensor("inputs");
  std::vector<float> inputs(static_cast<std::size_t>(info.elements()));
  std::vector<rlmoe::bfloat16> theirs(inputs.size());
  file.read_into<float>("inputs", info.shape, std::span<float>(inputs));
  file.read_into<rlmoe::bfloat16>("rounded", info.shape, std::span<rlmoe::bfloat16>(theirs));
  std::size_t differences = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const rlmoe::bfloat16 ours(inputs[i]);
    const bool same = std::isnan(inputs[i]) ? std::isnan(float(theirs[i])) && std::isnan(float(ours)) : ours.bits == theirs[i].bits;
    if (!same && differences++ < 10)
      std::printf("  %.9g: rlmoe 0x%04x, Python 0x%04x\n", static_cast<double>(inputs[i]), ours.bits, theirs[i].bits);
  }
  std::printf("%zu of %zu bf16 roundings by Python differ from rlmoe's\n", differences, inputs.size());
  return differences == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1) return write_checkpoint(args[0]);
  if (args.size() == 2 && args[0] == "--bf16") return write_bf16(args[1]);
  if (args.size() == 2 && args[0] == "--check-bf16") return check_bf16(args[1]);
  std::fprintf(stderr, "usage: %s <out.safetensors> | --bf16 <out.safetensors> | --check-bf16 <in.safetensors>\n", argv[0]);
  return 2;
}
