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

#include "io/hf_checks.hpp"
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
using t::DeepseekV3Tiny;
using t::OlmoeTiny;
using t::Qwen3MoeTiny;
using t::Qwen3Tiny;
using namespace rlmoe::test::hf_checks;  // NOLINT: the fixture checks

namespace {

/// Qwen3MoeTiny with two fields changed.
struct Qwen3MoeWrongHeadsAndTopK : Qwen3MoeTiny {
  static constexpr index_t kHeads = 8, kTopK = 3;
};

/// DeepseekV3Tiny with its latent rank, q bottleneck and groups changed.
struct DeepseekV3WrongLatent : DeepseekV3Tiny {
  static constexpr index_t kKvLoraRank = 8, kQLoraRank = 0, kGroups = 2, kTopkGroups = 1;
};


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

BOOST_AUTO_TEST_CASE(logits_equal_transformers_on_deepseek_v3) { check_logits_against_transformers<DeepseekV3Tiny>("deepseek_v3_tiny"); }

BOOST_AUTO_TEST_CASE(logits_equal_transformers_on_olmoe) { check_logits_against_transformers<OlmoeTiny>("olmoe_tiny"); }

BOOST_AUTO_TEST_CASE(deepseek_v3_selection_biases_are_loaded) {
  Model<DeepseekV3Tiny> model(Host{});
  hf::load_hf_checkpoint(model, fixture("deepseek_v3_tiny"));
  const auto checkpoint = hf::HfCheckpoint::open(fixture("deepseek_v3_tiny"));
  for (index_t l = 1; l < DeepseekV3Tiny::kLayers; ++l) {
    const auto want = checkpoint.read("model.layers." + std::to_string(l) + ".mlp.gate.e_score_correction_bias", {16});
    t::check_equal(t::as_double(rlmoe::to_host(Host{}, model.moe_layer(l).bias())), want, "e_score_correction_bias of layer " + std::to_string(l));
    BOOST_TEST(*std::max_element(want.begin(), want.end()) > 0.0, "the fixture's biases are not zero");
  }
}

BOOST_AUTO_TEST_CASE(decode_with_the_kv_cache_reproduces_the_logits) {
  check_decode_against_transformers<Qwen3MoeTiny>("qwen3_moe_tiny");
  check_decode_against_transformers<DeepseekV3Tiny>("deepseek_v3_tiny");  // over the latent cache
  check_decode_against_transformers<OlmoeTiny>("olmoe_tiny");
}

BOOST_AUTO_TEST_CASE(olmoe_export_writes_the_checkpoint_back_tensor_for_tensor) {
  Model<OlmoeTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "olmoe_tiny", dir.file("f32"));
  const auto config = hf::HfCheckpoint::open(dir.file("f32")).config();
  BOOST_TEST(config.at("model_type", "config").string("model_type") == "olmoe");
  BOOST_TEST(config.at("intermediate_size", "config").integer("intermediate_size") == 32, "OLMoE's experts are intermediate_size wide");
  BOOST_TEST(config.find("head_dim") == nullptr);
}

BOOST_AUTO_TEST_CASE(deepseek_v3_export_writes_the_checkpoint_back_tensor_for_tensor) {
  // The fixture's weights are bf16: an F32 export holds them exactly, so every tensor (the split
  // kv projections joined again, the rotary rows interleaved again, the biases) equals the original.
  Model<DeepseekV3Tiny> model(Host{});
  t::TemporaryDirectory dir;
  hf::SaveOptions options = export_fixture_as_f32(model, "deepseek_v3_tiny", dir.file("f32"));
  const auto exported = io::SafetensorsFile::read(dir.file("f32/model.safetensors"));
  BOOST_TEST((exported.tensor("model.layers.1.mlp.gate.e_score_correction_bias").dtype == io::Dtype::F32));
  const auto config = hf::HfCheckpoint::open(dir.file("f32")).config();
  BOOST_TEST(config.at("rope_interleave", "config").boolean("rope_interleave"));
  BOOST_TEST(config.at("model_type", "config").string("model_type") == "deepseek_v3");
  // In bf16 shards, loaded back: the same parameters and biases.
  options.dtype = io::Dtype::BF16;
  options.max_shard_bytes = 200'000;
  hf::save_hf_checkpoint(model, dir.file("bf16"), options);
  BOOST_TEST(fs::exists(dir.file("bf16/model.safetensors.index.json")));
  Model<DeepseekV3Tiny> again(Host{});
  hf::load_hf_checkpoint(again, dir.file("bf16"));
  t::check_equal(rlmoe::to_host(Host{}, std::as_const(again).parameters()), rlmoe::to_host(Host{}, std::as_const(model).parameters()),
                 "parameters after a sharded BF16 export");
  t::check_equal(rlmoe::to_host(Host{}, again.moe_layer(2).bias()), rlmoe::to_host(Host{}, model.moe_layer(2).bias()), "biases");
}

