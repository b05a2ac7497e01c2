// Slice (attributes before opset 10, inputs from 10; negative and out-of-range starts/ends are
// clamped as the spec says, negative steps walk backwards) and Split (sizes from the attribute
// before 13, from the optional input from 13; equal chunks otherwise, with a smaller last
// chunk when opset 18's num_outputs does not divide the axis). Any element type.
#include <set>

#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

class Slice final : public Kernel {
 public:
  explicit Slice(const KernelInfo& info) : from_inputs_(info.opset() >= 10) {
    if (!from_inputs_) {
      starts_ = info.node().get_ints("starts");
      ends_ = info.node().get_ints("ends");
      axes_ = info.node().get_ints("axes");
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    if (from_inputs_) {
      starts = ints_of(ctx.required_input(1), "input 'starts'");
      ends = ints_of(ctx.required_input(2), "input 'ends'");
      axes.clear();
      if (ctx.input_count() > 3 && ctx.input(3)) axes = ints_of(*ctx.input(3), "input 'axes'");
      if (ctx.input_count() > 4 && ctx.input(4)) steps = ints_of(*ctx.input(4), "input 'steps'");
    }
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (starts.size() != ends.size())
      invalid("'starts' has " + std::to_string(starts.size()) + " values but 'ends' has " + std::to_string(ends.size()));
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
      invalid("'starts', 'ends', 'axes' and 'steps' must have the same length, got " + std::to_string(starts.size()) +
              ", " + std::to_string(ends.size()) + ", " + std::to_string(axes.size()) + ", " + std::to_string(steps.size()));
    std::vector<std::vector<int64_t>> maps(x.rank());
    std::vector<int64_t> out_shape = x.shape();
    std::vector<bool> seen(x.rank(), false);
    for (size_t d = 0; d < x.rank(); ++d) {
      maps[d].resize(static_cast<size_t>(x.dim(d)));
      for (int64_t i = 0; i < x.dim(d); ++i) maps[d][static_cast<size_t>(i)] = i;
    }
    for (size_t k = 0; k < starts.size(); ++k) {
      const size_t a = static_cast<size_t>(axis_in(axes[k], rank, "axis"));
      if (seen[a]) invalid("axis " + std::to_string(axes[k]) + " appears twice in 'axes'");
      seen[a] = true;
      const int64_t dim = x.dim(a), step = steps[k];
      if (step == 0) invalid("'steps' must not contain 0");
      int64_t s = starts[k], e = ends[k];
      if (s < 0) s += dim;  // cannot overflow: s < 0 <= dim
      if (e < 0) e += dim;
      int64_t count = 0;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        if (e > s) count = (e - s - 1) / step + 1;
      } else if (dim > 0) {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        if (s > e) count = static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / (uint64_t{0} - static_cast<uint64_t>(step))) + 1;
      }
      out_shape[a] = count;
      maps[a].resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) maps[a][static_cast<size_t>(i)] = s + i * step;
    }
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    map_copy_any(x, y, maps, nullptr, ctx.thread_pool());
  }

 private:
  bool from_inputs_;
  std::vector<int64_t> starts_, ends_, axes_;  // opset < 10: "starts", "ends" required, "axes" optional
};

class Split final : public Kernel {
 public:
  explicit Split(const KernelInfo& info)
      : opset_(info.opset()),
        axis_(info.node().get_int("axis", 0)),
        split_attr_(info.node().get_ints("split")),
        num_outputs_(info.node().get_int("num_outputs", 0)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const size_t axis = static_cast<size_t>(axis_in(axis_, rank, "axis"));
    const int64_t dim = x.dim(axis);
    const size_t n = ctx.output_count();
    std::vector<int64_t> sizes = split_attr_;
    if (opset_ >= 13 && ctx.input_count() > 1 && ctx.input(1)) sizes = ints_of(*ctx.input(1), "input 'split'");
    if (sizes.empty()) {
      if (opset_ >= 18 && num_outputs_ > 0) {
        if (static_cast<size_t>(num_outputs_) != n)
          invalid("'num_outputs' is " + std::to_string(num_outputs_) + " but the node has " + std::to_string(n) + " outputs");
        const int64_t chunk = (dim + num_outputs_ - 1) / num_outputs_;
        for (size_t i = 0; i < n; ++i) {
          const int64_t begin = std::min<int64_t>(chunk * static_cast<int64_t>(i), dim);
          sizes.push_back(std::min(chunk, dim - begin));
        }
      } else {
        if (dim % static_cast<int64_t>(n) != 0)
          invalid("axis " + std::to_string(axis_) + " of input " + x.describe() + " cannot be split into " +
                  std::to_string(n) + " equal parts");
        sizes.assign(n, dim / static_cast<int64_t>(n));
      }
    }
    if (sizes.size() != n)
      invalid("'split' has " + std::to_string(sizes.size()) + " values but the node has " + std::to_string(n) + " outputs");
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) invalid("'split' values must be non-negative, got " + std::to_string(s));
      total += s;
    }
    if (total != dim)
      invalid("'split' sums to " + std::to_string(total) + " but axis " + std::to_string(axis_) + " of input " +
              x.describe() + " has size " + std::to_string(dim));
    const int64_t outer = product(x.shape(), 0, axis), inner = product(x.shape(), axis + 1, x.rank());
    int64_t offset = 0;
    for (size_t i = 0; i < n; ++i) {
      std::vector<int64_t> shape = x.shape();
      shape[axis] = sizes[i];
      const int64_t begin = offset;
      offset += sizes[i];
      if (!ctx.output_wanted(i)) continue;
      Tensor& y = ctx.allocate_output(i, x.dtype(), shape);
      if (y.element_count() == 0) continue;
      const int64_t block = sizes[i] * inner;
      visit_by_size(x.dtype(), "input", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* src = x.data<T>();
        T* dst = y.data<T>();
        ctx.thread_pool().parallel_for(outer, static_cast<double>(block), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o) {
            const T* from = src + (o * dim + begin) * inner;
            std::copy(from, from + block, dst + o * block);
          }
        });
      });
    }
  }

 private:
  int64_t opset_;
  int64_t axis_;                     // "axis": 0
  std::vector<int64_t> split_attr_;  // "split" (opset < 13): equal parts when absent
  int64_t num_outputs_;              // "num_outputs" (opset 18): 0 when absent
};

}  // namespace

void register_slice_kernels(KernelRegistry& r) {
  r.add("Slice", {1, 10, 11, 13}, make_kernel<Slice>).supports = input0_byte_addressable;
  r.add("Split", {2, 11, 13, 18}, make_kernel<Split>).supports = input0_byte_addressable;
}

}  // namespace ferry::ep::cpu
