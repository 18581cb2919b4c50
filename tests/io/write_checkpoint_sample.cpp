// Writes a checkpoint of a small MoE transformer and prints, as one JSON object, each tensor's
// shape and sum: tests/io/check_with_python_safetensors.py loads the file with the Python
// safetensors library and compares.
#include <cstdio>
#include <numeric>
#include <string>

#include "nn/tiny_specs.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/io/checkpoint.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.safetensors>\n", argv[0]);
    return 2;
  }
  rlmoe::nn::Transformer<rlmoe::Host, rlmoe::test::TinyMoeSpec> model(rlmoe::Host{});
  model.initialize(7);
  rlmoe::optim::AdamW<rlmoe::Host> adam(rlmoe::Host{}, model.parameters().size(), {});
  rlmoe::io::save_checkpoint(argv[1], rlmoe::Host{}, model, adam, {42, {{"note", "written by rlmoe"}}});
  const rlmoe::io::SafetensorsFile file = rlmoe::io::SafetensorsFile::read(argv[1]);
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
