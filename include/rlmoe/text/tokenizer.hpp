#pragma once
// Tokenizer: a byte-level BPE tokenizer read from a Hugging Face tokenizer.json (GPT-2, Llama 3,
// Qwen, DeepSeek-V3 style), encoding text to ids and decoding ids to text exactly as the
// Hugging Face tokenizers library does. Encoding, in the library's order:
//   1. split the text at the added tokens ("<|im_start|>", "<｜end▁of▁sentence｜>", ...): leftmost
//      match, the longest at the same place; lstrip/rstrip take the whitespace beside them along;
//   2. normalize what lies between them (NFC, or nothing);
//   3. pre-tokenize it into words (pre_tokenizer.hpp) and encode each with BPE (bpe.hpp);
//   4. with add_special_tokens, add the post-processor's template tokens (a BOS, say).
// Decoding maps each id to its token (skipping special tokens when asked), turns the byte-level
// characters back into bytes, and reads those as UTF-8 with U+FFFD for ill-formed parts.
//
// Anything in tokenizer.json that rlmoe does not implement (another model type, normalizer,
// pre-tokenizer, post-processor or decoder, BPE dropout, single_word added tokens) is refused at
// load with its JSON path, never ignored. Encoding and decoding are const and thread-safe.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/text/bpe.hpp"
#include "rlmoe/text/byte_level.hpp"
#include "rlmoe/text/normalization.hpp"
#include "rlmoe/text/pre_tokenizer.hpp"
#include "rlmoe/text/unicode.hpp"

namespace rlmoe::text {

/// A token added on top of the BPE vocabulary (tokenizer.json's "added_tokens").
struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool special = false;     ///< skipped by decode(..., skip_special_tokens = true)
  bool lstrip = false;      ///< takes the whitespace before it along
  bool rstrip = false;      ///< takes the whitespace after it along
  bool normalized = false;  ///< matched in the normalized text (else in the raw text)
};

class Tokenizer {
 public:
  /// Reads `path` (a tokenizer.json); errors name the file and the JSON path of what is wrong.
  static Tokenizer from_file(const std::string& path) { return from_document(io::read_json_file(path), path); }

  /// Reads tokenizer.json's text; `name` stands for it in errors.
  static Tokenizer from_json(std::string_view text, const std::string& name = "tokenizer.json") {
    io::Json root;
    try {
      root = io::Json::parse(text);
    } catch (const io::FormatError& e) {
      throw io::FormatError(rlmoe::detail::message(name, ": ", e.what()));
    }
    return from_document(root, name);
  }

  /// A parsed tokenizer.json; `name` stands for it in errors.
  static Tokenizer from_document(const io::Json& root, const std::string& name) {
    Tokenizer t;
    const auto field = [&](std::string_view key) -> const io::Json& {
      static const io::Json kNull;
      const io::Json* value = root.find(key);
      return value != nullptr ? *value : kNull;
    };
    RLMOE_CHECK(root.is_object(), io::FormatError, name, ": the document must be an object");
    t.model_ = BpeModel::from_json(root.at("model", name), name + ": model");
    t.read_added_tokens(field("added_tokens"), name + ": added_tokens");
    t.read_normalizer(field("normalizer"), name + ": normalizer");
    t.pre_tokenizer_ = PreTokenizer::from_json(field("pre_tokenizer"), name + ": pre_tokenizer");
    t.read_post_processor(field("post_processor"), name + ": post_processor");
    t.read_decoder(field("decoder"), name + ": decoder");
    return t;
  }

