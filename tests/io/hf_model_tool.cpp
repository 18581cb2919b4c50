// For check_with_transformers.py: rlmoe's side of the comparison with transformers, on models of
// the Specs of tests/io/fixtures/hf (io/hf_fixture_specs.hpp; examples/04_hf_grpo's are among
// them): the first Spec of FixtureSpecs that the directory's config.json describes.
//   hf_model_tool logits <model dir> <tokens.json>     tokens.json: {"tokens": [[...], ...], "lengths": [...]}
//       prints [[[logit per vocabulary entry] per valid position] per sequence]
//   hf_model_tool export <model dir> <out dir> [bf16] [<max shard bytes>]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "io/hf_fixture_specs.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/io/hf_checkpoint.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/nn/transformer.hpp"

namespace {

namespace t = rlmoe::test;
using FixtureSpecs = std::tuple<t::Qwen3MoeTiny, t::Qwen3Tiny, t::OlmoeTiny, t::DeepseekV3Tiny, t::DeepseekV3YarnTiny, t::MixtralTiny,
                                t::DeepseekV2Tiny, t::Qwen3MoeInterleavedTiny,
                                t::Llama4Tiny>;

template <class Spec>
int logits(const std::string& directory, const std::string& tokens_path) {
  rlmoe::nn::Transformer<rlmoe::Host, Spec> model(rlmoe::Host{}, {rlmoe::moe::Balancing::None});
  rlmoe::io::hf::load_hf_checkpoint(model, directory);
  std::ifstream in(tokens_path);
  std::stringstream text;
  text << in.rdbuf();
  const auto request = rlmoe::io::Json::parse(text.str());
  const auto& rows = request.at("tokens", "request").array("tokens");
  const auto& lengths_json = request.at("lengths", "request").array("lengths");
  const rlmoe::index_t b = static_cast<rlmoe::index_t>(rows.size()), length = static_cast<rlmoe::index_t>(rows.at(0).array("row").size());
  std::vector<std::int32_t> tokens, lengths;
  for (const auto& row : rows)
    for (const auto& t : row.array("row")) tokens.push_back(static_cast<std::int32_t>(t.integer("token")));
  for (const auto& l : lengths_json) lengths.push_back(static_cast<std::int32_t>(l.integer("length")));
  std::vector<float> out(static_cast<std::size_t>(b * length * Spec::kVocab));
  model.logits(rlmoe::MatrixView<const std::int32_t>(tokens.data(), rlmoe::Extents<2>{b, length}),
               rlmoe::VectorView<const std::int32_t>(lengths.data(), rlmoe::Extents<1>{b}),
               rlmoe::MatrixView<float>(out.data(), rlmoe::Extents<2>{b * length, Spec::kVocab}));
  rlmoe::io::Json::Array sequences;
  for (rlmoe::index_t s = 0; s < b; ++s) {
    rlmoe::io::Json::Array positions;
    for (rlmoe::index_t p = 0; p < lengths[static_cast<std::size_t>(s)]; ++p) {
      rlmoe::io::Json::Array row;
      for (rlmoe::index_t v = 0; v < Spec::kVocab; ++v) row.emplace_back(static_cast<double>(out[static_cast<std::size_t>((s * length + p) * Spec::kVocab + v)]));
      positions.emplace_back(std::move(row));
    }
    sequences.emplace_back(std::move(positions));
  }
  std::printf("%s\n", rlmoe::io::Json(std::move(sequences)).dump().c_str());
  return 0;
}

template <class Spec>
int export_model(const std::string& directory, const std::string& out, bool bf16, long long shard_bytes) {
  rlmoe::nn::Transformer<rlmoe::Host, Spec> model(rlmoe::Host{}, {rlmoe::moe::Balancing::None});
  rlmoe::io::hf::load_hf_checkpoint(model, directory);
  rlmoe::io::hf::SaveOptions options;
  if (bf16) options.dtype = rlmoe::io::Dtype::BF16;
  if (shard_bytes > 0) options.max_shard_bytes = shard_bytes;
  options.base_config = rlmoe::io::hf::HfCheckpoint::open(directory).config();
  rlmoe::io::hf::save_hf_checkpoint(model, out, options);
  return 0;
}

template <class Spec>
int command(int argc, char** argv) {
  const std::string name = argv[1];
  if (name == "logits" && argc == 4) return logits<Spec>(argv[2], argv[3]);
  if (name == "export" && argc >= 4)
    return export_model<Spec>(argv[2], argv[3], argc > 4 && std::string(argv[4]) == "bf16", argc > 5 ? std::atoll(argv[5]) : 0);
  std::fprintf(stderr, "usage: hf_model_tool logits <dir> <tokens.json> | export <dir> <out> [bf16|f32] [<max shard bytes>]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 3) return command<rlmoe::test::Qwen3MoeTiny>(argc, argv);  // the usage
    const std::string config = std::string(argv[2]) + "/config.json";
    const auto values = rlmoe::io::hf::architecture_of(rlmoe::io::read_json_file(config), config);
    int status = 2;
    const bool found = std::apply(
        [&](auto... spec) {
          return ((rlmoe::io::hf::differences(values, rlmoe::io::hf::architecture_of<decltype(spec)>()).empty() &&
                   (status = command<decltype(spec)>(argc, argv), true)) ||
                  ...);
        },
        FixtureSpecs{});
    if (!found) std::fprintf(stderr, "hf_model_tool: %s describes none of the fixtures' Specs\n", config.c_str());
    return found ? status : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hf_model_tool: %s\n", e.what());
    return 1;
  }
}
