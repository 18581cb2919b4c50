#pragma once
// Regex: the regular expressions of tokenizer pre-tokenizers (GPT-2's, Llama 3's, Qwen's,
// DeepSeek-V3's split patterns and the like), matched over code points the way Oniguruma (the
// engine of the Hugging Face tokenizers) matches them: leftmost match, alternatives tried in order,
// greedy quantifiers backtracking, Unicode properties.
//
// The syntax is the part those patterns use, and anything else is refused with its position:
//   alternation a|b, groups (...) (?:...) (?i:...), lookahead (?=...) (?!...),
//   quantifiers ? * + {n} {n,} {n,m} and their lazy forms (??, *?, ...),
//   . (anything but \n), classes [...] [^...] with ranges, escapes \r \n \t \f \v \xHH \x{H..} \uHHHH
//   and escaped punctuation, \s \S (White_Space), \d \D (Nd),
//   \p{..} \P{..} \p{^..} with a general category or its class (L, Lu, N, Nd, P, S, M, Z, C, ...).
// \w is refused: Oniguruma's word characters follow the Alphabetic property, which rlmoe has no
// table for. Case-insensitive groups apply to ASCII letters (with the two non-ASCII characters that
// fold to them, U+017F to s and U+212A to k); a case-insensitive class or non-ASCII letter is refused.
//
// Why not std::regex: it has no Unicode properties and works on bytes or wide characters, not code
// points. Matching backtracks, with a loop rather than recursion for a repeated character class,
// so that a long run of letters or spaces costs no stack.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/json.hpp"
#include "rlmoe/text/unicode.hpp"

namespace rlmoe::text {

class Regex {
 public:
  /// A match: code points [begin, end) of the searched text.
  struct Match {
    std::size_t begin = 0, end = 0;
  };

  /// Parses `pattern` (UTF-8); throws io::FormatError naming the pattern, the position and what
  /// was expected or is not supported.
  explicit Regex(std::string pattern) : pattern_(std::move(pattern)) {
    RLMOE_CHECK(utf8::first_invalid(pattern_) == pattern_.size(), io::FormatError, "regex pattern is not valid UTF-8");
    Parser parser{*this, utf8::to_code_points(pattern_)};
    root_ = parser.alternation();
    if (parser.position != parser.source.size()) parser.fail("')' without '(' or the end of the pattern");
  }

  [[nodiscard]] const std::string& pattern() const { return pattern_; }

  /// The leftmost match that starts at or after `from`, or none.
  [[nodiscard]] std::optional<Match> search(std::u32string_view text, std::size_t from = 0) const {
    for (std::size_t start = from; start <= text.size(); ++start) {
      std::size_t end = 0;
      const auto record = [&](std::size_t p) {
        end = p;
        return true;
      };
      if (match(root_, text, start, Continuation::of(record))) return Match{start, end};
    }
    return std::nullopt;
  }

  /// Every non-overlapping, non-empty match from left to right (after an empty match the search
  /// moves on by one character, as Oniguruma's does).
  [[nodiscard]] std::vector<Match> find_all(std::u32string_view text) const {
    std::vector<Match> matches;
    for (std::size_t from = 0; from <= text.size();) {
      const auto m = search(text, from);
      if (!m) break;
      if (m->end == m->begin) {
        from = m->begin + 1;
        continue;
      }
      matches.push_back(*m);
      from = m->end;
    }
    return matches;
  }

 private:
  /// One alternative of a character class: a range of code points, a set of general categories,
  /// or White_Space; possibly negated (\S, \P{L}).
  struct ClassItem {
    enum class Kind { Range, Categories, WhiteSpace } kind = Kind::Range;
    char32_t first = 0, last = 0;
    std::uint32_t categories = 0;  ///< bit i: unicode::Category i
    bool negated = false;
    bool fold_case = false;  ///< a Range of one ASCII letter in a case-insensitive group
  };
  struct CharClass {
    std::vector<ClassItem> items;
    bool negated = false;
  };

