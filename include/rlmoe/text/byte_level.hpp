#pragma once
// GPT-2's byte-level alphabet: a reversible map from the 256 byte values to 256 printable
// characters, so that a byte-level BPE vocabulary covers every input (any UTF-8 text, any bytes)
// with strings of visible characters. Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC,
// U+00AE..U+00FF) map to themselves; the other 68 (controls, space, U+00AD, ...) to U+0100 onwards in
// byte order, so that a space becomes 'Ġ' (U+0120) and a newline 'Ċ' (U+010A).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "rlmoe/core/utf8.hpp"

namespace rlmoe::text::byte_level {

namespace detail {

[[nodiscard]] constexpr bool maps_to_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

[[nodiscard]] constexpr std::array<char32_t, 256> byte_characters() {
  std::array<char32_t, 256> characters{};
  char32_t next = 0x100;
  for (unsigned b = 0; b < 256; ++b) characters[b] = maps_to_itself(b) ? static_cast<char32_t>(b) : next++;
  return characters;
}

}  // namespace detail

inline constexpr std::array<char32_t, 256> kByteCharacters = detail::byte_characters();

/// The character that stands for byte `b`.
[[nodiscard]] constexpr char32_t character_of(std::uint8_t b) { return kByteCharacters[b]; }

/// The byte that character `c` stands for, or none when `c` is not one of the 256.
[[nodiscard]] constexpr std::optional<std::uint8_t> byte_of(char32_t c) {
  if (c < 0x100) {
    if (detail::maps_to_itself(static_cast<unsigned>(c))) return static_cast<std::uint8_t>(c);
    return std::nullopt;
  }
  // U+0100 + n is the n-th byte that does not map to itself: 0x00..0x20, 0x7F..0xA0, then 0xAD.
  const unsigned n = static_cast<unsigned>(c) - 0x100;
  if (n < 33) return static_cast<std::uint8_t>(n);
  if (n < 67) return static_cast<std::uint8_t>(0x7F + (n - 33));
  if (n == 67) return static_cast<std::uint8_t>(0xAD);
  return std::nullopt;
}

/// `bytes` written in the byte-level alphabet (UTF-8).
[[nodiscard]] inline std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) utf8::append(out, character_of(static_cast<std::uint8_t>(b)));
  return out;
}

/// The bytes a byte-level token stands for; none when one of its characters is outside the
/// alphabet (an added token such as "<｜begin▁of▁sentence｜>", which the decoder then keeps as it is).
[[nodiscard]] inline std::optional<std::string> decode(std::string_view token) {
  std::string out;
  for (std::size_t position = 0; position < token.size();) {
    const utf8::Decoded d = utf8::decode(token, position);
    if (d.length == 0) return std::nullopt;
    const auto b = byte_of(d.code);
    if (!b) return std::nullopt;
    out += static_cast<char>(*b);
    position += d.length;
  }
  return out;
}

}  // namespace rlmoe::text::byte_level
