// io/hf_*: Hugging Face checkpoints. The fixtures (tests/io/fixtures/hf, made by
// scripts/fixtures/make_hf_models.py with transformers) carry transformers' own logits, so these
// tests compare with transformers without Python; check_with_transformers.py also runs
// transformers on what rlmoe exports.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#include "io/hf_fixture_specs.hpp"
#include "io/io_files.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/io/hf_checkpoint.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "support/test_data.hpp"

namespace t = rlmoe::test;
namespace io = rlmoe::io;
namespace hf = rlmoe::io::hf;
namespace fs = std::filesystem;
using rlmoe::Host;
using rlmoe::index_t;
using t::Qwen3MoeTiny;
using t::Qwen3Tiny;

namespace {

/// Qwen3MoeTiny with two fields changed.
struct Qwen3MoeWrongHeadsAndTopK : Qwen3MoeTiny {
  static constexpr index_t kHeads = 8, kTopK = 3;
};

std::string fixture(const std::string& name) { return std::string(RLMOE_HF_FIXTURES) + "/" + name; }

template <class Spec, class T = float>
using Model = rlmoe::nn::Transformer<Host, Spec, T>;

/// transformers' logits of the fixture, and rlmoe's of the same batch, at the valid positions.
template <class Spec, class T>
std::pair<std::vector<double>, std::vector<double>> logits_against_transformers(Model<Spec, T>& model, const std::string& directory) {
  const auto reference = io::SafetensorsFile::read(directory + "/reference_logits.safetensors");
  const auto& shape = reference.tensor("tokens").shape;
  const index_t b = shape[0], length = shape[1], vocab = Spec::kVocab;
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(b * length)), lengths(static_cast<std::size_t>(b));
  reference.read_into<std::int32_t>("tokens", {b, length}, tokens);
  reference.read_into<std::int32_t>("lengths", {b}, lengths);
  const auto expected = reference.read_as_double("logits", {b, length, vocab});
  std::vector<rlmoe::compute_t<T>> got(static_cast<std::size_t>(b * length * vocab));
  model.logits(rlmoe::MatrixView<const std::int32_t>(tokens.data(), rlmoe::Extents<2>{b, length}),
               rlmoe::VectorView<const std::int32_t>(lengths.data(), rlmoe::Extents<1>{b}),
               rlmoe::MatrixView<rlmoe::compute_t<T>>(got.data(), rlmoe::Extents<2>{b * length, vocab}));
  std::vector<double> want, have;
  for (index_t s = 0; s < b; ++s)
    for (index_t p = 0; p < lengths[s]; ++p)
      for (index_t v = 0; v < vocab; ++v) {
        want.push_back(expected[static_cast<std::size_t>((s * length + p) * vocab + v)]);
        have.push_back(got[static_cast<std::size_t>((s * length + p) * vocab + v)]);
      }
  return {have, want};
}

template <class Spec>
void check_logits_against_transformers(const std::string& name) {
  Model<Spec> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture(name));
  const auto [have, want] = logits_against_transformers(model, fixture(name));
  BOOST_TEST_MESSAGE(name << ": logits vs transformers, relative error " << t::relative_error(have, want) << " (float32)");
  BOOST_TEST(t::relative_error(have, want) < 1e-4, name << ": float32 logits vs transformers, relative error " << t::relative_error(have, want));
  Model<Spec, double> exact(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(exact, fixture(name));
  const auto [have64, want64] = logits_against_transformers(exact, fixture(name));
  BOOST_TEST_MESSAGE(name << ": logits vs transformers, relative error " << t::relative_error(have64, want64) << " (float64)");
  BOOST_TEST(t::relative_error(have64, want64) < 1e-5, name << ": float64 logits vs transformers' float32, relative error "
                                                          << t::relative_error(have64, want64));
}

template <class Spec>
std::vector<float> parameters_of(const std::string& directory) {
  Model<Spec> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, directory);
  return rlmoe::to_host(Host{}, std::as_const(model).parameters());
}

/// A copy of the MoE fixture in `dir` whose model.safetensors holds `tensors` instead.
void write_variant(const t::TemporaryDirectory& dir, const std::function<void(io::SafetensorsWriter&, const std::string&, const std::vector<double>&,
                                                                        const std::vector<std::int64_t>&)>& each) {
  const std::string source = fixture("qwen3_moe_tiny");
  fs::copy_file(source + "/config.json", dir.file("config.json"));
  const auto file = io::SafetensorsFile::read(source + "/model.safetensors");
  io::SafetensorsWriter writer;
  for (const auto& info : file.tensors()) each(writer, info.name, file.read_as_double(info.name, info.shape), info.shape);
  writer.write(dir.file("model.safetensors"));
}

