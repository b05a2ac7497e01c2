// LogSoftmax and Hardmax in both definitions (before opset 13: the input coerced to 2-D at
// `axis` and each row normalised; from 13: along the one axis), for float, double and the half
// types (through float). Softmax for the half types lives here too; activation.cc's Softmax
// serves float and double.
#include <cmath>
#include <vector>

#include "execution_providers/cpu/elementwise/elementwise.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

using namespace ew;

enum class Mode { kSoftmax, kLogSoftmax, kHardmax };

struct SoftmaxFamilyAttributes {
  int64_t axis;    // "axis": 1 before opset 13, -1 from 13
  bool coerce_2d;  // opset < 13
  SoftmaxFamilyAttributes(const ir::Node& n, int64_t opset)
      : axis(n.get_int("axis", opset < 13 ? 1 : -1)), coerce_2d(opset < 13) {}
};

template <Mode mode, typename TypeList>
class SoftmaxFamily final : public Kernel {
 public:
  explicit SoftmaxFamily(const KernelInfo& info) : attrs_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const int64_t axis = rank == 0 ? 0 : normalize_axis(attrs_.axis, rank, ctx.node());
    const auto& s = x.shape();
    const auto ax = static_cast<size_t>(axis);
    // Normalise over `len` elements spaced `stride` apart, for outer * stride groups.
    const int64_t outer = product(s, 0, ax);
    const int64_t len = attrs_.coerce_2d ? product(s, ax, s.size()) : (rank == 0 ? 1 : s[ax]);
    const int64_t stride = attrs_.coerce_2d ? 1 : product(s, ax + 1, s.size());
    visit_dtype(TypeList{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = Compute<T>;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), s).template data<T>();
      if (x.element_count() == 0) return;
      if constexpr (std::is_same_v<T, float> && mode != Mode::kHardmax) {
        if (stride == 1) {  // rows of contiguous elements: the vectorised row (log-)softmax
          ctx.thread_pool().parallel_for(outer, static_cast<double>(len) * 2, [&](int64_t begin, int64_t end) {
            for (int64_t g = begin; g < end; ++g)
              simd::softmax(px + g * len, py + g * len, len, mode == Mode::kLogSoftmax);
          });
          return;
        }
      }
      ctx.thread_pool().parallel_for(outer * stride, static_cast<double>(len) * 8,
                                     [&](int64_t begin, int64_t end) {
        std::vector<C> v(static_cast<size_t>(len));
        for (int64_t g = begin; g < end; ++g) {
          const int64_t base = (g / stride) * len * stride + g % stride;
          for (int64_t i = 0; i < len; ++i) v[i] = load(px[base + i * stride]);
          normalise(v);
          for (int64_t i = 0; i < len; ++i) py[base + i * stride] = store<T>(v[i]);
        }
      });
    });
  }

 private:
  template <typename C> static void normalise(std::vector<C>& v) {
    size_t arg = 0;
    for (size_t i = 1; i < v.size(); ++i)
      if (v[i] > v[arg]) arg = i;
    const C mx = v[arg];
    if constexpr (mode == Mode::kHardmax) {
      for (size_t i = 0; i < v.size(); ++i) v[i] = i == arg ? C(1) : C(0);
    } else {
      C sum = 0;
      for (const C& e : v) sum += std::exp(e - mx);
      if constexpr (mode == Mode::kLogSoftmax) {
        const C log_sum = std::log(sum);
        for (C& e : v) e = e - mx - log_sum;
      } else {
        const C inv = C(1) / sum;
        for (C& e : v) e = std::exp(e - mx) * inv;
      }
    }
  }

  SoftmaxFamilyAttributes attrs_;
};

bool is_half_input(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x != nullptr && (x->dtype() == DataType::kFloat16 || x->dtype() == DataType::kBFloat16);
}

}  // namespace

void register_softmax_ext_kernels(KernelRegistry& r) {
  r.add("LogSoftmax", {1, 11, 13}, make_kernel<SoftmaxFamily<Mode::kLogSoftmax, FloatAll>>,
        FloatAll::dtypes()).in_place_inputs = {0};
  r.add("Hardmax", {1, 11, 13}, make_kernel<SoftmaxFamily<Mode::kHardmax, FloatAll>>,
        FloatAll::dtypes()).in_place_inputs = {0};
  auto& half_softmax = r.add("Softmax", {1, 11, 13}, make_kernel<SoftmaxFamily<Mode::kSoftmax, HalfTypes>>,
                             HalfTypes::dtypes());
  half_softmax.supports = is_half_input;
  half_softmax.in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
