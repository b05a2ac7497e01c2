// Gather along one axis, any element type, int32 or int64 indices (negative counts from the
// end). Every index is checked before anything is copied: an out-of-range index is an error
// naming the node, the index and the dim, never an out-of-bounds read.
#include <algorithm>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

class Gather final : public Kernel {
 public:
  explicit Gather(const KernelInfo& info) : axis_(info.node().get_int("axis", 0)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.required_input(0);
    const Tensor& indices = ctx.required_input(1);
    const int64_t rank = static_cast<int64_t>(data.rank());
    if (rank == 0) fail(ctx, ErrorCode::kInvalidArgument, "data must have rank >= 1, got " + data.describe());
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    const int64_t dim = data.dim(axis);
    std::vector<int64_t> idx = read_int_list(indices, ctx, "indices");
    for (size_t i = 0; i < idx.size(); ++i) {
      if (idx[i] < -dim || idx[i] >= dim)
        fail(ctx, ErrorCode::kInvalidArgument,
             "index " + std::to_string(idx[i]) + " (at position " + std::to_string(i) + " of indices " +
                 shape_to_string(indices.shape()) + ") is out of range for axis " + std::to_string(axis) +
                 " of size " + std::to_string(dim) + " (data " + data.describe() + "; valid: [" +
                 std::to_string(-dim) + ", " + std::to_string(dim - 1) + "])");
      if (idx[i] < 0) idx[i] += dim;
    }
    std::vector<int64_t> out_shape(data.shape().begin(), data.shape().begin() + static_cast<std::ptrdiff_t>(axis));
    out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
    out_shape.insert(out_shape.end(), data.shape().begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.shape().end());
    Tensor& y = ctx.allocate_output(0, data.dtype(), out_shape);
    if (y.element_count() == 0) return;
    const int64_t outer = product(data.shape(), 0, axis);
    const int64_t inner = product(data.shape(), axis + 1, data.rank());
    const int64_t n = static_cast<int64_t>(idx.size());
    visit_by_size(data.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = data.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(outer * n, static_cast<double>(inner), [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const int64_t o = k / n, i = k % n;
          const T* from = src + (o * dim + idx[static_cast<size_t>(i)]) * inner;
          std::copy(from, from + inner, dst + k * inner);
        }
      });
    });
  }

 private:
  int64_t axis_;  // "axis": 0
};

bool supported_type(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x == nullptr || byte_addressable(x->dtype());
}

}  // namespace

void register_gather_kernels(KernelRegistry& r) {
  r.add("Gather", {1, 11, 13}, make_kernel<Gather>).supports = supported_type;
}

}  // namespace ferry::ep::cpu
