// Add, Sub, Mul, Div with multidirectional broadcasting. Integer arithmetic wraps (two's
// complement) instead of overflowing; integer division truncates toward zero as in C (and
// onnxruntime), and a zero divisor is an error instead of a crash.
#include <optional>
#include <type_traits>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/elementwise/elementwise.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

// The type integer arithmetic is done in so that overflow wraps: unsigned for signed ints.
template <typename T, bool = std::is_integral_v<T>> struct WideOf { using type = T; };
template <typename T> struct WideOf<T, true> { using type = std::make_unsigned_t<T>; };
template <typename T> using Wide = typename WideOf<T>::type;

struct AddOp {
  template <typename T> static T apply(T a, T b) {
    return static_cast<T>(static_cast<Wide<T>>(a) + static_cast<Wide<T>>(b));
  }
};
struct SubOp {
  template <typename T> static T apply(T a, T b) {
    return static_cast<T>(static_cast<Wide<T>>(a) - static_cast<Wide<T>>(b));
  }
};
struct MulOp {
  template <typename T> static T apply(T a, T b) {
    if constexpr (std::is_integral_v<T> && sizeof(T) < sizeof(int))
      return static_cast<T>(static_cast<unsigned>(a) * static_cast<unsigned>(b));
    else
      return static_cast<T>(static_cast<Wide<T>>(a) * static_cast<Wide<T>>(b));
  }
};
struct DivOp {
  template <typename T> static T apply(T a, T b) {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      if (b == -1) return static_cast<T>(Wide<T>(0) - static_cast<Wide<T>>(a));  // INT_MIN / -1
    }
    return static_cast<T>(a / b);
  }
};

/// Op::apply on T, the half types through float.
template <typename Op, typename T> T apply(T a, T b) {
  if constexpr (ew::kIsHalf<T>) return ew::store<T>(Op::apply(ew::load(a), ew::load(b)));
  else return Op::apply(a, b);
}

using BinaryTypes = decltype(ew::concat_types(NumericTypes{}, ew::HalfTypes{}));

/// The vectorised float kernel (simd/vmath.h) for Op; none for Op without one.
template <typename Op> constexpr auto kFloatSimd = [] {
  if constexpr (std::is_same_v<Op, AddOp>) return std::optional(simd::BinaryOp::kAdd);
  else if constexpr (std::is_same_v<Op, SubOp>) return std::optional(simd::BinaryOp::kSub);
  else if constexpr (std::is_same_v<Op, MulOp>) return std::optional(simd::BinaryOp::kMul);
  else if constexpr (std::is_same_v<Op, DivOp>) return std::optional(simd::BinaryOp::kDiv);
  else return std::optional<simd::BinaryOp>();
}();

template <typename Op, typename T>
void binary_rows(const BroadcastPlan& plan, const T* a, const T* b, T* out, int64_t begin, int64_t end) {
  const int64_t n = plan.inner;
  if constexpr (std::is_same_v<T, float> && kFloatSimd<Op>.has_value()) {
    plan.for_rows(begin, end, [&](int64_t row, int64_t ao, int64_t bo) {
      simd::binary(*kFloatSimd<Op>, a + ao, plan.a_step ? 1 : 0, b + bo, plan.b_step ? 1 : 0, out + row * n, n);
    });
    return;
  }
  plan.for_rows(begin, end, [&](int64_t row, int64_t ao, int64_t bo) {
    const T* pa = a + ao;
    const T* pb = b + bo;
    T* po = out + row * n;
    if (plan.a_step && plan.b_step) {
      for (int64_t i = 0; i < n; ++i) po[i] = apply<Op>(pa[i], pb[i]);
    } else if (plan.a_step) {
      const T vb = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = apply<Op>(pa[i], vb);
    } else if (plan.b_step) {
      const T va = pa[0];
      for (int64_t i = 0; i < n; ++i) po[i] = apply<Op>(va, pb[i]);
    } else {
      const T v = apply<Op>(pa[0], pb[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = v;
    }
  });
}

template <typename Op>
class Binary final : public Kernel {
 public:
  explicit Binary(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    const Tensor& b = ctx.required_input(1);
    if (a.dtype() != b.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "inputs must have the same element type, got " + a.describe() + " and " + b.describe());
    const BroadcastPlan plan(a.shape(), b.shape(), ctx.node());
    visit_dtype(BinaryTypes{}, a.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<Op, DivOp> && std::is_integral_v<T>) {
        for (T v : b.span<T>())
          if (v == 0) fail(ctx, ErrorCode::kInvalidArgument, "integer division by zero");
      }
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      // After this, a or b may share storage with the output (declared in-place inputs).
      T* out = ctx.allocate_output(0, a.dtype(), plan.out_shape).template data<T>();
      ctx.thread_pool().parallel_for(plan.rows, static_cast<double>(plan.inner),
                                     [&](int64_t begin, int64_t end) {
                                       binary_rows<Op, T>(plan, pa, pb, out, begin, end);
                                     });
    });
  }
};

}  // namespace

void register_binary_kernels(KernelRegistry& r) {
  r.add("Add", {7, 13, 14}, make_kernel<Binary<AddOp>>, BinaryTypes::dtypes()).in_place_inputs = {0, 1};
  r.add("Sub", {7, 13, 14}, make_kernel<Binary<SubOp>>, BinaryTypes::dtypes()).in_place_inputs = {0, 1};
  r.add("Mul", {7, 13, 14}, make_kernel<Binary<MulOp>>, BinaryTypes::dtypes()).in_place_inputs = {0, 1};
  r.add("Div", {7, 13, 14}, make_kernel<Binary<DivOp>>, BinaryTypes::dtypes()).in_place_inputs = {0, 1};
}

}  // namespace ferry::ep::cpu
