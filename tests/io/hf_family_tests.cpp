// io/families/*: each model family against transformers, on fixtures that transformers made
// (scripts/fixtures/make_hf_models.py), and scaled rotary embeddings against transformers' own
// frequency tables.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/hf_checks.hpp"
#include "io/hf_fixture_specs.hpp"
#include "io/io_files.hpp"
#include "rlmoe/backend/host.hpp"
#include "rlmoe/backend/parallel_for.hpp"
#include "rlmoe/io/hf_checkpoint.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/layers/rope.hpp"
#include "support/test_data.hpp"

namespace t = rlmoe::test;
namespace io = rlmoe::io;
namespace hf = rlmoe::io::hf;
namespace layers = rlmoe::layers;
using rlmoe::Host;
using rlmoe::index_t;
using namespace rlmoe::test::hf_checks;  // NOLINT: the fixture checks

namespace {

/// The float32 logits bound every new family meets on its fixture (prefill and decode).
constexpr double kLogitsBound = 2e-6;

/// The scalings of rotary_tables.safetensors, as make_hf_models.py gives them to transformers
/// (rope_theta 500, a 16-wide rotation).
std::vector<std::pair<std::string, layers::RopeScaling>> rotary_kinds() {
  using layers::RopeType;
  return {{"linear", {.type = RopeType::Linear, .factor = 4.0}},
          {"llama3", {.type = RopeType::Llama3, .factor = 8.0, .original_max_position = 20, .low_freq_factor = 1.0, .high_freq_factor = 4.0}},
          {"yarn", {.type = RopeType::Yarn, .factor = 4.0, .original_max_position = 20}},
          {"yarn_mscale", {.type = RopeType::Yarn, .factor = 40.0, .original_max_position = 20, .beta_fast = 16.0, .beta_slow = 2.0,
                           .mscale = 0.8, .mscale_all_dim = 1.0}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_hf_families)

BOOST_AUTO_TEST_CASE(rotary_scaling_equals_transformers_tables) {
  const auto tables = io::SafetensorsFile::read(std::string(RLMOE_HF_FIXTURES) + "/../rope/rotary_tables.safetensors");
  const index_t dim = 16, positions = 80;
  for (const auto& [name, scaling] : rotary_kinds()) {
    const auto frequencies = layers::RotaryFrequencies::of(500.0, dim, scaling);
    // The inverse frequencies (transformers computes them in float32) and the attention factor.
    const auto inv_freq = tables.read_as_double(name + ".inv_freq", {dim / 2});
    std::vector<double> ours;
    for (index_t j = 0; j < dim / 2; ++j) ours.push_back(frequencies(j, dim));
    BOOST_TEST(t::relative_error(ours, inv_freq) < 1e-6, name << ": inverse frequencies, relative error " << t::relative_error(ours, inv_freq));
    const double factor = tables.read_as_double(name + ".attention_factor", {1})[0];
    BOOST_TEST(std::abs(frequencies.attention_factor - factor) < 1e-12, name << ": attention factor " << frequencies.attention_factor << " vs " << factor);
    // cos and sin through the kernel itself: rotating the unit vector e_j gives (cos, sin) scaled.
    std::vector<double> x(static_cast<std::size_t>(positions * dim * (dim / 2)), 0.0);
    std::vector<std::int32_t> at;
    for (index_t p = 0; p < positions; ++p)
      for (index_t j = 0; j < dim / 2; ++j) {
        x[static_cast<std::size_t>((p * (dim / 2) + j) * dim + j)] = 1.0;
        at.push_back(static_cast<std::int32_t>(p));
      }
    const index_t rows = positions * (dim / 2);
    const layers::RotaryEmbedding<double> rotate{rlmoe::MatrixView<double>(x.data(), rlmoe::Extents<2>{rows, dim}),
                                                 rlmoe::VectorView<const std::int32_t>(at.data(), rlmoe::Extents<1>{rows}), dim, frequencies,
                                                 false};
    rlmoe::parallel_for(Host{}, rotate.pairs(), rotate);
    const auto cos = tables.read_as_double(name + ".cos", {positions, dim}), sin = tables.read_as_double(name + ".sin", {positions, dim});
    double worst = 0.0;
    for (index_t p = 0; p < positions; ++p)
      for (index_t j = 0; j < dim / 2; ++j) {
        const std::size_t row = static_cast<std::size_t>((p * (dim / 2) + j) * dim);
        worst = std::max({worst, std::abs(x[row + j] - cos[p * dim + j]), std::abs(x[row + j + dim / 2] - sin[p * dim + j]),
                          std::abs(cos[p * dim + j] - cos[p * dim + j + dim / 2])});  // transformers repeats the halves
      }
    BOOST_TEST_MESSAGE(name << ": cos/sin over positions 0.." << positions - 1 << " vs transformers, largest difference " << worst);
    BOOST_TEST(worst < 1e-5, name << ": cos/sin vs transformers' float32 tables, largest difference " << worst);
  }
}

BOOST_AUTO_TEST_CASE(deepseek_v3_with_yarn_equals_transformers_past_the_original_context) {
  // 40 tokens against an original context of 16: prefill, then decode token by token.
  check_logits_against_transformers<t::DeepseekV3YarnTiny>("deepseek_v3_yarn_tiny", kLogitsBound);
  check_decode_against_transformers<t::DeepseekV3YarnTiny>("deepseek_v3_yarn_tiny", kLogitsBound);
  // Unscaled, the same weights compute other logits: the scaling is what makes them equal.
  Model<t::DeepseekV3Tiny> unscaled_spec(Host{}, {rlmoe::moe::Balancing::None});
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::load_hf_checkpoint(unscaled_spec, fixture("deepseek_v3_yarn_tiny")); },
                                                {"rope scaling: config.json has {.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0, "
                                                 ".original_max_position = 16, .beta_fast = 32.0, .beta_slow = 1.0, .mscale = 1.0, "
                                                 ".mscale_all_dim = 1.0}, the Spec has kRopeScaling = {} (unscaled)"}));
}

