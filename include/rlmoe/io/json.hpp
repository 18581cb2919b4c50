#pragma once
// A small JSON value with a strict parser and a writer: enough for safetensors headers,
// checkpoint metadata and metrics lines, with parse errors that give the position and what was
// expected. Objects keep their keys in insertion order, so written files are stable.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "rlmoe/core/error.hpp"

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

  [[nodiscard]] const Object& object(std::string_view what) const { return get<Object>(what, "an object"); }
  [[nodiscard]] const Array& array(std::string_view what) const { return get<Array>(what, "an array"); }
  [[nodiscard]] const std::string& string(std::string_view what) const { return get<std::string>(what, "a string"); }
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

  void write(std::string& out) const {
    if (is_null()) {
      out += "null";
    } else if (const bool* b = std::get_if<bool>(&value_)) {
      out += *b ? "true" : "false";
    } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value_)) {
      out += std::to_string(*i);
    } else if (const double* d = std::get_if<double>(&value_)) {
      std::ostringstream s;
      s.precision(17);
      s << *d;
      out += s.str();
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

  struct Parser {
    std::string_view text;
    std::size_t position = 0;

    [[noreturn]] void fail(std::string_view expected) const {
      throw FormatError(rlmoe::detail::message("JSON: expected ", expected, " at byte ", position));
    }
    void skip_space() {
      while (position < text.size() && (text[position] == ' ' || text[position] == '\n' || text[position] == '\t' ||
                                        text[position] == '\r'))
        ++position;
    }
    bool consume(char c) {
      skip_space();
      if (position < text.size() && text[position] == c) {
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
      if (position >= text.size()) fail("a value");
      const char c = text[position];
      if (c == '{') return object();
      if (c == '[') return array();
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

    std::string string() {
      if (position >= text.size() || text[position] != '"') fail("a string");
      ++position;
      std::string out;
      while (true) {
        if (position >= text.size()) fail("the end of a string");
        const char c = text[position++];
        if (c == '"') return out;
        if (static_cast<unsigned char>(c) < 0x20) fail("no control character inside a string");
        if (c != '\\') {
          out += c;
          continue;
        }
        if (position >= text.size()) fail("an escape");
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
            if (position + 4 > text.size()) fail("four hex digits");
            const unsigned code = static_cast<unsigned>(std::stoul(std::string(text.substr(position, 4)), nullptr, 16));
            position += 4;
            if (code < 0x80) {
              out += static_cast<char>(code);
            } else if (code < 0x800) {
              out += static_cast<char>(0xC0 | (code >> 6));
              out += static_cast<char>(0x80 | (code & 0x3F));
            } else {
              out += static_cast<char>(0xE0 | (code >> 12));
              out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
              out += static_cast<char>(0x80 | (code & 0x3F));
            }
            break;
          }
          default: fail("a valid escape");
        }
      }
    }

    Json number() {
      const std::size_t start = position;
      if (position < text.size() && text[position] == '-') ++position;
      bool integral = true;
      while (position < text.size()) {
        const char c = text[position];
        if (c >= '0' && c <= '9') {
          ++position;
        } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
          integral = false;
          ++position;
        } else {
          break;
        }
      }
      const std::string token(text.substr(start, position - start));
      if (token.empty() || token == "-") {
        position = start;
        fail("a value");
      }
      try {
        std::size_t used = 0;
        Json result = integral ? Json(static_cast<std::int64_t>(std::stoll(token, &used))) : Json(std::stod(token, &used));
        if (used != token.size()) throw std::invalid_argument(token);
        return result;
      } catch (const std::exception&) {
        position = start;
        fail("a number");
      }
    }
  };

  std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array, Object> value_;
};

}  // namespace rlmoe::io