BOOST_AUTO_TEST_CASE(deepseek_v3_rotary_layout_is_what_the_logits_need) {
  // A checkpoint whose rope_interleave is false but whose rows are interleaved is another model:
  // the permutation on load is what makes the logits equal (see the logits test).
  t::TemporaryDirectory dir;
  for (const char* file : {"model.safetensors", "reference_logits.safetensors"})
    fs::copy_file(fixture("deepseek_v3_tiny") + "/" + file, dir.file(file));
  auto object = hf::HfCheckpoint::open(fixture("deepseek_v3_tiny")).config().object("config");
  for (auto& [k, v] : object)
    if (k == "rope_interleave") v = false;
  io::write_text_atomically(dir.file("config.json"), io::Json(object).dump(), "test");
  Model<DeepseekV3Tiny> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, dir.path.string());
  const auto [have, want] = logits_against_transformers(model, dir.path.string());
  BOOST_TEST(t::relative_error(have, want) > 1e-2, "without the permutation the logits differ: " << t::relative_error(have, want));
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
  const auto config = [](const std::string& patch) { return patched_config("qwen3_moe_tiny", patch); };
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<Qwen3MoeTiny>(config(patch), "c.json"); }, parts);
  };
  BOOST_TEST(refused(R"({"model_type": "llama"})", {"c.json", "\"llama\"", "rlmoe reads qwen3_moe, qwen3, olmoe, deepseek_v3"}));
  BOOST_TEST(refused(R"({"attention_bias": true})", {"\"attention_bias\"", "no biases"}));
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "longrope"}})", {"\"rope_type\"", "longrope"}));
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "yarn"}})", {"\"original_max_position_embeddings\"", "YaRN"}));
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0, "low_freq_factor": 1.0}})",
                     {"rope_parameters: \"low_freq_factor\"", "rope_type \"linear\""}));
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0}})",
                     {"rope scaling: config.json has {.type = rlmoe::layers::RopeType::Linear, .factor = 2.0}", "kRopeScaling = {} (unscaled)"}));
  BOOST_TEST(refused(R"({"layer_types": ["full_attention", "sliding_attention"]})", {"\"layer_types\"", "full_attention"}));
  BOOST_TEST(refused(R"({"qkv_bias": true})", {"\"qkv_bias\" is a field rlmoe does not know for qwen3_moe"}));
  BOOST_TEST(refused(R"({"mlp_only_layers": [1]})", {"\"mlp_only_layers\"", "[0, 1, ..., k - 1]"}));
  BOOST_TEST(refused(R"({"decoder_sparse_step": 2})", {"decoder_sparse_step (MoE layers interleaved): config.json has 2, the Spec has kMoeLayerStep = 1"}));
  BOOST_TEST(refused(R"({"decoder_sparse_step": 0})", {"\"decoder_sparse_step\"", ">= 1"}));
  BOOST_TEST(refused(R"({"hidden_act": "gelu"})", {"\"hidden_act\"", "silu"}));
  BOOST_TEST(refused(R"({"rms_norm_eps": 1e-5})", {"rms_norm_eps: config.json has 1e-05, the Spec has kNormEpsilon = 1e-06"}));
  BOOST_TEST(refused(R"({"max_position_embeddings": 100})", {"max_position_embeddings", "below the Spec's kMaxLength = 256"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::check_config<Qwen3MoeTiny>(config(R"({"hidden_size": "64"})"), "c.json"); },
                                             {"c.json: \"hidden_size\" must be an integer"}));
}

BOOST_AUTO_TEST_CASE(refuses_a_deepseek_v3_config_that_is_not_the_spec) {
  Model<DeepseekV3WrongLatent> model(Host{});
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::load_hf_checkpoint(model, fixture("deepseek_v3_tiny")); },
                                                {"kv_lora_rank: config.json has 16, the Spec has kKvLoraRank = 8",
                                                 "q_lora_rank: config.json has 32, the Spec has kQLoraRank = 0",
                                                 "n_group: config.json has 4, the Spec has kGroups = 2",
                                                 "topk_group: config.json has 2, the Spec has kTopkGroups = 1"}));
  Model<Qwen3MoeTiny> qwen(Host{});
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::load_hf_checkpoint(qwen, fixture("deepseek_v3_tiny")); },
                                                {"kv_lora_rank: config.json has 16, the Spec has kKvLoraRank = 0",
                                                 "scoring_func (sigmoid): config.json has 0, the Spec has kScoreFunction is Softmax = 1"}));
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<DeepseekV3Tiny>(patched_config("deepseek_v3_tiny", patch), "c.json"); },
                                              parts);
  };
  BOOST_TEST(refused(R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "yarn", "factor": 40, "original_max_position_embeddings": 64}})",
                     {"rope scaling: config.json has {.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 64"}));
  BOOST_TEST(refused(R"({"scoring_func": "softmax"})", {"\"scoring_func\"", "sigmoid"}));
  BOOST_TEST(refused(R"({"topk_method": "greedy"})", {"\"topk_method\"", "noaux_tc"}));
  BOOST_TEST(refused(R"({"num_key_value_heads": 1})", {"\"num_key_value_heads\"", "key per head"}));
  BOOST_TEST(refused(R"({"moe_layer_freq": 2})", {"\"moe_layer_freq\""}));
  BOOST_TEST(refused(R"({"first_k_dense_replace": 0})", {"first_k_dense_replace: config.json has 0, the Spec has kFirstMoeLayer = 1"}));
}