void add_float(io::SafetensorsWriter& w, const std::string& name, const std::vector<double>& values, const std::vector<std::int64_t>& shape) {
  const std::vector<float> f(values.begin(), values.end());
  w.add<float>(name, shape, f);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_hf)

BOOST_AUTO_TEST_CASE(logits_equal_transformers_on_qwen3_moe_and_qwen3) {
  check_logits_against_transformers<Qwen3MoeTiny>("qwen3_moe_tiny");
  check_logits_against_transformers<Qwen3Tiny>("qwen3_tiny");
}

BOOST_AUTO_TEST_CASE(decode_with_the_kv_cache_reproduces_the_logits) {
  Model<Qwen3MoeTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture("qwen3_moe_tiny"));
  const auto reference = io::SafetensorsFile::read(fixture("qwen3_moe_tiny") + "/reference_logits.safetensors");
  const index_t b = 3, length = 12, vocab = Qwen3MoeTiny::kVocab;
  std::vector<std::int32_t> tokens(b * length), lengths(b);
  reference.read_into<std::int32_t>("tokens", {b, length}, tokens);
  reference.read_into<std::int32_t>("lengths", {b}, lengths);
  const auto expected = reference.read_as_double("logits", {b, length, vocab});
  // Prefill one token of each sequence, then decode the rest of the shortest one token by token.
  const index_t steps = *std::min_element(lengths.begin(), lengths.end());
  Model<Qwen3MoeTiny>::DecodeState state(Host{}, b, length);
  std::vector<std::int32_t> first(b), ones(b, 1);
  for (index_t s = 0; s < b; ++s) first[s] = tokens[s * length];
  std::vector<float> logits(b * vocab);
  model.prefill(state, rlmoe::MatrixView<const std::int32_t>(first.data(), rlmoe::Extents<2>{b, 1}),
                rlmoe::VectorView<const std::int32_t>(ones.data(), rlmoe::Extents<1>{b}), rlmoe::MatrixView<float>(logits.data(), rlmoe::Extents<2>{b, vocab}));
  std::vector<double> have, want;
  for (index_t p = 0; p < steps; ++p) {
    if (p > 0) {
      std::vector<std::int32_t> next(b), positions(b, static_cast<std::int32_t>(p));
      for (index_t s = 0; s < b; ++s) next[s] = tokens[s * length + p];
      model.decode(state, rlmoe::VectorView<const std::int32_t>(next.data(), rlmoe::Extents<1>{b}),
                   rlmoe::VectorView<const std::int32_t>(positions.data(), rlmoe::Extents<1>{b}),
                   rlmoe::MatrixView<float>(logits.data(), rlmoe::Extents<2>{b, vocab}));
    }
    for (index_t s = 0; s < b; ++s)
      for (index_t v = 0; v < vocab; ++v) {
        have.push_back(logits[s * vocab + v]);
        want.push_back(expected[(s * length + p) * vocab + v]);
      }
  }
  BOOST_TEST(t::relative_error(have, want) < 1e-4, "decoded logits vs transformers, relative error " << t::relative_error(have, want));
}

BOOST_AUTO_TEST_CASE(export_then_load_gives_the_same_model) {
  const auto original = parameters_of<Qwen3MoeTiny>(fixture("qwen3_moe_tiny"));
  Model<Qwen3MoeTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture("qwen3_moe_tiny"));
  t::TemporaryDirectory dir;
  // One file, float32.
  hf::save_hf_checkpoint(model, dir.file("f32"));
  BOOST_TEST(fs::exists(dir.file("f32/model.safetensors")));
  t::check_equal(parameters_of<Qwen3MoeTiny>(dir.file("f32")), original, "parameters after an F32 export");
  // bfloat16 in shards of at most 100 kB, with an index; the fixture's weights are bf16 already.
  hf::SaveOptions options;
  options.dtype = io::Dtype::BF16;
  options.max_shard_bytes = 100'000;
  options.base_config = hf::HfCheckpoint::open(fixture("qwen3_moe_tiny")).config();
  hf::save_hf_checkpoint(model, dir.file("bf16"), options);
  BOOST_TEST(fs::exists(dir.file("bf16/model.safetensors.index.json")));
  BOOST_TEST(!fs::exists(dir.file("bf16/model.safetensors")));
  int shards = 0;
  for (const auto& entry : fs::directory_iterator(dir.file("bf16"))) {
    if (entry.path().extension() != ".safetensors") continue;
    ++shards;
    // At most max_shard_bytes of tensors (plus its header), unless one tensor is larger (the embedding).
    const bool single = io::SafetensorsFile::read(entry.path().string()).tensors().size() == 1;
    BOOST_TEST((single || fs::file_size(entry.path()) <= 100'000u + 20'000u), entry.path() << " is larger than a shard");
  }
  BOOST_TEST(shards >= 4, "about 450 kB of bf16 in shards of 100 kB");
  t::check_equal(parameters_of<Qwen3MoeTiny>(dir.file("bf16")), original, "parameters after a sharded BF16 export");
  const auto config = hf::HfCheckpoint::open(dir.file("bf16")).config();
  BOOST_TEST(config.at("eos_token_id", "config").integer("eos_token_id") == 1, "the base config's other fields are kept");
  // Tied embeddings: no lm_head in the file.
  Model<Qwen3Tiny> dense(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(dense, fixture("qwen3_tiny"));
  hf::save_hf_checkpoint(dense, dir.file("tied"));
  BOOST_TEST(!io::SafetensorsFile::read(dir.file("tied/model.safetensors")).find_metadata("crc32.lm_head.weight"));
  t::check_equal(parameters_of<Qwen3Tiny>(dir.file("tied")), parameters_of<Qwen3Tiny>(fixture("qwen3_tiny")), "tied model");
}

