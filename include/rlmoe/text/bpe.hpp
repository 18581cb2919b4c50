#pragma once
// BpeModel: byte-pair encoding of one pre-tokenized word, as tokenizer.json's "model" of type
// "BPE" describes it: a vocabulary (token string -> id) and ranked merges (pairs of tokens whose
// concatenation is a token). A word starts as its characters; the adjacent pair with the best
// (lowest) rank merges first, the leftmost of equal ranks first, until no pair merges; that is the
// Hugging Face tokenizers' order, run here with a heap over a linked list (n log n in the word's
// length, so that a 100,000-character run of one letter costs what it should).
#include <cstddef>
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"

namespace rlmoe::text {

class BpeModel {
 public:
  BpeModel() = default;

  /// From tokenizer.json's "model" object; `what` names it in errors ("tokenizer.json: model").
  /// Dropout, subword prefixes or suffixes and byte fallback (SentencePiece-style BPE) are refused.
  static BpeModel from_json(const io::Json& model, const std::string& what) {
    const std::string type = model.at("type", what).string(what + ".type");
    RLMOE_CHECK(type == "BPE", io::FormatError, what, ".type is \"", type, "\"; rlmoe reads \"BPE\" models");
    if (const io::Json* dropout = model.find("dropout"); dropout != nullptr && !dropout->is_null()) {
      const double p = dropout->number(what + ".dropout");
      RLMOE_CHECK(p == 0.0, io::FormatError, what, ".dropout is ", p,
                  "; BPE dropout makes encoding random and rlmoe encodes deterministically (null or 0)");
    }
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      const io::Json* affix = model.find(key);
      if (affix == nullptr || affix->is_null()) continue;
      const std::string& value = affix->string(what + "." + key);
      RLMOE_CHECK(value.empty(), io::FormatError, what, ".", key, " is \"", value, "\"; rlmoe's BPE has no subword affixes (null or \"\")");
    }
    if (const io::Json* fallback = model.find("byte_fallback"); fallback != nullptr && !fallback->is_null()) {
      RLMOE_CHECK(!fallback->boolean(what + ".byte_fallback"), io::FormatError, what,
                  ".byte_fallback is true (SentencePiece-style BPE); rlmoe reads byte-level BPE");
    }

    BpeModel bpe;
    for (const auto& [token, id] : model.at("vocab", what).object(what + ".vocab")) {
      const std::int64_t value = id.integer(what + ".vocab[\"" + token + "\"]");
      RLMOE_CHECK(value >= 0 && value < (std::int64_t{1} << 30), io::FormatError, what, ".vocab[\"", token, "\"] is ", value,
                  "; ids must lie in [0, 2^30)");
      const auto [it, inserted] = bpe.ids_.emplace(token, static_cast<std::int32_t>(value));
      RLMOE_CHECK(inserted, io::FormatError, what, ".vocab lists \"", token, "\" twice");
      if (static_cast<std::size_t>(value) >= bpe.tokens_.size()) bpe.tokens_.resize(static_cast<std::size_t>(value) + 1);
      RLMOE_CHECK(bpe.tokens_[static_cast<std::size_t>(value)].empty(), io::FormatError, what, ".vocab gives id ", value,
                  " to both \"", bpe.tokens_[static_cast<std::size_t>(value)], "\" and \"", token, "\"");
      RLMOE_CHECK(!token.empty(), io::FormatError, what, ".vocab has an empty token (id ", value, ")");
      bpe.tokens_[static_cast<std::size_t>(value)] = token;
    }

