// DeformConv (19, 22) over any number of spatial dims: each kernel tap of each output position
// samples X by multilinear interpolation at the tap's regular position plus a learned offset
// (corners outside the input count as 0), scaled by an optional mask, then convolves with W
// (group, offset_group, strides, pads, dilations, optional bias). Offsets are laid out
// [N, offset_group, *kernel, spatial dim, *output] and the mask [N, offset_group, *kernel, *output],
// as in the spec's reference. Accumulates in double; the half types compute through it.
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/nn/float_compute.h"

namespace ferry::ep::cpu {

namespace {

struct DeformConvAttributes {
  std::vector<int64_t> dilations;     // "dilations": 1 per spatial dim (empty here)
  int64_t group;                      // "group": 1
  std::vector<int64_t> kernel_shape;  // "kernel_shape": W's spatial dims (empty here)
  int64_t offset_group;               // "offset_group": 1
  std::vector<int64_t> pads;          // "pads": 0 per begin and end (empty here)
  std::vector<int64_t> strides;       // "strides": 1 per spatial dim (empty here)
  explicit DeformConvAttributes(const ir::Node& n)
      : dilations(n.get_ints("dilations", {})),
        group(n.get_int("group", 1)),
        kernel_shape(n.get_ints("kernel_shape", {})),
        offset_group(n.get_int("offset_group", 1)),
        pads(n.get_ints("pads", {})),
        strides(n.get_ints("strides", {})) {
    if (group < 1 || offset_group < 1)
      throw Error(ErrorCode::kInvalidModel, "attributes 'group' and 'offset_group' must be positive");
    for (int64_t v : dilations)
      if (v < 1) throw Error(ErrorCode::kInvalidModel, "attribute 'dilations' must be positive, got " + shape_to_string(dilations));
    for (int64_t v : strides)
      if (v < 1) throw Error(ErrorCode::kInvalidModel, "attribute 'strides' must be positive, got " + shape_to_string(strides));
    for (int64_t v : pads)
      if (v < 0) throw Error(ErrorCode::kInvalidModel, "attribute 'pads' must be non-negative, got " + shape_to_string(pads));
  }
};

/// Attribute values resolved for one input rank.
struct Geometry {
  size_t sp = 0;
  std::vector<int64_t> in, kernel, out, strides, dilations, pads;
  int64_t taps = 1, in_size = 1, out_size = 1;
};

std::vector<int64_t> or_default(const std::vector<int64_t>& v, size_t n, int64_t dflt, const char* name) {
  if (v.empty()) return std::vector<int64_t>(n, dflt);
  if (v.size() != n)
    throw Error(ErrorCode::kInvalidArgument, std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                                                 " values, expected " + std::to_string(n) + " for this input rank");
  return v;
}

class DeformConv final : public Kernel {
 public:
  explicit DeformConv(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& w = ctx.required_input(1);
    const Tensor& off = ctx.required_input(2);
    const Tensor* bias = ctx.input_count() > 3 ? ctx.input(3) : nullptr;
    const Tensor* mask = ctx.input_count() > 4 ? ctx.input(4) : nullptr;
    if (x.rank() < 3 || w.rank() != x.rank() || off.rank() != x.rank())
      fail(ctx, ErrorCode::kInvalidArgument, "X, W and offset must have the same rank >= 3, got " + x.describe() + ", " +
                                                 w.describe() + ", " + off.describe());
    if (x.rank() > 10)
      fail(ctx, ErrorCode::kNotImplemented, "at most 8 spatial dims are supported, got X " + x.describe());
    const Geometry geo = geometry(x, w);
    const int64_t n = x.dim(0), c = x.dim(1), oc = w.dim(0), g = a_.group, og = a_.offset_group;
    const int64_t taps = geo.taps, sp = static_cast<int64_t>(geo.sp), spatial = geo.out_size;
    if (w.dim(1) * g != c || oc % g != 0 || c % og != 0)
      fail(ctx, ErrorCode::kInvalidArgument, "X " + x.describe() + " and W " + w.describe() + " do not fit group " +
                                                 std::to_string(g) + " and offset_group " + std::to_string(og));
    std::vector<int64_t> want{n, og * taps * sp};
    want.insert(want.end(), geo.out.begin(), geo.out.end());
    if (off.shape() != want)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'offset' must have shape " + shape_to_string(want) + ", got " + off.describe());
    want[1] = og * taps;
    if (mask && mask->shape() != want)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'mask' must have shape " + shape_to_string(want) + ", got " + mask->describe());
    if (bias && (bias->rank() != 1 || bias->dim(0) != oc))
      fail(ctx, ErrorCode::kInvalidArgument, "input 'B' must have shape [" + std::to_string(oc) + "], got " + bias->describe());
    for (const Tensor* t : {&w, &off, bias, mask})
      if (t && t->dtype() != x.dtype())
        fail(ctx, ErrorCode::kInvalidArgument, "inputs must share X's element type, got " + x.describe() + " and " + t->describe());
    std::vector<int64_t> out_shape{n, oc};
    out_shape.insert(out_shape.end(), geo.out.begin(), geo.out.end());

    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      auto ld = [](const T* p, int64_t i) { return static_cast<double>(to_compute(p[i])); };
      const T *px = x.data<T>(), *pw = w.data<T>(), *po = off.data<T>();
      const T* pm = mask ? mask->data<T>() : nullptr;
      const T* pb = bias ? bias->data<T>() : nullptr;
      T* py = ctx.allocate_output(0, x.dtype(), out_shape).template data<T>();
      const int64_t cpg = c / g, ocpg = oc / g, cpog = c / og;
      // One task per (batch, group): sampled columns [c/g * taps, output positions], then W x columns.
      ctx.thread_pool().parallel_for(n * g, static_cast<double>(cpg * taps * spatial * (4 + ocpg)), [&](int64_t t0, int64_t t1) {
        std::vector<double> col(static_cast<size_t>(cpg * taps * spatial)), acc(static_cast<size_t>(spatial));
        std::vector<int64_t> tap(geo.sp), pos(geo.sp);
        std::vector<double> at(geo.sp);
        for (int64_t task = t0; task < t1; ++task) {
          const int64_t b = task / g, gi = task % g;
          for (int64_t ci = 0; ci < cpg; ++ci) {
            const int64_t ch = gi * cpg + ci, ogi = ch / cpog;
            const T* plane = px + (b * c + ch) * geo.in_size;
            for (int64_t k = 0; k < taps; ++k) {
              unravel(k, geo.kernel, tap);
              const T* ok = po + ((b * og + ogi) * taps + k) * sp * spatial;
              const T* mk = pm ? pm + ((b * og + ogi) * taps + k) * spatial : nullptr;
              double* dst = col.data() + (ci * taps + k) * spatial;
              for (int64_t s = 0; s < spatial; ++s) {
                unravel(s, geo.out, pos);
                for (size_t d = 0; d < geo.sp; ++d)
                  at[d] = static_cast<double>(pos[d] * geo.strides[d] - geo.pads[d] + tap[d] * geo.dilations[d]) +
                          ld(ok, static_cast<int64_t>(d) * spatial + s);
                double v = sample(plane, geo, at, ld);
                if (mk) v *= ld(mk, s);
                dst[s] = v;
              }
            }
          }
          for (int64_t o = 0; o < ocpg; ++o) {
            const int64_t oci = gi * ocpg + o;
            std::fill(acc.begin(), acc.end(), pb ? ld(pb, oci) : 0.0);
            for (int64_t r = 0; r < cpg * taps; ++r) {
              const double wv = ld(pw, oci * cpg * taps + r);
              const double* src = col.data() + r * spatial;
              for (int64_t s = 0; s < spatial; ++s) acc[static_cast<size_t>(s)] += wv * src[s];
            }
            T* out = py + (b * oc + oci) * spatial;
            for (int64_t s = 0; s < spatial; ++s) out[s] = from_compute<T>(acc[static_cast<size_t>(s)]);
          }
        }
      });
    });
  }

