// libFuzzer target: the JSON reader. Any input either parses or throws FormatError (nothing else:
// no crash, no other exception, no sanitizer report), and what parses writes back to text that
// parses to the same text again. What parses is also read as a Hugging Face config.json, which
// gives an architecture or throws ConfigError or FormatError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rlmoe/io/hf_config.hpp"
#include "rlmoe/io/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rlmoe::io::Json value;
  try {
    value = rlmoe::io::Json::parse(text);
  } catch (const rlmoe::io::FormatError&) {
    return 0;
  }
  const std::string once = value.dump();
  if (rlmoe::io::Json::parse(once).dump() != once) std::abort();  // writing is a fixed point
  try {
    (void)rlmoe::io::hf::architecture_of(value, "config.json");
  } catch (const rlmoe::ConfigError&) {
  } catch (const rlmoe::io::FormatError&) {
  }
  return 0;
}
