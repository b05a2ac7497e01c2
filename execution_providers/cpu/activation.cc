// Element-wise activations (Relu, Sigmoid, Tanh) through Eigen's vectorised array ops, and
// Softmax in both of its definitions (2-D coercion before opset 13, one axis from 13).
#include <Eigen/Core>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/elementwise/elementwise.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

using ReluTypes = Types<float, double, int8_t, int16_t, int32_t, int64_t, Float16, BFloat16>;
using SigmoidTanhTypes = Types<float, double, Float16, BFloat16>;

// apply: the Eigen array expression (double and the half types); simd: the float kernel;
// kSimdCost: its rough ns per element for ThreadPool::parallel_for (measured on the 2-core AVX-512
// VM over 512k elements: relu 0.085, sigmoid 0.32, tanh 0.46), so that a tensor small enough to
// take less than the wake-up of a second thread runs on the calling thread alone.
struct ReluOp {
  template <typename A> static auto apply(const A& x) { return x.max(typename A::Scalar(0)); }
  static void simd(const float* x, float* y, int64_t n) { simd::relu(x, y, n); }
  static constexpr double kSimdCost = 0.1;
};
struct SigmoidOp {
  template <typename A> static auto apply(const A& x) { return x.logistic(); }
  static void simd(const float* x, float* y, int64_t n) { simd::sigmoid(x, y, n); }
  static constexpr double kSimdCost = 0.35;
};
struct TanhOp {
  template <typename A> static auto apply(const A& x) { return x.tanh(); }
  static void simd(const float* x, float* y, int64_t n) { simd::tanh(x, y, n); }
  static constexpr double kSimdCost = 0.5;
};

template <typename Op, typename TypeList>
class Unary final : public Kernel {
 public:
  explicit Unary(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    visit_dtype(TypeList{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = ew::Compute<T>;  // the half types: through float
      using Arr = Eigen::Array<C, Eigen::Dynamic, 1>;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();  // may alias x
      const double cost = std::is_same_v<T, float> ? Op::kSimdCost : 4.0;
      ctx.thread_pool().parallel_for(x.element_count(), cost, [&](int64_t b, int64_t e) {
        if constexpr (std::is_same_v<T, float>) {
          Op::simd(px + b, py + b, e - b);
        } else if constexpr (ew::kIsHalf<T>) {
          Arr v(e - b);
          for (int64_t i = b; i < e; ++i) v[i - b] = ew::load(px[i]);
          v = Op::apply(v);
          for (int64_t i = b; i < e; ++i) py[i] = ew::store<T>(v[i - b]);
        } else {
          Eigen::Map<const Arr> in(px + b, e - b);
          Eigen::Map<Arr> out(py + b, e - b);
          out = Op::apply(in);
        }
      });
    });
  }
};

/// Accepts the node unless its input is an integer type before opset 14 (Relu's int types).
bool relu_supports(const ir::Node& node, int64_t opset) {
  const ir::Value* x = node.input(0);
  return opset >= 14 || x == nullptr || !dtype_is_integer(x->dtype());
}

bool not_half_input(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x == nullptr || (x->dtype() != DataType::kFloat16 && x->dtype() != DataType::kBFloat16);
}

struct SoftmaxAttributes {
  int64_t axis;  // "axis": 1 before opset 13, -1 from 13
  bool coerce_2d;  // opset < 13: flatten to [prod(:axis), prod(axis:)] and normalise rows
  SoftmaxAttributes(const ir::Node& n, int64_t opset)
      : axis(n.get_int("axis", opset < 13 ? 1 : -1)), coerce_2d(opset < 13) {}
};

class Softmax final : public Kernel {
 public:
  explicit Softmax(const KernelInfo& info) : attrs_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const int64_t axis = rank == 0 ? 0 : normalize_axis(attrs_.axis, rank, ctx.node());
    const auto& s = x.shape();
    // Normalise over `len` elements spaced `stride` apart, for outer * stride groups.
    int64_t outer, len, stride;
    if (attrs_.coerce_2d) {
      outer = product(s, 0, static_cast<size_t>(axis));
      len = product(s, static_cast<size_t>(axis), s.size());
      stride = 1;
    } else {
      outer = product(s, 0, static_cast<size_t>(axis));
      len = rank == 0 ? 1 : s[static_cast<size_t>(axis)];
      stride = product(s, static_cast<size_t>(axis) + 1, s.size());
    }
    visit_dtype(FloatTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), s).template data<T>();
      if (x.element_count() == 0) return;
      if constexpr (std::is_same_v<T, float>) {
        if (stride == 1) {  // rows of contiguous elements: the vectorised row softmax
          ctx.thread_pool().parallel_for(outer, static_cast<double>(len) * 2, [&](int64_t begin, int64_t end) {
            for (int64_t g = begin; g < end; ++g) simd::softmax(px + g * len, py + g * len, len, false);
          });
          return;
        }
      }
      ctx.thread_pool().parallel_for(outer * stride, static_cast<double>(len) * 8,
                                     [&](int64_t begin, int64_t end) {
        for (int64_t g = begin; g < end; ++g) {
          const int64_t base = (g / stride) * len * stride + g % stride;
          const T* in = px + base;
          T* out = py + base;
          T mx = in[0];
          for (int64_t i = 1; i < len; ++i) mx = std::max(mx, in[i * stride]);
          T sum = 0;
          for (int64_t i = 0; i < len; ++i) {
            const T e = std::exp(in[i * stride] - mx);
            out[i * stride] = e;
            sum += e;
          }
          const T inv = T(1) / sum;
          for (int64_t i = 0; i < len; ++i) out[i * stride] *= inv;
        }
      });
    });
  }

 private:
  SoftmaxAttributes attrs_;
};

}  // namespace

void register_activation_kernels(KernelRegistry& r) {
  auto& relu = r.add("Relu", {6, 13, 14}, make_kernel<Unary<ReluOp, ReluTypes>>, ReluTypes::dtypes());
  relu.supports = relu_supports;
  relu.in_place_inputs = {0};
  r.add("Sigmoid", {6, 13}, make_kernel<Unary<SigmoidOp, SigmoidTanhTypes>>, SigmoidTanhTypes::dtypes()).in_place_inputs = {0};
  r.add("Tanh", {6, 13}, make_kernel<Unary<TanhOp, SigmoidTanhTypes>>, SigmoidTanhTypes::dtypes()).in_place_inputs = {0};
  auto& softmax = r.add("Softmax", {1, 11, 13}, make_kernel<Softmax>, FloatTypes::dtypes());
  softmax.in_place_inputs = {0};
  softmax.supports = not_half_input;  // the half types: elementwise/softmax.cc
}

}  // namespace ferry::ep::cpu
