// JPEG, PNG, TIFF, WebP and JPEG 2000 through their reference libraries (libjpeg-turbo,
// libpng, libtiff, libwebp, OpenJPEG). libjpeg and libpng report fatal errors by calling an
// error function that must not return: ours longjmp back into a small function that holds no
// C++ objects (everything it touches lives in its caller, reached through pointers), which
// then reports the message and the caller throws. libtiff, libwebp and OpenJPEG return errors.
#include <algorithm>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <jerror.h>
#include <openjpeg.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>

#include "execution_providers/cpu/image/codecs.h"

namespace ferry::ep::cpu::image {
namespace {

// ---------------------------------------------------------------------------------------------
// JPEG

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are silent, except premature end of data: the image would be half gray.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_error_exit(cinfo);
}

struct JpegDecoder {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  bool created = false;
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// Pillow's CMYK -> RGB: channel = (255 - k) - round((c * (255 - k)) / 255).
uint8_t cmyk_channel(unsigned c, unsigned k) {
  const unsigned nk = 255 - k;
  const unsigned t = c * nk + 128;
  return static_cast<uint8_t>(nk - (((t >> 8) + t) >> 8));
}

// False when libjpeg reported an error (message in d.err.message).
bool run_jpeg(JpegDecoder& d, std::span<const uint8_t> data, RgbImage& img, std::vector<uint8_t>& row) {
  if (setjmp(d.err.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  jpeg_mem_src(&d.cinfo, data.data(), static_cast<unsigned long>(data.size()));
  jpeg_read_header(&d.cinfo, TRUE);
  check_dims("JPEG", d.cinfo.image_width, d.cinfo.image_height);
  const bool cmyk = d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK;
  const bool gray = d.cinfo.jpeg_color_space == JCS_GRAYSCALE;
  d.cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&d.cinfo);
  img = make_image("JPEG", d.cinfo.output_width, d.cinfo.output_height);
  const int comps = d.cinfo.output_components;
  if (comps != (cmyk ? 4 : gray ? 1 : 3)) fail("JPEG", "unexpected component count " + std::to_string(comps));
  row.resize(static_cast<size_t>(img.width) * static_cast<size_t>(comps));
  const bool inverted = cmyk && d.cinfo.saw_Adobe_marker;  // Adobe stores CMYK inverted
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    uint8_t* out = img.rgb.data() + static_cast<size_t>(d.cinfo.output_scanline) * img.width * 3;
    JSAMPROW target = comps == 3 ? out : row.data();
    if (jpeg_read_scanlines(&d.cinfo, &target, 1) != 1) fail("JPEG", "truncated data");
    if (gray) {
      for (int64_t x = 0; x < img.width; ++x) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = row[x];
    } else if (cmyk) {
      for (int64_t x = 0; x < img.width; ++x) {
        unsigned v[4];
        for (int c = 0; c < 4; ++c) v[c] = inverted ? 255u - row[4 * x + c] : row[4 * x + c];
        for (int c = 0; c < 3; ++c) out[3 * x + c] = cmyk_channel(v[c], v[3]);
      }
    }
  }
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

// ---------------------------------------------------------------------------------------------
// PNG

struct PngInput {
  std::span<const uint8_t> data;
  size_t pos = 0;
  char message[256] = {};
};

[[noreturn]] void png_error_fn(png_structp png, png_const_charp msg) {
  auto* in = static_cast<PngInput*>(png_get_error_ptr(png));
  std::snprintf(in->message, sizeof(in->message), "%s", msg);
  png_longjmp(png, 1);
}
void png_warning_fn(png_structp, png_const_charp) {}

void png_read_fn(png_structp png, png_bytep out, size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->data.size() - in->pos) png_error(png, "truncated data");
  std::memcpy(out, in->data.data() + in->pos, n);
  in->pos += n;
}

struct PngDecoder {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngDecoder() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

bool run_png(PngDecoder& d, PngInput& in, RgbImage& img, std::vector<png_bytep>& rows) {
  if (setjmp(png_jmpbuf(d.png))) return false;
  png_set_user_limits(d.png, static_cast<png_uint_32>(kMaxSide), static_cast<png_uint_32>(kMaxSide));
  png_set_read_fn(d.png, &in, png_read_fn);
  png_read_info(d.png, d.info);
  const png_uint_32 width = png_get_image_width(d.png, d.info);
  const png_uint_32 height = png_get_image_height(d.png, d.info);
  check_dims("PNG", width, height);
  const int color = png_get_color_type(d.png, d.info);
  png_set_strip_16(d.png);
  png_set_packing(d.png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(d.png);
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_expand_gray_1_2_4_to_8(d.png);
    png_set_gray_to_rgb(d.png);
  }
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(d.png);
  png_set_interlace_handling(d.png);
  png_read_update_info(d.png, d.info);
  if (png_get_rowbytes(d.png, d.info) != static_cast<size_t>(width) * 3)
    png_error(d.png, "unsupported pixel layout");
  img = make_image("PNG", width, height);
  rows.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) rows[y] = img.rgb.data() + static_cast<size_t>(y) * width * 3;
  png_read_image(d.png, rows.data());
  png_read_end(d.png, nullptr);
  return true;
}

// ---------------------------------------------------------------------------------------------
// TIFF (from memory, through libtiff's client I/O)

struct TiffInput {
  std::span<const uint8_t> data;
  toff_t pos = 0;
  std::string error;
};

tsize_t tiff_read(thandle_t h, tdata_t buf, tsize_t n) {
  auto* in = static_cast<TiffInput*>(h);
  if (n < 0 || in->pos >= in->data.size()) return 0;
  const size_t count = std::min(static_cast<size_t>(n), static_cast<size_t>(in->data.size() - in->pos));
  std::memcpy(buf, in->data.data() + in->pos, count);
  in->pos += count;
  return static_cast<tsize_t>(count);
}
tsize_t tiff_write(thandle_t, tdata_t, tsize_t) { return -1; }
toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
  auto* in = static_cast<TiffInput*>(h);
  const toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? in->pos : in->data.size();
  in->pos = base + off;  // reads past the end return 0 bytes
  return in->pos;
}
int tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffInput*>(h)->data.size(); }
int tiff_map(thandle_t, tdata_t*, toff_t*) { return 0; }
void tiff_unmap(thandle_t, tdata_t, toff_t) {}

int tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* in = static_cast<TiffInput*>(user);
  if (in->error.empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    in->error = std::string(module ? module : "") + (module ? ": " : "") + buf;
  }
  return 1;
}
int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// ---------------------------------------------------------------------------------------------
// JPEG 2000 (OpenJPEG, from memory)

struct OpjInput {
  std::span<const uint8_t> data;
  size_t pos = 0;
  std::string error;
};

OPJ_SIZE_T opj_read(void* buf, OPJ_SIZE_T n, void* user) {
  auto* in = static_cast<OpjInput*>(user);
  if (in->pos >= in->data.size()) return static_cast<OPJ_SIZE_T>(-1);
  const size_t count = std::min<size_t>(n, in->data.size() - in->pos);
  std::memcpy(buf, in->data.data() + in->pos, count);
  in->pos += count;
  return count;
}
OPJ_OFF_T opj_skip(OPJ_OFF_T n, void* user) {
  auto* in = static_cast<OpjInput*>(user);
  if (n < 0 && static_cast<size_t>(-n) > in->pos) return -1;
  if (n > 0 && static_cast<size_t>(n) > in->data.size() - in->pos) n = static_cast<OPJ_OFF_T>(in->data.size() - in->pos);
  in->pos = static_cast<size_t>(static_cast<OPJ_OFF_T>(in->pos) + n);
  return n;
}
OPJ_BOOL opj_seek(OPJ_OFF_T pos, void* user) {
  auto* in = static_cast<OpjInput*>(user);
  if (pos < 0 || static_cast<size_t>(pos) > in->data.size()) return OPJ_FALSE;
  in->pos = static_cast<size_t>(pos);
  return OPJ_TRUE;
}
void opj_on_error(const char* msg, void* user) {
  auto* in = static_cast<OpjInput*>(user);
  if (in->error.empty()) {
    in->error = msg;
    while (!in->error.empty() && in->error.back() == '\n') in->error.pop_back();
  }
}
void opj_on_message(const char*, void*) {}

struct OpjState {
  opj_stream_t* stream = nullptr;
  opj_codec_t* codec = nullptr;
  opj_image_t* image = nullptr;
  ~OpjState() {
    if (image) opj_image_destroy(image);
    if (codec) opj_destroy_codec(codec);
    if (stream) opj_stream_destroy(stream);
  }
};

// A component sample scaled to 8 bits.
uint8_t opj_sample(const opj_image_comp_t& c, size_t i) {
  int64_t v = c.data[i];
  if (c.sgnd) v += int64_t{1} << (c.prec - 1);
  if (c.prec > 8) v >>= (c.prec - 8);
  else if (c.prec < 8) v = v * 255 / ((int64_t{1} << c.prec) - 1);
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

}  // namespace

RgbImage decode_jpeg(std::span<const uint8_t> data) {
  JpegDecoder d;
  d.cinfo.err = jpeg_std_error(&d.err.mgr);
  d.err.mgr.error_exit = jpeg_error_exit;
  d.err.mgr.emit_message = jpeg_emit_message;
  RgbImage img;
  std::vector<uint8_t> row;
  if (!run_jpeg(d, data, img, row)) fail("JPEG", d.err.message);
  return img;
}

RgbImage decode_png(std::span<const uint8_t> data) {
  PngInput in;
  in.data = data;
  PngDecoder d;
  d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &in, png_error_fn, png_warning_fn);
  if (!d.png) fail("PNG", "libpng could not be initialised");
  d.info = png_create_info_struct(d.png);
  if (!d.info) fail("PNG", "libpng could not be initialised");
  RgbImage img;
  std::vector<png_bytep> rows;
  if (!run_png(d, in, img, rows)) fail("PNG", in.message);
  return img;
}