  struct Node {
    enum class Kind { Class, Sequence, Alternation, Repeat, LookAhead };
    explicit Node(Kind k) : kind(k) {}
    Kind kind;
    CharClass set;              ///< Class
    std::vector<int> children;  ///< Sequence, Alternation; Repeat and LookAhead: one
    int min = 0, max = 0;       ///< Repeat; max < 0: unbounded
    bool greedy = true;         ///< Repeat
    bool negative = false;      ///< LookAhead
  };

  /// A borrowed callable bool(std::size_t): what must match after a node, given where it ended.
  struct Continuation {
    const void* context;
    bool (*call)(const void*, std::size_t);
    bool operator()(std::size_t position) const { return call(context, position); }
    template <class F>
    static Continuation of(const F& f) {
      return {&f, [](const void* c, std::size_t p) { return (*static_cast<const F*>(c))(p); }};
    }
  };

  static constexpr char32_t fold(char32_t c) {
    if (c >= 'A' && c <= 'Z') return c + ('a' - 'A');
    if (c == 0x017F) return 's';  // LATIN SMALL LETTER LONG S
    if (c == 0x212A) return 'k';  // KELVIN SIGN
    return c;
  }

  static bool item_contains(const ClassItem& item, char32_t c) {
    bool in = false;
    switch (item.kind) {
      case ClassItem::Kind::Range:
        in = item.fold_case ? fold(c) == fold(item.first) : (c >= item.first && c <= item.last);
        break;
      case ClassItem::Kind::Categories:
        in = ((item.categories >> static_cast<unsigned>(unicode::category(c))) & 1u) != 0;
        break;
      case ClassItem::Kind::WhiteSpace: in = unicode::is_white_space(c); break;
    }
    return in != item.negated;
  }

  static bool class_contains(const CharClass& set, char32_t c) {
    bool in = false;
    for (const ClassItem& item : set.items) {
      if (item_contains(item, c)) {
        in = true;
        break;
      }
    }
    return in != set.negated;
  }

  bool match(int index, std::u32string_view text, std::size_t position, Continuation next) const {
    const Node& node = nodes_[static_cast<std::size_t>(index)];
    switch (node.kind) {
      case Node::Kind::Class:
        return position < text.size() && class_contains(node.set, text[position]) && next(position + 1);
      case Node::Kind::Sequence: return sequence(node, 0, text, position, next);
      case Node::Kind::Alternation:
        for (int child : node.children)
          if (match(child, text, position, next)) return true;
        return false;
      case Node::Kind::Repeat: {
        const Node& child = nodes_[static_cast<std::size_t>(node.children[0])];
        if (child.kind == Node::Kind::Class) return repeat_class(node, child.set, text, position, next);
        return repeat(node, 0, text, position, next);
      }
      case Node::Kind::LookAhead: {
        const auto accept = [](std::size_t) { return true; };
        const bool found = match(node.children[0], text, position, Continuation::of(accept));
        return found != node.negative && next(position);
      }
    }
    return false;
  }

  bool sequence(const Node& node, std::size_t i, std::u32string_view text, std::size_t position, Continuation next) const {
    if (i == node.children.size()) return next(position);
    const auto rest = [&](std::size_t p) { return sequence(node, i + 1, text, p, next); };
    return match(node.children[i], text, position, Continuation::of(rest));
  }

  /// A repeated character class: take the longest run (up to max) and give characters back one at
  /// a time (greedy), or grow from min (lazy); no recursion per character.
  static bool repeat_class(const Node& node, const CharClass& set, std::u32string_view text, std::size_t position,
                           Continuation next) {
    const std::size_t limit = node.max < 0 ? text.size() - position : std::min<std::size_t>(static_cast<std::size_t>(node.max), text.size() - position);
    std::size_t run = 0;
    while (run < limit && class_contains(set, text[position + run])) ++run;
    const auto min = static_cast<std::size_t>(node.min);
    if (run < min) return false;
    if (node.greedy) {
      for (std::size_t n = run + 1; n-- > min;)
        if (next(position + n)) return true;
    } else {
      for (std::size_t n = min; n <= run; ++n)
        if (next(position + n)) return true;
    }
    return false;
  }

