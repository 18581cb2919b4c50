#pragma once
// A small JSON value with a strict parser and a writer: enough for safetensors headers,
// checkpoint metadata and metrics lines, with parse errors that give the position and what was
// expected. Objects keep their keys in insertion order, so written files are stable.
//
// Why not a JSON library: rlmoe reads only files it must distrust (safetensors headers, configs,
// its own metadata) into a handful of types, and a consumer of the header-only library should not
// need another package for that. The parser below is RFC 8259 without extensions, bounds its
// recursion, and is fuzzed (tests/fuzz/); numbers are read with std::from_chars and written with
// std::to_chars, so a written double reads back bit for bit.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "rlmoe/core/error.hpp"
#include "rlmoe/core/utf8.hpp"
#include "rlmoe/io/mapped_file.hpp"

namespace rlmoe::io {

/// A JSON parse or schema error; the message says where and what.
class FormatError : public Error {
 public:
  using Error::Error;
};

class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : value_(nullptr) {}
  Json(std::nullptr_t) : value_(nullptr) {}  // NOLINT: implicit on purpose, like the literals below
  Json(bool b) : value_(b) {}                // NOLINT
  Json(double d) : value_(d) {}              // NOLINT
  Json(std::int64_t i) : value_(i) {}        // NOLINT
  Json(int i) : value_(static_cast<std::int64_t>(i)) {}  // NOLINT
  Json(std::string s) : value_(std::move(s)) {}          // NOLINT
  Json(const char* s) : value_(std::string(s)) {}        // NOLINT
  Json(Array a) : value_(std::move(a)) {}                // NOLINT
  Json(Object o) : value_(std::move(o)) {}               // NOLINT

  [[nodiscard]] bool is_null() const { return std::holds_alternative<std::nullptr_t>(value_); }
  [[nodiscard]] bool is_object() const { return std::holds_alternative<Object>(value_); }
  [[nodiscard]] bool is_array() const { return std::holds_alternative<Array>(value_); }
  [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(value_); }
  [[nodiscard]] bool is_integer() const { return std::holds_alternative<std::int64_t>(value_); }
  [[nodiscard]] bool is_number() const { return is_integer() || std::holds_alternative<double>(value_); }
  [[nodiscard]] bool is_boolean() const { return std::holds_alternative<bool>(value_); }

  [[nodiscard]] const Object& object(std::string_view what) const { return get<Object>(what, "an object"); }
  [[nodiscard]] const Array& array(std::string_view what) const { return get<Array>(what, "an array"); }
  [[nodiscard]] const std::string& string(std::string_view what) const { return get<std::string>(what, "a string"); }
  [[nodiscard]] bool boolean(std::string_view what) const { return get<bool>(what, "true or false"); }
  [[nodiscard]] std::int64_t integer(std::string_view what) const { return get<std::int64_t>(what, "an integer"); }
  [[nodiscard]] double number(std::string_view what) const {
    if (is_integer()) return static_cast<double>(std::get<std::int64_t>(value_));
    return get<double>(what, "a number");
  }

  /// The member `key` of an object, or nullptr.
  [[nodiscard]] const Json* find(std::string_view key) const {
    if (!is_object()) return nullptr;
    for (const auto& [k, v] : std::get<Object>(value_))
      if (k == key) return &v;
    return nullptr;
  }
  /// The member `key`; throws FormatError naming `what` and the key when it is missing.
  [[nodiscard]] const Json& at(std::string_view key, std::string_view what) const {
    const Json* v = find(key);
    if (v == nullptr) throw FormatError(rlmoe::detail::message(what, ": missing \"", key, "\""));
    return *v;
  }

  [[nodiscard]] std::string dump() const {
    std::string out;
    write(out);
    return out;
  }

  /// The deepest nesting of arrays and objects that parse() accepts.
  static constexpr int kMaxDepth = 128;

  static Json parse(std::string_view text) {
    Parser p{text};
    p.skip_space();
    Json value = p.value();
    p.skip_space();
    if (p.position != text.size()) p.fail("the end of the document");
    return value;
  }

