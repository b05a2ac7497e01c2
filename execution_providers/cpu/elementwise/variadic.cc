// Variadic Max, Min, Sum, Mean (1..N inputs, multidirectional broadcasting), Where (three-way
// broadcast) and Clip (bounds as attributes before opset 11, optional scalar inputs from 11).
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>

#include "execution_providers/cpu/elementwise/elementwise.h"

namespace ferry::ep::cpu {
namespace {

using namespace ew;

struct MaxOp {
  template <typename C> static C apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(b)) return b;  // NaN propagates, as numpy.maximum
    return a < b ? b : a;
  }
};
struct MinOp {
  template <typename C> static C apply(C a, C b) {
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(b)) return b;
    return b < a ? b : a;
  }
};
struct SumOp {
  template <typename C> static C apply(C a, C b) {
    if constexpr (std::is_integral_v<C>)  // wraps instead of overflowing
      return static_cast<C>(static_cast<std::make_unsigned_t<C>>(a) + static_cast<std::make_unsigned_t<C>>(b));
    else return a + b;
  }
};

std::vector<std::span<const int64_t>> input_shapes(const KernelContext& ctx) {
  std::vector<std::span<const int64_t>> shapes;
  for (size_t i = 0; i < ctx.input_count(); ++i) shapes.emplace_back(ctx.required_input(i).shape());
  return shapes;
}

/// out = fold(op, inputs) with broadcasting; Mean divides the sum by the input count. Each row
/// is folded in a buffer before it is written, so the output may alias any full-shape input.
template <typename Op, typename TypeList, bool kMean = false>
class Variadic final : public Kernel {
 public:
  explicit Variadic(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const size_t n = ctx.input_count();
    if (n == 0) fail(ctx, ErrorCode::kInvalidArgument, "needs at least one input");
    const DataType dt = ctx.required_input(0).dtype();
    std::vector<const Tensor*> in;
    for (size_t i = 0; i < n; ++i) {
      in.push_back(&ctx.required_input(i));
      if (in.back()->dtype() != dt)
        fail(ctx, ErrorCode::kInvalidArgument, "inputs must have the same element type, got " +
                                                   in[0]->describe() + " and " + in.back()->describe());
    }
    const NaryPlan plan(input_shapes(ctx), ctx.node());
    visit_dtype(TypeList{}, dt, "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = Compute<T>;
      std::vector<const T*> src;
      for (const Tensor* t : in) src.push_back(t->data<T>());
      T* out = ctx.allocate_output(0, dt, plan.out_shape).template data<T>();
      const int64_t w = plan.inner;
      ctx.thread_pool().parallel_for(plan.rows, static_cast<double>(w * static_cast<int64_t>(n)),
                                     [&](int64_t begin, int64_t end) {
        std::vector<C> acc(static_cast<size_t>(w));
        plan.for_rows(begin, end, [&](int64_t row, const int64_t* off) {
          for (int64_t i = 0; i < w; ++i) acc[i] = load(src[0][off[0] + i * plan.step[0]]);
          for (size_t k = 1; k < n; ++k) {
            const T* p = src[k] + off[k];
            const int64_t s = plan.step[k];
            for (int64_t i = 0; i < w; ++i) acc[i] = Op::apply(acc[i], static_cast<C>(load(p[i * s])));
          }
          T* po = out + row * w;
          for (int64_t i = 0; i < w; ++i) {
            if constexpr (kMean) po[i] = store<T>(acc[i] / static_cast<C>(n));
            else po[i] = store<T>(acc[i]);
          }
        });
      });
    });
  }
};

