// libFuzzer target: the tokenizer. The first byte of the input picks what the rest is:
//   0  a tokenizer.json: it loads or throws FormatError; a loaded one encodes sample texts and
//      decodes every id to valid UTF-8 (or refuses with rlmoe's errors);
//   1  text, for the GPT-2 and Qwen style fixtures: valid UTF-8 encodes, and decodes back to
//      itself (GPT-2: no normalizer) or to its NFC form (Qwen); other bytes are refused;
//   2  ids (two bytes each) that the DeepSeek style fixture decodes to valid UTF-8;
//   3  a regex pattern, a zero byte, then text: the pattern compiles or throws FormatError, and its
//      matches in the text's first 12 code points are in order, inside it and non-empty.
// Nothing else may happen: no other exception, no crash, no sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/utf8.hpp"
#include "rlmoe/text/normalization.hpp"
#include "rlmoe/text/regex.hpp"
#include "rlmoe/text/tokenizer.hpp"

namespace {

namespace text = rlmoe::text;

const text::Tokenizer& fixture(const char* name) {
  static const text::Tokenizer gpt2 = text::Tokenizer::from_file(RLMOE_TEXT_FIXTURES "/gpt2_style.json");
  static const text::Tokenizer qwen = text::Tokenizer::from_file(RLMOE_TEXT_FIXTURES "/qwen_style.json");
  static const text::Tokenizer deepseek = text::Tokenizer::from_file(RLMOE_TEXT_FIXTURES "/deepseek_style.json");
  return name[0] == 'g' ? gpt2 : name[0] == 'q' ? qwen : deepseek;
}

void require(bool condition) {
  if (!condition) std::abort();
}

bool valid_utf8(std::string_view s) { return rlmoe::utf8::first_invalid(s) == s.size(); }

void load_and_use(std::string_view json) {
  text::Tokenizer tokenizer;
  try {
    tokenizer = text::Tokenizer::from_json(json);
  } catch (const rlmoe::io::FormatError&) {
    return;
  }
  for (const char* sample : {"Hello world's 123", "caf\xC3\xA9 e\xCC\x81 \xE4\xBD\xA0\xE5\xA5\xBD", "  \n\t x", ""}) {
    try {
      const auto ids = tokenizer.encode(sample);
      require(valid_utf8(tokenizer.decode(ids)));
    } catch (const rlmoe::io::FormatError&) {  // a character outside the vocabulary
    } catch (const rlmoe::ConfigError&) {      // an id the template names that is no token
    }
  }
  const std::size_t limit = std::min<std::size_t>(tokenizer.vocab_size(), 4096);
  for (std::size_t id = 0; id < limit; ++id) {
    const std::vector<std::int32_t> one = {static_cast<std::int32_t>(id)};
    try {
      require(valid_utf8(tokenizer.decode(one)));
    } catch (const rlmoe::ConfigError&) {  // a gap in the ids
    }
  }
}

void round_trip(std::string_view s) {
  if (!valid_utf8(s)) {
    try {
      (void)fixture("gpt2").encode(s);
    } catch (const rlmoe::ConfigError&) {
      return;
    }
    std::abort();  // ill-formed text must be refused
  }
  const auto& gpt2 = fixture("gpt2");
  require(gpt2.decode(gpt2.encode(s)) == s);
  const auto& qwen = fixture("qwen");
  const std::string normalized = rlmoe::utf8::from_code_points(text::normalization::nfc(rlmoe::utf8::to_code_points(s)));
  require(qwen.decode(qwen.encode(s)) == normalized);
}

void decode_ids(std::string_view bytes) {
  const auto& deepseek = fixture("deepseek");
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2) {
    const unsigned value = static_cast<unsigned char>(bytes[i]) | (static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8);
    ids.push_back(static_cast<std::int32_t>(value % deepseek.vocab_size()));
  }
  require(valid_utf8(deepseek.decode(ids)));
  require(valid_utf8(deepseek.decode(ids, true)));
}

void match_pattern(std::string_view input) {
  const std::size_t zero = input.find('\0');
  const std::string_view pattern = input.substr(0, zero);
  const std::string_view subject = zero == std::string_view::npos ? std::string_view() : input.substr(zero + 1);
  if (!valid_utf8(pattern) || !valid_utf8(subject)) return;
  std::u32string codes = rlmoe::utf8::to_code_points(subject);
  codes.resize(std::min<std::size_t>(codes.size(), 12));  // nested repeats may take exponential time
  try {
    const text::Regex regex{std::string(pattern)};
    std::size_t previous = 0;
    for (const auto& m : regex.find_all(codes)) {
      require(m.begin >= previous && m.end > m.begin && m.end <= codes.size());
      previous = m.end;
    }
  } catch (const rlmoe::io::FormatError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: load_and_use(rest); break;
    case 1: round_trip(rest); break;
    case 2: decode_ids(rest); break;
    default: match_pattern(rest); break;
  }
  return 0;
}