  /// A repeated group, `count` iterations done; an iteration that matches nothing ends the loop.
  bool repeat(const Node& node, int count, std::u32string_view text, std::size_t position, Continuation next) const {
    const auto again = [&](std::size_t p) {
      if (p == position) return count + 1 >= node.min && next(p);
      return repeat(node, count + 1, text, p, next);
    };
    const bool may_repeat = node.max < 0 || count < node.max;
    if (node.greedy) {
      if (may_repeat && match(node.children[0], text, position, Continuation::of(again))) return true;
      return count >= node.min && next(position);
    }
    if (count >= node.min && next(position)) return true;
    return may_repeat && match(node.children[0], text, position, Continuation::of(again));
  }

  int add(Node node) {
    nodes_.push_back(std::move(node));
    return static_cast<int>(nodes_.size()) - 1;
  }

  struct Parser {
    Regex& regex;
    std::u32string source;
    std::size_t position = 0;
    bool case_insensitive = false;

    [[noreturn]] void fail(std::string_view expected) const {
      throw io::FormatError(rlmoe::detail::message("regex pattern \"", regex.pattern_, "\": at character ", position,
                                                   ": expected ", expected));
    }
    [[noreturn]] void unsupported(std::string_view what) const {
      throw io::FormatError(rlmoe::detail::message("regex pattern \"", regex.pattern_, "\": at character ", position, ": ",
                                                   what, " is not supported (see rlmoe/text/regex.hpp)"));
    }
    [[nodiscard]] bool at_end() const { return position >= source.size(); }
    [[nodiscard]] char32_t peek() const { return source[position]; }
    bool accept(char32_t c) {
      if (at_end() || peek() != c) return false;
      ++position;
      return true;
    }

    int alternation() {
      Node alternatives{Node::Kind::Alternation};
      alternatives.children.push_back(sequence());
      while (accept('|')) alternatives.children.push_back(sequence());
      if (alternatives.children.size() == 1) return alternatives.children[0];
      return regex.add(std::move(alternatives));
    }

    int sequence() {
      Node items{Node::Kind::Sequence};
      while (!at_end() && peek() != '|' && peek() != ')') items.children.push_back(quantified(atom()));
      if (items.children.size() == 1) return items.children[0];
      return regex.add(std::move(items));
    }

    int quantified(int atom_index) {
      while (!at_end()) {
        int min = 0, max = 0;
        const std::size_t start = position;
        if (accept('?')) {
          max = 1;
        } else if (accept('*')) {
          max = -1;
        } else if (accept('+')) {
          min = 1;
          max = -1;
        } else if (peek() == '{' && bounds(min, max)) {
          // {n}, {n,}, {n,m}
        } else {
          break;
        }
        const Node& target = regex.nodes_[static_cast<std::size_t>(atom_index)];
        if (target.kind == Node::Kind::LookAhead) {
          position = start;
          unsupported("a quantifier on a lookahead");
        }
        Node repeat{Node::Kind::Repeat};
        repeat.children = {atom_index};
        repeat.min = min;
        repeat.max = max;
        repeat.greedy = !accept('?');
        if (!at_end() && peek() == '+') unsupported("a possessive quantifier");
        atom_index = regex.add(std::move(repeat));
      }
      return atom_index;
    }

    /// {n}, {n,} or {n,m} at the position; false (nothing consumed) when '{' starts no bounds,
    /// which Oniguruma then reads as a literal '{'.
    bool bounds(int& min, int& max) {
      const std::size_t start = position++;
      const auto number = [&](int& out) {
        const std::size_t first = position;
        long value = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
          value = value * 10 + static_cast<long>(peek() - '0');
          if (value > 100000) fail("a repetition bound of at most 100000");
          ++position;
        }
        out = static_cast<int>(value);
        return position > first;
      };
      if (!number(min)) {
        position = start;
        return false;
      }
      max = min;
      if (accept(',')) {
        if (!number(max)) max = -1;
      }
      if (!accept('}')) {
        position = start;
        return false;
      }
      if (max >= 0 && max < min) fail("{n,m} with n <= m");
      return true;
    }