 private:
  template <class V>
  const V& get(std::string_view what, const char* kind) const {
    if (const V* v = std::get_if<V>(&value_)) return *v;
    throw FormatError(rlmoe::detail::message(what, " must be ", kind));
  }

  static void write_string(std::string& out, const std::string& s) {
    out += '"';
    for (char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
            out += buffer;
          } else {
            out += c;
          }
      }
    }
    out += '"';
  }

  /// The shortest text that reads back as the same double, always with a '.' or an exponent so
  /// that it reads back as a double; JSON has no NaN or infinity, so those are written as null.
  static void write_number(std::string& out, double d) {
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    char buffer[32];
    const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, d);
    std::string_view text(buffer, static_cast<std::size_t>(end - buffer));
    out += text;
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
  }

  void write(std::string& out) const {
    if (is_null()) {
      out += "null";
    } else if (const bool* b = std::get_if<bool>(&value_)) {
      out += *b ? "true" : "false";
    } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value_)) {
      out += std::to_string(*i);
    } else if (const double* d = std::get_if<double>(&value_)) {
      write_number(out, *d);
    } else if (const std::string* str = std::get_if<std::string>(&value_)) {
      write_string(out, *str);
    } else if (const Array* a = std::get_if<Array>(&value_)) {
      out += '[';
      for (std::size_t i = 0; i < a->size(); ++i) {
        if (i) out += ',';
        (*a)[i].write(out);
      }
      out += ']';
    } else {
      const Object& o = std::get<Object>(value_);
      out += '{';
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        write_string(out, o[i].first);
        out += ':';
        o[i].second.write(out);
      }
      out += '}';
    }
  }

  /// RFC 8259, strictly: UTF-8 text, the number grammar, escapes with four hex digits and paired
  /// surrogates, nothing after the value, and at most kMaxDepth nested arrays and objects (a
  /// recursive descent parser must bound its recursion: a header of 35 KB of '[' would otherwise
  /// overflow the stack).
  struct Parser {
    std::string_view text;
    std::size_t position = 0;
    int depth = 0;

    [[noreturn]] void fail(std::string_view expected) const {
      throw FormatError(rlmoe::detail::message("JSON: expected ", expected, " at byte ", position));
    }
    [[nodiscard]] bool at_end() const { return position >= text.size(); }
    [[nodiscard]] char peek() const { return text[position]; }
    void skip_space() {
      while (!at_end() && (peek() == ' ' || peek() == '\n' || peek() == '\t' || peek() == '\r')) ++position;
    }
    bool consume(char c) {
      skip_space();
      if (!at_end() && peek() == c) {
        ++position;
        return true;
      }
      return false;
    }
    void expect(char c) {
      if (!consume(c)) fail(std::string("'") + c + "'");
    }
    bool literal(std::string_view word) {
      if (text.substr(position, word.size()) != word) return false;
      position += word.size();
      return true;
    }

    Json value() {
      skip_space();
      if (at_end()) fail("a value");
      const char c = peek();
      if (c == '{' || c == '[') {
        if (++depth > kMaxDepth) fail("at most " + std::to_string(kMaxDepth) + " nested arrays and objects");
        Json nested = c == '{' ? object() : array();
        --depth;
        return nested;
      }
      if (c == '"') return Json(string());
      if (literal("true")) return Json(true);
      if (literal("false")) return Json(false);
      if (literal("null")) return Json(nullptr);
      return number();
    }

    Json object() {
      expect('{');
      Object members;
      if (consume('}')) return Json(std::move(members));
      do {
        skip_space();
        std::string key = string();
        expect(':');
        members.emplace_back(std::move(key), value());
      } while (consume(','));
      expect('}');
      return Json(std::move(members));
    }

    Json array() {
      expect('[');
      Array items;
      if (consume(']')) return Json(std::move(items));
      do items.push_back(value());
      while (consume(','));
      expect(']');
      return Json(std::move(items));
    }

    /// Four hex digits after "\u".
    unsigned hex4() {
      if (position + 4 > text.size()) fail("four hex digits");
      unsigned code = 0;
      for (int i = 0; i < 4; ++i) {
        const char h = text[position];
        const int digit = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (digit < 0) fail("four hex digits");
        code = code * 16 + static_cast<unsigned>(digit);
        ++position;
      }
      return code;
    }

    /// One UTF-8 encoded character starting at `position` (its first byte >= 0x80): well formed,
    /// shortest form, no surrogates, at most U+10FFFF.
    void utf8_character(std::string& out) {
      const utf8::Decoded d = utf8::decode(text, position);
      if (d.length == 0) fail("UTF-8 text");
      out.append(text.substr(position, d.length));
      position += d.length;
    }

    std::string string() {
      if (at_end() || peek() != '"') fail("a string");
      ++position;
      std::string out;
      while (true) {
        if (at_end()) fail("the end of a string");
        const char c = peek();
        if (c == '"') {
          ++position;
          return out;
        }
        if (static_cast<unsigned char>(c) < 0x20) fail("no control character inside a string");
        if (static_cast<unsigned char>(c) >= 0x80) {
          utf8_character(out);
          continue;
        }
        ++position;
        if (c != '\\') {
          out += c;
          continue;
        }
        if (at_end()) fail("an escape");
        const char e = text[position++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t code = hex4();
            if (code >= 0xDC00 && code <= 0xDFFF) fail("a high surrogate before a low one");
            if (code >= 0xD800 && code <= 0xDBFF) {
              if (!literal("\\u")) fail("a low surrogate after a high one");
              const std::uint32_t low = hex4();
              if (low < 0xDC00 || low > 0xDFFF) fail("a low surrogate after a high one");
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            utf8::append(out, code);
            break;
          }
          default: fail("a valid escape");
        }
      }
    }

    /// -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?: an integer (int64) without fraction or
    /// exponent, else a finite double.
    Json number() {
      const std::size_t start = position;
      const auto digits = [&] {
        const std::size_t first = position;
        while (!at_end() && peek() >= '0' && peek() <= '9') ++position;
        return position - first;
      };
      if (!at_end() && peek() == '-') ++position;
      if (at_end() || peek() < '0' || peek() > '9') {
        position = start;
        fail("a value");
      }
      if (peek() == '0') ++position;
      else digits();
      bool integral = true;
      if (!at_end() && peek() == '.') {
        ++position;
        integral = false;
        if (digits() == 0) fail("a digit after the decimal point");
      }
      if (!at_end() && (peek() == 'e' || peek() == 'E')) {
        ++position;
        integral = false;
        if (!at_end() && (peek() == '+' || peek() == '-')) ++position;
        if (digits() == 0) fail("a digit in the exponent");
      }
      const char* first = text.data() + start;
      const char* last = text.data() + position;
      if (integral) {
        std::int64_t i = 0;
        const auto [end, error] = std::from_chars(first, last, i);
        if (error != std::errc{} || end != last) {
          position = start;
          fail("an integer within 64 bits");
        }
        return Json(i);
      }
      double d = 0.0;
      const auto [end, error] = std::from_chars(first, last, d);
      if (error != std::errc{} || end != last || !std::isfinite(d)) {
        position = start;
        fail("a finite number");
      }
      return Json(d);
    }
  };

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> value_;
};

/// The decimal integer that is the whole of `text`; throws FormatError naming `what` otherwise
/// (std::stoll would read "2junk" as 2 and throw std::invalid_argument for "junk").
inline std::int64_t parse_integer(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  const char* last = text.data() + text.size();
  const auto [end, error] = std::from_chars(text.data(), last, value);
  if (text.empty() || error != std::errc{} || end != last)
    throw FormatError(rlmoe::detail::message(what, " is '", text, "' but must be an integer"));
  return value;
}

/// The JSON document in the file `path` (config.json, tokenizer.json, an index); errors name the
/// file: IoError when it cannot be read, FormatError where the JSON is wrong.
inline Json read_json_file(const std::string& path) {
  const MappedFile file(path);
  const auto bytes = file.bytes();
  try {
    return Json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const FormatError& e) {
    throw FormatError(rlmoe::detail::message(path, ": ", e.what()));
  }
}

}  // namespace rlmoe::io
