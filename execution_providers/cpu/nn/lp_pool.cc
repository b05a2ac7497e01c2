// LpPool, GlobalLpPool, GlobalMaxPool and MaxUnpool over any number of spatial dims. Each
// (image, channel) plane is one task; windows walk only their in-bounds taps (padding adds
// nothing to an Lp norm).
#include <cmath>
#include <limits>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"
#include "execution_providers/cpu/nn/window.h"

namespace ferry::ep::cpu {
namespace {

/// Calls fn(out_index, taps) for each output position of a plane, where taps lists the input
/// offsets inside the window.
template <typename Fn>
void for_each_window_taps(const SpatialGeometry& g, Fn&& fn) {
  const size_t nd = g.in.size();
  std::vector<std::vector<WindowRange>> ranges(nd);
  for (size_t d = 0; d < nd; ++d) ranges[d] = window_ranges(g, d);
  std::vector<int64_t> o(nd, 0), taps;
  const int64_t out_size = g.out_size();
  for (int64_t out = 0; out < out_size; ++out) {
    taps.assign(1, 0);
    for (size_t d = 0; d < nd; ++d) {
      const WindowRange& r = ranges[d][static_cast<size_t>(o[d])];
      std::vector<int64_t> next;
      for (int64_t base : taps)
        for (int64_t k = r.lo; k < r.hi; ++k) next.push_back(base * g.in[d] + r.start + k * g.dilation[d]);
      taps.swap(next);
    }
    fn(out, taps);
    for (size_t d = nd; d-- > 0;) {
      if (++o[d] < g.out[d]) break;
      o[d] = 0;
    }
  }
}

class LpPool final : public Kernel {
 public:
  explicit LpPool(const KernelInfo& info) : attrs_(info.node()), p_(info.node().get_int("p", 2)) {  // "p": 2
    if (attrs_.kernel_shape.empty()) fail_model(info, "missing required attribute 'kernel_shape'");
    if (info.opset() < 18) {
      attrs_.dilations.clear();
      attrs_.ceil_mode = false;
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 3) fail(ctx, ErrorCode::kInvalidArgument, "X must have rank >= 3, got " + x.describe());
    const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    const SpatialGeometry g = resolve_geometry(attrs_, in, attrs_.kernel_shape, attrs_.ceil_mode, ctx.node());
    std::vector<int64_t> y_shape = {x.dim(0), x.dim(1)};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    const int64_t planes = x.dim(0) * x.dim(1), in_size = g.in_size(), out_size = g.out_size();
    const double p = static_cast<double>(p_);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
      ctx.thread_pool().parallel_for(planes, static_cast<double>(out_size * g.kernel_size()), [&](int64_t p0, int64_t p1) {
        for (int64_t pl = p0; pl < p1; ++pl) {
          const T* xp = px + pl * in_size;
          for_each_window_taps(g, [&](int64_t o, const std::vector<int64_t>& taps) {
            double sum = 0;
            for (int64_t t : taps) sum += std::pow(std::abs(static_cast<double>(to_compute(xp[t]))), p);
            py[pl * out_size + o] = from_compute<T>(std::pow(sum, 1.0 / p));
          });
        }
      });
    });
  }

 private:
  ConvPoolAttributes attrs_;
  int64_t p_;
};

/// GlobalMaxPool (kMax) and GlobalLpPool.
template <bool kMax>
class GlobalPool final : public Kernel {
 public:
  explicit GlobalPool(const KernelInfo& info) : p_(info.node().get_int("p", 2)) {}  // "p": 2

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 3) fail(ctx, ErrorCode::kInvalidArgument, "X must have rank >= 3, got " + x.describe());
    std::vector<int64_t> y_shape(x.rank(), 1);
    y_shape[0] = x.dim(0);
    y_shape[1] = x.dim(1);
    const int64_t planes = x.dim(0) * x.dim(1), size = product(x.shape(), 2, x.rank());
    const double p = static_cast<double>(p_);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
      ctx.thread_pool().parallel_for(planes, static_cast<double>(size), [&](int64_t p0, int64_t p1) {
        for (int64_t pl = p0; pl < p1; ++pl) {
          const T* xp = px + pl * size;
          double acc = kMax ? -std::numeric_limits<double>::infinity() : 0.0;
          for (int64_t i = 0; i < size; ++i) {
            const double v = static_cast<double>(to_compute(xp[i]));
            if constexpr (kMax) acc = std::isnan(v) || std::isnan(acc) ? std::numeric_limits<double>::quiet_NaN() : std::max(acc, v);
            else acc += std::pow(std::abs(v), p);
          }
          py[pl] = from_compute<T>(kMax ? acc : std::pow(acc, 1.0 / p));
        }
      });
    });
  }

 private:
  int64_t p_;
};

