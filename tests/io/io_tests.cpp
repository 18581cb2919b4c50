// io/: JSON, the safetensors format and training checkpoints (Host backend).
#define BOOST_TEST_MODULE rlmoe io
#include "support/boost_test.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "io/io_files.hpp"
#include "nn/nn_checks.hpp"
#include "rlmoe/io/checkpoint.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/io/metrics_log.hpp"
#include "rlmoe/io/png.hpp"
#include "rlmoe/io/safetensors.hpp"

#include <sys/resource.h>

namespace t = rlmoe::test;
namespace io = rlmoe::io;
namespace fs = std::filesystem;
using rlmoe::Host;
using t::read_bytes;
using t::TemporaryDirectory;
using t::write_bytes;

namespace {

/// While alive, this process cannot write files past `bytes`: writes fail with EFBIG, as they fail
/// with ENOSPC on a full disk (SIGXFSZ ignored, so the write returns the error).
struct FileSizeLimit {
  rlimit saved{};
  explicit FileSizeLimit(rlim_t bytes) {
    std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &saved);
    const rlimit limited{bytes, saved.rlim_max};
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved); }
};

/// A safetensors file from a header written by hand and `data` bytes of data.
std::vector<std::byte> raw_file(const std::string& header, std::size_t data) {
  std::vector<std::byte> out(8 + header.size() + data, std::byte{0});
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::byte>((header.size() >> (8 * i)) & 0xFF);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

io::SafetensorsWriter sample_writer() {
  io::SafetensorsWriter w;
  const std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1.0f};
  const std::vector<std::int64_t> b = {1, -2, 1ll << 40};
  const std::vector<double> c = {3.141592653589793};
  w.add<float>("a", {2, 3}, a);
  w.add<std::int64_t>("b.ids", {3}, b);
  w.add<double>("c", {1}, c);
  w.set_metadata("note", "hello \"world\"");
  return w;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_json)

BOOST_AUTO_TEST_CASE(round_trips_and_reports_positions) {
  const std::string text = R"({"a":[1,-2,3.5,true,false,null],"b":{"c":"x\"y\\n\u00e9"},"d":-0.25e2})";
  const io::Json j = io::Json::parse(text);
  BOOST_TEST(j.at("a", "doc").array("a").size() == 6u);
  BOOST_TEST(j.at("a", "doc").array("a")[1].integer("x") == -2);
  BOOST_TEST(j.at("a", "doc").array("a")[2].number("x") == 3.5);
  BOOST_TEST(j.at("b", "doc").at("c", "b").string("c") == "x\"y\\n\xc3\xa9");
  BOOST_TEST(j.at("d", "doc").number("d") == -25.0);
  BOOST_TEST(io::Json::parse(j.dump()).dump() == j.dump());
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::Json::parse(R"({"a": [1, 2})"); }, {"expected ']'", "byte 11"}));
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::Json::parse(R"({"a": tru})"); }, {"expected a value"}));
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::Json::parse(R"({"a": 1} x)"); }, {"the end of the document"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)j.at("zzz", "the document"); }, {"the document", "missing \"zzz\""}));
}