BOOST_AUTO_TEST_CASE(deepseek_v3_with_yarn_exports_its_scaling) {
  Model<t::DeepseekV3YarnTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "deepseek_v3_yarn_tiny", dir.file("f32"));
  const auto exported = hf::HfCheckpoint::open(dir.file("f32"));
  const auto values = hf::architecture_of(exported.config(), exported.config_path());
  BOOST_TEST((values.rope_scaling == rlmoe::nn::rope_scaling_v<t::DeepseekV3YarnTiny>));
  BOOST_TEST(hf::differences(values, hf::architecture_of<t::DeepseekV3YarnTiny>()).empty());
  // Without a base config: rope_parameters written from the Spec alone.
  const auto bare = hf::config_json<t::DeepseekV3YarnTiny>();
  const auto& p = bare.at("rope_parameters", "config");
  BOOST_TEST(p.at("rope_type", "p").string("rope_type") == "yarn");
  BOOST_TEST(p.at("factor", "p").number("factor") == 40.0);
  BOOST_TEST(p.at("original_max_position_embeddings", "p").integer("o") == 16);
  BOOST_TEST(p.at("mscale_all_dim", "p").number("m") == 1.0);
  BOOST_TEST(bare.find("rope_theta") == nullptr, "rope_theta goes inside rope_parameters");
  // The printed Spec declares the scaling.
  const std::string printed = hf::spec_source(values, "DeepseekV3YarnTiny", "the fixture");
  BOOST_TEST(printed.find("static constexpr rlmoe::layers::RopeScaling kRopeScaling{.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0") !=
                 std::string::npos,
             printed);
}

BOOST_AUTO_TEST_CASE(mixtral_equals_transformers) {
  check_logits_against_transformers<t::MixtralTiny>("mixtral_tiny", kLogitsBound);
  check_decode_against_transformers<t::MixtralTiny>("mixtral_tiny", kLogitsBound);
}

