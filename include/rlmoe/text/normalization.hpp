#pragma once
// Unicode Normalization Form C (UAX #15), the normalizer of Qwen's tokenizers: canonical
// decomposition, canonical ordering of combining marks, then canonical composition, so that "é"
// typed as e + U+0301 and as U+00E9 encode alike. From the generated tables of Unicode 16.0;
// Hangul syllables are decomposed and composed by their formula.
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/text/unicode_tables.hpp"

namespace rlmoe::text::normalization {

namespace detail {

// Hangul syllable arithmetic (Unicode chapter 3.12).
inline constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
inline constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

[[nodiscard]] inline std::uint8_t combining_class(char32_t c) {
  const auto& ranges = unicode_tables::kCombiningClasses;
  const auto it = std::upper_bound(std::begin(ranges), std::end(ranges), static_cast<std::uint32_t>(c),
                                   [](std::uint32_t code, const unicode_tables::CombiningClassRange& r) { return code < r.first; });
  if (it == std::begin(ranges)) return 0;
  const auto& range = *std::prev(it);
  return c <= range.last ? range.combining_class : 0;
}

[[nodiscard]] inline const unicode_tables::Decomposition* decomposition(char32_t c) {
  const auto& table = unicode_tables::kDecompositions;
  const auto it = std::lower_bound(std::begin(table), std::end(table), static_cast<std::uint32_t>(c),
                                   [](const unicode_tables::Decomposition& d, std::uint32_t code) { return d.code < code; });
  return it != std::end(table) && it->code == c ? &*it : nullptr;
}

inline void decompose(char32_t c, std::u32string& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out += kLBase + s / kNCount;
    out += kVBase + (s % kNCount) / kTCount;
    if (s % kTCount != 0) out += kTBase + s % kTCount;
    return;
  }
  const auto* d = decomposition(c);
  if (d == nullptr) {
    out += c;
    return;
  }
  decompose(d->first, out);
  if (d->second != 0) decompose(d->second, out);
}

/// The primary composites, sorted by their (first, second) pair; built once.
[[nodiscard]] inline const std::vector<unicode_tables::Decomposition>& composites() {
  static const std::vector<unicode_tables::Decomposition> table = [] {
    std::vector<unicode_tables::Decomposition> pairs;
    for (const auto& d : unicode_tables::kDecompositions)
      if (d.recomposes) pairs.push_back(d);
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first < b.first : a.second < b.second; });
    return pairs;
  }();
  return table;
}

/// The primary composite of `first` and `second`, or 0.
[[nodiscard]] inline char32_t compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount)
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase && second < kTBase + kTCount)
    return first + (second - kTBase);
  const auto& table = composites();
  const auto it = std::lower_bound(table.begin(), table.end(), std::pair{first, second}, [](const auto& d, const auto& key) {
    return d.first != key.first ? d.first < key.first : d.second < key.second;
  });
  return it != table.end() && it->first == first && it->second == second ? static_cast<char32_t>(it->code) : 0;
}

}  // namespace detail

/// `text` in Normalization Form C.
[[nodiscard]] inline std::u32string nfc(std::u32string_view text) {
  // Below U+0300 there are no combining marks and every character is already in NFC.
  if (std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x300; })) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size() + 8);
  for (char32_t c : text) detail::decompose(c, out);
  // Canonical ordering: a stable sort of each run of combining marks by combining class.
  for (std::size_t i = 0; i < out.size();) {
    if (detail::combining_class(out[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < out.size() && detail::combining_class(out[end]) != 0) ++end;
    std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(i), out.begin() + static_cast<std::ptrdiff_t>(end),
                     [](char32_t a, char32_t b) { return detail::combining_class(a) < detail::combining_class(b); });
    i = end;
  }
  // Canonical composition: each character joins the last starter unless a character between them
  // has a combining class as high as its own (it is blocked); UAX #15's reference algorithm.
  if (out.empty()) return out;
  std::size_t starter = 0, kept = 1;
  int last_class = detail::combining_class(out[0]) == 0 ? 0 : 256;
  for (std::size_t i = 1; i < out.size(); ++i) {
    const char32_t c = out[i];
    const int c_class = detail::combining_class(c);
    const char32_t composite = detail::compose(out[starter], c);
    if (composite != 0 && (last_class < c_class || last_class == 0)) {
      out[starter] = composite;
      continue;
    }
    if (c_class == 0) starter = kept;
    last_class = c_class;
    out[kept++] = c;
  }
  out.resize(kept);
  return out;
}

}  // namespace rlmoe::text::normalization