/// output = condition ? X : Y, all three broadcast together.
class Where final : public Kernel {
 public:
  explicit Where(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& c = ctx.required_input(0);
    const Tensor& x = ctx.required_input(1);
    const Tensor& y = ctx.required_input(2);
    if (c.dtype() != DataType::kBool)
      fail(ctx, ErrorCode::kInvalidArgument, "condition must be bool, got " + c.describe());
    if (x.dtype() != y.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "X and Y must have the same element type, got " + x.describe() + " and " + y.describe());
    const NaryPlan plan({c.shape(), x.shape(), y.shape()}, ctx.node());
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const bool* pc = c.data<bool>();
      const T* px = x.data<T>();
      const T* py = y.data<T>();
      T* out = ctx.allocate_output(0, x.dtype(), plan.out_shape).template data<T>();
      const int64_t w = plan.inner, sc = plan.step[0], sx = plan.step[1], sy = plan.step[2];
      ctx.thread_pool().parallel_for(plan.rows, static_cast<double>(w), [&](int64_t begin, int64_t end) {
        plan.for_rows(begin, end, [&](int64_t row, const int64_t* off) {
          T* po = out + row * w;
          for (int64_t i = 0; i < w; ++i)
            po[i] = pc[off[0] + i * sc] ? px[off[1] + i * sx] : py[off[2] + i * sy];
        });
      });
    });
  }
};

using ClipTypes = FloatAllInts;

struct ClipAttributes {
  // Before opset 11 the bounds are attributes: "min": -FLT_MAX, "max": FLT_MAX.
  bool bounds_are_inputs;
  float min_attr, max_attr;
  ClipAttributes(const ir::Node& n, int64_t opset)
      : bounds_are_inputs(opset >= 11),
        min_attr(n.get_float("min", std::numeric_limits<float>::lowest())),
        max_attr(n.get_float("max", std::numeric_limits<float>::max())) {}
};

class Clip final : public Kernel {
 public:
  explicit Clip(const KernelInfo& info) : attrs_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    visit_dtype(ClipTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = Compute<T>;
      C lo, hi;
      if (attrs_.bounds_are_inputs) {
        lo = bound<T>(ctx, 1, "min", std::numeric_limits<C>::lowest());
        hi = bound<T>(ctx, 2, "max", std::numeric_limits<C>::max());
      } else {
        lo = static_cast<C>(attrs_.min_attr);
        hi = static_cast<C>(attrs_.max_attr);
      }
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      ctx.thread_pool().parallel_for(x.element_count(), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          C v = load(px[i]);  // NaN passes through; min > max gives max
          if (v < lo) v = lo;
          if (v > hi) v = hi;
          py[i] = store<T>(v);
        }
      });
    });
  }

 private:
  template <typename T>
  static Compute<T> bound(const KernelContext& ctx, size_t i, const char* name, Compute<T> dflt) {
    const Tensor* t = i < ctx.input_count() ? ctx.input(i) : nullptr;
    if (t == nullptr) return dflt;
    if (t->dtype() != kDTypeOf<T> || t->element_count() != 1)
      fail(ctx, ErrorCode::kInvalidArgument, std::string("'") + name +
                                                 "' must be a scalar of the input's type, got " + t->describe());
    return load(t->data<T>()[0]);
  }

  ClipAttributes attrs_;
};

}  // namespace

void register_variadic_kernels(KernelRegistry& r) {
  r.add("Max", {6, 8, 12, 13}, make_kernel<Variadic<MaxOp, FloatAllInts>>, FloatAllInts::dtypes()).in_place_inputs = {0};
  r.add("Min", {6, 8, 12, 13}, make_kernel<Variadic<MinOp, FloatAllInts>>, FloatAllInts::dtypes()).in_place_inputs = {0};
  r.add("Sum", {6, 8, 13}, make_kernel<Variadic<SumOp, FloatAll>>, FloatAll::dtypes()).in_place_inputs = {0};
  r.add("Mean", {6, 8, 13}, make_kernel<Variadic<SumOp, FloatAll, true>>, FloatAll::dtypes()).in_place_inputs = {0};
  r.add("Where", {9, 16}, make_kernel<Where>,
        decltype(concat_types(FloatAllInts{}, Types<bool, std::string>{}))::dtypes())
      .in_place_inputs = {1, 2};
  r.add("Clip", {6, 11, 12, 13}, make_kernel<Clip>, ClipTypes::dtypes()).in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
