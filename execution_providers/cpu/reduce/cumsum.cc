// CumSum and CumProd (26) along one axis (a 0-D or 1-element int32/int64 input), inclusive or
// exclusive, forward or reverse. Integer sums and products wrap.
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/reduce/reduce.h"

namespace ferry::ep::cpu {
namespace {

using CumSumTypes = Types<float, double, Float16, BFloat16, int32_t, int64_t, uint32_t, uint64_t>;

struct CumSumAttributes {
  bool exclusive;  // "exclusive": 0
  bool reverse;    // "reverse": 0
  explicit CumSumAttributes(const ir::Node& n)
      : exclusive(n.get_int("exclusive", 0) != 0), reverse(n.get_int("reverse", 0) != 0) {}
};

template <bool kProduct>
class Cumulative final : public Kernel {
 public:
  explicit Cumulative(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& a = ctx.required_input(1);
    const std::vector<int64_t> axes = read_int_list(a, ctx, "input 'axis'");
    if (axes.size() != 1 || a.rank() > 1)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'axis' must be a scalar, got " + a.describe());
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(x.rank()));
    const size_t axis = static_cast<size_t>(normalize_axis(axes[0], rank, ctx.node()));
    std::vector<int64_t> shape = x.shape();
    if (shape.empty()) shape.push_back(1);
    const int64_t outer = product(shape, 0, axis), len = shape[axis], inner = product(shape, axis + 1, shape.size());
    visit_dtype(CumSumTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = std::conditional_t<kIsFloating<T>, double,
                                   std::conditional_t<std::is_signed_v<compute_t<T>>, int64_t, uint64_t>>;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      ctx.thread_pool().parallel_for(outer * inner, static_cast<double>(len), [&](int64_t b, int64_t e) {
        for (int64_t g = b; g < e; ++g) {
          const int64_t base = (g / inner) * len * inner + g % inner;
          C acc = kProduct ? 1 : 0;
          for (int64_t k = 0; k < len; ++k) {
            const int64_t i = base + (attrs_.reverse ? len - 1 - k : k) * inner;
            const C v = static_cast<C>(to_compute(px[i]));
            if (attrs_.exclusive) {
              py[i] = from_compute<T>(acc);
              acc = add(acc, v);
            } else {
              acc = add(acc, v);
              py[i] = from_compute<T>(acc);
            }
          }
        }
      });
    });
  }

 private:
  template <typename C> static C add(C a, C b) {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(kProduct ? static_cast<uint64_t>(a) * static_cast<uint64_t>(b)
                                     : static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
    else
      return kProduct ? a * b : a + b;
  }
  CumSumAttributes attrs_;
};

}  // namespace

void register_cumsum_kernels(KernelRegistry& r) {
  r.add("CumSum", {11, 14}, make_kernel<Cumulative<false>>, CumSumTypes::dtypes());
  r.add("CumProd", {26}, make_kernel<Cumulative<true>>, CumSumTypes::dtypes());
}

}  // namespace ferry::ep::cpu
