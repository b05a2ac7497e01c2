// Activations with attributes (LeakyRelu, Elu, Selu, Celu, HardSigmoid, ThresholdedRelu, Gelu,
// Shrink) and without (HardSwish, Softplus, Softsign, Mish), plus PRelu, whose slope broadcasts
// to X (unidirectionally). Attributes are parsed once, with the spec defaults beside the names.
#include <cmath>
#include <type_traits>

#include "execution_providers/cpu/elementwise/elementwise.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

using namespace ew;

struct LeakyReluOp {
  float alpha;  // "alpha": 0.01
  LeakyReluOp(const ir::Node& n, int64_t) : alpha(n.get_float("alpha", 0.01f)) {}
  template <typename C> C operator()(C x) const { return x >= 0 ? x : C(alpha) * x; }
};

struct EluOp {
  float alpha;  // "alpha": 1.0
  EluOp(const ir::Node& n, int64_t) : alpha(n.get_float("alpha", 1.0f)) {}
  template <typename C> C operator()(C x) const { return x >= 0 ? x : C(alpha) * std::expm1(x); }
};

struct SeluOp {
  float alpha;  // "alpha": 1.67326319217681884765625
  float gamma;  // "gamma": 1.05070102214813232421875
  SeluOp(const ir::Node& n, int64_t)
      : alpha(n.get_float("alpha", 1.67326319217681884765625f)),
        gamma(n.get_float("gamma", 1.05070102214813232421875f)) {}
  template <typename C> C operator()(C x) const {
    return C(gamma) * (x > 0 ? x : C(alpha) * std::expm1(x));
  }
};

struct CeluOp {
  float alpha;  // "alpha": 1.0
  CeluOp(const ir::Node& n, int64_t) : alpha(n.get_float("alpha", 1.0f)) {}
  template <typename C> C operator()(C x) const {
    return std::max(C(0), x) + std::min(C(0), C(alpha) * std::expm1(x / C(alpha)));
  }
};

struct HardSigmoidOp {
  float alpha;  // "alpha": 0.2
  float beta;   // "beta": 0.5
  HardSigmoidOp(const ir::Node& n, int64_t)
      : alpha(n.get_float("alpha", 0.2f)), beta(n.get_float("beta", 0.5f)) {}
  template <typename C> C operator()(C x) const {
    return std::max(C(0), std::min(C(1), C(alpha) * x + C(beta)));
  }
};

struct HardSwishOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const {
    return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5)));
  }
};

template <typename C> C softplus(C x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct SoftplusOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const { return softplus(x); }
  static void simd(const float* x, float* y, int64_t n) { simd::softplus(x, y, n); }
};

struct SoftsignOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const { return x / (C(1) + std::abs(x)); }
};

struct MishOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const { return x * std::tanh(softplus(x)); }
};

struct ThresholdedReluOp {
  float alpha;  // "alpha": 1.0
  ThresholdedReluOp(const ir::Node& n, int64_t) : alpha(n.get_float("alpha", 1.0f)) {}
  template <typename C> C operator()(C x) const { return x > C(alpha) ? x : C(0); }
};

struct GeluOp {
  bool tanh_approximation;  // "approximate": "none" (or "tanh")
  GeluOp(const ir::Node& n, int64_t) {
    const std::string a = n.get_string("approximate", "none");
    if (a != "none" && a != "tanh")
      throw Error(ErrorCode::kInvalidModel, "attribute 'approximate' is '" + a +
                                                "', expected 'none' or 'tanh'");
    tanh_approximation = a == "tanh";
  }
  template <typename C> C operator()(C x) const {
    if (tanh_approximation) {
      const C k = C(0.7978845608028654);  // sqrt(2 / pi)
      return C(0.5) * x * (C(1) + std::tanh(k * (x + C(0.044715) * x * x * x)));
    }
    return C(0.5) * x * (C(1) + std::erf(x * C(0.7071067811865476)));
  }
  void simd(const float* x, float* y, int64_t n) const {
    if (tanh_approximation) simd::gelu_tanh(x, y, n);
    else simd::gelu_erf(x, y, n);
  }
};

struct ShrinkOp {
  float bias;   // "bias": 0.0
  float lambd;  // "lambd": 0.5
  ShrinkOp(const ir::Node& n, int64_t)
      : bias(n.get_float("bias", 0.0f)), lambd(n.get_float("lambd", 0.5f)) {}
  template <typename C> C operator()(C x) const {
    using W = std::conditional_t<std::is_integral_v<C>, double, C>;  // integers: compare as reals
    const W v = static_cast<W>(x);
    if (v < -W(lambd)) return static_cast<C>(v + W(bias));
    if (v > W(lambd)) return static_cast<C>(v - W(bias));
    return C(0);
  }
};

using PReluTypes = Types<float, double, Float16, BFloat16, int32_t, int64_t, uint32_t, uint64_t>;

/// Y = X < 0 ? slope * X : X, slope broadcast to X's shape.
class PRelu final : public Kernel {
 public:
  explicit PRelu(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& slope = ctx.required_input(1);
    if (x.dtype() != slope.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "X and slope must have the same element type, got " + x.describe() + " and " + slope.describe());
    const NaryPlan plan({x.shape(), slope.shape()}, ctx.node());
    if (plan.out_shape != x.shape())
      fail(ctx, ErrorCode::kInvalidArgument, "slope " + shape_to_string(slope.shape()) +
                                                 " does not broadcast to X " + shape_to_string(x.shape()));
    visit_dtype(PReluTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      const T* ps = slope.data<T>();
      T* out = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      broadcast_binary(ctx, plan, px, ps, out, [](T a, T s) {
        if constexpr (std::is_unsigned_v<T>) {
          return a;
        } else {
          const Compute<T> v = load(a);
          return v < 0 ? store<T>(static_cast<Compute<T>>(load(s) * v)) : a;
        }
      });
    });
  }
};

template <typename Op, typename TypeList, int cost = 1>
void add_unary(KernelRegistry& r, const char* op, std::vector<int> versions) {
  r.add(op, std::move(versions), make_kernel<UnaryKernel<Op, TypeList, cost>>, TypeList::dtypes())
      .in_place_inputs = {0};
}

}  // namespace

void register_activation_ext_kernels(KernelRegistry& r) {
  add_unary<LeakyReluOp, FloatAll>(r, "LeakyRelu", {6, 16});
  add_unary<EluOp, FloatAll, 8>(r, "Elu", {6, 22});
  add_unary<SeluOp, FloatAll, 8>(r, "Selu", {6, 22});
  add_unary<CeluOp, FloatAll, 8>(r, "Celu", {12, 28});
  add_unary<HardSigmoidOp, FloatAll>(r, "HardSigmoid", {6, 22});
  add_unary<HardSwishOp, FloatAll>(r, "HardSwish", {14, 22});
  add_unary<SoftplusOp, FloatAll, 16>(r, "Softplus", {1, 22});
  add_unary<SoftsignOp, FloatAll>(r, "Softsign", {1, 22});
  add_unary<MishOp, FloatAll, 24>(r, "Mish", {18, 22});
  add_unary<ThresholdedReluOp, FloatAll>(r, "ThresholdedRelu", {10, 22});
  add_unary<GeluOp, FloatAll, 16>(r, "Gelu", {20});
  add_unary<ShrinkOp, FloatAllInts>(r, "Shrink", {9});
  r.add("PRelu", {7, 9, 16}, make_kernel<PRelu>, PReluTypes::dtypes()).in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
