// Resize (opsets 10-19) and Upsample (7-10) for any rank: nearest, linear and cubic modes, every
// coordinate transformation, nearest rounding, exclude_outside, cubic_coeff_a, antialias, axes,
// keep_aspect_ratio_policy, scales or sizes. Interpolation is separable: one axis at a time, in
// double, as the ONNX reference defines it (each output position along an axis takes n
// neighbours clamped into the input, weighted by the mode's coefficients). Float outputs are
// rounded once at the end; integer outputs round half to even and saturate. Fast paths: a
// gather when every output copies one input element (nearest), and float resizing of the last
// two axes in float (NCHW images; planar_resize).
#include <cmath>
#include <limits>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

using ResizeTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t,
                          int64_t, uint64_t>;

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfCropAndResize,
                   kTfHalfPixelForNn };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };
enum class AspectPolicy { kStretch, kNotLarger, kNotSmaller };

template <typename E>
E parse_enum(const ir::Node& n, const char* name, const std::string& dflt,
             std::initializer_list<std::pair<const char*, E>> values) {
  const std::string v = n.get_string(name, dflt);
  std::string valid;
  for (const auto& [text, e] : values) {
    if (v == text) return e;
    valid += std::string(valid.empty() ? "" : ", ") + text;
  }
  throw Error(ErrorCode::kInvalidModel,
              std::string("attribute '") + name + "' is '" + v + "' (valid: " + valid + ")");
}

struct ResizeAttributes {
  Mode mode;                  // "mode": "nearest"
  Coord coord;                // "coordinate_transformation_mode": "half_pixel" (asymmetric before 11)
  Nearest nearest;            // "nearest_mode": "round_prefer_floor" (ORT's "simple" before 11)
  double cubic_a;             // "cubic_coeff_a": -0.75
  bool exclude_outside;       // "exclude_outside": 0
  double extrapolation;       // "extrapolation_value": 0
  bool antialias;             // "antialias" (18+): 0
  std::vector<int64_t> axes;  // "axes" (18+): all
  AspectPolicy policy;        // "keep_aspect_ratio_policy" (18+): "stretch"
  std::vector<float> scales_attr;  // Upsample-7 "scales"
  int64_t opset;
  bool upsample;

  ResizeAttributes(const ir::Node& n, int64_t opset_, bool is_upsample)
      : mode(parse_enum<Mode>(n, "mode", "nearest",
                              {{"nearest", Mode::kNearest}, {"linear", Mode::kLinear}, {"bilinear", Mode::kLinear},
                               {"cubic", Mode::kCubic}})),
        coord(Coord::kAsymmetric),
        nearest(Nearest::kSimple),
        cubic_a(n.get_float("cubic_coeff_a", -0.75f)),
        exclude_outside(n.get_int("exclude_outside", 0) != 0),
        extrapolation(n.get_float("extrapolation_value", 0.0f)),
        antialias(n.get_int("antialias", 0) != 0),
        axes(n.get_ints("axes")),
        policy(parse_enum<AspectPolicy>(n, "keep_aspect_ratio_policy", "stretch",
                                        {{"stretch", AspectPolicy::kStretch},
                                         {"not_larger", AspectPolicy::kNotLarger},
                                         {"not_smaller", AspectPolicy::kNotSmaller}})),
        scales_attr(n.get_floats("scales")),
        opset(opset_),
        upsample(is_upsample) {
    if (!upsample && opset >= 11) {
      coord = parse_enum<Coord>(n, "coordinate_transformation_mode", "half_pixel",
                                {{"half_pixel", Coord::kHalfPixel},
                                 {"half_pixel_symmetric", Coord::kHalfPixelSymmetric},
                                 {"pytorch_half_pixel", Coord::kPytorchHalfPixel},
                                 {"align_corners", Coord::kAlignCorners},
                                 {"asymmetric", Coord::kAsymmetric},
                                 {"tf_crop_and_resize", Coord::kTfCropAndResize},
                                 {"tf_half_pixel_for_nn", Coord::kTfHalfPixelForNn}});
      nearest = parse_enum<Nearest>(n, "nearest_mode", "round_prefer_floor",
                                    {{"round_prefer_floor", Nearest::kRoundPreferFloor},
                                     {"round_prefer_ceil", Nearest::kRoundPreferCeil},
                                     {"floor", Nearest::kFloor},
                                     {"ceil", Nearest::kCeil}});
    }
    if ((upsample || opset < 11) && mode == Mode::kCubic)
      throw Error(ErrorCode::kInvalidModel, "mode 'cubic' needs Resize opset 11 or newer");
  }
};

