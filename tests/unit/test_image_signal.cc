// ImageDecoder's codecs on bad streams (each must throw ferry::Error naming the format, never
// crash; this file also runs under AddressSanitizer) and the spectral kernels' input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "execution_providers/cpu/image/codecs.h"
#include "execution_providers/cpu/signal/fft.h"
#include "kernel_test_util.h"

namespace ferry {
namespace {

using ep::cpu::image::decode_image;
using ep::testing::OpTest;

/// The bytes of a string literal, embedded NULs included.
template <size_t N> std::vector<uint8_t> bytes(const char (&s)[N]) { return {s, s + N - 1}; }

/// decode_image must throw a ferry::Error whose message holds every needle.
void expect_decode_error(const std::vector<uint8_t>& data, std::initializer_list<std::string> needles) {
  try {
    decode_image(data);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    for (const std::string& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

void put32(std::vector<uint8_t>& d, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) d[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

/// A 2x2 24-bit bottom-up BMP: row stride 8 (6 bytes + 2 padding).
std::vector<uint8_t> small_bmp() {
  std::vector<uint8_t> d(54 + 16, 0);
  d[0] = 'B', d[1] = 'M';
  put32(d, 2, static_cast<uint32_t>(d.size()));
  put32(d, 10, 54);
  put32(d, 14, 40);
  put32(d, 18, 2);  // width
  put32(d, 22, 2);  // height
  d[26] = 1, d[28] = 24;
  for (size_t i = 54; i < d.size(); ++i) d[i] = static_cast<uint8_t>(i * 7);
  return d;
}

TEST(ImageCodecs, ValidBmpAndPnm) {
  const auto img = decode_image(small_bmp());
  EXPECT_EQ(img.width, 2);
  EXPECT_EQ(img.height, 2);
  // Top-left pixel is the first pixel of the last stored row, BGR reversed.
  const std::vector<uint8_t> d = small_bmp();
  EXPECT_EQ(img.rgb[0], d[54 + 8 + 2]);
  EXPECT_EQ(img.rgb[2], d[54 + 8]);
  const auto pnm = decode_image(bytes("P3\n# c\n1 1\n255\n1 2 3\n"));
  EXPECT_EQ(pnm.rgb, (std::vector<uint8_t>{1, 2, 3}));
}

TEST(ImageCodecs, UnknownAndEmpty) {
  expect_decode_error({}, {"unknown image format"});
  expect_decode_error(bytes("GIF89a...."), {"unknown image format"});
}

TEST(ImageCodecs, BmpBadHeaders) {
  auto d = small_bmp();
  expect_decode_error(std::vector<uint8_t>(d.begin(), d.begin() + 20), {"BMP image:", "truncated header"});
  auto huge = d;
  put32(huge, 18, 1u << 20);
  expect_decode_error(huge, {"BMP image:", "exceed the limit"});
  auto short_data = d;
  put32(short_data, 18, 1000);
  expect_decode_error(short_data, {"BMP image:", "pixel data needs"});
  auto rle = d;
  put32(rle, 30, 1);
  expect_decode_error(rle, {"BMP image:", "compression method 1"});
  auto bits = d;
  bits[28] = 7;
  expect_decode_error(bits, {"BMP image:", "bit count 7"});
  auto offset = d;
  put32(offset, 10, 0xffffff00u);
  expect_decode_error(offset, {"BMP image:", "pixel data needs"});
  auto zero = d;
  put32(zero, 18, 0);
  expect_decode_error(zero, {"BMP image:", "invalid dimensions"});
}

TEST(ImageCodecs, PnmBadHeaders) {
  expect_decode_error(bytes("P6\n100000 100000\n255\n"), {"PNM image:", "exceed the limit"});
  expect_decode_error(bytes("P6\n1000 1000\n255\nabc"), {"PNM image:", "needs at least"});
  expect_decode_error(bytes("P5 2 2 0\n"), {"PNM image:", "maxval 0"});
  expect_decode_error(bytes("P6 99999999999 2 255\n"), {"PNM image:", "too large"});
  expect_decode_error(bytes("P2 2 1 255\n1 x"), {"PNM image:", "expected a number"});
  expect_decode_error(bytes("P6 2"), {"PNM image:"});
}

TEST(ImageCodecs, LibraryFormatsRejectGarbage) {
  expect_decode_error(bytes("\xff\xd8\xff\xe0garbage"), {"JPEG image:"});
  expect_decode_error(bytes("\xff\xd8\xff"), {"JPEG image:"});
  expect_decode_error(bytes("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDRxxxx"), {"PNG image:"});
  expect_decode_error(bytes("II*\0\xff\xff\xff\x0f"), {"TIFF image:"});
  expect_decode_error(bytes("MM\0*\0\0\0\x08\0\0"), {"TIFF image:"});
  expect_decode_error(bytes("RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0abcd"), {"WebP image:"});
  expect_decode_error(bytes("\0\0\0\x0cjP  \r\n\x87\n\0\0"), {"JPEG 2000 image:"});
  expect_decode_error(bytes("\xff\x4f\xff\x51\0\x29garbage"), {"JPEG 2000 image:"});
}

TEST(ImageCodecs, EveryPrefixOfAValidStreamDecodesOrThrows) {
  for (const auto& valid : {small_bmp(), bytes("P6\n2 2\n255\n0123456789ab"), bytes("P1\n3 2\n1 0 1 0 0 1")}) {
    for (size_t n = 0; n <= valid.size(); ++n) {
      try {
        decode_image(std::vector<uint8_t>(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n)));
      } catch (const Error&) {
      }
    }
  }
}

TEST(ImageDecoder, BadPixelFormatAndInput) {
  OpTest t{.op = "ImageDecoder", .opset = 20, .attrs = {ir::Attribute::make_string("pixel_format", "CMYK")},
           .inputs = {Tensor::from_vector<uint8_t>(DataType::kUInt8, {3}, {1, 2, 3})}};
  EXPECT_THROW(t.run(), Error);
  OpTest f{.op = "ImageDecoder", .opset = 20, .inputs = {ep::testing::f32({2}, {1, 2})}};
  try {
    f.run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1-D uint8"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------------------- signal

TEST(Fft, MatchesDirectDftForEveryLengthUpTo40) {
  using ep::cpu::signal::Complex;
  for (int64_t n = 1; n <= 40; ++n) {
    std::vector<Complex> x(static_cast<size_t>(n)), scratch;
    for (int64_t i = 0; i < n; ++i) x[i] = Complex(std::sin(0.3 * i + 1), std::cos(1.7 * i));
    for (bool inverse : {false, true}) {
      std::vector<Complex> y = x;
      ep::cpu::signal::FftPlan(n).run(y.data(), inverse, scratch);
      for (int64_t k = 0; k < n; ++k) {
        Complex want{};
        for (int64_t j = 0; j < n; ++j)
          want += x[j] * std::polar(1.0, (inverse ? 2 : -2) * std::numbers::pi * static_cast<double>(j * k % n) / n);
        EXPECT_NEAR(std::abs(y[k] - want), 0.0, 1e-11) << "n=" << n << " k=" << k;
      }
    }
  }
}

std::string run_error(const OpTest& t) {
  try {
    t.run();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Dft, BadAxisAndLength) {
  const Tensor x = ep::testing::f32({2, 4, 1}, std::vector<float>(8, 1.0f));
  OpTest axis{.op = "DFT", .opset = 20, .inputs = {x, Tensor(), ep::testing::i64({}, {2})}};
  EXPECT_NE(run_error(axis).find("axis 2 is out of range"), std::string::npos) << run_error(axis);
  OpTest len{.op = "DFT", .opset = 17, .attrs = {ir::Attribute::make_int("axis", 1)},
             .inputs = {x, ep::testing::i64({}, {-3})}};
  EXPECT_NE(run_error(len).find("dft_length must be positive, got -3"), std::string::npos) << run_error(len);
  OpTest huge{.op = "DFT", .opset = 17, .attrs = {ir::Attribute::make_int("axis", 1)},
              .inputs = {x, ep::testing::i64({}, {int64_t{1} << 40})}};
  EXPECT_NE(run_error(huge).find("dft_length 1099511627776 is over the limit"), std::string::npos) << run_error(huge);
  OpTest wide{.op = "DFT", .opset = 17, .attrs = {ir::Attribute::make_int("axis", 0)},
              .inputs = {ep::testing::f32({1, 2048, 1}, std::vector<float>(2048, 1.0f)),
                         ep::testing::i64({}, {int64_t{1} << 20})}};
  EXPECT_NE(run_error(wide).find("dft_length 1048576 gives an output of shape"), std::string::npos) << run_error(wide);
  OpTest last{.op = "DFT", .opset = 17, .attrs = {ir::Attribute::make_int("axis", 1)},
              .inputs = {ep::testing::f32({2, 3}, std::vector<float>(6, 1.0f))}};
  EXPECT_NE(run_error(last).find("must end in a dimension of 1 (real) or 2"), std::string::npos) << run_error(last);
}

TEST(Stft, BadFrames) {
  const Tensor x = ep::testing::f32({1, 8, 1}, std::vector<float>(8, 1.0f));
  OpTest step{.op = "STFT", .opset = 17, .inputs = {x, ep::testing::i64({}, {0}), Tensor(), ep::testing::i64({}, {4})}};
  EXPECT_NE(run_error(step).find("frame_step must be positive"), std::string::npos) << run_error(step);
  OpTest fl{.op = "STFT", .opset = 17, .inputs = {x, ep::testing::i64({}, {1}), Tensor(), ep::testing::i64({}, {9})}};
  EXPECT_NE(run_error(fl).find("frame_length 9 is out of range [1, 8]"), std::string::npos) << run_error(fl);
  OpTest win{.op = "STFT", .opset = 17,
             .inputs = {x, ep::testing::i64({}, {1}), ep::testing::f32({3}, {1, 1, 1}), ep::testing::i64({}, {4})}};
  EXPECT_NE(run_error(win).find("'window' has 3 elements"), std::string::npos) << run_error(win);
}

TEST(MelWeightMatrix, EdgesOutsideTheSpectrum) {
  OpTest t{.op = "MelWeightMatrix", .opset = 17,
           .inputs = {ep::testing::i64({}, {8}), ep::testing::i64({}, {64}), ep::testing::i64({}, {16000}),
                      ep::testing::f32({}, {0.0f}), ep::testing::f32({}, {16000.0f})}};
  EXPECT_NE(run_error(t).find("outside [0, 33)"), std::string::npos) << run_error(t);
}

}  // namespace
}  // namespace ferry
