// BMP and PNM decoders (small formats decoded here, every read bounds-checked), the shared
// limits and errors, and the format sniffing.
#include <algorithm>
#include <bit>
#include <cstring>

#include "execution_providers/cpu/image/codecs.h"
#include "ferry/error.h"

namespace ferry::ep::cpu::image {

void fail(const char* format, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, std::string(format) + " image: " + what);
}

void check_dims(const char* format, int64_t width, int64_t height) {
  const std::string dims = std::to_string(width) + "x" + std::to_string(height);
  if (width <= 0 || height <= 0) fail(format, "invalid dimensions " + dims);
  if (width > kMaxSide || height > kMaxSide || width * height > kMaxPixels)
    fail(format, "dimensions " + dims + " exceed the limit (" + std::to_string(kMaxSide) + " per side, " +
                     std::to_string(kMaxPixels) + " pixels)");
}

RgbImage make_image(const char* format, int64_t width, int64_t height) {
  check_dims(format, width, height);
  RgbImage img;
  img.width = width;
  img.height = height;
  img.rgb.assign(static_cast<size_t>(width * height * 3), 0);
  return img;
}

namespace {

// ---------------------------------------------------------------------------------------------
// BMP: Windows (40-, 52-, 56-, 108- and 124-byte headers) and OS/2 (12-byte) bitmaps; 1, 4, 8
// (palette), 16, 24 and 32 bits per pixel, uncompressed or with bit fields. RLE is rejected.

uint32_t le16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t{p[3]} << 24); }

// One colour channel from a bit-field mask, scaled to 8 bits.
struct Field {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;
  explicit Field(uint32_t m) : mask(m) {
    if (m == 0) return;
    shift = std::countr_zero(m);
    max = m >> shift;
  }
  uint8_t operator()(uint32_t px) const {
    if (max == 0) return 0;
    const uint32_t v = (px & mask) >> shift;
    return static_cast<uint8_t>(max == 255 ? v : (uint64_t{v} * 255) / max);
  }
};