    const auto& merges = model.at("merges", what).array(what + ".merges");
    bpe.merges_.reserve(merges.size());
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
      const std::string where = what + ".merges[" + std::to_string(rank) + "]";
      std::string left, right;
      if (merges[rank].is_string()) {  // "a b", the older format
        const std::string& pair = merges[rank].string(where);
        const std::size_t space = pair.find(' ');
        RLMOE_CHECK(space != std::string::npos && pair.find(' ', space + 1) == std::string::npos, io::FormatError, where,
                    " is \"", pair, "\"; expected two tokens separated by one space");
        left = pair.substr(0, space);
        right = pair.substr(space + 1);
      } else {  // ["a", "b"]
        const auto& pair = merges[rank].array(where);
        RLMOE_CHECK(pair.size() == 2, io::FormatError, where, " has ", pair.size(), " entries; expected two tokens");
        left = pair[0].string(where + "[0]");
        right = pair[1].string(where + "[1]");
      }
      const auto id_of = [&](const std::string& token) {
        const auto it = bpe.ids_.find(token);
        RLMOE_CHECK(it != bpe.ids_.end(), io::FormatError, where, ": \"", token, "\" is not in the vocabulary");
        return it->second;
      };
      const std::int32_t a = id_of(left), b = id_of(right), merged = id_of(left + right);
      bpe.merges_.emplace(pair_key(a, b), Merge{static_cast<std::int32_t>(rank), merged});  // the first rank wins
    }
    if (const io::Json* ignore = model.find("ignore_merges"); ignore != nullptr && !ignore->is_null())
      bpe.ignore_merges_ = ignore->boolean(what + ".ignore_merges");
    if (const io::Json* unk = model.find("unk_token"); unk != nullptr && !unk->is_null()) {
      const std::string& token = unk->string(what + ".unk_token");
      const auto it = bpe.ids_.find(token);
      RLMOE_CHECK(it != bpe.ids_.end(), io::FormatError, what, ".unk_token \"", token, "\" is not in the vocabulary");
      bpe.unknown_ = it->second;
    }
    return bpe;
  }

  /// The ids of one word (UTF-8, non-empty), appended to `out`. A character outside the
  /// vocabulary becomes the unknown token, or throws when the model has none (the Hugging Face
  /// library drops it silently; a byte-level vocabulary has every character).
  void encode_word(std::string_view word, std::vector<std::int32_t>& out) const {
    if (ignore_merges_) {
      if (const auto it = ids_.find(std::string(word)); it != ids_.end()) {
        out.push_back(it->second);
        return;
      }
    }
    // The word's characters as a doubly linked list of symbols.
    struct Symbol {
      std::int32_t id;
      std::int32_t previous, next;  // -1 at the ends
    };
    std::vector<Symbol> symbols;
    for (std::size_t position = 0; position < word.size();) {
      const utf8::Decoded d = utf8::decode(word, position);
      const std::size_t length = d.length == 0 ? d.length_of_bad : d.length;
      const std::string character(word.substr(position, length));
      position += length;
      const auto it = ids_.find(character);
      std::int32_t id = unknown_;
      if (it != ids_.end()) id = it->second;
      RLMOE_CHECK(id >= 0, io::FormatError, "BPE: the character \"", character, "\" of \"", word,
                  "\" is not in the vocabulary and the model has no unk_token");
      const auto index = static_cast<std::int32_t>(symbols.size());
      symbols.push_back(Symbol{id, index - 1, -1});
      if (index > 0) symbols[static_cast<std::size_t>(index) - 1].next = index;
    }

    struct Candidate {
      std::int32_t rank, position, merged;
      bool operator>(const Candidate& other) const {
        return rank != other.rank ? rank > other.rank : position > other.position;
      }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    const auto consider = [&](std::int32_t position) {
      if (position < 0) return;
      const std::int32_t next = symbols[static_cast<std::size_t>(position)].next;
      if (next < 0) return;
      const auto it = merges_.find(pair_key(symbols[static_cast<std::size_t>(position)].id, symbols[static_cast<std::size_t>(next)].id));
      if (it != merges_.end()) queue.push(Candidate{it->second.rank, position, it->second.merged});
    };
    for (std::int32_t i = 0; i + 1 < static_cast<std::int32_t>(symbols.size()); ++i) consider(i);
    while (!queue.empty()) {
      const Candidate top = queue.top();
      queue.pop();
      Symbol& left = symbols[static_cast<std::size_t>(top.position)];
      if (left.id < 0 || left.next < 0) continue;  // merged away, or now last
      Symbol& right = symbols[static_cast<std::size_t>(left.next)];
      const auto it = merges_.find(pair_key(left.id, right.id));
      if (it == merges_.end() || it->second.merged != top.merged) continue;  // the pair changed since
      left.id = top.merged;
      right.id = -1;
      left.next = right.next;
      if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].previous = top.position;
      consider(left.previous);
      consider(top.position);
    }
    for (std::int32_t i = 0; i >= 0 && i < static_cast<std::int32_t>(symbols.size()); i = symbols[static_cast<std::size_t>(i)].next)
      out.push_back(symbols[static_cast<std::size_t>(i)].id);
  }

  /// The token of `id`, or nullptr when the vocabulary has none.
  [[nodiscard]] const std::string* token(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size() || tokens_[static_cast<std::size_t>(id)].empty()) return nullptr;
    return &tokens_[static_cast<std::size_t>(id)];
  }
  /// The id of `token`, or -1.
  [[nodiscard]] std::int32_t id(const std::string& token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? -1 : it->second;
  }
  /// One past the largest id.
  [[nodiscard]] std::size_t id_limit() const { return tokens_.size(); }

 private:
  struct Merge {
    std::int32_t rank, merged;
  };
  static std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }

  std::unordered_map<std::string, std::int32_t> ids_;
  std::vector<std::string> tokens_;  ///< by id; empty where no token has that id
  std::unordered_map<std::uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  std::int32_t unknown_ = -1;
};

}  // namespace rlmoe::text