/// y[i] += w * x[i] (no contraction into FMA: the same rounding as the planar path), in blocks
/// of a fixed length so that -O2 vectorizes them.
inline void add_scaled(float* __restrict y, const float* __restrict x, float w, int64_t n) {
  constexpr int64_t kBlock = 16;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock)
    for (int64_t k = 0; k < kBlock; ++k) y[i + k] += w * x[i + k];
  for (; i < n; ++i) y[i] += w * x[i];
}

/// Input positions and weights for every output position along one axis.
struct AxisTable {
  int64_t taps = 0;             ///< neighbours per output position
  std::vector<int64_t> index;   ///< out * taps, clamped into the input
  std::vector<double> weight;   ///< out * taps
  std::vector<char> extrapolate;  ///< out: take extrapolation_value instead
};

std::vector<double> coefficients(const ResizeAttributes& a, double ratio, double scale) {
  switch (a.mode) {
    case Mode::kNearest: {
      if (ratio == 1.0) return {0, 1};
      bool up;
      switch (a.nearest) {
        case Nearest::kRoundPreferFloor: up = ratio > 0.5; break;
        case Nearest::kRoundPreferCeil: up = ratio >= 0.5; break;
        case Nearest::kFloor: up = false; break;
        default: up = true; break;
      }
      return {up ? 0.0 : 1.0, up ? 1.0 : 0.0};
    }
    case Mode::kLinear: {
      if (!a.antialias) return {1 - ratio, ratio};
      const double s = std::min(scale, 1.0);
      const int64_t start = static_cast<int64_t>(std::floor(-1 / s) + 1), footprint = 2 - 2 * start;
      std::vector<double> c(static_cast<size_t>(footprint));
      double sum = 0;
      for (int64_t i = 0; i < footprint; ++i) {
        const double arg = (static_cast<double>(start + i) - ratio) * s;
        c[static_cast<size_t>(i)] = std::clamp(1 - std::abs(arg), 0.0, 1.0);
        sum += c[static_cast<size_t>(i)];
      }
      for (double& v : c) v /= sum;
      return c;
    }
    case Mode::kCubic: {
      const double A = a.cubic_a;
      if (!a.antialias) {
        const double r = ratio, q = 1 - ratio;
        return {((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
                ((A + 2) * r - (A + 3)) * r * r + 1,
                ((A + 2) * q - (A + 3)) * q * q + 1,
                ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A};
      }
      const double s = std::min(scale, 1.0);
      const int64_t start = static_cast<int64_t>(std::floor(-2 / s) + 1), end = 2 - start;
      std::vector<double> c;
      double sum = 0;
      for (int64_t i = start; i < end; ++i) {
        const double x = std::abs(s * (static_cast<double>(i) - ratio));
        const double v = x <= 1 ? (A + 2) * x * x * x - (A + 3) * x * x + 1
                         : x < 2 ? A * x * x * x - 5 * A * x * x + 8 * A * x - 4 * A
                                 : 0.0;
        c.push_back(v);
        sum += v;
      }
      for (double& v : c) v /= sum;
      return c;
    }
  }
  return {};
}

AxisTable axis_table(const ResizeAttributes& a, int64_t in, int64_t out, double scale, double roi_lo, double roi_hi) {
  AxisTable t;
  t.extrapolate.assign(static_cast<size_t>(out), 0);
  const double out_w = scale * static_cast<double>(in), in_d = static_cast<double>(in);
  for (int64_t o = 0; o < out; ++o) {
    const double y = static_cast<double>(o);
    double x = 0;
    switch (a.coord) {
      case Coord::kAlignCorners: x = out_w == 1 ? 0 : y * (in_d - 1) / (out_w - 1); break;
      case Coord::kAsymmetric: x = y / scale; break;
      case Coord::kTfCropAndResize:
        x = out_w == 1 ? (roi_hi - roi_lo) * (in_d - 1) / 2 : y * (roi_hi - roi_lo) * (in_d - 1) / (out_w - 1);
        x += roi_lo * (in_d - 1);
        if (x < 0 || x > in_d - 1) t.extrapolate[static_cast<size_t>(o)] = 1;
        break;
      case Coord::kPytorchHalfPixel: x = out_w == 1 ? -0.5 : (y + 0.5) / scale - 0.5; break;
      case Coord::kHalfPixel: x = (y + 0.5) / scale - 0.5; break;
      case Coord::kHalfPixelSymmetric: {
        const double adjustment = static_cast<double>(out) / out_w, center = in_d / 2;
        x = center * (1 - adjustment) + (y + 0.5) / scale - 0.5;
        break;
      }
      case Coord::kTfHalfPixelForNn: x = (y + 0.5) / scale; break;
    }
    if (!std::isfinite(x)) x = 0;
    x = std::clamp(x, -1e12, 1e12);
    if (a.mode == Mode::kNearest && a.nearest == Nearest::kSimple) {
      // onnxruntime's rule for Upsample and Resize-10: ceil when downsampling, else truncate.
      const int64_t i = scale < 1 ? static_cast<int64_t>(std::ceil(x)) : static_cast<int64_t>(x);
      t.taps = 1;
      t.index.push_back(std::clamp<int64_t>(i, 0, in - 1));
      t.weight.push_back(1.0);
      continue;
    }
    const double xf = std::floor(x);
    const double ratio = x == xf ? 1.0 : x - xf;
    std::vector<double> c = coefficients(a, ratio, scale);
    const int64_t n = static_cast<int64_t>(c.size());
    t.taps = n;
    const int64_t pad = (n + 1) / 2;
    const double xp = x + static_cast<double>(pad);
    const double pf = std::floor(xp);
    const double frac = xp - pf;
    int64_t off;
    if (n % 2 == 0) off = frac == 0 ? -(n / 2) : -(n / 2) + 1;
    else off = frac <= 0.5 ? -((n - 1) / 2) : -((n - 1) / 2) + 1;
    const int64_t start = static_cast<int64_t>(pf) + off - pad;
    if (a.exclude_outside) {
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        const int64_t idx = start + j;
        if (idx < 0 || idx >= in) c[static_cast<size_t>(j)] = 0;
        sum += c[static_cast<size_t>(j)];
      }
      if (sum != 0)
        for (double& v : c) v /= sum;
    }
    for (int64_t j = 0; j < n; ++j) {
      t.index.push_back(std::clamp<int64_t>(start + j, 0, in - 1));
      t.weight.push_back(c[static_cast<size_t>(j)]);
    }
  }
  return t;
}

std::vector<double> read_floats(const Tensor& t, const KernelContext& ctx, const char* what) {
  std::vector<double> out;
  visit_dtype(Types<float, double, Float16, BFloat16>{}, t.dtype(), what,
              [&](auto tag) {
                using T = typename decltype(tag)::type;
                for (T v : t.span<T>()) out.push_back(static_cast<double>(to_compute(v)));
              });
  return out;
}

template <typename T> T saturate(double v) {
  if constexpr (kIsFloating<T>) {
    return from_compute<T>(v);
  } else {
    if (std::isnan(v)) return T(0);
    const double r = std::nearbyint(v);
    if (r <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(r);
  }
}

class Resize final : public Kernel {
 public:
  Resize(const KernelInfo& info, bool upsample) : attrs_(info.node(), info.opset(), upsample) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const size_t rank = x.rank();
    const int64_t r = static_cast<int64_t>(rank);
    // Which axes the scales / sizes / roi describe.
    std::vector<size_t> axes;
    if (attrs_.axes.empty()) {
      for (size_t d = 0; d < rank; ++d) axes.push_back(d);
    } else {
      for (int64_t a : attrs_.axes) axes.push_back(static_cast<size_t>(normalize_axis(a, r, ctx.node())));
    }
    std::vector<double> scale(rank, 1.0), roi_lo(rank, 0.0), roi_hi(rank, 1.0);
    std::vector<int64_t> out_shape = x.shape();

    std::vector<double> scales_in;
    std::vector<int64_t> sizes_in;
    const size_t scales_index = attrs_.upsample || attrs_.opset < 11 ? 1 : 2;
    if (attrs_.upsample && attrs_.opset < 9) {
      scales_in.assign(attrs_.scales_attr.begin(), attrs_.scales_attr.end());
    } else {
      const Tensor* s = ctx.input_count() > scales_index ? ctx.input(scales_index) : nullptr;
      if (s != nullptr && s->defined() && s->element_count() > 0) scales_in = read_floats(*s, ctx, "input 'scales'");
      const Tensor* z = !attrs_.upsample && attrs_.opset >= 11 && ctx.input_count() > 3 ? ctx.input(3) : nullptr;
      if (z != nullptr && z->defined() && z->element_count() > 0) sizes_in = read_int_list(*z, ctx, "input 'sizes'");
    }
    if (scales_in.empty() == sizes_in.empty())
      fail(ctx, ErrorCode::kInvalidArgument, "exactly one of 'scales' and 'sizes' must be given (non-empty)");
    const size_t given = scales_in.empty() ? sizes_in.size() : scales_in.size();
    if (given != axes.size())
      fail(ctx, ErrorCode::kInvalidArgument, std::string(scales_in.empty() ? "'sizes'" : "'scales'") + " has " +
                                                 std::to_string(given) + " values, expected " +
                                                 std::to_string(axes.size()) + " for input " + x.describe());
    if (attrs_.coord == Coord::kTfCropAndResize) {
      const Tensor* roi = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
      if (roi != nullptr && roi->defined() && roi->element_count() > 0) {
        const std::vector<double> v = read_floats(*roi, ctx, "input 'roi'");
        if (v.size() != 2 * axes.size())
          fail(ctx, ErrorCode::kInvalidArgument, "input 'roi' has " + std::to_string(v.size()) + " values, expected " +
                                                     std::to_string(2 * axes.size()));
        for (size_t i = 0; i < axes.size(); ++i) {
          roi_lo[axes[i]] = v[i];
          roi_hi[axes[i]] = v[i + axes.size()];
        }
      }
    }
    if (!scales_in.empty()) {
      for (size_t i = 0; i < axes.size(); ++i) {
        const size_t d = axes[i];
        if (!(scales_in[i] > 0) || !std::isfinite(scales_in[i]))
          fail(ctx, ErrorCode::kInvalidArgument, "scales must be positive and finite, got " +
                                                     std::to_string(scales_in[i]) + " for axis " + std::to_string(d));
        scale[d] = scales_in[i];
        const double o = scales_in[i] * static_cast<double>(x.dim(d));
        if (o > 9e15) fail(ctx, ErrorCode::kInvalidArgument, "output dim " + std::to_string(d) + " is too large");
        out_shape[d] = static_cast<int64_t>(o);
      }
    } else {
      for (size_t i = 0; i < axes.size(); ++i) {
        if (sizes_in[i] < 0)
          fail(ctx, ErrorCode::kInvalidArgument, "sizes must be non-negative, got " + std::to_string(sizes_in[i]));
        scale[axes[i]] = static_cast<double>(sizes_in[i]) / static_cast<double>(x.dim(axes[i]));
        out_shape[axes[i]] = sizes_in[i];
      }
      if (attrs_.policy != AspectPolicy::kStretch) {
        double s = attrs_.policy == AspectPolicy::kNotLarger ? std::numeric_limits<double>::infinity() : 0.0;
        for (size_t d : axes) s = attrs_.policy == AspectPolicy::kNotLarger ? std::min(s, scale[d]) : std::max(s, scale[d]);
        for (size_t d : axes) {
          scale[d] = s;
          out_shape[d] = static_cast<int64_t>(s * static_cast<double>(x.dim(d)) + 0.5);
        }
      }
    }

    visit_dtype(ResizeTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
      if (y.element_count() == 0) return;
      if (x.element_count() == 0)
        fail(ctx, ErrorCode::kInvalidArgument, "cannot resize empty input " + x.describe() + " to non-empty " +
                                                   shape_to_string(out_shape));
      if (gather_resize<T>(ctx, x, y, scale, roi_lo, roi_hi)) return;
      if constexpr (std::is_same_v<T, float>)
        if (planar_resize(ctx, x, y, scale, roi_lo, roi_hi) || channels_last_resize(ctx, x, y, scale, roi_lo, roi_hi))
          return;
      std::vector<double> cur(static_cast<size_t>(x.element_count()));
      const T* px = x.data<T>();
      for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<double>(to_compute(px[i]));
      std::vector<int64_t> shape = x.shape();
      for (size_t d = 0; d < rank; ++d) {
        const bool identity = std::abs(scale[d] - 1.0) <= 1e-9 && out_shape[d] == shape[d] &&
                              std::abs(roi_lo[d]) <= 1e-9 && std::abs(roi_hi[d] - 1.0) <= 1e-9;
        if (identity) continue;
        const AxisTable t = axis_table(attrs_, shape[d], out_shape[d], scale[d], roi_lo[d], roi_hi[d]);
        const int64_t outer = product(shape, 0, d), inner = product(shape, d + 1, rank);
        const int64_t in_w = shape[d], out_w = out_shape[d], taps = t.taps;
        // Axes are resized one at a time; an intermediate may be larger than the output.
        if (static_cast<double>(outer) * static_cast<double>(out_w) * static_cast<double>(inner) * sizeof(double) >
            static_cast<double>(Tensor::max_allocation_bytes()))
          fail(ctx, ErrorCode::kInvalidArgument, "resizing " + x.describe() + " to " + shape_to_string(out_shape) +
                                                     " needs an intermediate larger than the allocation limit");
        std::vector<double> next(static_cast<size_t>(outer * out_w * inner));
        const double extrapolation = attrs_.extrapolation;
        ctx.thread_pool().parallel_for(outer * out_w, static_cast<double>(inner * taps) * 2, [&](int64_t b, int64_t e) {
          if (inner == 1) {  // the last axis: one weighted sum per output element
            for (int64_t g = b; g < e; ++g) {
              const int64_t o = g / out_w, j = g % out_w;
              if (t.extrapolate[static_cast<size_t>(j)]) {
                next[static_cast<size_t>(g)] = extrapolation;
                continue;
              }
              const double* src = cur.data() + o * in_w;
              const int64_t* idx = t.index.data() + j * taps;
              const double* w = t.weight.data() + j * taps;
              double acc = 0;
              for (int64_t k = 0; k < taps; ++k) acc += w[k] * src[idx[k]];
              next[static_cast<size_t>(g)] = acc;
            }
            return;
          }
          for (int64_t g = b; g < e; ++g) {
            const int64_t o = g / out_w, j = g % out_w;
            double* dst = next.data() + g * inner;
            if (t.extrapolate[static_cast<size_t>(j)]) {
              std::fill(dst, dst + inner, extrapolation);
              continue;
            }
            std::fill(dst, dst + inner, 0.0);
            for (int64_t k = 0; k < taps; ++k) {
              const double w = t.weight[static_cast<size_t>(j * taps + k)];
              const double* src = cur.data() + (o * in_w + t.index[static_cast<size_t>(j * taps + k)]) * inner;
              for (int64_t i = 0; i < inner; ++i) dst[i] += w * src[i];
            }
          }
        });
        cur.swap(next);
        shape[d] = out_shape[d];
      }
      T* py = y.data<T>();
      for (size_t i = 0; i < cur.size(); ++i) py[i] = saturate<T>(cur[i]);
    });
  }

 private:
  static bool is_identity(const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape, size_t d,
                          const std::vector<double>& scale, const std::vector<double>& roi_lo,
                          const std::vector<double>& roi_hi) {
    return std::abs(scale[d] - 1.0) <= 1e-9 && out_shape[d] == in_shape[d] && std::abs(roi_lo[d]) <= 1e-9 &&
           std::abs(roi_hi[d] - 1.0) <= 1e-9;
  }

  /// Float resizing of the last two axes only (NCHW images: linear, cubic), no extrapolation:
  /// per plane a horizontal pass over the input rows into a [in_h, out_w] buffer, then a vertical
  /// pass, in float like onnxruntime; parallel over planes. False when other axes change.
  bool planar_resize(KernelContext& ctx, const Tensor& x, Tensor& y, const std::vector<double>& scale,
                     const std::vector<double>& roi_lo, const std::vector<double>& roi_hi) const {
    const size_t rank = x.rank();
    if (rank < 2) return false;
    const std::vector<int64_t>& in_shape = x.shape();
    const std::vector<int64_t>& out_shape = y.shape();
    for (size_t d = 0; d + 2 < rank; ++d)
      if (!is_identity(in_shape, out_shape, d, scale, roi_lo, roi_hi)) return false;
    FloatTable th, tw;
    if (!float_table(in_shape, out_shape, rank - 2, scale, roi_lo, roi_hi, th) ||
        !float_table(in_shape, out_shape, rank - 1, scale, roi_lo, roi_hi, tw))
      return false;
    const int64_t in_h = in_shape[rank - 2], in_w = in_shape[rank - 1];
    const int64_t out_h = out_shape[rank - 2], out_w = out_shape[rank - 1];
    const int64_t planes = product(in_shape, 0, rank - 2);
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    const double cost = static_cast<double>(in_h * out_w * tw.taps + out_h * out_w * th.taps);
    ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
      std::vector<float> rows(static_cast<size_t>(in_h * out_w));
      for (int64_t p = p0; p < p1; ++p) {
        const float* s = src + p * in_h * in_w;
        for (int64_t r = 0; r < in_h; ++r) {
          const float* sr = s + r * in_w;
          float* o = rows.data() + r * out_w;
          for (int64_t j = 0; j < out_w; ++j) {
            const int64_t* idx = tw.index.data() + j * tw.taps;
            const float* w = tw.weight.data() + j * tw.taps;
            float acc = 0.f;
            for (int64_t k = 0; k < tw.taps; ++k) acc += w[k] * sr[idx[k]];
            o[j] = acc;
          }
        }
        float* d = dst + p * out_h * out_w;
        for (int64_t i = 0; i < out_h; ++i) {
          float* o = d + i * out_w;
          std::fill(o, o + out_w, 0.f);
          for (int64_t k = 0; k < th.taps; ++k) {
            const float w = th.weight[static_cast<size_t>(i * th.taps + k)];
            const float* r = rows.data() + th.index[static_cast<size_t>(i * th.taps + k)] * out_w;
            for (int64_t j = 0; j < out_w; ++j) o[j] += w * r[j];
          }
        }
      }
    });
    return true;
  }

  /// One axis's taps in float for the float paths; false when the axis extrapolates.
  struct FloatTable {
    int64_t taps = 1;
    std::vector<int64_t> index;
    std::vector<float> weight;
  };
  bool float_table(const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape, size_t d,
                   const std::vector<double>& scale, const std::vector<double>& roi_lo,
                   const std::vector<double>& roi_hi, FloatTable& t) const {
    if (is_identity(in_shape, out_shape, d, scale, roi_lo, roi_hi)) {
      t.taps = 1;
      for (int64_t i = 0; i < in_shape[d]; ++i) t.index.push_back(i);
      t.weight.assign(static_cast<size_t>(in_shape[d]), 1.f);
      return true;
    }
    const AxisTable a = axis_table(attrs_, in_shape[d], out_shape[d], scale[d], roi_lo[d], roi_hi[d]);
    for (char e : a.extrapolate)
      if (e) return false;
    t.taps = a.taps;
    t.index = a.index;
    t.weight.assign(a.weight.begin(), a.weight.end());
    return true;
  }

  /// Float resizing of the spatial axes of channels-last images, [N, H, W, C] (or [N, W, C]),
  /// N and C unchanged, no extrapolation (what the layout pass makes of an NCHW Resize in a
  /// channels-last conv chain). Same arithmetic as planar_resize, per channel: each output row
  /// takes, per vertical tap, the horizontal pass of that input row (float, taps in order), then
  /// sums them weighted, in tap order; rows in parallel. False for other shapes.
  bool channels_last_resize(KernelContext& ctx, const Tensor& x, Tensor& y, const std::vector<double>& scale,
                            const std::vector<double>& roi_lo, const std::vector<double>& roi_hi) const {
    const size_t rank = x.rank();
    if (rank != 3 && rank != 4) return false;
    const std::vector<int64_t>& in_shape = x.shape();
    const std::vector<int64_t>& out_shape = y.shape();
    if (!is_identity(in_shape, out_shape, 0, scale, roi_lo, roi_hi) ||
        !is_identity(in_shape, out_shape, rank - 1, scale, roi_lo, roi_hi))
      return false;
    FloatTable th, tw;
    if (rank == 4 && !float_table(in_shape, out_shape, 1, scale, roi_lo, roi_hi, th)) return false;
    if (rank == 3) th.index = {0}, th.weight = {1.f};
    if (!float_table(in_shape, out_shape, rank - 2, scale, roi_lo, roi_hi, tw)) return false;
    const int64_t n = in_shape[0], c = in_shape[rank - 1];
    const int64_t in_h = rank == 4 ? in_shape[1] : 1, in_w = in_shape[rank - 2];
    const int64_t out_h = rank == 4 ? out_shape[1] : 1, out_w = out_shape[rank - 2];
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    const int64_t row = out_w * c;
    const double cost = static_cast<double>(row * (th.taps * tw.taps + th.taps));
    ctx.thread_pool().parallel_for(n * out_h, cost, [&](int64_t r0, int64_t r1) {
      // Horizontal passes of the last input rows used (consecutive output rows share them).
      struct Slot {
        int64_t source = -1;  // b * in_h + input row
        std::vector<float> h;
      };
      std::vector<Slot> slots(static_cast<size_t>(th.taps + 1));
      size_t next_slot = 0;
      auto horizontal = [&](int64_t source, const Slot* keep_from, size_t kept) -> const float* {
        for (const Slot& sl : slots)
          if (sl.source == source) return sl.h.data();
        // Evict a slot that the current output row does not use.
        for (;;) {
          Slot& sl = slots[next_slot];
          next_slot = (next_slot + 1) % slots.size();
          bool in_use = false;
          for (size_t k = 0; k < kept; ++k) in_use = in_use || keep_from[k].source == sl.source;
          if (in_use) continue;
          sl.source = source;
          sl.h.assign(static_cast<size_t>(row), 0.f);
          const float* sr = src + source * in_w * c;
          for (int64_t j = 0; j < out_w; ++j)
            for (int64_t kw = 0; kw < tw.taps; ++kw)
              add_scaled(sl.h.data() + j * c, sr + tw.index[static_cast<size_t>(j * tw.taps + kw)] * c,
                         tw.weight[static_cast<size_t>(j * tw.taps + kw)], c);
          return sl.h.data();
        }
      };
      std::vector<Slot> used(static_cast<size_t>(th.taps));
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / out_h, i = r % out_h;
        float* o = dst + r * row;
        std::fill(o, o + row, 0.f);
        size_t kept = 0;
        for (int64_t kh = 0; kh < th.taps; ++kh) {
          const int64_t source = b * in_h + th.index[static_cast<size_t>(i * th.taps + kh)];
          const float* h = horizontal(source, used.data(), kept);
          used[kept++].source = source;
          add_scaled(o, h, th.weight[static_cast<size_t>(i * th.taps + kh)], row);
        }
      }
    });
    return true;
  }

  /// Every output element a copy of one input element (nearest, or any mode whose tables give each
  /// output one tap of weight 1, the others 0, and no extrapolation): gathers directly in T through per-axis index tables,
  /// parallel over output rows. False when some axis needs weighted taps (the general path).
  template <typename T>
  bool gather_resize(KernelContext& ctx, const Tensor& x, Tensor& y, const std::vector<double>& scale,
                     const std::vector<double>& roi_lo, const std::vector<double>& roi_hi) const {
    const size_t rank = x.rank();
    const std::vector<int64_t>& in_shape = x.shape();
    const std::vector<int64_t>& out_shape = y.shape();
    std::vector<std::vector<int64_t>> index(rank);
    for (size_t d = 0; d < rank; ++d) {
      const bool identity = std::abs(scale[d] - 1.0) <= 1e-9 && out_shape[d] == in_shape[d] &&
                            std::abs(roi_lo[d]) <= 1e-9 && std::abs(roi_hi[d] - 1.0) <= 1e-9;
      if (identity) {
        index[d].resize(static_cast<size_t>(in_shape[d]));
        for (int64_t i = 0; i < in_shape[d]; ++i) index[d][static_cast<size_t>(i)] = i;
        continue;
      }
      const AxisTable t = axis_table(attrs_, in_shape[d], out_shape[d], scale[d], roi_lo[d], roi_hi[d]);
      const size_t taps = static_cast<size_t>(t.taps);
      for (size_t o = 0; o < static_cast<size_t>(out_shape[d]); ++o) {
        if (t.extrapolate[o]) return false;
        int64_t pick = -1;
        for (size_t k = 0; k < taps; ++k) {
          const double w = t.weight[o * taps + k];
          if (w == 1.0 && pick < 0) pick = t.index[o * taps + k];
          else if (w != 0.0) return false;
        }
        if (pick < 0) return false;
        index[d].push_back(pick);
      }
    }
    if (rank == 0) return false;
    std::vector<int64_t> in_strides(rank, 1);
    for (size_t d = rank - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * in_shape[d + 1];
    const int64_t width = out_shape[rank - 1];
    const int64_t rows = y.element_count() / width;
    const std::vector<int64_t>& last = index[rank - 1];
    bool last_identity = width == in_shape[rank - 1];
    for (int64_t j = 0; last_identity && j < width; ++j) last_identity = last[static_cast<size_t>(j)] == j;
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    ctx.thread_pool().parallel_for(rows, static_cast<double>(width), [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        int64_t rem = row, off = 0;
        for (size_t d = rank - 1; d-- > 0;) {
          const int64_t i = rem % out_shape[d];
          rem /= out_shape[d];
          off += index[d][static_cast<size_t>(i)] * in_strides[d];
        }
        const T* s = src + off;
        T* o = dst + row * width;
        if (last_identity) std::copy(s, s + width, o);  // channels-last images: whole pixel rows
        else
          for (int64_t j = 0; j < width; ++j) o[j] = s[last[static_cast<size_t>(j)]];
      }
    });
    return true;
  }

  ResizeAttributes attrs_;
};

std::unique_ptr<Kernel> make_resize(const KernelInfo& info) { return std::make_unique<Resize>(info, false); }
std::unique_ptr<Kernel> make_upsample(const KernelInfo& info) { return std::make_unique<Resize>(info, true); }

}  // namespace

void register_resize_kernels(KernelRegistry& r) {
  r.add("Resize", {10, 11, 13, 18, 19}, make_resize, ResizeTypes::dtypes());
  r.add("Upsample", {7, 9, 10}, make_upsample, ResizeTypes::dtypes());
}

}  // namespace ferry::ep::cpu
