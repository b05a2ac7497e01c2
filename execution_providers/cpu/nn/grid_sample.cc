// GridSample (16: 4-D "bilinear"/"nearest"/"bicubic"; 20+: N-D "linear"/"nearest"/"cubic") with
// zeros / border / reflection padding and align_corners, and AffineGrid (20) which builds the
// sampling grid from affine matrices. Follows the ONNX reference: coordinates outside the
// borders are first clamped (border) or reflected (reflection), then every tap is fetched with
// the padding rule per dim; nearest rounds half to even.
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

enum class SampleMode { kNearest, kLinear, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

struct GridSampleAttributes {
  SampleMode mode;     // "mode": "bilinear" (16) / "linear" (20)
  Padding padding;     // "padding_mode": "zeros"
  bool align_corners;  // "align_corners": 0
  explicit GridSampleAttributes(const ir::Node& n, int64_t opset) : align_corners(n.get_int("align_corners", 0) != 0) {
    const std::string m = n.get_string("mode", opset >= 20 ? "linear" : "bilinear");
    if (m == "nearest") mode = SampleMode::kNearest;
    else if (m == "linear" || m == "bilinear") mode = SampleMode::kLinear;
    else if (m == "cubic" || m == "bicubic") mode = SampleMode::kCubic;
    else throw Error(ErrorCode::kInvalidModel, "attribute 'mode' is '" + m + "' (valid: nearest, linear, cubic)");
    const std::string p = n.get_string("padding_mode", "zeros");
    if (p == "zeros") padding = Padding::kZeros;
    else if (p == "border") padding = Padding::kBorder;
    else if (p == "reflection") padding = Padding::kReflection;
    else throw Error(ErrorCode::kInvalidModel, "attribute 'padding_mode' is '" + p + "' (valid: zeros, border, reflection)");
  }
};

double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const double n = std::floor(dx / range), r = dx - n * range;
    return std::fmod(n, 2.0) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const double n = std::floor(dx / range), r = dx - n * range;
    return std::fmod(n, 2.0) == 0 ? hi - r : lo + r;
  }
  return x;
}

void cubic_coeffs(double x, double* c) {
  const double a = -0.75;
  x = std::abs(x);
  c[0] = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a;
  c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  c[2] = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1;
  c[3] = ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a;
}

class GridSample final : public Kernel {
 public:
  explicit GridSample(const KernelInfo& info) : attrs_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& grid = ctx.required_input(1);
    const size_t nd = x.rank() >= 2 ? x.rank() - 2 : 0;
    if (x.rank() < 3 || grid.rank() != x.rank() || grid.dim(0) != x.dim(0) ||
        grid.dim(grid.rank() - 1) != static_cast<int64_t>(nd))
      fail(ctx, ErrorCode::kInvalidArgument, "X " + x.describe() + " and grid " + grid.describe() +
                                                 " do not match (grid must be [N, out spatial..., " +
                                                 std::to_string(nd) + "])");
    const int64_t n = x.dim(0), c = x.dim(1);
    std::vector<int64_t> y_shape = {n, c};
    for (size_t d = 1; d + 1 < grid.rank(); ++d) y_shape.push_back(grid.dim(d));
    const int64_t out_size = product(y_shape, 2, y_shape.size());
    const std::vector<int64_t> dims(x.shape().begin() + 2, x.shape().end());
    const int64_t in_size = product(dims);
    std::vector<double> g(static_cast<size_t>(grid.element_count()));
    visit_dtype(FloatHalfTypes{}, grid.dtype(), "input", [&](auto tag) {
      using G = typename decltype(tag)::type;
      for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<double>(to_compute(grid.data<G>()[i]));
    });
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
      if (out_size == 0 || c == 0) return;
      const int taps = attrs_.mode == SampleMode::kNearest ? 1 : attrs_.mode == SampleMode::kLinear ? 2 : 4;
      int64_t corners = 1;
      for (size_t d = 0; d < nd; ++d) corners *= taps;
      ctx.thread_pool().parallel_for(n * out_size, static_cast<double>(c * corners) * 2, [&](int64_t b, int64_t e) {
        std::vector<int64_t> base(nd * 4);   // per dim: tap indices mapped into the input (-1: zero)
        std::vector<double> w(nd * 4);       // per dim: tap weights
        std::vector<double> acc(static_cast<size_t>(c));
        for (int64_t p = b; p < e; ++p) {
          const int64_t img = p / out_size, o = p % out_size;
          const double* gp = g.data() + p * static_cast<int64_t>(nd);
          for (size_t d = 0; d < nd; ++d) {
            const double len = static_cast<double>(dims[d]);
            const double gn = gp[nd - 1 - d];  // grid holds coordinates innermost dim first
            double v = attrs_.align_corners ? (gn + 1) / 2 * (len - 1) : ((gn + 1) * len - 1) / 2;
            if (!std::isfinite(v)) v = -1e9;
            v = std::clamp(v, -1e9, 1e9);
            if (attrs_.mode == SampleMode::kNearest) v = std::nearbyint(v);
            const double lo = attrs_.align_corners ? 0 : -0.5, hi = attrs_.align_corners ? len - 1 : len - 0.5;
            if (v < lo || v > hi) {
              if (attrs_.padding == Padding::kBorder) v = std::clamp(v, 0.0, len - 1);
              else if (attrs_.padding == Padding::kReflection) v = reflect(v, lo, hi);
            }
            auto tap = [&](int64_t i) -> int64_t {
              switch (attrs_.padding) {
                case Padding::kZeros: return i >= 0 && i < dims[d] ? i : -1;
                case Padding::kBorder: return std::clamp<int64_t>(i, 0, dims[d] - 1);
                default: return std::clamp<int64_t>(static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi)), 0, dims[d] - 1);
              }
            };
            if (attrs_.mode == SampleMode::kNearest) {
              base[d * 4] = tap(static_cast<int64_t>(v));
              w[d * 4] = 1;
            } else {
              const double f = std::floor(v);
              const int64_t i0 = static_cast<int64_t>(f);
              if (attrs_.mode == SampleMode::kLinear) {
                base[d * 4] = tap(i0);
                base[d * 4 + 1] = tap(i0 + 1);
                w[d * 4] = 1 - (v - f);
                w[d * 4 + 1] = v - f;
              } else {
                cubic_coeffs(v - f, &w[d * 4]);
                for (int k = 0; k < 4; ++k) base[d * 4 + static_cast<size_t>(k)] = tap(i0 - 1 + k);
              }
            }
          }
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t k = 0; k < corners; ++k) {
            int64_t rem = k, off = 0;
            double weight = 1;
            bool zero = false;
            for (size_t d = nd; d-- > 0;) {
              const int64_t t = rem % taps;
              rem /= taps;
              const int64_t i = base[d * 4 + static_cast<size_t>(t)];
              weight *= w[d * 4 + static_cast<size_t>(t)];
              if (i < 0) zero = true;
            }
            if (zero || weight == 0) continue;
            rem = k;
            int64_t stride = 1;
            for (size_t d = nd; d-- > 0;) {
              const int64_t t = rem % taps;
              rem /= taps;
              off += base[d * 4 + static_cast<size_t>(t)] * stride;
              stride *= dims[d];
            }
            const T* src = px + img * c * in_size + off;
            for (int64_t ch = 0; ch < c; ++ch) acc[static_cast<size_t>(ch)] += weight * static_cast<double>(to_compute(src[ch * in_size]));
          }
          for (int64_t ch = 0; ch < c; ++ch) py[(img * c + ch) * out_size + o] = from_compute<T>(acc[static_cast<size_t>(ch)]);
        }
      });
    });
  }

 private:
  GridSampleAttributes attrs_;
};

