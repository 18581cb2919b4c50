#pragma once
// Line plots as images, for learning curves: axes with labelled ticks, one polyline per series, a
// legend and a title, drawn with a built-in 5x7 bitmap font (upper-case letters, digits and a
// little punctuation; lower-case letters are drawn upper-case).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "rlmoe/io/png.hpp"

namespace rlmoe::io {

struct Series {
  std::string name;
  std::uint32_t color = 0x1F77B4;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title;
  std::string x_label = "step";
  double y_min = NAN, y_max = NAN;  ///< NaN: from the data
  int width = 800, height = 450;
};

namespace detail {

/// 5x7 glyphs, one byte per row, bit 4 the leftmost pixel.
inline const std::uint8_t* glyph(char c) {
  static const std::uint8_t digits[10][7] = {
      {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E},
      {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E},
      {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E},
      {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08},
      {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}};
  static const std::uint8_t letters[26][7] = {
      {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E},
      {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C},
      {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11},
      {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C},
      {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F},
      {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11},
      {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10},
      {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11},
      {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04},
      {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04},
      {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11},
      {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}};
  static const struct {
    char c;
    std::uint8_t rows[7];
  } punctuation[] = {{'.', {0, 0, 0, 0, 0, 0x0C, 0x0C}},         {'-', {0, 0, 0, 0x1F, 0, 0, 0}},
                     {':', {0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0}},    {'/', {0, 0x01, 0x02, 0x04, 0x08, 0x10, 0}},
                     {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
                     {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'+', {0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0}},
                     {'=', {0, 0, 0x1F, 0, 0x1F, 0, 0}},          {',', {0, 0, 0, 0, 0x0C, 0x04, 0x08}},
                     {'_', {0, 0, 0, 0, 0, 0, 0x1F}},             {'@', {0x0E, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0E}}};
  if (c >= '0' && c <= '9') return digits[c - '0'];
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c >= 'A' && c <= 'Z') return letters[c - 'A'];
  for (const auto& p : punctuation)
    if (p.c == c) return p.rows;
  return nullptr;  // space and anything else: blank
}

inline void draw_text(Image& image, int x, int y, const std::string& text, std::uint32_t color, int scale = 2) {
  for (char c : text) {
    if (const std::uint8_t* rows = glyph(c))
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col)
          if (rows[r] & (0x10 >> col))
            for (int dy = 0; dy < scale; ++dy)
              for (int dx = 0; dx < scale; ++dx) image.set(x + col * scale + dx, y + r * scale + dy, color);
    x += 6 * scale;
  }
}

inline int text_width(const std::string& text, int scale = 2) { return static_cast<int>(text.size()) * 6 * scale; }

inline void draw_line(Image& image, int x0, int y0, int x1, int y1, std::uint32_t color, int thickness = 1) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int error = dx + dy;
  while (true) {
    for (int t = 0; t < thickness; ++t) {
      image.set(x0, y0 + t, color);
      image.set(x0 + t, y0, color);
    }
    if (x0 == x1 && y0 == y1) break;
    const int e2 = 2 * error;
    if (e2 >= dy) error += dy, x0 += sx;
    if (e2 <= dx) error += dx, y0 += sy;
  }
}

inline std::string tick_label(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, std::abs(v) >= 100 || v == std::floor(v) ? "%.0f" : "%.2g", v);
  return buffer;
}

}  // namespace detail

inline Image plot(const std::vector<Series>& series, const PlotOptions& options) {
  Image image(options.width, options.height);
  const int left = 70, right = 20, top = 40, bottom = 50;
  const int plot_w = options.width - left - right, plot_h = options.height - top - bottom;
  double x_min = INFINITY, x_max = -INFINITY, y_min = options.y_min, y_max = options.y_max;
  const bool auto_y = std::isnan(y_min) || std::isnan(y_max);
  if (auto_y) y_min = INFINITY, y_max = -INFINITY;
  for (const Series& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      if (auto_y && std::isfinite(s.y[i])) y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
    }
  if (!std::isfinite(x_min)) x_min = 0, x_max = 1;
  if (x_max <= x_min) x_max = x_min + 1;
  if (!std::isfinite(y_min)) y_min = 0, y_max = 1;
  if (y_max <= y_min) y_max = y_min + 1;
  const auto px = [&](double x) { return left + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * plot_w)); };
  const auto py = [&](double y) { return top + plot_h - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * plot_h)); };

  const std::uint32_t grid = 0xE6E6E6, axis = 0x333333;
  for (int i = 0; i <= 4; ++i) {
    const double y = y_min + (y_max - y_min) * i / 4.0, x = x_min + (x_max - x_min) * i / 4.0;
    detail::draw_line(image, left, py(y), left + plot_w, py(y), grid);
    detail::draw_line(image, px(x), top, px(x), top + plot_h, grid);
    const std::string y_text = detail::tick_label(y), x_text = detail::tick_label(x);
    detail::draw_text(image, left - 8 - detail::text_width(y_text), py(y) - 7, y_text, axis);
    detail::draw_text(image, px(x) - detail::text_width(x_text) / 2, top + plot_h + 8, x_text, axis);
  }
  detail::draw_line(image, left, top + plot_h, left + plot_w, top + plot_h, axis, 2);
  detail::draw_line(image, left, top, left, top + plot_h, axis, 2);
  for (const Series& s : series)
    for (std::size_t i = 1; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i]))
        detail::draw_line(image, px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color, 2);
  // The legend sits in the lower right, where learning curves that rise leave room.
  int legend_width = 0;
  for (const Series& s : series) legend_width = std::max(legend_width, detail::text_width(s.name));
  const int legend_x = left + plot_w - legend_width - 56;
  int legend_y = top + plot_h - 12 - 20 * static_cast<int>(series.size());
  for (const Series& s : series) {
    detail::draw_line(image, legend_x, legend_y + 6, legend_x + 24, legend_y + 6, s.color, 3);
    detail::draw_text(image, legend_x + 32, legend_y, s.name, axis);
    legend_y += 20;
  }
  detail::draw_text(image, left + (plot_w - detail::text_width(options.title)) / 2, 10, options.title, axis);
  detail::draw_text(image, left + (plot_w - detail::text_width(options.x_label)) / 2, options.height - 22, options.x_label, axis);
  return image;
}

}  // namespace rlmoe::io