BOOST_AUTO_TEST_CASE(refuses_what_rfc_8259_refuses) {
  const auto refused = [](std::string_view text, std::string_view why) {
    return t::throws_with<io::FormatError>([&] { (void)io::Json::parse(text); }, {why});
  };
  // Numbers: the grammar, 64-bit integers, finite doubles.
  for (std::string_view bad : {"+1", "01", ".5", "1.", "1e", "-", "1.5e+", "--1", "0x10"})
    BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::Json::parse(bad); }, {"JSON: expected"}), bad);
  BOOST_TEST(refused("9223372036854775808", "an integer within 64 bits"));
  BOOST_TEST(refused("1e999", "a finite number"));
  BOOST_TEST(io::Json::parse("-9223372036854775808").integer("x") == INT64_MIN);
  BOOST_TEST(io::Json::parse("-0.0").number("x") == 0.0);
  BOOST_TEST(io::Json::parse("2.5E-3").number("x") == 0.0025);
  // Escapes: four hex digits, surrogates in pairs, giving UTF-8.
  BOOST_TEST(refused(R"("\uzzzz")", "four hex digits"));
  BOOST_TEST(refused(R"("\u12zz")", "four hex digits"));
  BOOST_TEST(refused(R"("\u12")", "four hex digits"));
  BOOST_TEST(refused(R"("\ud83d")", "a low surrogate after a high one"));
  BOOST_TEST(refused(R"("\ud83d\u0041")", "a low surrogate after a high one"));
  BOOST_TEST(refused(R"("\ude00")", "a high surrogate before a low one"));
  BOOST_TEST(io::Json::parse(R"("\ud83d\ude00")").string("x") == "\xF0\x9F\x98\x80");  // U+1F600
  BOOST_TEST(io::Json::parse(R"("\u00e9\u20ac")").string("x") == "\xC3\xA9\xE2\x82\xAC");
  // Raw text must be UTF-8: no stray continuation bytes, overlong forms or surrogates.
  for (std::string_view bad : {"\"\x80\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xF5\x80\x80\x80\"", "\"\xE2\x82\""})
    BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::Json::parse(bad); }, {"UTF-8 text"}));
  BOOST_TEST(io::Json::parse("\"\xE2\x82\xAC\"").string("x") == "\xE2\x82\xAC");
  // Nesting is bounded: 35 KB of '[' is an error, not a stack overflow.
  BOOST_TEST(refused(std::string(35000, '['), "at most 128 nested arrays and objects"));
  BOOST_TEST(io::Json::parse(std::string(128, '[') + std::string(128, ']')).is_array());
  // Doubles read back bit for bit, and as doubles; NaN and infinity (not JSON) are written as null.
  for (double d : {1.0, 0.1, 1.0 / 3.0, -2.5e-300, 1e21, 123456789.0})
    BOOST_TEST(io::Json::parse(io::Json(d).dump()).number("x") == d, io::Json(d).dump());
  BOOST_TEST(io::Json(1.0).dump() == "1.0");
  BOOST_TEST(!io::Json::parse(io::Json(1.0).dump()).is_integer());
  BOOST_TEST(io::Json(NAN).dump() == "null");
  BOOST_TEST(io::Json(-INFINITY).dump() == "null");
  // Integers in text are integers, in full.
  BOOST_TEST(io::parse_integer("42", "step") == 42);
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::parse_integer("2junk", "step"); }, {"step is '2junk'", "integer"}));
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::parse_integer("abc", "step"); }, {"step is 'abc'"}));
  BOOST_TEST(t::throws_with<io::FormatError>([] { (void)io::parse_integer("", "step"); }, {"step is ''"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(io_safetensors)

BOOST_AUTO_TEST_CASE(round_trip_and_atomic_write) {
  TemporaryDirectory dir;
  const std::string path = dir.file("sample.safetensors");
  sample_writer().write(path);
  BOOST_TEST(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1, "no temporary file is left");
  const io::SafetensorsFile f = io::SafetensorsFile::read(path);
  std::vector<float> a(6);
  f.read_into<float>("a", {2, 3}, std::span<float>(a));
  BOOST_TEST((a == std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1.0f}));
  std::vector<std::int64_t> b(3);
  f.read_into<std::int64_t>("b.ids", {3}, std::span<std::int64_t>(b));
  BOOST_TEST(b[2] == (1ll << 40));
  BOOST_TEST(f.metadata("note") == "hello \"world\"");
  // The header is 8-byte aligned, as the format recommends.
  const auto bytes = read_bytes(path);
  BOOST_TEST(static_cast<std::size_t>(bytes[0]) % 8 == 0u);
  // Writing again replaces the file in one step.
  io::SafetensorsWriter other;
  const std::vector<float> z = {9.0f};
  other.add<float>("z", {1}, z);
  other.write(path);
  BOOST_TEST(io::SafetensorsFile::read(path).tensors().size() == 1u);
}

BOOST_AUTO_TEST_CASE(refuses_truncated_flipped_and_mismatched_files) {
  TemporaryDirectory dir;
  const std::string path = dir.file("sample.safetensors");
  sample_writer().write(path);
  const auto bytes = read_bytes(path);
  const auto parse = [&](const std::vector<std::byte>& b) { (void)io::SafetensorsFile::parse("f", b); };
  // Truncated: inside the length, inside the header, inside the data.
  BOOST_TEST(t::throws_with<io::FormatError>([&] { parse({bytes.begin(), bytes.begin() + 5}); }, {"fewer than the 8"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { parse({bytes.begin(), bytes.begin() + 40}); }, {"truncated or corrupt"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { parse({bytes.begin(), bytes.end() - 3}); }, {"truncated or corrupt"}));
  // A flipped bit in the data: the tensor's checksum names it.
  auto flipped = bytes;
  flipped[flipped.size() - 10] ^= std::byte{0x10};
  BOOST_TEST(t::throws_with<io::FormatError>([&] { parse(flipped); }, {"tensor 'b.ids'", "CRC-32"}));
  // A flipped bit in the header's JSON.
  auto header_flip = bytes;
  header_flip[9] ^= std::byte{0x40};
  BOOST_TEST(t::throws_with<io::FormatError>([&] { parse(header_flip); }, {"not valid JSON"}));
  // The right tensor asked for with the wrong shape or dtype.
  const io::SafetensorsFile f = io::SafetensorsFile::parse("f", bytes);
  std::vector<float> a(6);
  BOOST_TEST(t::throws_with<io::FormatError>([&] { f.read_into<float>("a", {3, 2}, std::span<float>(a)); },
                                             {"tensor 'a'", "shape [2, 3]", "[3, 2] is expected"}));
  std::vector<double> wrong(6);
  BOOST_TEST(t::throws_with<io::FormatError>([&] { f.read_into<double>("a", {2, 3}, std::span<double>(wrong)); },
                                             {"tensor 'a'", "dtype F32", "F64 is expected"}));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)f.tensor("missing"); }, {"no tensor 'missing'"}));
}

