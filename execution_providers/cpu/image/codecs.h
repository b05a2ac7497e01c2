// Image codecs behind ImageDecoder. Each decoder turns one encoded stream into 8-bit RGB
// pixels, row-major HWC, converting as Pillow's Image.convert("RGB") does (grayscale
// replicated, palette looked up, alpha dropped, 16-bit samples reduced to their high byte), so
// results match onnx's Pillow-based reference. Every failure (truncated or corrupt data, an
// unsupported variant, dimensions over the limits) throws ferry::Error naming the format; no
// decoder allocates from an unchecked header.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ferry::ep::cpu::image {

struct RgbImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> rgb;  ///< height * width * 3
};

/// Largest accepted image: width and height each at most kMaxSide, and at most kMaxPixels.
inline constexpr int64_t kMaxSide = 1 << 16;
inline constexpr int64_t kMaxPixels = int64_t{1} << 27;

/// Throws kInvalidArgument "<format> image: <what>".
[[noreturn]] void fail(const char* format, const std::string& what);
/// Checks width and height against the limits (positive, kMaxSide, kMaxPixels).
void check_dims(const char* format, int64_t width, int64_t height);
/// An RgbImage of checked dimensions with its pixel buffer allocated.
RgbImage make_image(const char* format, int64_t width, int64_t height);

// Library-backed codecs (codecs_lib.cc).
RgbImage decode_jpeg(std::span<const uint8_t> data);
RgbImage decode_png(std::span<const uint8_t> data);
RgbImage decode_tiff(std::span<const uint8_t> data);
RgbImage decode_webp(std::span<const uint8_t> data);
RgbImage decode_jpeg2000(std::span<const uint8_t> data);  ///< JP2 container or raw J2K codestream

// Codecs written here (codecs_simple.cc).
RgbImage decode_bmp(std::span<const uint8_t> data);
RgbImage decode_pnm(std::span<const uint8_t> data);  ///< P1-P6 (PBM, PGM, PPM; ASCII and binary)

/// Sniffs the format from the leading bytes and decodes; throws for unknown formats.
RgbImage decode_image(std::span<const uint8_t> data);

}  // namespace ferry::ep::cpu::image