BOOST_AUTO_TEST_CASE(mixtral_export_writes_the_checkpoint_back_tensor_for_tensor) {
  Model<t::MixtralTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "mixtral_tiny", dir.file("f32"));
  const auto config = hf::HfCheckpoint::open(dir.file("f32")).config();
  BOOST_TEST(config.at("model_type", "config").string("model_type") == "mixtral");
  // Without a base config, a Spec without q/k norms whose every layer is MoE is written as Mixtral.
  BOOST_TEST(hf::config_json<t::MixtralTiny>().at("model_type", "config").string("model_type") == "mixtral");
  const auto checkpoint = hf::HfCheckpoint::open(fixture("mixtral_tiny"));
  const auto values = hf::architecture_of(checkpoint.config(), checkpoint.config_path());
  BOOST_TEST(hf::differences(values, hf::architecture_of<t::MixtralTiny>()).empty());
  const std::string printed = hf::spec_source(values, "MixtralTiny", "the fixture");
  for (const char* line : {"kKvHeads = 2, kHeadDim = 16;", "kQkNorm = false, kNormTopkProb = true;", "kDenseHidden = 0, kFirstMoeLayer = 0;",
                           "kRoutedExperts = 8, kTopK = 2, kExpertHidden = 32,", "kRopeBase = 1e+06f, kNormEpsilon = 1e-05f;"})
    BOOST_TEST(printed.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << printed);
}

BOOST_AUTO_TEST_CASE(mixtral_refuses_what_it_cannot_run) {
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<t::MixtralTiny>(patched_config("mixtral_tiny", patch), "c.json"); }, parts);
  };
  BOOST_TEST(refused(R"({"sliding_window": 4096})", {"\"sliding_window\"", "whole sequence"}));
  BOOST_TEST(refused(R"({"router_jitter_noise": 0.01})", {"\"router_jitter_noise\""}));
  BOOST_TEST(refused(R"({"num_local_experts": 4})", {"num_local_experts: config.json has 4, the Spec has kRoutedExperts = 8"}));
  BOOST_TEST(refused(R"({"qk_layernorm": true})", {"\"qk_layernorm\" is a field rlmoe does not know for mixtral"}));
}

BOOST_AUTO_TEST_CASE(deepseek_v2_equals_transformers) {
  // Softmax routing, groups ranked by their best expert, raw gates, YaRN with mscale 0.707 over an
  // original context of 16, q_lora_rank null: 40 tokens, prefill and decode.
  check_logits_against_transformers<t::DeepseekV2Tiny>("deepseek_v2_tiny", kLogitsBound);
  check_decode_against_transformers<t::DeepseekV2Tiny>("deepseek_v2_tiny", kLogitsBound);
}

BOOST_AUTO_TEST_CASE(deepseek_v2_export_writes_the_checkpoint_back_tensor_for_tensor) {
  Model<t::DeepseekV2Tiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "deepseek_v2_tiny", dir.file("f32"));
  const auto exported = hf::HfCheckpoint::open(dir.file("f32"));
  BOOST_TEST(exported.config().at("model_type", "config").string("model_type") == "deepseek_v2");
  BOOST_TEST(exported.config().find("rope_interleave") == nullptr, "rope_interleave is not a DeepSeek-V2 field");
  BOOST_TEST(hf::differences(hf::architecture_of(exported.config(), exported.config_path()), hf::architecture_of<t::DeepseekV2Tiny>()).empty());
  // Without a base config: softmax latent attention is DeepSeek-V2, its groups group_limited_greedy.
  const auto bare = hf::config_json<t::DeepseekV2Tiny>();
  BOOST_TEST(bare.at("model_type", "config").string("model_type") == "deepseek_v2");
  BOOST_TEST(bare.at("topk_method", "config").string("topk_method") == "group_limited_greedy");
  BOOST_TEST(bare.at("scoring_func", "config").string("scoring_func") == "softmax");
  const auto checkpoint = hf::HfCheckpoint::open(fixture("deepseek_v2_tiny"));
  const auto values = hf::architecture_of(checkpoint.config(), checkpoint.config_path());
  BOOST_TEST(hf::differences(values, hf::architecture_of<t::DeepseekV2Tiny>()).empty());
  const std::string printed = hf::spec_source(values, "DeepseekV2Tiny", "the fixture");
  for (const char* line : {"kKvLoraRank = 16, kQLoraRank = 0;", "ScoreFunction::Softmax;",
                           "static constexpr rlmoe::moe::GroupScore kGroupScore = rlmoe::moe::GroupScore::Max;",
                           "kRoutedExperts = 16, kTopK = 2, kExpertHidden = 32, kSharedExperts = 2, kGroups = 4, kTopkGroups = 2;"})
    BOOST_TEST(printed.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << printed);
}