RgbImage decode_bmp_impl(std::span<const uint8_t> d) {
  const char* kFmt = "BMP";
  if (d.size() < 26) fail(kFmt, "truncated header (" + std::to_string(d.size()) + " bytes)");
  const uint32_t offset = le32(&d[10]);
  const uint32_t header = le32(&d[14]);
  int64_t width = 0, height = 0;
  uint32_t bpp = 0, compression = 0, colors = 0;
  size_t palette_entry = 4;
  if (header == 12) {
    width = le16(&d[18]);
    height = static_cast<int16_t>(le16(&d[20]));
    bpp = le16(&d[24]);
    palette_entry = 3;
  } else if (header >= 40 && header <= 124) {
    if (d.size() < 14 + size_t{header}) fail(kFmt, "truncated info header");
    width = static_cast<int32_t>(le32(&d[18]));
    height = static_cast<int32_t>(le32(&d[22]));
    bpp = le16(&d[28]);
    compression = le32(&d[30]);
    colors = le32(&d[46]);
  } else {
    fail(kFmt, "unsupported info header size " + std::to_string(header));
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  check_dims(kFmt, width, height);
  // Bit-field masks: in the header from 52 bytes on, else right after a 40-byte header.
  uint32_t masks[3] = {0x7c00, 0x3e0, 0x1f};
  if (bpp == 32) masks[0] = 0xff0000, masks[1] = 0xff00, masks[2] = 0xff;
  size_t palette_at = 14 + size_t{header};
  if (compression == 3 || compression == 6) {  // BI_BITFIELDS, BI_ALPHABITFIELDS
    if (bpp != 16 && bpp != 32) fail(kFmt, "bit fields need 16 or 32 bits per pixel, got " + std::to_string(bpp));
    if (header == 40) palette_at += compression == 3 ? 12 : 16;
    if (d.size() < 14 + 40 + 12) fail(kFmt, "truncated bit-field masks");
    for (int i = 0; i < 3; ++i) masks[i] = le32(&d[54 + 4 * i]);
  } else if (compression != 0) {
    fail(kFmt, "compression method " + std::to_string(compression) + " (RLE, JPEG or PNG) is not supported");
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
    fail(kFmt, "unsupported bit count " + std::to_string(bpp));
  // Palette (BGR, 3 or 4 bytes an entry); indices past its end read black.
  std::vector<uint8_t> palette;
  if (bpp <= 8) {
    const uint32_t max_colors = 1u << bpp;
    const uint32_t n = colors == 0 || colors > max_colors ? max_colors : colors;
    const size_t avail = palette_at <= d.size() ? (d.size() - palette_at) / palette_entry : 0;
    const size_t count = std::min<size_t>(n, avail);
    palette.assign(size_t{max_colors} * 3, 0);
    for (size_t i = 0; i < count; ++i)
      for (int c = 0; c < 3; ++c) palette[3 * i + c] = d[palette_at + i * palette_entry + 2 - c];
  }
  const int64_t stride = (width * bpp + 31) / 32 * 4;
  if (offset > d.size() || stride * height > static_cast<int64_t>(d.size() - offset))
    fail(kFmt, "pixel data needs " + std::to_string(stride * height) + " bytes at offset " + std::to_string(offset) +
                   ", the stream has " + std::to_string(d.size()));
  const Field r(masks[0]), g(masks[1]), b(masks[2]);
  RgbImage img = make_image(kFmt, width, height);
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = d.data() + offset + stride * (top_down ? y : height - 1 - y);
    uint8_t* out = img.rgb.data() + y * width * 3;
    for (int64_t x = 0; x < width; ++x, out += 3) {
      if (bpp <= 8) {
        const int64_t bit = x * bpp;
        const uint32_t index = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
        std::memcpy(out, &palette[3 * index], 3);
      } else if (bpp == 24) {
        out[0] = row[3 * x + 2], out[1] = row[3 * x + 1], out[2] = row[3 * x];
      } else {
        const uint32_t px = bpp == 16 ? le16(row + 2 * x) : le32(row + 4 * x);
        out[0] = r(px), out[1] = g(px), out[2] = b(px);
      }
    }
  }
  return img;
}

// ---------------------------------------------------------------------------------------------
// PNM: P1/P4 bitmaps (1 is black), P2/P5 gray and P3/P6 colour maps, samples scaled from maxval.

struct PnmReader {
  std::span<const uint8_t> d;
  size_t pos = 2;

  void skip_space() {
    while (pos < d.size()) {
      if (d[pos] == '#') {
        while (pos < d.size() && d[pos] != '\n' && d[pos] != '\r') ++pos;
      } else if (std::strchr(" \t\r\n\v\f", d[pos]) && d[pos] != 0) {
        ++pos;
      } else {
        break;
      }
    }
  }
  // A decimal number (header field or ASCII sample); `digits` limits P1 samples to one digit.
  int64_t number(const char* what, size_t digits = 10) {
    skip_space();
    if (pos >= d.size() || d[pos] < '0' || d[pos] > '9') fail("PNM", "expected a number for " + std::string(what));
    int64_t v = 0;
    for (size_t n = 0; n < digits && pos < d.size() && d[pos] >= '0' && d[pos] <= '9'; ++n, ++pos) {
      v = v * 10 + (d[pos] - '0');
      if (v > (int64_t{1} << 31)) fail("PNM", std::string(what) + " is too large");
    }
    return v;
  }
};

RgbImage decode_pnm_impl(std::span<const uint8_t> d) {
  const char* kFmt = "PNM";
  const int kind = d[1] - '0';
  PnmReader in{d};
  const int64_t width = in.number("width");
  const int64_t height = in.number("height");
  const bool bitmap = kind == 1 || kind == 4;
  const int64_t maxval = bitmap ? 1 : in.number("maxval");
  if (maxval < 1 || maxval > 65535) fail(kFmt, "maxval " + std::to_string(maxval) + " is out of range [1, 65535]");
  check_dims(kFmt, width, height);
  const int channels = kind == 3 || kind == 6 ? 3 : 1;
  const int64_t samples = width * height * channels;
  const bool binary = kind >= 4;
  if (binary) {
    if (in.pos >= d.size()) fail(kFmt, "truncated header");
    ++in.pos;  // the single whitespace byte before the raster
  }
  const int sample_bytes = maxval > 255 ? 2 : 1;
  const int64_t need = !binary ? samples : kind == 4 ? (width + 7) / 8 * height : samples * sample_bytes;
  const int64_t have = static_cast<int64_t>(d.size() - std::min(in.pos, d.size()));
  if (need > have)
    fail(kFmt, std::to_string(width) + "x" + std::to_string(height) + " image needs at least " +
                   std::to_string(need) + " bytes of pixel data, the stream has " + std::to_string(have));
  auto scale = [&](int64_t v) {
    if (bitmap) return static_cast<uint8_t>(v ? 0 : 255);
    v = std::min(v, maxval);
    return static_cast<uint8_t>(maxval == 255 ? v : (v * 255 + maxval / 2) / maxval);
  };
  RgbImage img = make_image(kFmt, width, height);
  for (int64_t y = 0; y < height; ++y) {
    for (int64_t x = 0; x < width; ++x) {
      uint8_t* out = img.rgb.data() + (y * width + x) * 3;
      for (int c = 0; c < channels; ++c) {
        int64_t v;
        if (kind == 4) {
          v = (d[in.pos + y * ((width + 7) / 8) + x / 8] >> (7 - x % 8)) & 1;
        } else if (binary) {
          const uint8_t* p = d.data() + in.pos + ((y * width + x) * channels + c) * sample_bytes;
          v = sample_bytes == 2 ? (p[0] << 8) | p[1] : p[0];
        } else {
          v = in.number("sample", kind == 1 ? 1 : 10);
        }
        out[c] = scale(v);
      }
      if (channels == 1) out[1] = out[2] = out[0];
    }
  }
  return img;
}

bool starts_with(std::span<const uint8_t> d, std::initializer_list<uint8_t> magic, size_t at = 0) {
  if (d.size() < at + magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), d.begin() + static_cast<std::ptrdiff_t>(at));
}

}  // namespace