BOOST_AUTO_TEST_CASE(refuses_hostile_headers) {
  const auto refused = [](const std::vector<std::byte>& bytes, std::initializer_list<std::string_view> why) {
    return t::throws_with<io::FormatError>([&] { (void)io::SafetensorsFile::parse("hostile", bytes); }, why);
  };
  // Sizes that overflow: they must not wrap around to the 0 bytes the file gives them.
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", 0),
                     {"tensor 'x'", "overflows 64 bits"}));
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]}})", 0),
                     {"overflows 64 bits"}));
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
                     {"overflows 64 bits"}));
  BOOST_TEST(io::SafetensorsFile::parse("empty", raw_file(R"({"x":{"dtype":"F32","shape":[0,4611686018427387904],"data_offsets":[0,0]}})", 0))
                 .tensors()
                 .size() == 1u);
  // Names, and metadata keys, appear once.
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2),
                     {"tensor 'x' appears twice"}));
  BOOST_TEST(refused(raw_file(R"({"__metadata__":{"k":"1","k":"2"}})", 0), {"metadata 'k' appears twice"}));
  // Ranges tile the data: no overlap, no gap, none backwards.
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 4),
                     {"gap or an overlap"}));
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[2,0]}})", 2), {"spans bytes [2, 0)"}));
  BOOST_TEST(refused(raw_file(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", 2), {"gap or an overlap at byte 1"}));
}

BOOST_AUTO_TEST_CASE(every_single_bit_flip_in_a_header_is_refused) {
  // rlmoe's files carry a checksum of their header: no single flipped bit of the length or the
  // header may be read as a file with other values (a step of 52 instead of 42, a checksum key
  // that no longer names its tensor).
  io::SafetensorsWriter w = sample_writer();
  w.set_metadata("step", "42");
  const std::vector<std::byte> bytes = w.serialize();
  std::uint64_t header = 0;
  for (int i = 0; i < 8; ++i) header |= static_cast<std::uint64_t>(bytes[static_cast<std::size_t>(i)]) << (8 * i);
  BOOST_TEST(io::SafetensorsFile::parse("f", bytes, io::Checksums::Required).metadata("step") == "42");
  int accepted = 0, flips = 0;
  for (std::size_t byte = 0; byte < 8 + header; ++byte)
    for (int bit = 0; bit < 8; ++bit, ++flips) {
      std::vector<std::byte> flipped = bytes;
      flipped[byte] ^= static_cast<std::byte>(1 << bit);
      try {
        (void)io::SafetensorsFile::parse("f", flipped, io::Checksums::Required);
        ++accepted;
      } catch (const io::FormatError&) {
      }
    }
  BOOST_TEST_MESSAGE(flips << " single-bit flips of the length and header, " << accepted << " accepted");
  BOOST_TEST(accepted == 0);
  // A file that lacks a checksum rlmoe writes is refused when they are required.
  io::SafetensorsFile::parse("f", raw_file(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1));  // foreign: fine
  BOOST_TEST(t::throws_with<io::FormatError>(
      [&] { (void)io::SafetensorsFile::parse("f", raw_file(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1), io::Checksums::Required); },
      {"the header has no checksum"}));
}

BOOST_AUTO_TEST_CASE(reads_by_mapping_and_cleans_up_after_killed_writers) {
  TemporaryDirectory dir;
  const std::string path = dir.file("sample.safetensors");
  // A temporary left by a writer that no longer runs (pid 2^22 + 1 is beyond Linux's pid range),
  // one of a process that runs (ours is skipped, so use the parent's), and an unrelated file.
  write_bytes(path + ".tmp.4194305", std::vector<std::byte>(100));
  write_bytes(path + ".tmp." + std::to_string(::getppid()), std::vector<std::byte>(100));
  write_bytes(dir.file("other.tmp.4194305"), std::vector<std::byte>(100));
  sample_writer().write(path);
  BOOST_TEST(!fs::exists(path + ".tmp.4194305"));
  BOOST_TEST(fs::exists(path + ".tmp." + std::to_string(::getppid())));
  BOOST_TEST(fs::exists(dir.file("other.tmp.4194305")));
  const io::SafetensorsFile f = io::SafetensorsFile::read(path, io::Checksums::Required);
  std::vector<double> c(1);
  f.read_into<double>("c", {1}, std::span<double>(c));
  BOOST_TEST(c[0] == 3.141592653589793);
  write_bytes(dir.file("empty.safetensors"), {});
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::SafetensorsFile::read(dir.file("empty.safetensors")); }, {"fewer than the 8"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(io_checkpoint)

namespace {

using Model = rlmoe::nn::Transformer<Host, t::TinyMoeSpec>;

/// Supervised Adam steps on a fixed batch, as in the overfitting test.
void train(Model& model, rlmoe::optim::AdamW<Host>& adam, int steps) {
  const t::TokenBatch batch(t::TinyMoeSpec::kVocab, 12);
  t::BackendTokens<Host> tokens(Host{}, batch);
  const rlmoe::index_t outputs = batch.batch * batch.completion_width;
  std::vector<float> d(static_cast<std::size_t>(outputs), 0.0f);
  for (rlmoe::index_t b = 0; b < batch.batch; ++b)
    for (rlmoe::index_t j = 0; j < batch.lengths[b] - batch.prompt_lengths[b]; ++j) d[b * batch.completion_width + j] = -0.1f;
  std::vector<float> logp(static_cast<std::size_t>(outputs));
  for (int step = 0; step < steps; ++step) {
    model.zero_gradients();
    model.forward(tokens.view, rlmoe::make_view(logp.data(), batch.batch, batch.completion_width));
    model.backward(rlmoe::make_view(static_cast<const float*>(d.data()), batch.batch, batch.completion_width));
    adam.step(model.parameters(), model.gradients(), 1e-2);
    model.update_routing_bias();
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(save_load_and_continue_is_bit_identical) {
  TemporaryDirectory dir;
  const rlmoe::optim::AdamWConfig config{0.9, 0.99, 1e-8, 0.01, 1.0};
  Model straight(Host{});
  straight.initialize(1);
  rlmoe::optim::AdamW<Host> straight_adam(Host{}, straight.parameters().size(), config);
  train(straight, straight_adam, 20);

  Model first(Host{});
  first.initialize(1);
  rlmoe::optim::AdamW<Host> first_adam(Host{}, first.parameters().size(), config);
  train(first, first_adam, 10);
  io::save_checkpoint(dir.file("step10.safetensors"), Host{}, first, first_adam, {10, {{"rng_offset", "1234"}}});

  Model resumed(Host{});
  resumed.initialize(999);  // different: everything must come from the file
  rlmoe::optim::AdamW<Host> resumed_adam(Host{}, resumed.parameters().size(), config);
  const io::CheckpointState state = io::load_checkpoint(dir.file("step10.safetensors"), Host{}, resumed, resumed_adam);
  BOOST_TEST(state.step == 10);
  BOOST_TEST(state.value("rng_offset") == "1234");
  BOOST_TEST(resumed_adam.steps() == 10);
  train(resumed, resumed_adam, 10);
  t::check_equal(rlmoe::to_host(Host{}, resumed.parameters()), rlmoe::to_host(Host{}, straight.parameters()),
                 "parameters after resuming");
  for (std::size_t i = 0; i < straight.moe_layers().size(); ++i)
    t::check_equal(rlmoe::to_host(Host{}, resumed.moe_layers()[i].bias()), rlmoe::to_host(Host{}, straight.moe_layers()[i].bias()),
                   "routing bias after resuming");
}

BOOST_AUTO_TEST_CASE(refuses_other_models_and_damaged_files) {
  TemporaryDirectory dir;
  Model model(Host{});
  model.initialize(1);
  rlmoe::optim::AdamW<Host> adam(Host{}, model.parameters().size(), {});
  const std::string path = dir.file("model.safetensors");
  io::save_checkpoint(path, Host{}, model, adam, {});
  // Another architecture.
  rlmoe::nn::Transformer<Host, t::TinyDenseSpec> dense(Host{});
  rlmoe::optim::AdamW<Host> dense_adam(Host{}, dense.parameters().size(), {});
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(path, Host{}, dense, dense_adam); },
                                             {"written for another model", "\"vocab\":13", "\"vocab\":11"}));
  // Truncated.
  const auto bytes = read_bytes(path);
  write_bytes(dir.file("truncated.safetensors"), {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)});
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(dir.file("truncated.safetensors"), Host{}, model, adam); },
                                             {"truncated or corrupt"}));
  // A flipped bit in a parameter.
  auto flipped = bytes;
  flipped[bytes.size() - 100] ^= std::byte{0x01};
  write_bytes(dir.file("flipped.safetensors"), flipped);
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(dir.file("flipped.safetensors"), Host{}, model, adam); },
                                             {"CRC-32", "corrupt"}));
  // A tensor of the wrong shape under a model tensor's name.
  const io::SafetensorsFile original = io::SafetensorsFile::read(path);
  io::SafetensorsWriter wrong;
  for (const auto& tensor : original.tensors()) {
    std::vector<float> values(static_cast<std::size_t>(tensor.elements()));
    original.read_into<float>(tensor.name, tensor.shape, std::span<float>(values));
    auto shape = tensor.shape;
    if (tensor.name == "layers.0.wq") shape = {shape[1] * shape[0]};
    wrong.add<float>(tensor.name, shape, values);
  }
  for (const auto& [key, value] : original.metadata_entries())
    if (key.rfind("crc32.", 0) != 0 && key != io::kHeaderChecksumKey) wrong.set_metadata(key, value);
  wrong.write(dir.file("wrong_shape.safetensors"));
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(dir.file("wrong_shape.safetensors"), Host{}, model, adam); },
                                             {"tensor 'layers.0.wq'", "shape [64]", "[8, 8] is expected"}));
}

