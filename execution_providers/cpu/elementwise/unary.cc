// Unary math (Abs ... Atanh), the predicates IsNaN and IsInf, and the logical/bitwise Not.
// Half types are computed through float; Round rounds half to even.
#include <cmath>
#include <limits>
#include <type_traits>

#include "execution_providers/cpu/elementwise/elementwise.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

using namespace ew;

#define FERRY_UNARY_OP(Name, expr)                         \
  struct Name : NoAttributes {                             \
    using NoAttributes::NoAttributes;                      \
    template <typename C> C operator()(C x) const { return static_cast<C>(expr); } \
  };

FERRY_UNARY_OP(SqrtOp, std::sqrt(x))
FERRY_UNARY_OP(LogOp, std::log(x))
FERRY_UNARY_OP(CeilOp, std::ceil(x))
FERRY_UNARY_OP(FloorOp, std::floor(x))
FERRY_UNARY_OP(RoundOp, std::nearbyint(x))  // default rounding mode: to nearest, ties to even
FERRY_UNARY_OP(ReciprocalOp, C(1) / x)
FERRY_UNARY_OP(SinOp, std::sin(x))
FERRY_UNARY_OP(CosOp, std::cos(x))
FERRY_UNARY_OP(TanOp, std::tan(x))
FERRY_UNARY_OP(AsinOp, std::asin(x))
FERRY_UNARY_OP(AcosOp, std::acos(x))
FERRY_UNARY_OP(AtanOp, std::atan(x))
FERRY_UNARY_OP(SinhOp, std::sinh(x))
FERRY_UNARY_OP(CoshOp, std::cosh(x))
FERRY_UNARY_OP(AsinhOp, std::asinh(x))
FERRY_UNARY_OP(AcoshOp, std::acosh(x))
FERRY_UNARY_OP(AtanhOp, std::atanh(x))
FERRY_UNARY_OP(BitwiseNotOp, ~x)
#undef FERRY_UNARY_OP

struct ExpOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const { return static_cast<C>(std::exp(x)); }
  static void simd(const float* x, float* y, int64_t n) { simd::exp(x, y, n); }
};

struct ErfOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const { return static_cast<C>(std::erf(x)); }
  static void simd(const float* x, float* y, int64_t n) { simd::erf(x, y, n); }
};

struct AbsOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) return x;
    else if constexpr (std::is_integral_v<C>)  // wraps for the most negative value, as in C
      return x < 0 ? static_cast<C>(std::make_unsigned_t<C>(0) - static_cast<std::make_unsigned_t<C>>(x)) : x;
    else return std::abs(x);
  }
};

struct NegOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(std::make_unsigned_t<C>(0) - static_cast<std::make_unsigned_t<C>>(x));
    else return -x;
  }
};

struct SignOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) {
      return static_cast<C>(x != 0);
    } else {
      if constexpr (std::is_floating_point_v<C>)
        if (std::isnan(x)) return x;
      return static_cast<C>((C(0) < x) - (x < C(0)));
    }
  }
};

struct NotOp : NoAttributes {
  using NoAttributes::NoAttributes;
  bool operator()(bool x) const { return !x; }
};

struct IsNaNOp : NoAttributes {
  using NoAttributes::NoAttributes;
  template <typename C> bool operator()(C x) const { return std::isnan(x); }
};

struct IsInfAttributes {
  bool detect_negative;  // "detect_negative": 1
  bool detect_positive;  // "detect_positive": 1
  IsInfAttributes(const ir::Node& n, int64_t)
      : detect_negative(n.get_int("detect_negative", 1) != 0),
        detect_positive(n.get_int("detect_positive", 1) != 0) {}
  template <typename C> bool operator()(C x) const {
    return std::isinf(x) && (x > 0 ? detect_positive : detect_negative);
  }
};

/// y = op(x) with a bool output (IsNaN, IsInf).
template <typename Op, typename TypeList>
class Predicate final : public Kernel {
 public:
  explicit Predicate(const KernelInfo& info) : op_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    visit_dtype(TypeList{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      bool* py = ctx.allocate_output(0, DataType::kBool, x.shape()).template data<bool>();
      ctx.thread_pool().parallel_for(x.element_count(), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) py[i] = op_(load(px[i]));
      });
    });
  }

 private:
  Op op_;
};

template <typename Op, typename TypeList, int cost = 1>
void add_unary(KernelRegistry& r, const char* op, std::vector<int> versions) {
  r.add(op, std::move(versions), make_kernel<UnaryKernel<Op, TypeList, cost>>, TypeList::dtypes())
      .in_place_inputs = {0};
}

}  // namespace

void register_unary_math_kernels(KernelRegistry& r) {
  add_unary<AbsOp, FloatAllInts>(r, "Abs", {6, 13});
  add_unary<NegOp, FloatAllSigned>(r, "Neg", {6, 13});
  add_unary<SqrtOp, FloatAll, 4>(r, "Sqrt", {6, 13});
  add_unary<ExpOp, FloatAll, 8>(r, "Exp", {6, 13});
  add_unary<LogOp, FloatAll, 8>(r, "Log", {6, 13});
  add_unary<CeilOp, FloatAll>(r, "Ceil", {6, 13});
  add_unary<FloorOp, FloatAll>(r, "Floor", {6, 13});
  add_unary<RoundOp, FloatAll>(r, "Round", {11, 22});
  add_unary<ReciprocalOp, FloatAll>(r, "Reciprocal", {6, 13});
  add_unary<SignOp, FloatAllInts>(r, "Sign", {9, 13});
  add_unary<ErfOp, FloatAllInts, 8>(r, "Erf", {9, 13});
  add_unary<SinOp, FloatAll, 8>(r, "Sin", {7, 22});
  add_unary<CosOp, FloatAll, 8>(r, "Cos", {7, 22});
  add_unary<TanOp, FloatAll, 8>(r, "Tan", {7, 22});
  add_unary<AsinOp, FloatAll, 8>(r, "Asin", {7, 22});
  add_unary<AcosOp, FloatAll, 8>(r, "Acos", {7, 22});
  add_unary<AtanOp, FloatAll, 8>(r, "Atan", {7, 22});
  add_unary<SinhOp, FloatAll, 8>(r, "Sinh", {9, 22});
  add_unary<CoshOp, FloatAll, 8>(r, "Cosh", {9, 22});
  add_unary<AsinhOp, FloatAll, 8>(r, "Asinh", {9, 22});
  add_unary<AcoshOp, FloatAll, 8>(r, "Acosh", {9, 22});
  add_unary<AtanhOp, FloatAll, 8>(r, "Atanh", {9, 22});
  add_unary<NotOp, Types<bool>>(r, "Not", {1});
  add_unary<BitwiseNotOp, IntTypes>(r, "BitwiseNot", {18});
  r.add("IsNaN", {9, 13, 20}, make_kernel<Predicate<IsNaNOp, FloatAll>>, FloatAll::dtypes());
  r.add("IsInf", {10, 20}, make_kernel<Predicate<IsInfAttributes, FloatAll>>, FloatAll::dtypes());
}

}  // namespace ferry::ep::cpu
