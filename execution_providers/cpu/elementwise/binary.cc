// Binary element-wise ops with multidirectional broadcasting: Pow (base and exponent of
// different types), Mod (both rounding rules), the logical And/Or/Xor, the comparisons
// (Equal on strings too), BitShift and BitwiseAnd/Or/Xor. Integer Mod by zero is an error.
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "execution_providers/cpu/elementwise/elementwise.h"

namespace ferry::ep::cpu {
namespace {

using namespace ew;

#define FERRY_BINARY_OP(Name, expr)                                               \
  struct Name : NoAttributes {                                                    \
    using NoAttributes::NoAttributes;                                             \
    template <typename C> auto operator()(const C& a, const C& b) const { return expr; } \
  };
FERRY_BINARY_OP(AndOp, a && b)
FERRY_BINARY_OP(OrOp, a || b)
FERRY_BINARY_OP(XorOp, a != b)
FERRY_BINARY_OP(EqualOp, a == b)
FERRY_BINARY_OP(LessOp, a < b)
FERRY_BINARY_OP(GreaterOp, a > b)
FERRY_BINARY_OP(LessOrEqualOp, a <= b)
FERRY_BINARY_OP(GreaterOrEqualOp, a >= b)
FERRY_BINARY_OP(BitwiseAndOp, static_cast<C>(a & b))
FERRY_BINARY_OP(BitwiseOrOp, static_cast<C>(a | b))
FERRY_BINARY_OP(BitwiseXorOp, static_cast<C>(a ^ b))
#undef FERRY_BINARY_OP

struct ModOp {
  bool fmod;  // "fmod": 0 (result takes the divisor's sign); 1: the dividend's sign, as C fmod
  ModOp(const ir::Node& n, int64_t) : fmod(n.get_int("fmod", 0) != 0) {
    if (n.get_int("fmod", 0) != 0 && n.get_int("fmod", 0) != 1)
      throw Error(ErrorCode::kInvalidModel, "attribute 'fmod' must be 0 or 1, got " +
                                                std::to_string(n.get_int("fmod", 0)));
  }
  static constexpr bool kIntegerDivisor = true;  // the kernel rejects integer zero divisors

  template <typename C> C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      C r = std::fmod(a, b);
      if (!fmod) {
        if (r == 0) r = std::copysign(C(0), b);
        else if ((r < 0) != (b < 0)) r += b;
      }
      return r;
    } else if constexpr (std::is_unsigned_v<C>) {
      return static_cast<C>(a % b);
    } else {
      if (b == -1) return 0;  // also avoids INT_MIN % -1
      C r = static_cast<C>(a % b);
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
      return r;
    }
  }
};

struct BitShiftOp {
  bool left;  // "direction": required, "LEFT" or "RIGHT"
  BitShiftOp(const ir::Node& n, int64_t) {
    const std::string d = n.get_string("direction", "");
    if (d != "LEFT" && d != "RIGHT")
      throw Error(ErrorCode::kInvalidModel,
                  "attribute 'direction' is '" + d + "', expected 'LEFT' or 'RIGHT'");
    left = d == "LEFT";
  }
  template <typename C> C operator()(C x, C y) const {
    using U = std::make_unsigned_t<C>;
    constexpr int bits = std::numeric_limits<U>::digits;
    bool out_of_range = false;
    if constexpr (std::is_signed_v<C>) out_of_range = y < 0;
    if (out_of_range || static_cast<uint64_t>(y) >= static_cast<uint64_t>(bits)) {
      if constexpr (std::is_signed_v<C>)
        if (!left && x < 0) return C(-1);
      return C(0);
    }
    if (left) return static_cast<C>(static_cast<U>(static_cast<U>(x) << y));
    return static_cast<C>(x >> y);  // arithmetic for signed (C++20)
  }
};

template <typename Op>
concept ChecksIntegerDivisor = Op::kIntegerDivisor;

/// out = op(a, b) for inputs of one type; the output is bool (comparisons, logic) or that type.
template <typename Op, typename TypeList, bool kBoolOutput>
class BinaryKernel final : public Kernel {
 public:
  explicit BinaryKernel(const KernelInfo& info) : op_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    const Tensor& b = ctx.required_input(1);
    if (a.dtype() != b.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "inputs must have the same element type, got " + a.describe() + " and " + b.describe());
    const NaryPlan plan({a.shape(), b.shape()}, ctx.node());
    visit_dtype(TypeList{}, a.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (ChecksIntegerDivisor<Op> && std::is_integral_v<T>) {
        for (T v : b.span<T>())
          if (v == 0) fail(ctx, ErrorCode::kInvalidArgument, "integer modulo by zero");
      }
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      if constexpr (kBoolOutput) {
        bool* out = ctx.allocate_output(0, DataType::kBool, plan.out_shape).template data<bool>();
        broadcast_binary(ctx, plan, pa, pb, out,
                         [&](const T& x, const T& y) -> bool { return op_(load(x), load(y)); });
      } else {
        T* out = ctx.allocate_output(0, a.dtype(), plan.out_shape).template data<T>();
        broadcast_binary(ctx, plan, pa, pb, out, [&](const T& x, const T& y) -> T {
          return store<T>(static_cast<Compute<T>>(op_(load(x), load(y))));
        });
      }
    });
  }

 private:
  Op op_;
};

