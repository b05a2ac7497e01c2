#include "execution_providers/cpu/quantization/int8_weights.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/cpu/quantization/quant_common.h"

namespace ferry::ep::cpu {

bool center_int8(const Tensor& w, const Tensor* zp, size_t axis, Int8Weights& out) {
  if ((w.dtype() != DataType::kUInt8 && w.dtype() != DataType::kInt8) || axis >= w.rank()) return false;
  const int64_t channels = w.dim(axis), count = w.element_count();
  int64_t inner = 1;
  for (size_t d = axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
  if (zp != nullptr && (zp->dtype() != w.dtype() || (zp->element_count() != 1 && zp->element_count() != channels)))
    return false;
  const quant::Reader rw = quant::reader_for(w.dtype());
  const quant::Reader rz = zp != nullptr ? quant::reader_for(zp->dtype()) : nullptr;
  out.data.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t z = rz ? static_cast<int64_t>(rz(zp->raw_data(), zp->element_count() == 1 ? 0 : i / inner % channels)) : 0;
    const int64_t v = static_cast<int64_t>(rw(w.raw_data(), i)) - z;
    if (v < -128 || v > 127) return false;
    out.data[static_cast<size_t>(i)] = static_cast<int8_t>(v);
  }
  out.shape = w.shape();
  return true;
}

bool qlinear_scales(const Tensor* a_scale, const Tensor* w_scale, const Tensor* y_scale, int64_t channels,
                    std::vector<float>& out) {
  if (a_scale == nullptr || w_scale == nullptr || y_scale == nullptr) return false;
  for (const Tensor* s : {a_scale, w_scale, y_scale})
    if (s->dtype() != DataType::kFloat) return false;
  if (a_scale->element_count() != 1 || y_scale->element_count() != 1) return false;
  const int64_t n = w_scale->element_count();
  if (n != 1 && n != channels) return false;
  const float a = a_scale->data<float>()[0], y = y_scale->data<float>()[0];
  out.resize(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    // As the reference: (a * w) rounded to float, then divided by y, rounded to float.
    const float aw = static_cast<float>(static_cast<double>(a) * w_scale->data<float>()[j]);
    out[static_cast<size_t>(j)] = static_cast<float>(static_cast<double>(aw) / y);
  }
  return true;
}

void* thread_scratch(int slot, size_t bytes) {
  struct Buffer {
    void* data = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[slot];
  if (b.size < bytes) {
    std::free(b.data);
    b.size = (bytes + 63) / 64 * 64;
    b.data = std::aligned_alloc(64, b.size);
    if (b.data == nullptr) throw std::bad_alloc();
  }
  return b.data;
}

bool int8_dnnl_available() { return dnnl_rt::cpu_has_int8_dot(); }

dnnl::memory::data_type dnnl_int_type(DataType t) {
  switch (t) {
    case DataType::kUInt8: return dnnl::memory::data_type::u8;
    case DataType::kInt8: return dnnl::memory::data_type::s8;
    case DataType::kInt32: return dnnl::memory::data_type::s32;
    default: return dnnl::memory::data_type::undef;
  }
}

DataType scalar_zero_point(const KernelInfo& info, size_t i, bool& present) {
  const ir::Value* v = info.node().input(i);
  present = v != nullptr;
  if (!present) return DataType::kUndefined;
  if (const Tensor* t = info.constant_input(i)) return t->element_count() == 1 ? t->dtype() : DataType::kUndefined;
  const ir::Type& type = v->type();
  if (!type.shape.has_rank) return DataType::kUndefined;
  for (const ir::Dim& d : type.shape.dims)
    if (!d.is_constant() || d.value() != 1) return DataType::kUndefined;
  return type.elem;
}

int32_t read_zero_point(const KernelContext& ctx, const Tensor* zp, DataType expected, const char* name) {
  if (zp == nullptr) return 0;
  if (zp->element_count() != 1 || zp->dtype() != expected)
    fail(ctx, ErrorCode::kInvalidArgument, std::string(name) + " " + zp->describe() + " must be a scalar of type " +
                                               std::string(dtype_name(expected)));
  return static_cast<int32_t>(quant::reader_for(zp->dtype())(zp->raw_data(), 0));
}

void add_zero_point(const KernelContext& ctx, const int32_t* acc, int64_t count, int32_t zp, DataType dst, void* y) {
  const bool is_u8 = dst == DataType::kUInt8;
  const int32_t lo = is_u8 ? 0 : -128, hi = is_u8 ? 255 : 127;
  ctx.thread_pool().parallel_for(count, 2.0, [&](int64_t begin, int64_t end) {
    if (is_u8) {
      uint8_t* out = static_cast<uint8_t*>(y);
      for (int64_t i = begin; i < end; ++i) out[i] = static_cast<uint8_t>(std::clamp(acc[i] + zp, lo, hi));
    } else {
      int8_t* out = static_cast<int8_t*>(y);
      for (int64_t i = begin; i < end; ++i) out[i] = static_cast<int8_t>(std::clamp(acc[i] + zp, lo, hi));
    }
  });
}

namespace {

/// One [s0, s1) x channels tile of add_zero_point_to_nchw, with everything in locals (a store
/// through T* may alias captured variables, which would otherwise be reloaded per element).
template <typename T>
void nhwc_tile_to_nchw(const int32_t* a, int64_t spatial, int64_t channels, int64_t s0, int64_t s1, int32_t zp,
                       int32_t lo, int32_t hi, T* y) {
  constexpr int64_t kTile = 32;
  for (int64_t c0 = 0; c0 < channels; c0 += kTile) {
    const int64_t c1 = std::min(channels, c0 + kTile);
    for (int64_t c = c0; c < c1; ++c) {
      const int32_t* src = a + c;
      T* dst = y + c * spatial;
      for (int64_t s = s0; s < s1; ++s) dst[s] = static_cast<T>(std::clamp(src[s * channels] + zp, lo, hi));
    }
  }
}

}  // namespace

void add_zero_point_to_nchw(const KernelContext& ctx, const int32_t* acc, int64_t images, int64_t spatial,
                            int64_t channels, int32_t zp, DataType dst, void* y) {
  constexpr int64_t kTile = 32;
  const bool is_u8 = dst == DataType::kUInt8;
  const int64_t s_tiles = (spatial + kTile - 1) / kTile;
  ctx.thread_pool().parallel_for(images * s_tiles, static_cast<double>(kTile * channels) * 2,
                                 [=](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t img = t / s_tiles, s0 = t % s_tiles * kTile, s1 = std::min(spatial, s0 + kTile);
      const int32_t* a = acc + img * spatial * channels;
      const int64_t base = img * channels * spatial;
      if (is_u8) nhwc_tile_to_nchw(a, spatial, channels, s0, s1, zp, 0, 255, static_cast<uint8_t*>(y) + base);
      else nhwc_tile_to_nchw(a, spatial, channels, s0, s1, zp, -128, 127, static_cast<int8_t*>(y) + base);
    }
  });
}

}  // namespace ferry::ep::cpu