BOOST_AUTO_TEST_CASE(deepseek_v2_refuses_what_it_cannot_run) {
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<t::DeepseekV2Tiny>(patched_config("deepseek_v2_tiny", patch), "c.json"); },
                                              parts);
  };
  BOOST_TEST(refused(R"({"norm_topk_prob": true})", {"\"norm_topk_prob\"", "never renormalises"}));
  BOOST_TEST(refused(R"({"topk_method": "noaux_tc"})", {"\"topk_method\"", "\"greedy\" or \"group_limited_greedy\""}));
  BOOST_TEST(refused(R"({"scoring_func": "sigmoid"})", {"\"scoring_func\"", "softmax"}));
  BOOST_TEST(refused(R"({"rope_interleave": false})", {"\"rope_interleave\"", "neighbouring"}));
  BOOST_TEST(refused(R"({"mlp_bias": true})", {"\"mlp_bias\""}));
  BOOST_TEST(refused(R"({"n_group": 3})", {"\"n_group\"", "divide"}));
  // greedy ignores the groups: the Spec's 4 groups of 2 then differ from the config's.
  BOOST_TEST(refused(R"({"topk_method": "greedy"})", {"kGroups = 4"}));
}

BOOST_AUTO_TEST_CASE(qwen3_moe_with_interleaved_moe_layers_equals_transformers) {
  // decoder_sparse_step 2 after one dense layer: dense, MoE, dense, MoE, dense.
  check_logits_against_transformers<t::Qwen3MoeInterleavedTiny>("qwen3_moe_interleaved_tiny", kLogitsBound);
  check_decode_against_transformers<t::Qwen3MoeInterleavedTiny>("qwen3_moe_interleaved_tiny", kLogitsBound);
  Model<t::Qwen3MoeInterleavedTiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "qwen3_moe_interleaved_tiny", dir.file("f32"));
  const auto exported = hf::HfCheckpoint::open(dir.file("f32"));
  BOOST_TEST(exported.config().at("decoder_sparse_step", "config").integer("decoder_sparse_step") == 2);
  const auto values = hf::architecture_of(exported.config(), exported.config_path());
  BOOST_TEST(hf::differences(values, hf::architecture_of<t::Qwen3MoeInterleavedTiny>()).empty());
  BOOST_TEST(hf::config_json<t::Qwen3MoeInterleavedTiny>().at("decoder_sparse_step", "config").integer("d") == 2);
  const std::string printed = hf::spec_source(values, "Interleaved", "the fixture");
  BOOST_TEST(printed.find("static constexpr rlmoe::index_t kMoeLayerStep = 2;") != std::string::npos, printed);
  // A Spec whose MoE layers follow one another is not this model, and the message says why.
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>(
      [&] { hf::check_config<t::Qwen3MoeTiny>(patched_config("qwen3_moe_interleaved_tiny", R"({"num_hidden_layers": 2})"), "c.json"); },
      {"decoder_sparse_step (MoE layers interleaved): config.json has 2, the Spec has kMoeLayerStep = 1"}));
}