using PowBaseTypes = Types<float, double, Float16, BFloat16, int32_t, int64_t>;
using PowExponentTypes = FloatAllInts;

/// Integer power by squaring, wrapping on overflow; negative exponents give 0 unless |base| = 1.
template <typename T, typename E> T int_pow(T base, E exp) {
  if constexpr (std::is_signed_v<E>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if (base == -1) return (exp % 2 == 0) ? T(1) : T(-1);
      return 0;
    }
  }
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  auto e = static_cast<uint64_t>(exp);
  while (e) {
    if (e & 1) result = static_cast<U>(result * b);
    b = static_cast<U>(b * b);
    e >>= 1;
  }
  return static_cast<T>(result);
}

template <typename T, typename E> T pow_element(T a, E b) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    return int_pow(a, b);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(load(b))));
  } else {
    using C = Compute<T>;
    return store<T>(static_cast<C>(std::pow(load(a), static_cast<C>(load(b)))));
  }
}

/// Z = X ^ Y, X and Y of possibly different types (Z takes X's).
class Pow final : public Kernel {
 public:
  explicit Pow(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& y = ctx.required_input(1);
    const NaryPlan plan({x.shape(), y.shape()}, ctx.node());
    visit_dtype(PowBaseTypes{}, x.dtype(), "base", [&](auto xtag) {
      using T = typename decltype(xtag)::type;
      visit_dtype(PowExponentTypes{}, y.dtype(), "exponent", [&](auto ytag) {
        using E = typename decltype(ytag)::type;
        const T* px = x.data<T>();
        const E* py = y.data<E>();
        T* out = ctx.allocate_output(0, x.dtype(), plan.out_shape).template data<T>();
        broadcast_binary(ctx, plan, px, py, out, pow_element<T, E>);
      });
    });
  }
};

using CompareTypes = FloatAllInts;
using EqualTypes = decltype(concat_types(FloatAllInts{}, Types<bool, std::string>{}));

template <typename Op, typename TypeList, bool kBoolOutput>
void add_binary(KernelRegistry& r, const char* op, std::vector<int> versions) {
  auto& def = r.add(op, std::move(versions), make_kernel<BinaryKernel<Op, TypeList, kBoolOutput>>,
                    TypeList::dtypes());
  if (!kBoolOutput) def.in_place_inputs = {0, 1};
}

}  // namespace

void register_binary_ext_kernels(KernelRegistry& r) {
  r.add("Pow", {7, 12, 13, 15}, make_kernel<Pow>, PowBaseTypes::dtypes()).in_place_inputs = {0};
  add_binary<ModOp, FloatAllInts, false>(r, "Mod", {10, 13, 28});
  add_binary<AndOp, Types<bool>, true>(r, "And", {7});
  add_binary<OrOp, Types<bool>, true>(r, "Or", {7});
  add_binary<XorOp, Types<bool>, true>(r, "Xor", {7});
  add_binary<EqualOp, EqualTypes, true>(r, "Equal", {7, 11, 13, 19});
  add_binary<LessOp, CompareTypes, true>(r, "Less", {7, 9, 13});
  add_binary<GreaterOp, CompareTypes, true>(r, "Greater", {7, 9, 13});
  add_binary<LessOrEqualOp, CompareTypes, true>(r, "LessOrEqual", {12, 16});
  add_binary<GreaterOrEqualOp, CompareTypes, true>(r, "GreaterOrEqual", {12, 16});
  add_binary<BitShiftOp, Types<uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t, int32_t, int64_t>,
             false>(r, "BitShift", {11, 28});
  add_binary<BitwiseAndOp, IntTypes, false>(r, "BitwiseAnd", {18});
  add_binary<BitwiseOrOp, IntTypes, false>(r, "BitwiseOr", {18});
  add_binary<BitwiseXorOp, IntTypes, false>(r, "BitwiseXor", {18});
}

}  // namespace ferry::ep::cpu
