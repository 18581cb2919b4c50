#pragma once
// SentencePieceTokenizer: the tokenizer.model files of models that ship SentencePiece rather than a
// byte-level tokenizer.json (Llama 2, Mistral and Mixtral, Gemma), through the SentencePiece
// library itself (Debian: apt-get install libsentencepiece-dev; link with -lsentencepiece), so that
// its unigram and BPE models, normalization and byte fallback are exactly the library's. Its
// interface is the byte-level Tokenizer's: encode, decode, ids and tokens, errors naming the file.
//
// Where the library's header is not installed, the class is not declared and
// kHaveSentencePiece is false; nothing else in rlmoe depends on it, and a program that includes
// rlmoe.hpp without using the class needs no -lsentencepiece.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"

#if __has_include(<sentencepiece_processor.h>)
#include <sentencepiece_processor.h>

namespace rlmoe::text {

inline constexpr bool kHaveSentencePiece = true;

class SentencePieceTokenizer {
 public:
  /// Loads `path` (a tokenizer.model); throws IoError when it cannot be read and io::FormatError
  /// naming the file when SentencePiece refuses it.
  static SentencePieceTokenizer from_file(const std::string& path) {
    SentencePieceTokenizer t;
    t.processor_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto status = t.processor_->Load(path);
    if (!status.ok()) {
      if (status.code() == sentencepiece::util::StatusCode::kNotFound || status.code() == sentencepiece::util::StatusCode::kPermissionDenied)
        throw IoError(rlmoe::detail::message("SentencePiece: cannot read '", path, "': ", status.ToString()));
      throw io::FormatError(rlmoe::detail::message("SentencePiece: '", path, "' is not a SentencePiece model: ", status.ToString()));
    }
    return t;
  }

  /// The ids of `text` (UTF-8; ill-formed text is refused with its byte offset), after the BOS
  /// token when add_bos and the model has one.
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text, bool add_bos = true) const {
    const std::size_t bad = utf8::first_invalid(text);
    RLMOE_CHECK(bad == text.size(), ConfigError, "SentencePieceTokenizer::encode: the text is not valid UTF-8 at byte ", bad);
    std::vector<int> ids;
    const auto status = processor_->Encode(std::string(text), &ids);
    RLMOE_CHECK(status.ok(), ConfigError, "SentencePieceTokenizer::encode: ", status.ToString());
    std::vector<std::int32_t> out;
    if (add_bos && processor_->bos_id() >= 0) out.push_back(processor_->bos_id());
    out.insert(out.end(), ids.begin(), ids.end());
    return out;
  }

  /// The text of `ids`; control tokens (BOS, EOS) decode to nothing whatever skip_special_tokens
  /// says, as in the library. An id that is no token is refused, naming it, or dropped with
  /// skip_unknown_ids.
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = false,
                                   bool skip_unknown_ids = false) const {
    (void)skip_special_tokens;
    std::vector<int> known;
    for (std::int32_t id : ids) {
      if (is_token(id)) known.push_back(id);
      else RLMOE_CHECK(skip_unknown_ids, ConfigError, "SentencePieceTokenizer: id ", id, " is no token (ids lie in [0, ", vocab_size(), "))");
    }
    std::string text;
    const auto status = processor_->Decode(known, &text);
    RLMOE_CHECK(status.ok(), ConfigError, "SentencePieceTokenizer::decode: ", status.ToString());
    return text;
  }

  [[nodiscard]] bool is_token(std::int32_t id) const { return id >= 0 && id < processor_->GetPieceSize(); }
  [[nodiscard]] std::size_t vocab_size() const { return static_cast<std::size_t>(processor_->GetPieceSize()); }
  /// The piece of `id` ("▁the", "<s>"); throws ConfigError naming the id when there is none.
  [[nodiscard]] std::string id_to_token(std::int32_t id) const {
    RLMOE_CHECK(is_token(id), ConfigError, "SentencePieceTokenizer: id ", id, " is no token (ids lie in [0, ", vocab_size(), "))");
    return processor_->IdToPiece(id);
  }
  /// The id of `piece`, or -1.
  [[nodiscard]] std::int32_t token_to_id(const std::string& piece) const {
    const int id = processor_->PieceToId(piece);
    return id == processor_->unk_id() && piece != processor_->IdToPiece(id) ? -1 : id;
  }
  [[nodiscard]] std::int32_t bos_id() const { return processor_->bos_id(); }
  [[nodiscard]] std::int32_t eos_id() const { return processor_->eos_id(); }

 private:
  // Shared: the processor is not copyable, its encode and decode are const and thread-safe.
  std::shared_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace rlmoe::text

#else

namespace rlmoe::text {
inline constexpr bool kHaveSentencePiece = false;
}  // namespace rlmoe::text

#endif
