// hf_spec: prints the rlmoe Spec that a Hugging Face config.json describes, to paste into a
// program instead of transcribing the fields by hand (Qwen3-MoE, Qwen3, DeepSeek-V3; others are refused,
// naming what rlmoe does not implement).
//
//   hf_spec <model directory | config.json> [--name StructName]
#include <rlmoe/io/hf_config.hpp>
#include <rlmoe/io/json.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "command_line.hpp"

int main(int argc, char** argv) {
  constexpr const char* kUsage = "usage: hf_spec <model directory | config.json> [--name StructName]\n";
  examples::CommandLine line(argc, argv, kUsage);
  std::string path, name = "ModelSpec";
  for (std::string_view flag; line.next(flag);) {
    if (flag == "--name") name = line.text(flag);
    else if (!flag.starts_with("--") && path.empty()) path = flag;
    else line.unknown(flag);
  }
  if (path.empty()) line.refuse("<model directory | config.json>", "", "a path");
  if (std::filesystem::is_directory(path)) path += "/config.json";
  try {
    const auto config = rlmoe::io::read_json_file(path);
    std::printf("%s", rlmoe::io::hf::spec_source(rlmoe::io::hf::architecture_of(config, path), name, path).c_str());
  } catch (const rlmoe::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
