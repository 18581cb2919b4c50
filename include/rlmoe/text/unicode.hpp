#pragma once
// Unicode character properties for the pre-tokenizer patterns: the general category of a code
// point (Lu, Nd, Po, ...) and its major class (L, M, N, P, S, Z, C, as in \p{L}), and the
// White_Space property (what \s matches). From the generated tables of Unicode 16.0, the version
// of the Oniguruma in the Hugging Face tokenizers, so that patterns split text where theirs do.
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "rlmoe/text/unicode_tables.hpp"

namespace rlmoe::text::unicode {

using unicode_tables::Category;

/// The general category of `code` (Cn, unassigned, past U+10FFFF).
[[nodiscard]] inline Category category(char32_t code) {
  if (code > 0x10FFFF) return Category::Cn;
  const auto& ranges = unicode_tables::kCategoryRanges;
  // The last range whose first code point is <= code (the first entry starts at 0).
  const auto after = std::upper_bound(std::begin(ranges), std::end(ranges), static_cast<std::uint32_t>(code),
                                      [](std::uint32_t c, std::uint32_t entry) { return c < (entry >> 5); });
  return static_cast<Category>(*std::prev(after) & 31u);
}

/// The major classes of the general categories, as bits so that a set of them is one mask.
enum MajorClass : std::uint8_t { kLetter = 1, kMark = 2, kNumber = 4, kPunctuation = 8, kSymbol = 16, kSeparator = 32, kOther = 64 };

[[nodiscard]] constexpr MajorClass major_class(Category c) {
  switch (c) {
    case Category::Lu: case Category::Ll: case Category::Lt: case Category::Lm: case Category::Lo: return kLetter;
    case Category::Mn: case Category::Mc: case Category::Me: return kMark;
    case Category::Nd: case Category::Nl: case Category::No: return kNumber;
    case Category::Pc: case Category::Pd: case Category::Ps: case Category::Pe: case Category::Pi: case Category::Pf:
    case Category::Po: return kPunctuation;
    case Category::Sm: case Category::Sc: case Category::Sk: case Category::So: return kSymbol;
    case Category::Zs: case Category::Zl: case Category::Zp: return kSeparator;
    default: return kOther;
  }
}

[[nodiscard]] inline MajorClass major_class(char32_t code) { return major_class(category(code)); }

/// The White_Space property (PropList.txt): what \s matches in the patterns of Oniguruma, which
/// the Hugging Face tokenizers use.
[[nodiscard]] constexpr bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
         c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace rlmoe::text::unicode