/// A copy of the checkpoint at `path` with one value of one tensor replaced (and valid checksums):
/// a file that is sound as a file but not as a training state.
void rewrite_with(const std::string& path, const std::string& out, const std::string& tensor, float value) {
  const io::SafetensorsFile original = io::SafetensorsFile::read(path);
  io::SafetensorsWriter w;
  for (const auto& t : original.tensors()) {
    std::vector<float> values(static_cast<std::size_t>(t.elements()));
    original.read_into<float>(t.name, t.shape, std::span<float>(values));
    if (t.name == tensor) values[0] = value;
    w.add<float>(t.name, t.shape, values);
  }
  for (const auto& [key, v] : original.metadata_entries())
    if (key.rfind("crc32.", 0) != 0 && key != io::kHeaderChecksumKey) w.set_metadata(key, v);
  w.write(out);
}

BOOST_AUTO_TEST_CASE(refuses_unsound_state_and_changes_nothing_when_it_refuses) {
  TemporaryDirectory dir;
  Model model(Host{});
  model.initialize(1);
  rlmoe::optim::AdamW<Host> adam(Host{}, model.parameters().size(), {});
  train(model, adam, 3);
  Model reference(Host{});
  reference.initialize(2);
  const std::string path = dir.file("model.safetensors");
  io::save_checkpoint(path, Host{}, model, adam, {3, {{"seed", "1"}}}, &reference);
  Model target(Host{});
  target.initialize(7);
  Model target_reference(Host{});
  target_reference.initialize(8);
  rlmoe::optim::AdamW<Host> target_adam(Host{}, target.parameters().size(), {});
  const auto snapshot = [&] {
    return std::vector<std::vector<float>>{rlmoe::to_host(Host{}, target.parameters()), rlmoe::to_host(Host{}, target_adam.first_moment()),
                                           rlmoe::to_host(Host{}, target_adam.second_moment()),
                                           rlmoe::to_host(Host{}, target_reference.parameters()),
                                           rlmoe::to_host(Host{}, target.moe_layers()[0].bias())};
  };
  const auto before = snapshot();
  const auto refused = [&](const std::string& file, std::initializer_list<std::string_view> why) {
    const bool thrown = t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(file, Host{}, target, target_adam, &target_reference); }, why);
    return thrown && snapshot() == before && target_adam.steps() == 0;
  };
  const std::string name = model.layout().entries()[1].name;
  const std::string bias = "layers." + std::to_string(t::TinyMoeSpec::kFirstMoeLayer) + ".moe.router_bias";
  for (const auto& [tensor, value, why] : {std::tuple{"optimizer.v." + name, -1.0f, "finite values >= 0"},
                                           std::tuple{"optimizer.v." + name, NAN, "finite values >= 0"},
                                           std::tuple{"optimizer.m." + name, INFINITY, "finite values"},
                                           std::tuple{"reference." + name, NAN, "finite values"},
                                           std::tuple{name, NAN, "finite values"},
                                           std::tuple{bias, INFINITY, "routing bias"}}) {
    rewrite_with(path, dir.file("bad.safetensors"), tensor, value);
    BOOST_TEST(refused(dir.file("bad.safetensors"), {tensor, why}), tensor << " = " << value);
  }
  // Refused by the caller after everything was read: still nothing written.
  BOOST_TEST(t::throws_with<rlmoe::ConfigError>(
      [&] {
        (void)io::load_checkpoint(path, Host{}, target, target_adam, &target_reference,
                                  [](const io::CheckpointState&) { throw rlmoe::ConfigError("not this one"); });
      },
      {"not this one"}));
  BOOST_TEST((snapshot() == before));
  // A checkpoint without the reference the loader wants.
  io::save_checkpoint(dir.file("no_reference.safetensors"), Host{}, model, adam, {3, {}});
  BOOST_TEST(refused(dir.file("no_reference.safetensors"), {"no tensor 'reference."}));
  // A flipped bit in a checksum's key, or in the format, is refused.
  for (const std::string& text : {std::string(io::kHeaderChecksumKey), std::string("\"format\"")}) {
    auto bytes = read_bytes(path);
    const std::string_view view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const std::size_t at = view.find(text);
    BOOST_TEST_REQUIRE(at != std::string_view::npos);
    bytes[at + 2] ^= std::byte{0x01};
    write_bytes(dir.file("flipped.safetensors"), bytes);
    BOOST_TEST(refused(dir.file("flipped.safetensors"), {"flipped.safetensors"}), text);
  }
  // The sound file loads.
  BOOST_TEST(io::load_checkpoint(path, Host{}, target, target_adam, &target_reference).step == 3);
  BOOST_TEST(target_adam.steps() == 3);
}

