#pragma once
// TextTokenizer: what text tasks and rewards need of a tokenizer, so that they take the byte-level
// Tokenizer (tokenizer.json) and the SentencePieceTokenizer (tokenizer.model) alike: ids of a
// text, the text of ids (optionally without special tokens, and without ids that are no token),
// the number of ids and whether an id is a token.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rlmoe::text {

template <class T>
concept TextTokenizer = requires(const T& t, std::string_view text, std::span<const std::int32_t> ids, std::int32_t id) {
  { t.encode(text, false) } -> std::same_as<std::vector<std::int32_t>>;
  { t.decode(ids, true, true) } -> std::same_as<std::string>;
  { t.vocab_size() } -> std::convertible_to<std::size_t>;
  { t.is_token(id) } -> std::same_as<bool>;
};

}  // namespace rlmoe::text