 private:
  Geometry geometry(const Tensor& x, const Tensor& w) const {
    Geometry g;
    g.sp = x.rank() - 2;
    g.in.assign(x.shape().begin() + 2, x.shape().end());
    g.kernel = a_.kernel_shape.empty() ? std::vector<int64_t>(w.shape().begin() + 2, w.shape().end()) : a_.kernel_shape;
    if (g.kernel != std::vector<int64_t>(w.shape().begin() + 2, w.shape().end()))
      throw Error(ErrorCode::kInvalidArgument, "attribute 'kernel_shape' " + shape_to_string(g.kernel) + " differs from W " + w.describe());
    g.strides = or_default(a_.strides, g.sp, 1, "strides");
    g.dilations = or_default(a_.dilations, g.sp, 1, "dilations");
    g.pads = or_default(a_.pads, 2 * g.sp, 0, "pads");
    for (size_t d = 0; d < g.sp; ++d) {
      const int64_t span = g.in[d] + g.pads[d] + g.pads[d + g.sp] - (g.kernel[d] - 1) * g.dilations[d] - 1;
      if (span < 0)
        throw Error(ErrorCode::kInvalidArgument, "input 'X' " + x.describe() + " is smaller than the dilated kernel " +
                                                     shape_to_string(g.kernel) + " plus pads at spatial dim " + std::to_string(d));
      g.out.push_back(span / g.strides[d] + 1);
      g.taps *= g.kernel[d];
      g.in_size *= g.in[d];
      g.out_size *= g.out.back();
    }
    return g;
  }

  static void unravel(int64_t i, const std::vector<int64_t>& dims, std::vector<int64_t>& idx) {
    for (size_t d = dims.size(); d-- > 0;) {
      idx[d] = i % dims[d];
      i /= dims[d];
    }
  }

  /// Multilinear sample of `plane` at position `at`; corners outside the input count as 0.
  template <typename T, typename Load>
  static double sample(const T* plane, const Geometry& g, const std::vector<double>& at, Load&& ld) {
    int64_t base[8];
    double frac[8];
    for (size_t d = 0; d < g.sp; ++d) {
      if (!(at[d] > -1.0 && at[d] < static_cast<double>(g.in[d]))) return 0;  // NaN too
      const double f = std::floor(at[d]);
      base[d] = static_cast<int64_t>(f);
      frac[d] = at[d] - f;
    }
    double v = 0;
    for (int64_t corner = 0; corner < (int64_t(1) << g.sp); ++corner) {
      double wt = 1;
      int64_t idx = 0;
      bool inside = true;
      for (size_t d = 0; d < g.sp && inside; ++d) {
        const bool hi = (corner >> d) & 1;
        const int64_t p = base[d] + (hi ? 1 : 0);
        inside = p >= 0 && p < g.in[d];
        wt *= hi ? frac[d] : 1 - frac[d];
        idx = idx * g.in[d] + p;
      }
      if (inside && wt != 0) v += wt * ld(plane, idx);
    }
    return v;
  }

  DeformConvAttributes a_;
};

}  // namespace

void register_deform_conv_kernels(KernelRegistry& r) {
  r.add("DeformConv", {19, 22}, make_kernel<DeformConv>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
