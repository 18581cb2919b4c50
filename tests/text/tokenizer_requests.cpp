// Runs encode and decode requests through rlmoe's Tokenizer, for the cross-check against the
// Hugging Face tokenizers library (check_with_python_tokenizers.py):
//   tokenizer_requests <tokenizer.json | tokenizer.model> <requests.json>
// requests.json: [{"encode": text, "add_special_tokens": bool} | {"decode": [ids], "skip_special_tokens": bool}
//                 | {"find_all": pattern, "code_points": [first, last]}, ...]
// prints one JSON array with each result: the ids, the text, the [begin, end) code-point ranges of
// the pattern's matches in the text of every code point from first to last but the surrogates, or
// {"error": message}. A .model file is a SentencePiece model (where rlmoe was built with the
// library; add_special_tokens then means the BOS, skip_special_tokens is the library's own).
//   tokenizer_requests --train <corpus.json> <tokenizer.json>
// writes the byte-level BPE tokenizer rlmoe learns from a JSON array of texts (500 merges, with
// "<|endoftext|>" special and "<think>" not).
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rlmoe/io/atomic_file.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/text/bpe_trainer.hpp"
#include "rlmoe/text/sentencepiece.hpp"
#include "rlmoe/text/tokenizer.hpp"

namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int train(const char* corpus_path, const char* out) {
  std::vector<std::string> corpus;
  const auto lines = rlmoe::io::Json::parse(read_text(corpus_path));
  for (const auto& line : lines.array("corpus")) corpus.push_back(line.string("corpus line"));
  const std::vector<rlmoe::text::TrainerToken> added = {{"<|endoftext|>", true}, {"<think>", false}};
  rlmoe::io::write_text_atomically(out, rlmoe::text::train_byte_level_bpe(corpus, added, 500).dump(), "tokenizer_requests");
  return 0;
}

void decode_into(const rlmoe::text::Tokenizer& t, const std::vector<std::int32_t>& ids, bool skip, rlmoe::io::Json::Array& results) {
  results.emplace_back(t.decode(ids, skip));
}
#if defined(RLMOE_TEST_SENTENCEPIECE)
void decode_into(const rlmoe::text::SentencePieceTokenizer& t, const std::vector<std::int32_t>& ids, bool, rlmoe::io::Json::Array& results) {
  results.emplace_back(t.decode(ids));
}
#endif

/// Every request through `tokenizer`, the answers printed as one JSON array.
template <class Tokenizer>
int answer(const Tokenizer& tokenizer, const char* requests_path) {
  const auto requests = rlmoe::io::Json::parse(read_text(requests_path));
  rlmoe::io::Json::Array results;
  for (const auto& request : requests.array("requests")) {
    try {
      if (const auto* encode = request.find("encode")) {
        const auto ids = tokenizer.encode(encode->string("encode"), request.at("add_special_tokens", "request").boolean("add_special_tokens"));
        rlmoe::io::Json::Array out;
        for (auto id : ids) out.emplace_back(static_cast<std::int64_t>(id));
        results.emplace_back(std::move(out));
      } else if (const auto* pattern = request.find("find_all")) {
        const rlmoe::text::Regex regex(pattern->string("find_all"));
        const auto& range = request.at("code_points", "request").array("code_points");
        std::u32string text;
        for (std::int64_t c = range.at(0).integer("first"); c <= range.at(1).integer("last"); ++c)
          if (c < 0xD800 || c > 0xDFFF) text += static_cast<char32_t>(c);
        rlmoe::io::Json::Array out;
        for (const auto& m : regex.find_all(text))
          out.emplace_back(rlmoe::io::Json::Array{static_cast<std::int64_t>(m.begin), static_cast<std::int64_t>(m.end)});
        results.emplace_back(std::move(out));
      } else {
        std::vector<std::int32_t> ids;
        for (const auto& id : request.at("decode", "request").array("decode")) ids.push_back(static_cast<std::int32_t>(id.integer("id")));
        decode_into(tokenizer, ids, request.at("skip_special_tokens", "request").boolean("skip_special_tokens"), results);
      }
    } catch (const rlmoe::Error& e) {
      results.emplace_back(rlmoe::io::Json::Object{{"error", e.what()}});
    }
  }
  std::printf("%s\n", rlmoe::io::Json(std::move(results)).dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--train") {
    try {
      return train(argv[2], argv[3]);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tokenizer_requests: %s\n", e.what());
      return 1;
    }
  }
  if (argc != 3) {
    std::fprintf(stderr, "usage: tokenizer_requests <tokenizer.json> <requests.json>\n");
    return 2;
  }
  try {
    const std::string path = argv[1];
    if (path.ends_with(".model")) {
#if defined(RLMOE_TEST_SENTENCEPIECE)
      return answer(rlmoe::text::SentencePieceTokenizer::from_file(path), argv[2]);
#else
      std::fprintf(stderr, "tokenizer_requests: built without SentencePiece (install libsentencepiece-dev)\n");
      return 3;
#endif
    }
    return answer(rlmoe::text::Tokenizer::from_file(path), argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tokenizer_requests: %s\n", e.what());
    return 1;
  }
}