BOOST_AUTO_TEST_CASE(skips_deepseek_v3_multi_token_prediction_layers_and_nothing_else) {
  // DeepSeek-V3's checkpoints end in num_nextn_predict_layers extra layers, which rlmoe does not run.
  t::TemporaryDirectory dir;
  const auto file = io::SafetensorsFile::read(fixture("deepseek_v3_tiny") + "/model.safetensors");
  io::SafetensorsWriter writer;
  for (const auto& info : file.tensors()) add_float(writer, info.name, file.read_as_double(info.name, info.shape), info.shape);
  add_float(writer, "model.layers.3.eh_proj.weight", std::vector<double>(4, 0.5), {2, 2});
  add_float(writer, "model.layers.30.eh_proj.weight", std::vector<double>(4, 0.5), {2, 2});
  writer.write(dir.file("model.safetensors"));
  io::write_text_atomically(dir.file("config.json"), patched_config("deepseek_v3_tiny", R"({"num_nextn_predict_layers": 1})").dump(), "test");
  Model<DeepseekV3Tiny> model(Host{});
  BOOST_TEST(t::throws_with<io::FormatError>([&] { hf::load_hf_checkpoint(model, dir.path.string()); },
                                             {"(1 problem)", "unexpected \"model.layers.30.eh_proj.weight\""}));
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
  const auto deepseek = hf::HfCheckpoint::open(fixture("deepseek_v3_tiny"));
  const auto values = hf::architecture_of(deepseek.config(), deepseek.config_path());
  const std::string printed = hf::spec_source(values, "DeepseekV3Tiny", "the fixture");
  for (const char* line : {"kVocab = 1024, kModelDim = 64, kLayers = 3, kHeads = 4, kMaxLength = 256;",
                           "kKvLoraRank = 16, kQLoraRank = 32;", "kQkNopeHeadDim = 16, kQkRopeHeadDim = 8, kVHeadDim = 16;",
                           "kNormTopkProb = true;", "kDenseHidden = 96, kFirstMoeLayer = 1;",
                           "kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 1, kGroups = 4, kTopkGroups = 2;",
                           "kScoreFunction = rlmoe::moe::ScoreFunction::Sigmoid;", "kRoutedScaling = 2.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;"})
    BOOST_TEST(printed.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << printed);
  BOOST_TEST(printed.find("kKvHeads") == std::string::npos, "MLA has no kKvHeads");
  BOOST_TEST(hf::differences(values, hf::architecture_of<DeepseekV3Tiny>()).empty());
  const auto olmoe = hf::HfCheckpoint::open(fixture("olmoe_tiny"));
  const auto olmoe_values = hf::architecture_of(olmoe.config(), olmoe.config_path());
  const std::string olmoe_printed = hf::spec_source(olmoe_values, "OlmoeTiny", "the fixture");
  for (const char* line : {"kKvHeads = 2, kHeadDim = 16;", "kQkNorm = true, kNormTopkProb = false, kQkNormFullWidth = true;",
                           "kDenseHidden = 0, kFirstMoeLayer = 0;", "kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32,"})
    BOOST_TEST(olmoe_printed.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << olmoe_printed);
  BOOST_TEST(hf::differences(olmoe_values, hf::architecture_of<OlmoeTiny>()).empty());
  // A Qwen3-MoE Spec on the OLMoE checkpoint: the norm's span is named.
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<Qwen3MoeTiny>(olmoe.config(), "c.json"); },
                                                {"(q/k norm over whole rows: olmoe): config.json has 1, the Spec has kQkNormFullWidth = 0"}));
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<OlmoeTiny>(patched_config("olmoe_tiny", R"({"clip_qkv": 8.0})"), "c.json"); },
                                                {"\"clip_qkv\"", "clamp"}));
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
