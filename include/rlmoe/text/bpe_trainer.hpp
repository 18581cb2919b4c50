#pragma once
// train_byte_level_bpe: a GPT-2-style byte-level BPE tokenizer learned from a corpus, as a
// tokenizer.json document that rlmoe's Tokenizer and the Hugging Face tokenizers library both read.
// For tasks and examples that need a tokenizer of the real format without downloading one.
//
// The corpus is pre-tokenized with GPT-2's split pattern and written in the byte-level alphabet;
// then, `merges` times, the most frequent adjacent pair of tokens over all words (weighted by how
// often each word occurs; ties to the pair whose tokens sort first) becomes a new token, until no
// pair occurs twice. Ids: the added tokens first, in the order given, then the 256 byte
// characters, then the merged tokens in the order learned. The added tokens are cut out of the
// corpus before it is split (they never reach BPE), and no merge makes a token that exists.
#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/text/byte_level.hpp"
#include "rlmoe/text/pre_tokenizer.hpp"

namespace rlmoe::text {

/// A token the tokenizer matches before BPE ("<｜end▁of▁sentence｜>", "<think>").
struct TrainerToken {
  std::string content;
  bool special = true;  ///< dropped by decode(..., skip_special_tokens = true)
};

inline io::Json train_byte_level_bpe(std::span<const std::string> corpus, std::span<const TrainerToken> added, int merges) {
  RLMOE_CHECK(merges >= 0, ConfigError, "train_byte_level_bpe: merges is ", merges, " but must be >= 0");
  // Distinct words (byte-level strings) and how often each occurs.
  const PreTokenizer split = PreTokenizer::from_json(
      io::Json::parse(R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})"), "trainer");
  std::map<std::u32string, std::int64_t> counts;
  std::vector<std::u32string> words;
  for (std::string text : corpus) {
    RLMOE_CHECK(utf8::first_invalid(text) == text.size(), ConfigError, "train_byte_level_bpe: a corpus text is not valid UTF-8");
    for (const TrainerToken& t : added) {  // the added tokens are matched before BPE: they are not learned
      std::string rest;
      std::size_t from = 0;
      for (std::size_t at = text.find(t.content); at != std::string::npos; at = text.find(t.content, from)) {
        rest.append(text, from, at - from).push_back(' ');
        from = at + t.content.size();
      }
      text = rest.append(text, from);
    }
    words.clear();
    split.split(utf8::to_code_points(text), words);
    for (const auto& w : words) ++counts[w];
  }
  // The vocabulary: added tokens, the 256 byte characters, then merges.
  std::vector<std::string> vocabulary;
  std::map<std::string, std::int32_t> ids;
  for (const TrainerToken& t : added) {
    RLMOE_CHECK(!t.content.empty() && ids.emplace(t.content, static_cast<std::int32_t>(vocabulary.size())).second, ConfigError,
                "train_byte_level_bpe: added token \"", t.content, "\" is empty or given twice");
    vocabulary.push_back(t.content);
  }
  for (int b = 0; b < 256; ++b) {
    std::string c;
    utf8::append(c, byte_level::character_of(static_cast<std::uint8_t>(b)));
    RLMOE_CHECK(ids.emplace(c, static_cast<std::int32_t>(vocabulary.size())).second, ConfigError, "train_byte_level_bpe: added token \"",
                c, "\" is a byte character");
    vocabulary.push_back(c);
  }
  struct Word {
    std::vector<std::int32_t> symbols;
    std::int64_t count;
  };
  std::vector<Word> corpus_words;
  for (const auto& [w, n] : counts) {
    Word word{{}, n};
    for (char32_t c : w) {
      std::string s;
      utf8::append(s, c);
      word.symbols.push_back(ids.at(s));
    }
    corpus_words.push_back(std::move(word));
  }
  io::Json::Array merge_list;
  for (int m = 0; m < merges; ++m) {
    std::map<std::pair<std::int32_t, std::int32_t>, std::int64_t> pairs;
    for (const Word& w : corpus_words)
      for (std::size_t i = 0; i + 1 < w.symbols.size(); ++i) {
        const std::pair key{w.symbols[i], w.symbols[i + 1]};
        // A pair whose concatenation is already a token (an added one) cannot become another.
        if (!ids.contains(vocabulary[static_cast<std::size_t>(key.first)] + vocabulary[static_cast<std::size_t>(key.second)]))
          pairs[key] += w.count;
      }
    const auto better = [&](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      const auto key = [&](const auto& p) { return std::pair{vocabulary[static_cast<std::size_t>(p.first.first)], vocabulary[static_cast<std::size_t>(p.first.second)]}; };
      return key(a) < key(b);
    };
    auto best = pairs.end();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (best == pairs.end() || better(*it, *best)) best = it;
    if (best == pairs.end() || best->second < 2) break;
    const auto [left, right] = best->first;
    const std::string merged = vocabulary[static_cast<std::size_t>(left)] + vocabulary[static_cast<std::size_t>(right)];
    const auto id = static_cast<std::int32_t>(vocabulary.size());
    ids.emplace(merged, id);
    vocabulary.push_back(merged);
    merge_list.emplace_back(io::Json::Array{vocabulary[static_cast<std::size_t>(left)], vocabulary[static_cast<std::size_t>(right)]});
    for (Word& w : corpus_words) {
      std::vector<std::int32_t> out;
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == left && w.symbols[i + 1] == right) {
          out.push_back(id);
          ++i;
        } else {
          out.push_back(w.symbols[i]);
        }
      }
      w.symbols = std::move(out);
    }
  }

  io::Json::Array added_tokens;
  for (std::size_t i = 0; i < added.size(); ++i)
    added_tokens.emplace_back(io::Json::Object{{"id", static_cast<std::int64_t>(i)}, {"content", added[i].content}, {"single_word", false},
                                               {"lstrip", false}, {"rstrip", false}, {"normalized", false}, {"special", added[i].special}});
  io::Json::Object vocab;  // every token, the added ones too (as the Hugging Face trainer writes it)
  for (std::size_t i = 0; i < vocabulary.size(); ++i) vocab.emplace_back(vocabulary[i], static_cast<std::int64_t>(i));
  const io::Json byte_level = io::Json::parse(R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true})");
  return io::Json(io::Json::Object{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", std::move(added_tokens)},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model", io::Json::Object{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                                 {"ignore_merges", false}, {"vocab", std::move(vocab)}, {"merges", std::move(merge_list)}}}});
}

}  // namespace rlmoe::text