/// A copy of the checkpoint at `path` whose metadata says `format` and has no header checksum, as
/// format 1 was written; the tensors' bytes are unchanged.
void rewrite_without_header_checksum(const std::string& path, const std::string& out, const std::string& format) {
  const auto bytes = read_bytes(path);
  std::size_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= std::to_integer<std::size_t>(bytes[static_cast<std::size_t>(i)]) << (8 * i);
  const io::Json header = io::Json::parse({reinterpret_cast<const char*>(bytes.data()) + 8, header_size});
  io::Json::Object fields;
  for (const auto& [key, value] : header.object("header")) {
    if (key != "__metadata__") {
      fields.emplace_back(key, value);
      continue;
    }
    io::Json::Object metadata;
    for (const auto& [k, v] : value.object("metadata"))
      if (k != io::kHeaderChecksumKey) metadata.emplace_back(k, k == "format" ? io::Json(format) : v);
    fields.emplace_back(key, io::Json(std::move(metadata)));
  }
  const std::string text = io::Json(std::move(fields)).dump();
  auto rewritten = raw_file(text, bytes.size() - 8 - header_size);
  std::copy(bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_size), bytes.end(),
            rewritten.begin() + 8 + static_cast<std::ptrdiff_t>(text.size()));
  write_bytes(out, rewritten);
}

