#pragma once
// Writing RGB images as PNG files (zlib-compressed, 8 bits per channel), for the learning curves
// the trainer draws. Written atomically like every other file rlmoe produces.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#if !__has_include(<zlib.h>)
#error "rlmoe: io/png.hpp (the learning curves) needs zlib, and zlib.h was not found: install zlib (Debian: apt-get install zlib1g-dev)"
#endif
#include <zlib.h>

#include "rlmoe/core/error.hpp"
#include "rlmoe/io/atomic_file.hpp"

namespace rlmoe::io {

/// An 8-bit RGB image, row-major.
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  ///< 3 bytes per pixel

  Image(int w, int h, std::uint32_t background = 0xFFFFFF) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) set(x, y, background);
  }
  void set(int x, int y, std::uint32_t rgb) {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    std::uint8_t* p = &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
    p[0] = static_cast<std::uint8_t>(rgb >> 16);
    p[1] = static_cast<std::uint8_t>(rgb >> 8);
    p[2] = static_cast<std::uint8_t>(rgb);
  }
};

namespace detail {

inline void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

inline void append_chunk(std::vector<std::uint8_t>& out, const char* type, const std::vector<std::uint8_t>& data) {
  append_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  append_u32(out, static_cast<std::uint32_t>(::crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start))));
}

}  // namespace detail

/// The bytes of a PNG file of the image.
inline std::vector<std::uint8_t> encode_png(const Image& image) {
  std::vector<std::uint8_t> raw;  // each row: filter byte 0, then the pixels
  raw.reserve(static_cast<std::size_t>(image.height) * (image.width * 3 + 1));
  for (int y = 0; y < image.height; ++y) {
    raw.push_back(0);
    const auto* row = &image.pixels[static_cast<std::size_t>(y) * image.width * 3];
    raw.insert(raw.end(), row, row + image.width * 3);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<std::uint8_t> compressed(size);
  RLMOE_CHECK(compress2(compressed.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) == Z_OK, Error,
              "png: zlib compression failed");
  compressed.resize(size);
  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> header;
  detail::append_u32(header, static_cast<std::uint32_t>(image.width));
  detail::append_u32(header, static_cast<std::uint32_t>(image.height));
  header.insert(header.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter method extras, no interlace
  detail::append_chunk(out, "IHDR", header);
  detail::append_chunk(out, "IDAT", compressed);
  detail::append_chunk(out, "IEND", {});
  return out;
}

/// Writes the image to `path`, atomically (atomic_file.hpp).
inline void write_png(const std::string& path, const Image& image) {
  const std::vector<std::uint8_t> bytes = encode_png(image);
  write_atomically(path, {std::as_bytes(std::span<const std::uint8_t>(bytes))}, "png");
}

}  // namespace rlmoe::io