BOOST_AUTO_TEST_CASE(llama4_equals_transformers) {
  // 40 tokens: five chunks of 8 on the rotary layers, the temperature stepping at positions 7, 15,
  // ... on the fourth, past the original context of 16; prefill, then decode token by token.
  check_logits_against_transformers<t::Llama4Tiny>("llama4_tiny", kLogitsBound);
  check_decode_against_transformers<t::Llama4Tiny>("llama4_tiny", kLogitsBound);
}

BOOST_AUTO_TEST_CASE(llama4_export_writes_the_checkpoint_back_tensor_for_tensor) {
  Model<t::Llama4Tiny> model(Host{}, {rlmoe::moe::Balancing::None});
  t::TemporaryDirectory dir;
  export_fixture_as_f32(model, "llama4_tiny", dir.file("f32"));
  const auto exported = hf::HfCheckpoint::open(dir.file("f32"));
  BOOST_TEST(exported.config().at("model_type", "config").string("model_type") == "llama4_text");
  BOOST_TEST(hf::differences(hf::architecture_of(exported.config(), exported.config_path()), hf::architecture_of<t::Llama4Tiny>()).empty());
  // Without a base config, such a Spec is written as Llama 4 with every list transformers reads.
  const auto bare = hf::config_json<t::Llama4Tiny>();
  BOOST_TEST(bare.at("model_type", "config").string("model_type") == "llama4_text");
  BOOST_TEST(hf::differences(hf::architecture_of(bare, "bare"), hf::architecture_of<t::Llama4Tiny>()).empty());
  const auto checkpoint = hf::HfCheckpoint::open(fixture("llama4_tiny"));
  const std::string printed = hf::spec_source(hf::architecture_of(checkpoint.config(), checkpoint.config_path()), "Llama4Tiny", "the fixture");
  for (const char* line : {"kDenseHidden = 96, kFirstMoeLayer = 0;", "kMoeLayerStep = 2;", "kGatePlacement = rlmoe::moe::GatePlacement::Input;",
                           "kNoRopeInterval = 4;", "kAttentionTemperature{.floor_scale = 8.0, .scale = 0.1};", "kQkWeightlessNorm = true;",
                           "kAttentionChunk = 8;", "kRoutedExperts = 8, kTopK = 1, kExpertHidden = 32, kSharedExperts = 1,"})
    BOOST_TEST(printed.find(line) != std::string::npos, "the printed Spec lacks \"" << line << "\":\n" << printed);
}

BOOST_AUTO_TEST_CASE(llama4_multimodal_checkpoints_load_their_text_model) {
  // model_type llama4, as Scout and Maverick are published: text_config, tensors under
  // language_model., a vision encoder that is skipped; transformers' multimodal model on text alone.
  check_logits_against_transformers<t::Llama4Tiny>("llama4_multimodal_tiny", kLogitsBound);
  check_decode_against_transformers<t::Llama4Tiny>("llama4_multimodal_tiny", kLogitsBound);
  // The text model is exported as llama4_text; a multimodal base config is refused, saying so.
  Model<t::Llama4Tiny> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture("llama4_multimodal_tiny"));
  t::TemporaryDirectory dir;
  hf::SaveOptions save;
  save.base_config = hf::HfCheckpoint::open(fixture("llama4_multimodal_tiny")).config();
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { hf::save_hf_checkpoint(model, dir.file("mm"), save); }, {"llama4_text"}));
  hf::save_hf_checkpoint(model, dir.file("text"));
  check_same_tensors(fixture("llama4_tiny") + "/model.safetensors", dir.file("text") + "/model.safetensors");
  // The text model's fields are read from text_config, and refused by name there.
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>(
      [&] { hf::check_config<t::Llama4Tiny>(patched_config("llama4_multimodal_tiny", R"({"text_config": {"model_type": "llama4_text"}})"), "c.json"); },
      {"c.json: \"text_config\": \"vocab_size\" is missing"}));
}

