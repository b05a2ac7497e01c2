// TopK along one axis: the k largest (or smallest) elements and their indices, sorted. Ties keep
// the lower index first, as onnxruntime does. k is an attribute before opset 10 and a 1-element
// int64 input from 10.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/reduce/reduce.h"

namespace ferry::ep::cpu {
namespace {

using TopKTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t,
                        int64_t, uint64_t>;

struct TopKAttributes {
  int64_t axis;    // "axis": -1
  int64_t k;       // "k" (opset < 10): required
  bool largest;    // "largest" (opset 11+): 1
  bool k_input;    // k is input 1 (opset 10+)
  TopKAttributes(const ir::Node& n, int64_t opset)
      : axis(n.get_int("axis", -1)), k(n.get_int("k", -1)), largest(n.get_int("largest", 1) != 0), k_input(opset >= 10) {}
};

class TopK final : public Kernel {
 public:
  explicit TopK(const KernelInfo& info) : attrs_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    int64_t k = attrs_.k;
    if (attrs_.k_input) {
      const Tensor& kt = ctx.required_input(1);
      const std::vector<int64_t> kv = read_int_list(kt, ctx, "input 'K'");
      if (kv.size() != 1) fail(ctx, ErrorCode::kInvalidArgument, "input 'K' must hold one value, got " + kt.describe());
      k = kv[0];
    }
    if (x.rank() == 0) fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must have rank >= 1, got " + x.describe());
    const size_t axis = static_cast<size_t>(normalize_axis(attrs_.axis, static_cast<int64_t>(x.rank()), ctx.node()));
    const auto& s = x.shape();
    const int64_t outer = product(s, 0, axis), len = s[axis], inner = product(s, axis + 1, s.size());
    if (k < 0 || k > len)
      fail(ctx, ErrorCode::kInvalidArgument, "k = " + std::to_string(k) + " is outside [0, " + std::to_string(len) +
                                                 "] for axis " + std::to_string(axis) + " of " + x.describe());
    std::vector<int64_t> y_shape = s;
    y_shape[axis] = k;
    visit_dtype(TopKTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* pv = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
      int64_t* pi = ctx.allocate_output(1, DataType::kInt64, y_shape).template data<int64_t>();
      if (k == 0) return;
      const bool largest = attrs_.largest;
      ctx.thread_pool().parallel_for(outer * inner, static_cast<double>(len) * 4, [&](int64_t b, int64_t e) {
        std::vector<int64_t> idx(static_cast<size_t>(len));
        for (int64_t g = b; g < e; ++g) {
          const int64_t o = g / inner, in = g % inner;
          const T* p = px + o * len * inner + in;
          std::iota(idx.begin(), idx.end(), int64_t(0));
          // NaN ranks above every number (onnxruntime's order for largest).
          auto before = [&](int64_t i, int64_t j) {
            const auto a = to_compute(p[i * inner]), c = to_compute(p[j * inner]);
            if constexpr (std::is_floating_point_v<decltype(a)>) {
              const bool na = std::isnan(a), nc = std::isnan(c);
              if (na || nc) return na && !nc ? largest : (!na && nc ? !largest : i < j);
            }
            if (a != c) return largest ? a > c : a < c;
            return i < j;
          };
          std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t out = o * k * inner + j * inner + in;
            pv[out] = p[idx[static_cast<size_t>(j)] * inner];
            pi[out] = idx[static_cast<size_t>(j)];
          }
        }
      });
    });
  }

 private:
  TopKAttributes attrs_;
};

}  // namespace

void register_topk_kernels(KernelRegistry& r) {
  r.add("TopK", {1, 10, 11, 24}, make_kernel<TopK>, TopKTypes::dtypes());
}

}  // namespace ferry::ep::cpu