BOOST_AUTO_TEST_CASE(reads_format_1_and_requires_every_checksum_of_format_2) {
  TemporaryDirectory dir;
  Model model(Host{});
  model.initialize(1);
  rlmoe::optim::AdamW<Host> adam(Host{}, model.parameters().size(), {});
  train(model, adam, 3);
  const std::string path = dir.file("model.safetensors");
  io::save_checkpoint(path, Host{}, model, adam, {3, {{"seed", "1"}}});
  Model target(Host{});
  target.initialize(7);
  rlmoe::optim::AdamW<Host> target_adam(Host{}, target.parameters().size(), {});

  rewrite_without_header_checksum(path, dir.file("format1.safetensors"), io::kCheckpointFormatVersion1);
  BOOST_TEST(io::load_checkpoint(dir.file("format1.safetensors"), Host{}, target, target_adam).step == 3);
  t::check_equal(rlmoe::to_host(Host{}, target.parameters()), rlmoe::to_host(Host{}, model.parameters()), "format 1 parameters");
  t::check_equal(rlmoe::to_host(Host{}, target_adam.second_moment()), rlmoe::to_host(Host{}, adam.second_moment()),
                 "format 1 second moments");

  rewrite_without_header_checksum(path, dir.file("format2.safetensors"), io::kCheckpointFormat);
  BOOST_TEST(t::throws_with<io::FormatError>([&] { (void)io::load_checkpoint(dir.file("format2.safetensors"), Host{}, target, target_adam); },
                                             {"format2.safetensors", "lacks a checksum"}));
}

