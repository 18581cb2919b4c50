#pragma once
// UTF-8 one character at a time: strict decoding (well formed, shortest form, no surrogates, at
// most U+10FFFF, as RFC 3629 asks), encoding, and the lossy decoding of arbitrary bytes that
// replaces each ill-formed part with U+FFFD the way the Unicode Standard recommends ("maximal
// subparts", section 3.9; what Rust's String::from_utf8_lossy and Python's
// bytes.decode(errors="replace") do), so that decoded token bytes read the same in rlmoe as in
// the Hugging Face tokenizers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rlmoe::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

/// One decoded character: its code point and how many bytes it took; length 0 when the bytes at
/// the position are not a well-formed character (then `length_of_bad` bytes form the maximal
/// ill-formed subpart to replace, at least 1).
struct Decoded {
  char32_t code = 0;
  std::size_t length = 0;
  std::size_t length_of_bad = 0;
};

/// The character that starts at byte `position` of `text` (position < text.size()).
[[nodiscard]] constexpr Decoded decode(std::string_view text, std::size_t position) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[position + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return {lead, 1, 0};
  const std::size_t length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (length == 0) return {0, 0, 1};
  // The second byte's range depends on the lead (this excludes overlong forms, surrogates and
  // code points past U+10FFFF); later bytes are 0x80..0xBF.
  const unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  const unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  char32_t code = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
  for (std::size_t i = 1; i < length; ++i) {
    if (position + i >= text.size()) return {0, 0, i};
    const unsigned char b = byte(i);
    if (i == 1 ? (b < low || b > high) : (b & 0xC0) != 0x80) return {0, 0, i};
    code = (code << 6) | (b & 0x3F);
  }
  return {code, length, 0};
}

/// Appends the UTF-8 encoding of `code` (at most U+10FFFF, not a surrogate: the caller's duty).
inline void append(std::string& out, char32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

/// The byte offset of the first ill-formed character in `text`, or text.size() when it is all
/// well-formed UTF-8.
[[nodiscard]] inline std::size_t first_invalid(std::string_view text) {
  for (std::size_t position = 0; position < text.size();) {
    const Decoded d = decode(text, position);
    if (d.length == 0) return position;
    position += d.length;
  }
  return text.size();
}

/// `bytes` as UTF-8 text, each maximal ill-formed subpart replaced by U+FFFD.
[[nodiscard]] inline std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t position = 0; position < bytes.size();) {
    const Decoded d = decode(bytes, position);
    if (d.length == 0) {
      append(out, kReplacement);
      position += d.length_of_bad;
    } else {
      out.append(bytes.substr(position, d.length));
      position += d.length;
    }
  }
  return out;
}

/// The code points of well-formed UTF-8 `text` (check with first_invalid first).
[[nodiscard]] inline std::u32string to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t position = 0; position < text.size();) {
    const Decoded d = decode(text, position);
    out += d.length == 0 ? kReplacement : d.code;
    position += d.length == 0 ? d.length_of_bad : d.length;
  }
  return out;
}

/// The UTF-8 encoding of `codes`.
[[nodiscard]] inline std::string from_code_points(std::u32string_view codes) {
  std::string out;
  out.reserve(codes.size());
  for (char32_t c : codes) append(out, c);
  return out;
}

}  // namespace rlmoe::utf8
