// Concat along one axis (negative allowed), any element type; each outer slice copies one
// contiguous block per input. Work items on the intra-op pool: ranges of outer slices when the
// slices are small and some block tiny (a concat along the last axes), else one (slice, input)
// block each.
#include <algorithm>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

class Concat final : public Kernel {
  // Output slices of fewer elements than this, with a block under 16 elements, are copied
  // several slices to a work item.
  static constexpr int64_t kSmallSlice = 4096;

 public:
  explicit Concat(const KernelInfo& info) : axis_(info.node().require_int("axis")) {}

  void compute(KernelContext& ctx) const override {
    const size_t count = ctx.input_count();
    if (count == 0) fail(ctx, ErrorCode::kInvalidModel, "Concat needs at least one input");
    std::vector<const Tensor*> inputs;
    for (size_t i = 0; i < count; ++i) inputs.push_back(&ctx.required_input(i));
    const Tensor& first = *inputs[0];
    const int64_t rank = static_cast<int64_t>(first.rank());
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    std::vector<int64_t> out_shape = first.shape();
    out_shape[axis] = 0;
    for (const Tensor* t : inputs) {
      bool ok = t->rank() == first.rank() && t->dtype() == first.dtype();
      for (size_t d = 0; ok && d < first.rank(); ++d) ok = d == axis || t->dim(d) == first.dim(d);
      if (!ok)
        fail(ctx, ErrorCode::kInvalidArgument, "inputs " + first.describe() + " and " + t->describe() +
                                                   " differ outside axis " + std::to_string(axis_));
      out_shape[axis] += t->dim(axis);
    }
    Tensor& y = ctx.allocate_output(0, first.dtype(), out_shape);
    const int64_t outer = product(out_shape, 0, axis), inner = product(out_shape, axis + 1, out_shape.size());
    const int64_t out_block = out_shape[axis] * inner;
    if (y.element_count() == 0) return;
    std::vector<int64_t> at(count + 1, 0);  // block start of each input within an outer slice
    for (size_t i = 0; i < count; ++i) at[i + 1] = at[i] + inputs[i]->dim(axis) * inner;
    visit_by_size(first.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y.data<T>();
      // Copies input t's blocks of outer slices [o0, o1), each in a plain loop rather than a
      // copy call.
      auto copy_blocks = [&](size_t t, int64_t o0, int64_t o1) {
        const int64_t block = at[t + 1] - at[t];
        const T* src = inputs[t]->data<T>() + o0 * block;
        T* dst = out + o0 * out_block + at[t];
        if (block == 1) {
          for (int64_t o = o0; o < o1; ++o, dst += out_block) *dst = *src++;
        } else {
          for (int64_t o = o0; o < o1; ++o, src += block, dst += out_block)
            for (int64_t j = 0; j < block; ++j) dst[j] = src[j];
        }
      };
      // ~0.25 ns per element copied (16 GB/s): a parallel region costs tens of microseconds to
      // wake, so only copies of a few hundred microseconds split.
      int64_t min_block = out_block;
      for (size_t t = 0; t < count; ++t) min_block = std::min(min_block, at[t + 1] - at[t]);
      if (out_block < kSmallSlice && min_block < 16) {
        // Small slices with blocks under 16 elements (a concat along the last axes): a work item
        // is a range of slices, copied input after input over tiles of about 32 KiB of output,
        // which stay in cache meanwhile.
        const int64_t tile = std::max<int64_t>(1, 8192 / out_block);
        ctx.thread_pool().parallel_for(outer, 0.25 * static_cast<double>(out_block), [&](int64_t o0, int64_t o1) {
          for (int64_t b = o0; b < o1; b += tile)
            for (size_t t = 0; t < count; ++t) copy_blocks(t, b, std::min(o1, b + tile));
        });
        return;
      }
      // Otherwise one work item per (outer slice, input) block, so that a concat along the first
      // axes (few outer slices of large blocks) still splits over the pool.
      const double cost = 0.25 * static_cast<double>(out_block) / static_cast<double>(count);
      ctx.thread_pool().parallel_for(outer * static_cast<int64_t>(count), cost, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t o = i / static_cast<int64_t>(count);
          const size_t t = static_cast<size_t>(i % static_cast<int64_t>(count));
          const int64_t block = at[t + 1] - at[t];
          const T* src = inputs[t]->data<T>() + o * block;
          std::copy(src, src + block, out + o * out_block + at[t]);
        }
      });
    });
  }

 private:
  int64_t axis_;  // "axis": required
};

bool supported_type(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x == nullptr || byte_addressable(x->dtype());
}

}  // namespace

void register_concat_kernels(KernelRegistry& r) {
  r.add("Concat", {4, 11, 13}, make_kernel<Concat>).supports = supported_type;
}

}  // namespace ferry::ep::cpu