BOOST_AUTO_TEST_CASE(a_bf16_models_checkpoint_holds_its_float_master_parameters) {
  TemporaryDirectory dir;
  rlmoe::nn::Transformer<Host, t::TinyMoeSpec, rlmoe::bfloat16> mixed(Host{});
  mixed.initialize(4);
  rlmoe::optim::AdamW<Host> mixed_adam(Host{}, mixed.parameters().size(), {});
  io::save_checkpoint(dir.file("mixed.safetensors"), Host{}, mixed, mixed_adam, {2, {}});
  const io::SafetensorsFile file = io::SafetensorsFile::read(dir.file("mixed.safetensors"));
  BOOST_TEST((file.tensor("embed").dtype == io::Dtype::F32));
  Model plain(Host{});
  rlmoe::optim::AdamW<Host> plain_adam(Host{}, plain.parameters().size(), {});
  BOOST_TEST(io::load_checkpoint(dir.file("mixed.safetensors"), Host{}, plain, plain_adam).step == 2);
  t::check_equal(rlmoe::to_host(Host{}, std::as_const(plain).parameters()), rlmoe::to_host(Host{}, std::as_const(mixed).parameters()),
                 "float parameters loaded from a bf16 model's checkpoint");
  rlmoe::nn::Transformer<Host, t::TinyMoeSpec, rlmoe::bfloat16> again(Host{});
  rlmoe::optim::AdamW<Host> again_adam(Host{}, again.parameters().size(), {});
  (void)io::load_checkpoint(dir.file("mixed.safetensors"), Host{}, again, again_adam);
  t::check_equal(rlmoe::to_host(Host{}, std::as_const(again).parameters()), rlmoe::to_host(Host{}, std::as_const(mixed).parameters()),
                 "bf16 model's master parameters after a round trip");
}

