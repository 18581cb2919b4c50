#pragma once
// type_name<T>(): the readable name of a type, for error messages that blame a user's type (the
// estimator that wrote NaN, say). Types that define `static constexpr std::string_view kName`
// report that; others the compiler's spelling, taken from __PRETTY_FUNCTION__.
#include <string_view>

namespace rlmoe {

namespace detail {

template <class T>
constexpr std::string_view pretty_type_name() {
  // g++: "... pretty_type_name() [with T = ns::Type; std::string_view = ...]"; nvcc's front end
  // and clang: "... [T = ns::Type]" or "[with T=ns::Type]".
  const std::string_view f = __PRETTY_FUNCTION__;
  std::size_t begin = f.find("T = ");
  std::size_t skip = 4;
  if (begin == std::string_view::npos) {
    begin = f.find("T=");
    skip = 2;
  }
  if (begin == std::string_view::npos) return "(unknown type)";
  begin += skip;
  std::size_t end = begin;
  for (int depth = 0; end < f.size(); ++end) {
    const char c = f[end];
    if (c == '<' || c == '(' || c == '[') ++depth;
    else if ((c == ';' || c == ']') && depth == 0) break;
    else if (c == '>' || c == ')' || c == ']') --depth;
  }
  return f.substr(begin, end - begin);
}

}  // namespace detail

template <class T>
constexpr std::string_view type_name() {
  if constexpr (requires { std::string_view(T::kName); })
    return T::kName;
  else
    return detail::pretty_type_name<T>();
}

}  // namespace rlmoe