class AffineGrid final : public Kernel {
 public:
  explicit AffineGrid(const KernelInfo& info) : align_corners_(info.node().get_int("align_corners", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& theta = ctx.required_input(0);
    const std::vector<int64_t> size = read_int_list(ctx.required_input(1), ctx, "input 'size'");
    if (size.size() != 4 && size.size() != 5)
      fail(ctx, ErrorCode::kInvalidArgument, "'size' must have 4 (2-D) or 5 (3-D) values, got " + std::to_string(size.size()));
    const size_t nd = size.size() - 2;
    const int64_t n = size[0];
    if (theta.rank() != 3 || theta.dim(0) != n || theta.dim(1) != static_cast<int64_t>(nd) ||
        theta.dim(2) != static_cast<int64_t>(nd) + 1)
      fail(ctx, ErrorCode::kInvalidArgument, "theta " + theta.describe() + " must be [N, " + std::to_string(nd) + ", " +
                                                 std::to_string(nd + 1) + "] for size " + shape_to_string(size));
    for (int64_t s : size)
      if (s < 0) fail(ctx, ErrorCode::kInvalidArgument, "'size' values must be non-negative, got " + shape_to_string(size));
    std::vector<int64_t> y_shape = {n};
    for (size_t d = 0; d < nd; ++d) y_shape.push_back(size[2 + d]);
    y_shape.push_back(static_cast<int64_t>(nd));
    const std::vector<int64_t> spatial(size.begin() + 2, size.end());
    const int64_t points = product(spatial);
    visit_dtype(FloatHalfTypes{}, theta.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pt = theta.data<T>();
      T* py = ctx.allocate_output(0, theta.dtype(), y_shape).template data<T>();
      // Normalised base coordinate of index i along a dim of length len.
      auto coord = [&](int64_t i, int64_t len) {
        if (align_corners_) return len <= 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(len - 1);
        return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(len) - 1.0;
      };
      std::vector<double> base(nd + 1);
      for (int64_t b = 0; b < n; ++b) {
        const T* th = pt + b * static_cast<int64_t>(nd * (nd + 1));
        for (int64_t p = 0; p < points; ++p) {
          int64_t rem = p;
          // base = (x, y[, z], 1): innermost spatial dim first.
          for (size_t d = nd; d-- > 0;) {
            base[nd - 1 - d] = coord(rem % spatial[d], spatial[d]);
            rem /= spatial[d];
          }
          base[nd] = 1;
          for (size_t r = 0; r < nd; ++r) {
            double v = 0;
            for (size_t k = 0; k <= nd; ++k) v += static_cast<double>(to_compute(th[r * (nd + 1) + k])) * base[k];
            py[(b * points + p) * static_cast<int64_t>(nd) + static_cast<int64_t>(r)] = from_compute<T>(v);
          }
        }
      }
    });
  }

 private:
  bool align_corners_;  // "align_corners": 0
};

}  // namespace

void register_grid_sample_kernels(KernelRegistry& r) {
  r.add("GridSample", {16, 20, 22}, make_kernel<GridSample>, FloatHalfTypes::dtypes());
  r.add("AffineGrid", {20}, make_kernel<AffineGrid>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