    int atom() {
      const char32_t c = peek();
      if (c == '(') return group();
      ++position;
      switch (c) {
        case '[': return regex.add(class_node(bracket_class()));
        case '.': return regex.add(class_node(CharClass{{ClassItem{ClassItem::Kind::Range, '\n', '\n', 0, false}}, true}));
        case '\\': return regex.add(class_node(escape(false)));
        case '*': case '+': case '?': --position; fail("something to repeat before the quantifier");
        case '^': case '$': --position; unsupported("an anchor");
        default: return regex.add(class_node(literal(c)));
      }
    }

    static Node class_node(CharClass set) {
      Node node{Node::Kind::Class};
      node.set = std::move(set);
      return node;
    }

    CharClass literal(char32_t c) {
      ClassItem item{ClassItem::Kind::Range, c, c};
      if (case_insensitive) {
        if (c >= 0x80 && unicode::major_class(c) == unicode::kLetter) unsupported("a non-ASCII letter in a case-insensitive group");
        item.fold_case = fold(c) != c || (c >= 'a' && c <= 'z');
      }
      return CharClass{{item}, false};
    }

    int group() {
      ++position;  // '('
      const bool outer_case = case_insensitive;
      int inner = -1;
      if (accept('?')) {
        if (accept(':')) {
          inner = alternation();
        } else if (accept('i')) {
          if (!accept(':')) unsupported("an inline flag other than (?i:...)");
          case_insensitive = true;
          inner = alternation();
        } else if (at_end() || (peek() != '=' && peek() != '!')) {
          unsupported("this group kind (only (?:...), (?i:...), (?=...) and (?!...) are)");
        } else {
          Node look{Node::Kind::LookAhead};
          look.negative = peek() == '!';
          ++position;
          look.children = {alternation()};
          inner = regex.add(std::move(look));
        }
      } else {
        inner = alternation();
      }
      case_insensitive = outer_case;
      if (!accept(')')) fail("')'");
      return inner;
    }

    /// After '[': items up to the closing ']'.
    CharClass bracket_class() {
      CharClass set;
      set.negated = accept('^');
      bool first = true;
      while (true) {
        if (at_end()) fail("']' closing the class");
        if (peek() == ']' && !first) break;
        if (peek() == '[') unsupported("a nested class");
        first = false;
        const char32_t c = peek();
        ++position;
        if (c == '\\') {
          const ClassItem escaped = escape(true).items[0];  // an escape is one item
          if (escaped.kind == ClassItem::Kind::Range) {
            add_range(set, escaped.first);
          } else {
            set.items.push_back(escaped);
          }
        } else {
          add_range(set, c);
        }
      }
      ++position;  // ']'
      if (case_insensitive) {
        for (const ClassItem& item : set.items)
          if (item.kind == ClassItem::Kind::Range && item.first <= 'z' && item.last >= 'A')
            unsupported("a class with letters in a case-insensitive group");
      }
      return set;
    }

    /// The class item for `first`, or the range first-last when a '-' and an end follow.
    void add_range(CharClass& set, char32_t first) {
      char32_t last = first;
      if (position + 1 < source.size() && peek() == '-' && source[position + 1] != ']') {
        ++position;
        if (peek() == '\\') {
          ++position;
          const ClassItem end = escape(true).items[0];
          if (end.kind != ClassItem::Kind::Range) fail("a single character ending the range");
          last = end.first;
        } else {
          last = peek();
          ++position;
        }
        if (last < first) fail("a range whose end is not below its start");
      }
      set.items.push_back(ClassItem{ClassItem::Kind::Range, first, last});
    }