BOOST_AUTO_TEST_CASE(file_failures_are_io_errors_naming_the_file) {
  TemporaryDirectory dir;
  Model model(Host{});
  model.initialize(1);
  rlmoe::optim::AdamW<Host> adam(Host{}, model.parameters().size(), {});
  // Reading a directory, or a file that does not exist.
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { (void)io::load_checkpoint(dir.path.string(), Host{}, model, adam); },
                                            {dir.path.string(), "is a directory"}));
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { (void)io::load_checkpoint(dir.file("missing.safetensors"), Host{}, model, adam); },
                                            {"missing.safetensors", "No such file"}));
  // Writing over a directory, or into one that does not exist.
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { io::save_checkpoint(dir.path.string(), Host{}, model, adam, {}); },
                                            {dir.path.string(), "renaming", "Is a directory"}));
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { io::save_checkpoint(dir.file("no/such/dir.safetensors"), Host{}, model, adam, {}); },
                                            {"no/such/dir.safetensors", "No such file"}));
  // A full disk: the checkpoint on disk is left as it was, with no temporary file beside it.
  const std::string path = dir.file("model.safetensors");
  io::save_checkpoint(path, Host{}, model, adam, {1, {}});
  const auto before = read_bytes(path);
  {
    const FileSizeLimit full(4096);
    BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { io::save_checkpoint(path, Host{}, model, adam, {2, {}}); },
                                              {path, "File too large", "the file is unchanged"}));
    io::MetricsLog log(dir.file("metrics.jsonl"), false);
    const io::Json big(std::string(8192, 'x'));
    BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { log.write(big); }, {"metrics.jsonl", "File too large"}));
    io::Image noise(200, 200);
    std::uint32_t state = 1;
    for (auto& byte : noise.pixels) byte = static_cast<std::uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { io::write_png(dir.file("noise.png"), noise); }, {"noise.png", "File too large"}));
  }
  BOOST_TEST((read_bytes(path) == before));
  BOOST_TEST(io::load_checkpoint(path, Host{}, model, adam).step == 1);
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path)) ++files;
  BOOST_TEST(files == 2, "only model.safetensors and metrics.jsonl remain, found " << files << " files");
  BOOST_TEST(t::throws_with<rlmoe::IoError>([&] { io::MetricsLog(dir.file("no/such/metrics.jsonl"), false); },
                                            {"no/such/metrics.jsonl", "No such file"}));
}

BOOST_AUTO_TEST_SUITE_END()
