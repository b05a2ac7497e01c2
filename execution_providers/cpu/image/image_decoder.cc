// ImageDecoder (opset 20): one encoded image (a 1-D uint8 tensor) to uint8 HWC pixels in RGB,
// BGR or Grayscale (Pillow's convert("L") weights, so results match onnx's reference). The
// codecs live beside this file (codecs.h); a stream that does not decode is an error naming
// the format and the problem rather than the empty output the spec allows, so that bad data
// is never mistaken for an empty image.
#include <cstring>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/image/codecs.h"

namespace ferry::ep::cpu {
namespace {

enum class PixelFormat { kRgb, kBgr, kGray };

struct ImageDecoderAttrs {
  PixelFormat pixel_format = PixelFormat::kRgb;  // pixel_format = "RGB"
};

class ImageDecoder final : public Kernel {
 public:
  explicit ImageDecoder(const KernelInfo& info) {
    const std::string f = info.node().get_string("pixel_format", "RGB");
    if (f == "RGB") attrs_.pixel_format = PixelFormat::kRgb;
    else if (f == "BGR") attrs_.pixel_format = PixelFormat::kBgr;
    else if (f == "Grayscale") attrs_.pixel_format = PixelFormat::kGray;
    else fail_model(info, "attribute 'pixel_format' is '" + f + "', expected RGB, BGR or Grayscale");
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& in = ctx.required_input(0);
    if (in.dtype() != DataType::kUInt8 || in.shape().size() != 1)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'encoded_stream' must be a 1-D uint8 tensor, got " + in.describe());
    const image::RgbImage img =
        image::decode_image({in.data<uint8_t>(), static_cast<size_t>(in.element_count())});
    const int64_t pixels = img.height * img.width;
    const uint8_t* src = img.rgb.data();
    if (attrs_.pixel_format == PixelFormat::kGray) {
      uint8_t* out = ctx.allocate_output(0, DataType::kUInt8, {img.height, img.width, 1}).data<uint8_t>();
      // ITU-R 601-2 luma in Pillow's fixed point: (19595 R + 38470 G + 7471 B + 2^15) >> 16.
      for (int64_t i = 0; i < pixels; ++i)
        out[i] = static_cast<uint8_t>(
            (19595u * src[3 * i] + 38470u * src[3 * i + 1] + 7471u * src[3 * i + 2] + 0x8000u) >> 16);
      return;
    }
    uint8_t* out = ctx.allocate_output(0, DataType::kUInt8, {img.height, img.width, 3}).data<uint8_t>();
    if (attrs_.pixel_format == PixelFormat::kRgb) {
      std::memcpy(out, src, static_cast<size_t>(pixels) * 3);
      return;
    }
    for (int64_t i = 0; i < pixels; ++i) {
      out[3 * i] = src[3 * i + 2];
      out[3 * i + 1] = src[3 * i + 1];
      out[3 * i + 2] = src[3 * i];
    }
  }

 private:
  ImageDecoderAttrs attrs_;
};

}  // namespace

void register_image_kernels(KernelRegistry& r) {
  r.add("ImageDecoder", {20}, make_kernel<ImageDecoder>, {DataType::kUInt8});
}

}  // namespace ferry::ep::cpu