    /// After '\': the escaped character or character set, as a class of one item.
    CharClass escape(bool in_class) {
      if (at_end()) fail("a character after '\\'");
      const char32_t c = peek();
      ++position;
      const auto single = [](char32_t code) { return CharClass{{ClassItem{ClassItem::Kind::Range, code, code}}, false}; };
      const auto categories = [](std::uint32_t mask, bool negated) {
        return CharClass{{ClassItem{ClassItem::Kind::Categories, 0, 0, mask, negated}}, false};
      };
      switch (c) {
        case 'n': return single('\n');
        case 'r': return single('\r');
        case 't': return single('\t');
        case 'f': return single('\f');
        case 'v': return single('\v');
        case 'a': return single('\a');
        case 'e': return single(0x1B);
        case 's': case 'S': return CharClass{{ClassItem{ClassItem::Kind::WhiteSpace, 0, 0, 0, c == 'S'}}, false};
        case 'd': case 'D': return categories(category_bit(unicode::Category::Nd), c == 'D');
        case 'p': case 'P': {
          bool negated = c == 'P';
          if (!accept('{')) fail("'{' after \\p");
          if (accept('^')) negated = !negated;
          std::string name;
          while (!at_end() && peek() != '}') utf8::append(name, source[position++]);
          if (!accept('}')) fail("'}' closing \\p{...}");
          return categories(property(name), negated);
        }
        case 'x': return single(hex_escape());
        case 'u': return single(hex_digits(4, 4));
        default:
          if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            position -= 2;  // at the backslash
            unsupported(rlmoe::detail::message("the escape \\", static_cast<char>(c), in_class ? " inside a class" : ""));
          }
          return single(c);  // escaped punctuation stands for itself
      }
    }

    char32_t hex_escape() {
      if (accept('{')) {
        const char32_t code = hex_digits(1, 8);
        if (!accept('}')) fail("'}' closing \\x{...}");
        return code;
      }
      return hex_digits(2, 2);
    }

    char32_t hex_digits(int least, int most) {
      char32_t code = 0;
      int count = 0;
      while (count < most && !at_end()) {
        const char32_t h = peek();
        const int digit = h >= '0' && h <= '9' ? static_cast<int>(h - '0') : h >= 'a' && h <= 'f' ? static_cast<int>(h - 'a') + 10
                          : h >= 'A' && h <= 'F' ? static_cast<int>(h - 'A') + 10 : -1;
        if (digit < 0) break;
        code = code * 16 + static_cast<char32_t>(digit);
        ++position;
        ++count;
      }
      if (count < least) fail("hex digits");
      if (code > 0x10FFFF) fail("a code point of at most 10FFFF");
      return code;
    }

    static std::uint32_t category_bit(unicode::Category c) { return 1u << static_cast<unsigned>(c); }
    static std::uint32_t major_bits(unicode::MajorClass major) {
      std::uint32_t mask = 0;
      for (unsigned c = 0; c <= static_cast<unsigned>(unicode::Category::Cn); ++c)
        if (unicode::major_class(static_cast<unicode::Category>(c)) == major) mask |= 1u << c;
      return mask;
    }

    /// The categories of a \p{...} name: a general category (Lu) or its class (L, Letter, ...).
    std::uint32_t property(const std::string& name) {
      static constexpr const char* kNames[] = {"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl",
                                               "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc",
                                               "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"};
      for (unsigned c = 0; c <= static_cast<unsigned>(unicode::Category::Cn); ++c)
        if (name == kNames[c]) return 1u << c;
      struct Major {
        const char* letter;
        const char* word;
        unicode::MajorClass major;
      };
      static constexpr Major kMajors[] = {{"L", "Letter", unicode::kLetter},       {"M", "Mark", unicode::kMark},
                                          {"N", "Number", unicode::kNumber},       {"P", "Punctuation", unicode::kPunctuation},
                                          {"S", "Symbol", unicode::kSymbol},       {"Z", "Separator", unicode::kSeparator},
                                          {"C", "Other", unicode::kOther}};
      for (const Major& m : kMajors)
        if (name == m.letter || name == m.word) return major_bits(m.major);
      unsupported(rlmoe::detail::message("the property \\p{", name, "} (general categories and their classes are)"));
    }
  };

  std::string pattern_;
  std::vector<Node> nodes_;
  int root_ = -1;
};

}  // namespace rlmoe::text