BOOST_AUTO_TEST_CASE(llama4_refuses_what_it_cannot_run) {
  const auto refused = [&](const std::string& patch, std::initializer_list<std::string_view> parts) {
    return t::throws_with<rlmoe::ConfigError>([&] { hf::check_config<t::Llama4Tiny>(patched_config("llama4_tiny", patch), "c.json"); }, parts);
  };
  BOOST_TEST(refused(R"({"no_rope_layers": [1, 0, 1, 1]})", {"\"no_rope_layers\"", "every 4-th layer"}));
  BOOST_TEST(refused(R"({"moe_layers": [0, 2]})", {"\"moe_layers\"", "interleave_moe_layer_step"}));
  BOOST_TEST(refused(R"({"layer_types": ["full_attention", "chunked_attention", "chunked_attention", "full_attention"]})", {"\"layer_types\""}));
  BOOST_TEST(refused(R"({"router_jitter_noise": 0.1})", {"\"router_jitter_noise\""}));
  BOOST_TEST(refused(R"({"attention_chunk_size": 16})", {"attention_chunk_size: config.json has 16, the Spec has kAttentionChunk = 8"}));
  BOOST_TEST(refused(R"({"use_qk_norm": false})", {"use_qk_norm: config.json has 0, the Spec has kQkWeightlessNorm = 1"}));
  BOOST_TEST(refused(R"({"attn_temperature_tuning": false})", {"kAttentionTemperature.floor_scale = 8"}));
  BOOST_TEST(refused(R"({"interleave_moe_layer_step": 1, "moe_layers": null})", {"interleave_moe_layer_step: config.json has 1, the Spec has kMoeLayerStep = 2"}));
  BOOST_TEST(refused(R"({"attention_bias": true})", {"\"attention_bias\""}));
}