BOOST_AUTO_TEST_CASE(export_refuses_selection_biases_qwen3_cannot_hold) {
  Model<Qwen3MoeTiny> model(Host{});  // aux-loss-free balancing
  hf::load_hf_checkpoint(model, fixture("qwen3_moe_tiny"));
  rlmoe::fill(Host{}, model.moe_layers()[0].bias(), 0.25f);
  t::TemporaryDirectory dir;
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::save_hf_checkpoint(model, dir.file("out")); },
                                                {"MoE layer 0", "selection biases", "Balancing::None"}));
}

BOOST_AUTO_TEST_CASE(refuses_a_config_that_is_not_the_spec_naming_every_field) {
  Model<Qwen3MoeWrongHeadsAndTopK> model(Host{}, {rlmoe::moe::Balancing::None});
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::load_hf_checkpoint(model, fixture("qwen3_moe_tiny")); },
                                                {"config.json does not describe the compiled Spec",
                                                 "num_attention_heads: config.json has 4, the Spec has kHeads = 8",
                                                 "num_experts_per_tok: config.json has 2, the Spec has kTopK = 3"}));
  const auto config = [](const std::string& patch) {
    auto object = hf::HfCheckpoint::open(fixture("qwen3_moe_tiny")).config().object("config");
    const auto edit = io::Json::parse(patch);
    for (const auto& [key, value] : edit.object("patch")) {
      bool found = false;
      for (auto& [k, v] : object)
        if (k == key) v = value, found = true;
      if (!found) object.emplace_back(key, value);
    }
    return io::Json(object);
  };
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<Qwen3MoeTiny>(config(patch), "c.json"); }, parts);
  };
  BOOST_TEST(refused(R"({"model_type": "deepseek_v3"})", {"c.json", "deepseek_v3", "Multi-head Latent Attention"}));
  BOOST_TEST(refused(R"({"attention_bias": true})", {"\"attention_bias\"", "no biases"}));
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "yarn"}})", {"\"rope_type\"", "yarn"}));
  BOOST_TEST(refused(R"({"mlp_only_layers": [1]})", {"\"mlp_only_layers\"", "[0, 1, ..., k - 1]"}));
  BOOST_TEST(refused(R"({"decoder_sparse_step": 2})", {"\"decoder_sparse_step\""}));
  BOOST_TEST(refused(R"({"hidden_act": "gelu"})", {"\"hidden_act\"", "silu"}));
  BOOST_TEST(refused(R"({"rms_norm_eps": 1e-5})", {"rms_norm_eps: config.json has 1e-05, the Spec has kNormEpsilon = 1e-06"}));
  BOOST_TEST(refused(R"({"max_position_embeddings": 100})", {"max_position_embeddings", "below the Spec's kMaxLength = 256"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::check_config<Qwen3MoeTiny>(config(R"({"hidden_size": "64"})"), "c.json"); },
                                             {"c.json: \"hidden_size\" must be an integer"}));
}

