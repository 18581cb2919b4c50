#pragma once
// PreTokenizer: splits normalized text into the words that BPE encodes one at a time, as
// tokenizer.json's "pre_tokenizer" describes it. The steps rlmoe reads, applied in order to every
// piece the previous step made:
//   Split      a pattern (a regex, or a literal string) whose matches and the gaps between them
//              make the pieces according to "behavior" (Isolated, Removed, MergedWithPrevious,
//              MergedWithNext, Contiguous) and "invert";
//   ByteLevel  a space put in front of a piece that does not start with one (add_prefix_space),
//              GPT-2's split pattern (use_regex), then the bytes written in the byte-level
//              alphabet (byte_level.hpp);
//   Sequence   of those.
// Anything else is refused, naming the type. Pieces never include empty strings.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/text/byte_level.hpp"
#include "rlmoe/text/regex.hpp"

namespace rlmoe::text {

/// GPT-2's split pattern, the one the ByteLevel pre-tokenizer applies with use_regex.
inline constexpr const char* kGpt2SplitPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class PreTokenizer {
 public:
  /// How a Split step turns matches and gaps into pieces (tokenizers' SplitDelimiterBehavior).
  enum class Behavior { Isolated, Removed, MergedWithPrevious, MergedWithNext, Contiguous };

  PreTokenizer() = default;

  /// From tokenizer.json's "pre_tokenizer" (null: every piece is one word); `what` names it.
  static PreTokenizer from_json(const io::Json& spec, const std::string& what) {
    PreTokenizer pre;
    if (!spec.is_null()) pre.add(spec, what);
    return pre;
  }

  /// Appends the words of `text` (code points) to `words`.
  void split(std::u32string_view text, std::vector<std::u32string>& words) const {
    std::vector<std::u32string> pieces;
    if (!text.empty()) pieces.emplace_back(text);
    for (const Step& step : steps_) {
      std::vector<std::u32string> next;
      for (const std::u32string& piece : pieces) apply(step, piece, next);
      pieces = std::move(next);
    }
    for (auto& piece : pieces) words.push_back(std::move(piece));
  }

 private:
  struct Step {
    enum class Kind { Split, ByteLevel } kind = Kind::Split;
    std::shared_ptr<const Regex> regex;  ///< Split with a regex, or ByteLevel with use_regex
    std::u32string literal;              ///< Split with a string
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    bool add_prefix_space = false;
  };

  /// A part of a piece: code points [begin, end), and whether the pattern matched it.
  struct Segment {
    std::size_t begin, end;
    bool matched;
  };

  void add(const io::Json& spec, const std::string& what) {
    const std::string type = spec.at("type", what).string(what + ".type");
    if (type == "Sequence") {
      const auto& steps = spec.at("pretokenizers", what).array(what + ".pretokenizers");
      for (std::size_t i = 0; i < steps.size(); ++i) add(steps[i], what + ".pretokenizers[" + std::to_string(i) + "]");
    } else if (type == "Split") {
      Step step;
      const io::Json& pattern = spec.at("pattern", what);
      if (const io::Json* regex = pattern.find("Regex")) {
        step.regex = std::make_shared<const Regex>(regex->string(what + ".pattern.Regex"));
      } else if (const io::Json* literal = pattern.find("String")) {
        step.literal = utf8::to_code_points(literal->string(what + ".pattern.String"));
        RLMOE_CHECK(!step.literal.empty(), io::FormatError, what, ".pattern.String is empty");
      } else {
        throw io::FormatError(rlmoe::detail::message(what, ".pattern must be {\"Regex\": ...} or {\"String\": ...}"));
      }
      step.behavior = behavior(spec.at("behavior", what).string(what + ".behavior"), what);
      if (const io::Json* invert = spec.find("invert")) step.invert = invert->boolean(what + ".invert");
      steps_.push_back(std::move(step));
    } else if (type == "ByteLevel") {
      Step step;
      step.kind = Step::Kind::ByteLevel;
      if (const io::Json* prefix = spec.find("add_prefix_space")) step.add_prefix_space = prefix->boolean(what + ".add_prefix_space");
      const io::Json* use_regex = spec.find("use_regex");
      if (use_regex == nullptr || use_regex->boolean(what + ".use_regex")) step.regex = gpt2_pattern();
      steps_.push_back(std::move(step));
    } else {
      throw io::FormatError(rlmoe::detail::message(what, ".type is \"", type,
                                                   "\"; rlmoe reads the pre-tokenizers Split, ByteLevel and Sequence"));
    }
  }

  static Behavior behavior(const std::string& name, const std::string& what) {
    if (name == "Isolated") return Behavior::Isolated;
    if (name == "Removed") return Behavior::Removed;
    if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (name == "MergedWithNext") return Behavior::MergedWithNext;
    if (name == "Contiguous") return Behavior::Contiguous;
    throw io::FormatError(rlmoe::detail::message(what, ".behavior is \"", name,
                                                 "\"; expected Isolated, Removed, MergedWithPrevious, MergedWithNext or Contiguous"));
  }

  static std::shared_ptr<const Regex> gpt2_pattern() {
    static const auto pattern = std::make_shared<const Regex>(kGpt2SplitPattern);
    return pattern;
  }

  /// The matches of a step's pattern in `piece` and the gaps between them, in order.
  static std::vector<Segment> segments(const Step& step, std::u32string_view piece) {
    std::vector<Segment> out;
    std::size_t previous = 0;
    const auto found = [&](std::size_t begin, std::size_t end) {
      if (begin > previous) out.push_back(Segment{previous, begin, false});
      out.push_back(Segment{begin, end, true});
      previous = end;
    };
    if (step.regex) {
      for (const Regex::Match& m : step.regex->find_all(piece)) found(m.begin, m.end);
    } else {
      for (std::size_t at = piece.find(step.literal); at != std::u32string_view::npos; at = piece.find(step.literal, previous))
        found(at, at + step.literal.size());
    }
    if (previous < piece.size()) out.push_back(Segment{previous, piece.size(), false});
    return out;
  }

  /// The pieces a Split's behavior makes of the segments; a merged match extends its neighbour.
  static std::vector<Segment> arrange(std::vector<Segment> parts, Behavior behavior) {
    std::vector<Segment> out;
    bool previous_matched = false;
    switch (behavior) {
      case Behavior::Isolated: return parts;
      case Behavior::Removed:
        for (const Segment& s : parts)
          if (!s.matched) out.push_back(s);
        return out;
      case Behavior::MergedWithPrevious:
      case Behavior::Contiguous:
        for (const Segment& s : parts) {
          const bool joins = behavior == Behavior::Contiguous ? s.matched == previous_matched : s.matched && !previous_matched;
          if (joins && !out.empty()) {
            out.back().end = s.end;
          } else {
            out.push_back(s);
          }
          previous_matched = s.matched;
        }
        return out;
      case Behavior::MergedWithNext:
        for (auto s = parts.rbegin(); s != parts.rend(); ++s) {
          if (s->matched && !previous_matched && !out.empty()) {
            out.back().begin = s->begin;
          } else {
            out.push_back(*s);
          }
          previous_matched = s->matched;
        }
        return {out.rbegin(), out.rend()};
    }
    return out;
  }

  static void apply(const Step& step, std::u32string_view piece, std::vector<std::u32string>& out) {
    if (step.kind == Step::Kind::Split) {
      std::vector<Segment> parts = segments(step, piece);
      if (step.invert)
        for (Segment& s : parts) s.matched = !s.matched;
      for (const Segment& s : arrange(std::move(parts), step.behavior))
        if (s.end > s.begin) out.emplace_back(piece.substr(s.begin, s.end - s.begin));
      return;
    }
    std::u32string prefixed;
    if (step.add_prefix_space && (piece.empty() || piece.front() != U' ')) {
      prefixed = U" ";
      prefixed += piece;
      piece = prefixed;
    }
    const auto bytes_as_characters = [&](std::u32string_view part) {
      std::u32string word;
      for (char b : utf8::from_code_points(part)) word += byte_level::character_of(static_cast<std::uint8_t>(b));
      out.push_back(std::move(word));
    };
    if (!step.regex) {
      if (!piece.empty()) bytes_as_characters(piece);
      return;
    }
    for (const Segment& s : segments(step, piece))
      if (s.end > s.begin) bytes_as_characters(piece.substr(s.begin, s.end - s.begin));
  }

  std::vector<Step> steps_;
};

}  // namespace rlmoe::text