BOOST_AUTO_TEST_CASE(published_configs_yield_a_spec_or_a_refusal_naming_one_field) {
  // tests/io/fixtures/published: each model's config.json as published, and what rlmoe makes of
  // it: the lines its printed Spec must have, or the one field its refusal names.
  struct Expected {
    std::string file;
    std::vector<std::string> spec_lines;  ///< empty: refused
    std::string refusal;
  };
  const std::string yarn_v3 =
      "kRopeScaling{.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 4096, .beta_fast = 32.0, "
      ".beta_slow = 1.0, .mscale = 1.0, .mscale_all_dim = 1.0};";
  const std::vector<std::string> deepseek_v3 = {
      "kVocab = 129280, kModelDim = 7168, kLayers = 61, kHeads = 128, kMaxLength = 163840;", "kKvLoraRank = 512, kQLoraRank = 1536;",
      "kQkNopeHeadDim = 128, kQkRopeHeadDim = 64, kVHeadDim = 128;", "kDenseHidden = 18432, kFirstMoeLayer = 3;",
      "kRoutedExperts = 256, kTopK = 8, kExpertHidden = 2048, kSharedExperts = 1, kGroups = 8, kTopkGroups = 4;",
      "ScoreFunction::Sigmoid;", "kRoutedScaling = 2.5f, kRopeBase = 10000.0f, kNormEpsilon = 1e-06f;", yarn_v3};
  const std::vector<Expected> published = {
      {"DeepSeek-V3.json", deepseek_v3, ""},
      {"DeepSeek-R1.json", deepseek_v3, ""},
      {"DeepSeek-V2-Lite.json",
       {"kVocab = 102400, kModelDim = 2048, kLayers = 27, kHeads = 16, kMaxLength = 163840;", "kKvLoraRank = 512, kQLoraRank = 0;",
        "kDenseHidden = 10944, kFirstMoeLayer = 1;",
        "kRoutedExperts = 64, kTopK = 6, kExpertHidden = 1408, kSharedExperts = 2, kGroups = 1, kTopkGroups = 1;", "ScoreFunction::Softmax;",
        "kRopeScaling{.type = rlmoe::layers::RopeType::Yarn, .factor = 40.0, .original_max_position = 4096, .beta_fast = 32.0, "
        ".beta_slow = 1.0, .mscale = 0.707, .mscale_all_dim = 0.707};"},
       ""},
      {"Llama-4-Scout-17B-16E.json",
       {"kVocab = 202048, kModelDim = 5120, kLayers = 48, kHeads = 40, kMaxLength = 10485760;", "kKvHeads = 8, kHeadDim = 128;",
        "kDenseHidden = 16384, kFirstMoeLayer = 0;", "kRoutedExperts = 16, kTopK = 1, kExpertHidden = 8192, kSharedExperts = 1,",
        "ScoreFunction::Sigmoid;", "kGatePlacement = rlmoe::moe::GatePlacement::Input;", "kNoRopeInterval = 4;",
        "kAttentionTemperature{.floor_scale = 8192.0, .scale = 0.1};", "kQkWeightlessNorm = true;", "kAttentionChunk = 8192;",
        "kRopeScaling{.type = rlmoe::layers::RopeType::Llama3, .factor = 16.0, .original_max_position = 8192, .low_freq_factor = 1.0, "
        ".high_freq_factor = 1.0};",
        "kRopeBase = 5e+05f, kNormEpsilon = 1e-05f;"},
       ""},
      {"Llama-4-Maverick-17B-128E.json",
       {"kVocab = 202048, kModelDim = 5120, kLayers = 48, kHeads = 40, kMaxLength = 1048576;", "kMoeLayerStep = 2;",
        "kRoutedExperts = 128, kTopK = 1, kExpertHidden = 8192, kSharedExperts = 1,", "kNoRopeInterval = 4;",
        "kAttentionTemperature{.floor_scale = 8192.0, .scale = 0.1};", "kAttentionChunk = 8192;"},
       ""},
      {"Mixtral-8x7B-v0.1.json",
       {"kVocab = 32000, kModelDim = 4096, kLayers = 32, kHeads = 32, kMaxLength = 32768;", "kKvHeads = 8, kHeadDim = 128;",
        "kQkNorm = false, kNormTopkProb = true;", "kDenseHidden = 0, kFirstMoeLayer = 0;",
        "kRoutedExperts = 8, kTopK = 2, kExpertHidden = 14336, kSharedExperts = 0,", "kRopeBase = 1e+06f, kNormEpsilon = 1e-05f;"},
       ""},
      {"Qwen3-30B-A3B.json",
       {"kVocab = 151936, kModelDim = 2048, kLayers = 48, kHeads = 32, kMaxLength = 40960;", "kKvHeads = 4, kHeadDim = 128;",
        "kQkNorm = true, kNormTopkProb = true;", "kDenseHidden = 6144, kFirstMoeLayer = 0;",
        "kRoutedExperts = 128, kTopK = 8, kExpertHidden = 768, kSharedExperts = 0,"},
       ""},
      {"OLMoE-1B-7B-0924.json",
       {"kVocab = 50304, kModelDim = 2048, kLayers = 16, kHeads = 16, kMaxLength = 4096;", "kKvHeads = 16, kHeadDim = 128;",
        "kQkNorm = true, kNormTopkProb = false, kQkNormFullWidth = true;", "kRoutedExperts = 64, kTopK = 8, kExpertHidden = 1024,"},
       ""},
  };
  for (const Expected& e : published) {
    const std::string path = std::string(RLMOE_HF_FIXTURES) + "/../published/" + e.file;
    const io::Json config = io::read_json_file(path);
    if (e.spec_lines.empty()) {
      BOOST_TEST(t::throws_with<rlmoe::ConfigError>([&] { (void)hf::architecture_of(config, path); }, {e.refusal}), e.file);
      continue;
    }
    const std::string printed = hf::spec_source(hf::architecture_of(config, path), "Published", e.file);
    BOOST_TEST_MESSAGE(printed);
    for (const std::string& line : e.spec_lines)
      BOOST_TEST(printed.find(line) != std::string::npos, e.file << ": the printed Spec lacks \"" << line << "\":\n" << printed);
  }
}

BOOST_AUTO_TEST_SUITE_END()
