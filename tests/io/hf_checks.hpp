#pragma once
// Checks of a Hugging Face fixture (tests/io/fixtures/hf) against what transformers computed for
// it (reference_logits.safetensors): prefill, decode, and exports that hold the same tensors.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "rlmoe/backend/host.hpp"
#include "rlmoe/io/hf_checkpoint.hpp"
#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/nn/transformer.hpp"
#include "support/test_data.hpp"

namespace rlmoe::test::hf_checks {

namespace t = rlmoe::test;
namespace io = rlmoe::io;
namespace hf = rlmoe::io::hf;
using rlmoe::Host;
using rlmoe::index_t;

inline std::string fixture(const std::string& name) { return std::string(RLMOE_HF_FIXTURES) + "/" + name; }

/// The fixture's config.json with the fields of `patch` replaced or added.
inline rlmoe::io::Json patched_config(const std::string& name, const std::string& patch) {
  auto object = hf::HfCheckpoint::open(fixture(name)).config().object("config");
  const auto edit = io::Json::parse(patch);
  for (const auto& [key, value] : edit.object("patch")) {
    bool found = false;
    for (auto& [k, v] : object)
      if (k == key) v = value, found = true;
    if (!found) object.emplace_back(key, value);
  }
  return io::Json(object);
}

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
void check_logits_against_transformers(const std::string& name, double bound = 1e-4) {
  Model<Spec> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture(name));
  const auto [have, want] = logits_against_transformers(model, fixture(name));
  BOOST_TEST_MESSAGE(name << ": logits vs transformers, relative error " << t::relative_error(have, want) << " (float32)");
  BOOST_TEST(t::relative_error(have, want) < bound, name << ": float32 logits vs transformers, relative error " << t::relative_error(have, want));
  Model<Spec, double> exact(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(exact, fixture(name));
  const auto [have64, want64] = logits_against_transformers(exact, fixture(name));
  BOOST_TEST_MESSAGE(name << ": logits vs transformers, relative error " << t::relative_error(have64, want64) << " (float64)");
  // The reference is transformers in float64, stored in float32: float64 meets it to that rounding.
  BOOST_TEST(t::relative_error(have64, want64) < 2e-7, name << ": float64 logits vs transformers' float64, relative error "
                                                          << t::relative_error(have64, want64));
}

template <class Spec>
std::vector<float> parameters_of(const std::string& directory) {
  Model<Spec> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, directory);
  return rlmoe::to_host(Host{}, std::as_const(model).parameters());
}

/// Prefill the first token of each sequence of the fixture's batch, then decode the rest token by
/// token, each sequence to its own length: the logits equal transformers' (relative error < bound).
template <class Spec>
void check_decode_against_transformers(const std::string& name, double bound = 1e-4) {
  Model<Spec> model(Host{}, {rlmoe::moe::Balancing::None});
  hf::load_hf_checkpoint(model, fixture(name));
  const auto reference = io::SafetensorsFile::read(fixture(name) + "/reference_logits.safetensors");
  const auto& shape = reference.tensor("tokens").shape;
  const index_t b = shape[0], length = shape[1], vocab = Spec::kVocab;
  std::vector<std::int32_t> tokens(b * length), lengths(b);
  reference.read_into<std::int32_t>("tokens", {b, length}, tokens);
  reference.read_into<std::int32_t>("lengths", {b}, lengths);
  const auto expected = reference.read_as_double("logits", {b, length, vocab});
  typename Model<Spec>::DecodeState state(Host{}, b, length);
  std::vector<std::int32_t> first(b), ones(b, 1);
  for (index_t s = 0; s < b; ++s) first[s] = tokens[s * length];
  std::vector<float> logits(b * vocab);
  model.prefill(state, rlmoe::MatrixView<const std::int32_t>(first.data(), rlmoe::Extents<2>{b, 1}),
                rlmoe::VectorView<const std::int32_t>(ones.data(), rlmoe::Extents<1>{b}), rlmoe::MatrixView<float>(logits.data(), rlmoe::Extents<2>{b, vocab}));
  std::vector<double> have, want;
  const index_t steps = *std::max_element(lengths.begin(), lengths.end());
  for (index_t p = 0; p < steps; ++p) {
    if (p > 0) {  // a sequence past its length decodes its padding, which is not compared
      std::vector<std::int32_t> next(b), positions(b, static_cast<std::int32_t>(p));
      for (index_t s = 0; s < b; ++s) next[s] = tokens[s * length + p];
      model.decode(state, rlmoe::VectorView<const std::int32_t>(next.data(), rlmoe::Extents<1>{b}),
                   rlmoe::VectorView<const std::int32_t>(positions.data(), rlmoe::Extents<1>{b}),
                   rlmoe::MatrixView<float>(logits.data(), rlmoe::Extents<2>{b, vocab}));
    }
    for (index_t s = 0; s < b; ++s)
      if (p < lengths[s])
        for (index_t v = 0; v < vocab; ++v) {
          have.push_back(logits[s * vocab + v]);
          want.push_back(expected[(s * length + p) * vocab + v]);
        }
  }
  BOOST_TEST_MESSAGE(name << ": decoded logits vs transformers, relative error " << t::relative_error(have, want) << " over "
                          << steps << " positions");
  BOOST_TEST(t::relative_error(have, want) < bound, name << ": decoded logits vs transformers, relative error " << t::relative_error(have, want));
}

/// Every tensor of `original` is in `exported`, with the same values (an F32 export of bf16
/// weights holds them exactly), and nothing else is.
inline void check_same_tensors(const std::string& original_path, const std::string& exported_path) {
  const auto original = io::SafetensorsFile::read(original_path);
  const auto exported = io::SafetensorsFile::read(exported_path);
  BOOST_TEST(exported.tensors().size() == original.tensors().size());
  for (const auto& info : original.tensors()) {
    BOOST_TEST_REQUIRE(exported.contains(info.name), "the export lacks " << info.name);
    t::check_equal(exported.read_as_double(info.name, info.shape), original.read_as_double(info.name, info.shape), info.name);
  }
}

/// Loads fixture `name` into `model` and exports it as F32 into `out` over the fixture's config;
/// every tensor of the export must equal the fixture's. Returns the options used.
template <class Spec>
hf::SaveOptions export_fixture_as_f32(Model<Spec>& model, const std::string& name, const std::string& out) {
  hf::load_hf_checkpoint(model, fixture(name));
  hf::SaveOptions options;
  options.base_config = hf::HfCheckpoint::open(fixture(name)).config();
  hf::save_hf_checkpoint(model, out, options);
  check_same_tensors(fixture(name) + "/model.safetensors", out + "/model.safetensors");
  return options;
}

}  // namespace rlmoe::test::hf_checks
