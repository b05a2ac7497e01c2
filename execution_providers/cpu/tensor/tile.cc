// Tile (repeat each dim) and Expand (bidirectional broadcast to a shape), any element type.
// Output sizes come from data, so they are computed with overflow checks and the allocation
// limit of Tensor bounds them.
#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

class Tile final : public Kernel {
 public:
  explicit Tile(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const std::vector<int64_t> repeats = ints_of(ctx.required_input(1), "input 'repeats'");
    if (repeats.size() != x.rank())
      invalid("input 'repeats' has " + std::to_string(repeats.size()) + " values but input " + x.describe() +
              " has rank " + std::to_string(x.rank()));
    std::vector<int64_t> out_shape(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      if (repeats[d] < 0) invalid("input 'repeats' must be non-negative, got " + std::to_string(repeats[d]));
      out_shape[d] = checked_mul(x.dim(d), repeats[d], "output dim " + std::to_string(d));
    }
    shape_element_count(out_shape);  // throws when the product overflows
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    std::vector<std::vector<int64_t>> maps(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      maps[d].resize(static_cast<size_t>(out_shape[d]));
      for (int64_t i = 0; i < out_shape[d]; ++i) maps[d][static_cast<size_t>(i)] = i % x.dim(d);
    }
    map_copy_any(x, y, maps, nullptr, ctx.thread_pool());
  }
};

class Expand final : public Kernel {
 public:
  explicit Expand(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const std::vector<int64_t> shape = ints_of(ctx.required_input(1), "input 'shape'");
    const size_t rank = std::max(shape.size(), x.rank());
    std::vector<int64_t> out_shape(rank);
    for (size_t i = 0; i < rank; ++i) {
      const int64_t a = i < rank - x.rank() ? 1 : x.dim(i - (rank - x.rank()));
      const int64_t b = i < rank - shape.size() ? 1 : shape[i - (rank - shape.size())];
      if (b < 0) invalid("input 'shape' " + shape_to_string(shape) + " has a negative dim");
      if (a == b || b == 1) out_shape[i] = a;
      else if (a == 1) out_shape[i] = b;
      else
        invalid("input " + x.describe() + " cannot be expanded to shape " + shape_to_string(shape) + " (dim " +
                std::to_string(i) + ": " + std::to_string(a) + " vs " + std::to_string(b) + ")");
    }
    shape_element_count(out_shape);  // throws when the product overflows
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    if (y.element_count() == 0) return;
    // x seen as rank `rank`: leading dims of size 1.
    std::vector<int64_t> x_shape(rank - x.rank(), 1);
    x_shape.insert(x_shape.end(), x.shape().begin(), x.shape().end());
    std::vector<std::vector<int64_t>> maps(rank);
    for (size_t d = 0; d < rank; ++d) {
      maps[d].resize(static_cast<size_t>(out_shape[d]));
      for (int64_t i = 0; i < out_shape[d]; ++i) maps[d][static_cast<size_t>(i)] = x_shape[d] == 1 ? 0 : i;
    }
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      map_copy<T>(x.data<T>(), strides_of(x_shape), y.data<T>(), maps, T{}, ctx.thread_pool());
    });
  }
};

}  // namespace

void register_tile_kernels(KernelRegistry& r) {
  r.add("Tile", {6, 13}, make_kernel<Tile>).supports = input0_byte_addressable;
  r.add("Expand", {8, 13}, make_kernel<Expand>).supports = input0_byte_addressable;
}

}  // namespace ferry::ep::cpu