RgbImage decode_bmp(std::span<const uint8_t> data) { return decode_bmp_impl(data); }

RgbImage decode_pnm(std::span<const uint8_t> data) {
  if (data.size() < 3 || data[0] != 'P' || data[1] < '1' || data[1] > '6') fail("PNM", "missing P1-P6 magic number");
  return decode_pnm_impl(data);
}

RgbImage decode_image(std::span<const uint8_t> d) {
  if (starts_with(d, {0xff, 0xd8, 0xff})) return decode_jpeg(d);
  if (starts_with(d, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return decode_png(d);
  if (starts_with(d, {'I', 'I', 42, 0}) || starts_with(d, {'M', 'M', 0, 42})) return decode_tiff(d);
  if (starts_with(d, {'R', 'I', 'F', 'F'}) && starts_with(d, {'W', 'E', 'B', 'P'}, 8)) return decode_webp(d);
  if (starts_with(d, {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'}) || starts_with(d, {0xff, 0x4f, 0xff, 0x51}))
    return decode_jpeg2000(d);
  if (starts_with(d, {'B', 'M'})) return decode_bmp(d);
  if (d.size() >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && std::strchr(" \t\r\n#", d[2]) && d[2] != 0)
    return decode_pnm(d);
  throw Error(ErrorCode::kInvalidArgument,
              "unknown image format (" + std::to_string(d.size()) +
                  " bytes; supported: JPEG, PNG, TIFF, WebP, JPEG 2000, BMP, PNM)");
}

}  // namespace ferry::ep::cpu::image