  /// The ids of `text` (UTF-8; ill-formed text is refused with its byte offset).
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text, bool add_special_tokens = true) const {
    const std::size_t bad = utf8::first_invalid(text);
    RLMOE_CHECK(bad == text.size(), ConfigError, "Tokenizer::encode: the text is not valid UTF-8 at byte ", bad);
    std::vector<std::int32_t> ids;
    if (add_special_tokens) ids.insert(ids.end(), prefix_.begin(), prefix_.end());
    std::vector<std::u32string> words;
    for (const Piece& raw : split_on_added(utf8::to_code_points(text), false)) {
      if (raw.added >= 0) {
        ids.push_back(raw.added);
        continue;
      }
      for (const Piece& piece : split_on_added(normalize(raw.text), true)) {
        if (piece.added >= 0) {
          ids.push_back(piece.added);
          continue;
        }
        words.clear();
        pre_tokenizer_.split(piece.text, words);
        for (const std::u32string& word : words) model_.encode_word(utf8::from_code_points(word), ids);
      }
    }
    if (add_special_tokens) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
    return ids;
  }

  /// The text of `ids`. An id that is no token is refused (naming it and the vocabulary size), or
  /// with skip_unknown_ids dropped, as the Hugging Face library drops it: a model's embedding is
  /// often larger than its tokenizer, and what it samples there decodes to nothing.
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false,
                                   bool skip_unknown_ids = false) const {
    std::string bytes;
    bool first = true;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (skip_unknown_ids && !is_token(ids[i])) continue;
      const std::string& token = id_to_token(ids[i]);
      if (skip_special_tokens && special_contents_.contains(token)) continue;
      if (!byte_level_decoder_) {  // no decoder: tokens joined by spaces, as the library does
        if (!first) bytes += ' ';
        bytes += token;
      } else if (const auto decoded = byte_level::decode(token)) {
        bytes += *decoded;
      } else {
        bytes += token;  // an added token outside the byte alphabet stands for itself
      }
      first = false;
    }
    return utf8::lossy(bytes);
  }

  /// Whether `id` is a token (an added one or a vocabulary entry).
  [[nodiscard]] bool is_token(std::int32_t id) const { return added_by_id_.contains(id) || model_.token(id) != nullptr; }

  /// The token of `id`; throws ConfigError naming the id when there is none.
  [[nodiscard]] const std::string& id_to_token(std::int32_t id) const {
    if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) return added_[it->second].content;
    const std::string* token = model_.token(id);
    RLMOE_CHECK(token != nullptr, ConfigError, "Tokenizer: id ", id, " is no token (ids lie in [0, ", vocab_size(), "))");
    return *token;
  }

  /// The id of `token` (an added token or a vocabulary entry), or -1.
  [[nodiscard]] std::int32_t token_to_id(const std::string& token) const {
    for (const AddedToken& added : added_)
      if (added.content == token) return added.id;
    return model_.id(token);
  }

  /// One past the largest id: the rows an embedding over this tokenizer needs.
  [[nodiscard]] std::size_t vocab_size() const {
    std::size_t size = model_.id_limit();
    for (const AddedToken& added : added_) size = std::max(size, static_cast<std::size_t>(added.id) + 1);
    return size;
  }

  [[nodiscard]] const std::vector<AddedToken>& added_tokens() const { return added_; }

 private:
  /// A stretch of text between added tokens, or an added token (its id; -1 for text).
  struct Piece {
    std::u32string text;
    std::int32_t added = -1;
  };

  void read_added_tokens(const io::Json& list, const std::string& what) {
    if (list.is_null()) return;
    const auto& items = list.array(what);
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string where = what + "[" + std::to_string(i) + "]";
      const io::Json& item = items[i];
      AddedToken token;
      token.content = item.at("content", where).string(where + ".content");
      RLMOE_CHECK(!token.content.empty(), io::FormatError, where, ".content is empty");
      const std::int64_t id = item.at("id", where).integer(where + ".id");
      RLMOE_CHECK(id >= 0 && id < (std::int64_t{1} << 30), io::FormatError, where, ".id is ", id, "; ids must lie in [0, 2^30)");
      token.id = static_cast<std::int32_t>(id);
      const auto flag = [&](const char* key) {
        const io::Json* value = item.find(key);
        return value != nullptr && value->boolean(where + "." + key);
      };
      token.special = flag("special");
      token.lstrip = flag("lstrip");
      token.rstrip = flag("rstrip");
      token.normalized = flag("normalized");
      RLMOE_CHECK(!flag("single_word"), io::FormatError, where, ".single_word is true (\"", token.content,
                  "\"); rlmoe matches added tokens anywhere (single_word false)");
      const auto [it, inserted] = added_by_id_.emplace(token.id, added_.size());
      RLMOE_CHECK(inserted, io::FormatError, where, ".id ", id, " is also the id of \"", added_[it->second].content, "\"");
      if (token.special) special_contents_.emplace(token.content, token.id);
      added_.push_back(std::move(token));
    }
    // Each token's content in code points, and the tokens by their first code point, for matching.
    for (std::size_t k = 0; k < added_.size(); ++k) {
      added_text_.push_back(utf8::to_code_points(added_[k].content));
      added_by_first_[added_text_.back().front()].push_back(k);
    }
  }

  void read_normalizer(const io::Json& spec, const std::string& what) {
    if (spec.is_null()) return;
    const std::string type = spec.at("type", what).string(what + ".type");
    if (type == "Sequence") {
      const auto& steps = spec.at("normalizers", what).array(what + ".normalizers");
      for (std::size_t i = 0; i < steps.size(); ++i) read_normalizer(steps[i], what + ".normalizers[" + std::to_string(i) + "]");
      return;
    }
    RLMOE_CHECK(type == "NFC", io::FormatError, what, ".type is \"", type, "\"; rlmoe reads the normalizers NFC and Sequence");
    nfc_ = true;
  }

  void read_post_processor(const io::Json& spec, const std::string& what) {
    if (spec.is_null()) return;
    const std::string type = spec.at("type", what).string(what + ".type");
    if (type == "ByteLevel") return;  // it only adjusts offsets
    if (type == "Sequence") {
      const auto& steps = spec.at("processors", what).array(what + ".processors");
      for (std::size_t i = 0; i < steps.size(); ++i) read_post_processor(steps[i], what + ".processors[" + std::to_string(i) + "]");
      return;
    }
    RLMOE_CHECK(type == "TemplateProcessing", io::FormatError, what, ".type is \"", type,
                "\"; rlmoe reads the post-processors TemplateProcessing, ByteLevel and Sequence");
    const io::Json& specials = spec.at("special_tokens", what);
    const auto& single = spec.at("single", what).array(what + ".single");
    bool after_sequence = false;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const std::string where = what + ".single[" + std::to_string(i) + "]";
      if (single[i].find("Sequence") != nullptr) {
        const std::string& id = single[i].at("Sequence", where).at("id", where + ".Sequence").string(where + ".Sequence.id");
        RLMOE_CHECK(id == "A" && !after_sequence, io::FormatError, where, " is the sequence \"", id,
                    "\"; a single-sequence template holds \"A\" once");
        after_sequence = true;
        continue;
      }
      const std::string& name = single[i].at("SpecialToken", where).at("id", where + ".SpecialToken").string(where + ".SpecialToken.id");
      const std::string list = what + ".special_tokens[\"" + name + "\"].ids";
      const io::Json& entry = specials.at(name, what + ".special_tokens");
      for (const io::Json& id : entry.at("ids", list).array(list)) {
        const std::int64_t value = id.integer(list);
        RLMOE_CHECK(value >= 0 && value < (std::int64_t{1} << 30), io::FormatError, list, " holds ", value, "; ids must lie in [0, 2^30)");
        (after_sequence ? suffix_ : prefix_).push_back(static_cast<std::int32_t>(value));
      }
    }
    RLMOE_CHECK(after_sequence, io::FormatError, what, ".single has no {\"Sequence\": {\"id\": \"A\"}}");
  }

  void read_decoder(const io::Json& spec, const std::string& what) {
    if (spec.is_null()) return;
    const std::string type = spec.at("type", what).string(what + ".type");
    RLMOE_CHECK(type == "ByteLevel", io::FormatError, what, ".type is \"", type, "\"; rlmoe reads the ByteLevel decoder");
    byte_level_decoder_ = true;
  }

  [[nodiscard]] std::u32string normalize(std::u32string text) const {
    return nfc_ ? normalization::nfc(text) : text;
  }

  /// `text` split at the added tokens whose `normalized` flag is `normalized`: at each place the
  /// leftmost match, the longest there; lstrip and rstrip take adjacent whitespace along.
  [[nodiscard]] std::vector<Piece> split_on_added(std::u32string text, bool normalized) const {
    std::vector<Piece> pieces;
    std::size_t done = 0;  // text before this is in pieces
    for (std::size_t start = 0; start < text.size(); ++start) {
      const auto candidates = added_by_first_.find(text[start]);
      if (candidates == added_by_first_.end()) continue;
      std::size_t best = added_.size(), best_length = 0;
      for (std::size_t k : candidates->second) {
        const std::u32string& content = added_text_[k];
        if (added_[k].normalized == normalized && content.size() > best_length &&
            std::u32string_view(text).substr(start, content.size()) == content) {
          best = k;
          best_length = content.size();
        }
      }
      if (best == added_.size()) continue;
      std::size_t begin = start, end = start + best_length;
      if (added_[best].lstrip)
        while (begin > done && unicode::is_white_space(text[begin - 1])) --begin;
      if (added_[best].rstrip)
        while (end < text.size() && unicode::is_white_space(text[end])) ++end;
      if (begin > done) pieces.push_back(Piece{text.substr(done, begin - done)});
      pieces.push_back(Piece{{}, added_[best].id});
      done = end;
      start = end - 1;
    }
    if (done < text.size()) pieces.push_back(Piece{text.substr(done)});
    return pieces;
  }

  BpeModel model_;
  std::vector<AddedToken> added_;
  std::vector<std::u32string> added_text_;
  std::unordered_map<char32_t, std::vector<std::size_t>> added_by_first_;
  std::unordered_map<std::int32_t, std::size_t> added_by_id_;
  std::unordered_map<std::string, std::int32_t> special_contents_;
  bool nfc_ = false;
  PreTokenizer pre_tokenizer_;
  std::vector<std::int32_t> prefix_, suffix_;  ///< the post-processor's tokens around the text
  bool byte_level_decoder_ = false;
};

}  // namespace rlmoe::text