class MaxUnpool final : public Kernel {
 public:
  explicit MaxUnpool(const KernelInfo& info) : attrs_(info.node()) {
    if (attrs_.kernel_shape.empty()) fail_model(info, "missing required attribute 'kernel_shape'");
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& idx = ctx.required_input(1);
    if (x.rank() < 3 || idx.shape() != x.shape() || idx.dtype() != DataType::kInt64)
      fail(ctx, ErrorCode::kInvalidArgument, "X " + x.describe() + " must have rank >= 3 and int64 indices I of the same shape, got I " +
                                                 idx.describe());
    const size_t nd = x.rank() - 2;
    if (attrs_.kernel_shape.size() != nd || (!attrs_.strides.empty() && attrs_.strides.size() != nd) ||
        (!attrs_.pads.empty() && attrs_.pads.size() != 2 * nd))
      fail(ctx, ErrorCode::kInvalidArgument, "kernel_shape, strides and pads must have " + std::to_string(nd) +
                                                 " (pads: " + std::to_string(2 * nd) + ") values for X " + x.describe());
    // Indices address the shape the pooling input had (inferred from the attributes); an
    // explicit output_shape then places that block at the origin of a larger zero tensor.
    std::vector<int64_t> inferred = {x.dim(0), x.dim(1)};
    for (size_t d = 0; d < nd; ++d) {
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[d];
      const int64_t pb = attrs_.pads.empty() ? 0 : attrs_.pads[d], pe = attrs_.pads.empty() ? 0 : attrs_.pads[d + nd];
      inferred.push_back((x.dim(2 + d) - 1) * s + attrs_.kernel_shape[d] - pb - pe);
    }
    std::vector<int64_t> y_shape = inferred;
    const Tensor* os = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    if (os != nullptr && os->defined()) y_shape = read_int_list(*os, ctx, "input 'output_shape'");
    if (y_shape.size() != x.rank())
      fail(ctx, ErrorCode::kInvalidArgument, "'output_shape' " + shape_to_string(y_shape) + " does not fit X " + x.describe());
    for (size_t d = 0; d < x.rank(); ++d)
      if (inferred[d] < 0 || y_shape[d] < inferred[d])
        fail(ctx, ErrorCode::kInvalidArgument, "output shape " + shape_to_string(y_shape) + " is smaller than the unpooled shape " +
                                                   shape_to_string(inferred));
    const int64_t inferred_count = product(inferred);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
      T* py = y.data<T>();
      std::fill(py, py + y.element_count(), from_compute<T>(0.0));
      const T* px = x.data<T>();
      const int64_t* pi = idx.data<int64_t>();
      std::vector<int64_t> sub(x.rank());
      for (int64_t k = 0; k < x.element_count(); ++k) {
        if (pi[k] < 0 || pi[k] >= inferred_count)
          fail(ctx, ErrorCode::kInvalidArgument, "index " + std::to_string(pi[k]) + " is outside the unpooled shape " +
                                                     shape_to_string(inferred));
        int64_t rem = pi[k], off = 0;
        for (size_t d = x.rank(); d-- > 0;) {
          sub[d] = rem % inferred[d];
          rem /= inferred[d];
        }
        for (size_t d = 0; d < x.rank(); ++d) off = off * y_shape[d] + sub[d];
        py[off] = px[k];
      }
    });
  }

 private:
  ConvPoolAttributes attrs_;
};

}  // namespace

void register_pool_ext_kernels(KernelRegistry& r) {
  const auto types = FloatHalfTypes::dtypes();
  r.add("LpPool", {2, 11, 18, 22}, make_kernel<LpPool>, types);
  r.add("GlobalLpPool", {2, 22}, make_kernel<GlobalPool<false>>, types);
  r.add("GlobalMaxPool", {1, 22}, make_kernel<GlobalPool<true>>, types);
  r.add("MaxUnpool", {9, 11, 22}, make_kernel<MaxUnpool>, types);
}

}  // namespace ferry::ep::cpu