BOOST_AUTO_TEST_CASE(refuses_missing_unexpected_misshaped_and_integer_tensors_all_at_once) {
  t::TemporaryDirectory dir;
  write_variant(dir, [](io::SafetensorsWriter& w, const std::string& name, const std::vector<double>& values, const std::vector<std::int64_t>& shape) {
    if (name == "model.layers.1.mlp.experts.3.up_proj.weight") return;  // missing
    if (name == "model.norm.weight") {
      add_float(w, "model.final_norm.weight", values, shape);  // unexpected (and model.norm.weight missing)
    } else if (name == "model.layers.0.self_attn.q_norm.weight") {
      add_float(w, name, std::vector<double>(values.begin(), values.end() - 1), {shape[0] - 1});  // mis-shaped
    } else if (name == "model.layers.1.mlp.gate.weight") {
      const std::vector<std::int32_t> ids(values.size(), 1);
      w.add<std::int32_t>(name, shape, ids);  // not a float
    } else {
      add_float(w, name, values, shape);
    }
  });
  Model<Qwen3MoeTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); },
                                             {"does not hold the compiled Spec's weights (5 problems)",
                                              "missing \"model.layers.1.mlp.experts.3.up_proj.weight\" [32, 64] (for rlmoe's layers.1.moe.experts.gate_up)",
                                              "missing \"model.norm.weight\"",
                                              "unexpected \"model.final_norm.weight\"",
                                              "\"model.layers.0.self_attn.q_norm.weight\" has shape [15] but [16] is expected",
                                              "\"model.layers.1.mlp.gate.weight\" has dtype I32"}));
}

BOOST_AUTO_TEST_CASE(refuses_an_index_that_does_not_match_its_shards) {
  Model<Qwen3MoeTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture("qwen3_moe_tiny"));
  t::TemporaryDirectory dir;
  hf::SaveOptions options;
  options.max_shard_bytes = 300'000;
  hf::save_hf_checkpoint(model, dir.path.string(), options);
  const std::string index = dir.file("model.safetensors.index.json");
  const auto original = t::read_bytes(index);
  const std::string text(reinterpret_cast<const char*>(original.data()), original.size());
  const std::string shard = io::Json::parse(text).at("weight_map", "index").at("model.norm.weight", "weight_map").string("shard");
  BOOST_TEST_REQUIRE(shard != "model-00001-of-00004.safetensors", "model.norm.weight comes last");
  // The index names a shard that does not hold the tensor, a shard that does not exist, a path outside.
  const auto place = [&](const std::string& where) {
    std::string edited = text;
    const std::string from = "\"model.norm.weight\":\"" + shard + "\"";
    edited.replace(edited.find(from), from.size(), "\"model.norm.weight\":\"" + where + "\"");
    io::write_text_atomically(index, edited, "test");
  };
  place("model-00001-of-00004.safetensors");
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); },
                                             {"places \"model.norm.weight\" in", "00001-of-00004", "which has no such tensor"}));
  place("model-00009-of-00009.safetensors");
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); }, {"model-00009-of-00009.safetensors"}));
  place("../model.safetensors");
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); }, {"not a file in the directory"}));
  fs::remove(index);
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); },
                                            {"neither model.safetensors nor model.safetensors.index.json"}));
}

BOOST_AUTO_TEST_CASE(prints_the_spec_a_config_describes) {
  const auto checkpoint = hf::HfCheckpoint::open(fixture("qwen3_moe_tiny"));
  const std::string source = hf::spec_source(hf::architecture_of(checkpoint.config(), checkpoint.config_path()), "Qwen3MoeTiny", "the fixture");
  // The struct above, line by line.
  for (const char* line : {"struct Qwen3MoeTiny {",
                           "kVocab = 1024, kModelDim = 64, kLayers = 2, kHeads = 4, kMaxLength = 256;",
                           "kKvHeads = 2, kHeadDim = 16;", "kQkNorm = true, kNormTopkProb = true;",
                           "kDenseHidden = 96, kFirstMoeLayer = 1;",
                           "kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32, kSharedExperts = 0, kGroups = 1, kTopkGroups = 1;",
                           "kScoreFunction = rlmoe::moe::ScoreFunction::Softmax;",
                           "kRoutedScaling = 1.0f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;", "kTiedEmbeddings = false;"})
    BOOST_TEST(source.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << source);
  BOOST_TEST(hf::differences(hf::architecture_of(checkpoint.config(), checkpoint.config_path()), hf::architecture_of<Qwen3MoeTiny>()).empty());
}

BOOST_AUTO_TEST_CASE(reads_float16_tensors_exactly) {
  t::TemporaryDirectory dir;
  io::SafetensorsWriter w;
  // 1, -2, the smallest subnormal 2^-24, the largest finite 65504, infinity, 0.1 rounded (0x2E66).
  const std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0x2E66};
  w.add("h", io::Dtype::F16, {6}, halves.data(), halves.size() * 2);
  w.write(dir.file("h.safetensors"));
  const auto got = io::SafetensorsFile::read(dir.file("h.safetensors")).read_as_double("h", {6});
  const std::vector<double> want = {1.0, -2.0, std::ldexp(1.0, -24), 65504.0, INFINITY, 0.0999755859375};
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