RgbImage decode_tiff(std::span<const uint8_t> data) {
  TiffInput in;
  in.data = data;
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> opts(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  if (!opts) fail("TIFF", "libtiff could not be initialised");
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), tiff_error, &in);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), tiff_warning, &in);
  TIFFOpenOptionsSetMaxSingleMemAlloc(opts.get(), kMaxPixels * 4);
  std::unique_ptr<TIFF, void (*)(TIFF*)> tif(
      TIFFClientOpenExt("memory", "rm", &in, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size, tiff_map,
                        tiff_unmap, opts.get()),
      TIFFClose);
  if (!tif) fail("TIFF", in.error.empty() ? "not a readable TIFF stream" : in.error);
  uint32_t width = 0, height = 0;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width) || !TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height))
    fail("TIFF", "missing image width or length");
  check_dims("TIFF", width, height);
  std::vector<uint32_t> raster(static_cast<size_t>(width) * height);
  if (!TIFFReadRGBAImageOriented(tif.get(), width, height, raster.data(), ORIENTATION_TOPLEFT, 0))
    fail("TIFF", in.error.empty() ? "cannot decode the image data" : in.error);
  if (!in.error.empty()) fail("TIFF", in.error);
  RgbImage img = make_image("TIFF", width, height);
  for (size_t i = 0; i < raster.size(); ++i) {
    img.rgb[3 * i] = static_cast<uint8_t>(TIFFGetR(raster[i]));
    img.rgb[3 * i + 1] = static_cast<uint8_t>(TIFFGetG(raster[i]));
    img.rgb[3 * i + 2] = static_cast<uint8_t>(TIFFGetB(raster[i]));
  }
  return img;
}

RgbImage decode_webp(std::span<const uint8_t> data) {
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data.data(), data.size(), &features) != VP8_STATUS_OK)
    fail("WebP", "invalid or truncated header");
  if (features.has_animation) fail("WebP", "animated images are not supported");
  RgbImage img = make_image("WebP", features.width, features.height);
  if (!WebPDecodeRGBInto(data.data(), data.size(), img.rgb.data(), img.rgb.size(), static_cast<int>(img.width * 3)))
    fail("WebP", "corrupt or truncated image data");
  return img;
}

RgbImage decode_jpeg2000(std::span<const uint8_t> data) {
  static const uint8_t kCodestream[] = {0xff, 0x4f, 0xff, 0x51};
  const bool raw = data.size() >= 4 && std::memcmp(data.data(), kCodestream, 4) == 0;
  OpjInput in;
  in.data = data;
  OpjState s;
  s.stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  s.codec = opj_create_decompress(raw ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  if (!s.stream || !s.codec) fail("JPEG 2000", "OpenJPEG could not be initialised");
  opj_stream_set_user_data(s.stream, &in, nullptr);
  opj_stream_set_user_data_length(s.stream, data.size());
  opj_stream_set_read_function(s.stream, opj_read);
  opj_stream_set_skip_function(s.stream, opj_skip);
  opj_stream_set_seek_function(s.stream, opj_seek);
  opj_set_error_handler(s.codec, opj_on_error, &in);
  opj_set_warning_handler(s.codec, opj_on_message, &in);
  opj_set_info_handler(s.codec, opj_on_message, &in);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(s.codec, &params)) fail("JPEG 2000", "decoder setup failed");
  auto error = [&](const char* what) { return in.error.empty() ? std::string(what) : in.error; };
  if (!opj_read_header(s.stream, s.codec, &s.image) || !s.image) fail("JPEG 2000", error("invalid header"));
  check_dims("JPEG 2000", int64_t{s.image->x1} - s.image->x0, int64_t{s.image->y1} - s.image->y0);
  if (!opj_decode(s.codec, s.stream, s.image) || !opj_end_decompress(s.codec, s.stream))
    fail("JPEG 2000", error("corrupt or truncated image data"));
  const opj_image_t& im = *s.image;
  if (im.numcomps < 1 || im.numcomps > 4)
    fail("JPEG 2000", "unsupported component count " + std::to_string(im.numcomps));
  if (im.color_space == OPJ_CLRSPC_SYCC || im.color_space == OPJ_CLRSPC_EYCC || im.color_space == OPJ_CLRSPC_CMYK)
    fail("JPEG 2000", "unsupported color space (YCC or CMYK)");
  const opj_image_comp_t& c0 = im.comps[0];
  for (OPJ_UINT32 i = 0; i < im.numcomps; ++i) {
    const opj_image_comp_t& c = im.comps[i];
    if (!c.data || c.w != c0.w || c.h != c0.h || c.prec < 1 || c.prec > 31)
      fail("JPEG 2000", "subsampled or missing components are not supported");
  }
  RgbImage img = make_image("JPEG 2000", c0.w, c0.h);
  const size_t n = static_cast<size_t>(img.width) * static_cast<size_t>(img.height);
  const bool color = im.numcomps >= 3;
  for (size_t i = 0; i < n; ++i)
    for (int ch = 0; ch < 3; ++ch) img.rgb[3 * i + ch] = opj_sample(im.comps[color ? ch : 0], i);
  return img;
}

}  // namespace ferry::ep::cpu::image
