// Ops whose output size depends on the data: NonZero (indices of non-zero elements), Compress
// (slices where a condition holds) and Unique (distinct elements or slices, sorted or in order
// of first occurrence, with first-occurrence indices, inverse indices and counts).
#include <cmath>
#include <numeric>
#include <optional>

#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

using ValueTypes = Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t,
                         bool, Float16, BFloat16>;

template <typename T> bool is_nonzero(const T& v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return to_float(v) != 0.0f;
  else return v != T(0);
}

class NonZero final : public Kernel {
 public:
  explicit NonZero(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    std::vector<int64_t> hits;
    visit_dtype(ValueTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = x.data<T>();
      for (int64_t i = 0; i < x.element_count(); ++i)
        if (is_nonzero(p[i])) hits.push_back(i);
    });
    // A scalar is treated as shape [1] (as onnxruntime does).
    const std::vector<int64_t> shape = x.rank() == 0 ? std::vector<int64_t>{1} : x.shape();
    const int64_t n = static_cast<int64_t>(hits.size());
    Tensor& y = ctx.allocate_output(0, DataType::kInt64, {static_cast<int64_t>(shape.size()), n});
    int64_t* out = y.data<int64_t>();
    const std::vector<int64_t> strides = strides_of(shape);
    for (int64_t k = 0; k < n; ++k)
      for (size_t d = 0; d < shape.size(); ++d)
        out[static_cast<int64_t>(d) * n + k] = hits[static_cast<size_t>(k)] / strides[d] % shape[d];
  }
};

class Compress final : public Kernel {
 public:
  explicit Compress(const KernelInfo& info) {
    if (const ir::Attribute* a = info.node().find_attribute("axis")) axis_ = a->i;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& cond = ctx.required_input(1);
    if (cond.dtype() != DataType::kBool || cond.rank() != 1)
      invalid("input 'condition' must be a 1-D bool tensor, got " + cond.describe());
    Tensor flat = axis_ ? x : x.reshaped({x.element_count()});
    const int64_t rank = static_cast<int64_t>(flat.rank());
    const size_t axis = static_cast<size_t>(axis_ ? axis_in(*axis_, rank, "axis") : 0);
    const int64_t dim = flat.dim(axis);
    const int64_t n = std::min(dim, cond.element_count());
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < n; ++i)
      if (cond.data<bool>()[i]) keep.push_back(i);
    std::vector<int64_t> out_shape = flat.shape();
    out_shape[axis] = static_cast<int64_t>(keep.size());
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    std::vector<std::vector<int64_t>> maps(flat.rank());
    for (size_t d = 0; d < flat.rank(); ++d) {
      if (d == axis) {
        maps[d] = keep;
      } else {
        maps[d].resize(static_cast<size_t>(flat.dim(d)));
        std::iota(maps[d].begin(), maps[d].end(), int64_t{0});
      }
    }
    map_copy_any(flat, y, maps, nullptr, ctx.thread_pool());
  }

 private:
  std::optional<int64_t> axis_;  // "axis": absent = flatten
};

// A strict weak order for every element type: NaN sorts after every number and equals NaN.
template <typename T> bool less(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    return less(to_float(a), to_float(b));
  } else if constexpr (std::is_floating_point_v<T>) {
    return a < b || (!std::isnan(a) && std::isnan(b));
  } else {
    return a < b;
  }
}
template <typename T> bool equal(const T& a, const T& b) { return !less(a, b) && !less(b, a); }

class Unique final : public Kernel {
 public:
  explicit Unique(const KernelInfo& info) : sorted_(info.node().get_int("sorted", 1) != 0) {
    if (const ir::Attribute* a = info.node().find_attribute("axis")) axis_ = a->i;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    Tensor flat = axis_ ? x : x.reshaped({x.element_count()});
    const int64_t rank = static_cast<int64_t>(flat.rank());
    if (rank == 0) invalid("input must have rank >= 1 when 'axis' is given, got " + x.describe());
    const size_t axis = static_cast<size_t>(axis_ ? axis_in(*axis_, rank, "axis") : 0);
    const int64_t n = flat.dim(axis);
    const int64_t outer = product(flat.shape(), 0, axis), inner = product(flat.shape(), axis + 1, flat.rank());
    visit_dtype(Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool,
                      Float16, BFloat16, std::string>{},
                x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = flat.data<T>();
      // Slice k is p[o * n * inner + k * inner + i] over o, i.
      auto cmp = [&](int64_t a, int64_t b) {  // -1, 0, 1
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            const T& va = p[(o * n + a) * inner + i];
            const T& vb = p[(o * n + b) * inner + i];
            if (less(va, vb)) return -1;
            if (less(vb, va)) return 1;
          }
        return 0;
      };
      auto same = [&](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i)
            if (!equal(p[(o * n + a) * inner + i], p[(o * n + b) * inner + i])) return false;
        return true;
      };
      std::vector<int64_t> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), int64_t{0});
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
      // Groups of equal slices in sorted order; each group's first member is its first occurrence.
      std::vector<int64_t> first, count, group_of(static_cast<size_t>(n));
      for (size_t k = 0; k < order.size(); ++k) {
        if (k == 0 || !same(order[k - 1], order[k])) {
          first.push_back(order[k]);
          count.push_back(0);
        }
        ++count.back();
        group_of[static_cast<size_t>(order[k])] = static_cast<int64_t>(first.size()) - 1;
      }
      std::vector<int64_t> rank_of(first.size());  // group -> output position
      std::iota(rank_of.begin(), rank_of.end(), int64_t{0});
      if (!sorted_) {
        std::vector<int64_t> by_first(first.size());
        std::iota(by_first.begin(), by_first.end(), int64_t{0});
        std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return first[static_cast<size_t>(a)] < first[static_cast<size_t>(b)]; });
        for (size_t pos = 0; pos < by_first.size(); ++pos) rank_of[static_cast<size_t>(by_first[pos])] = static_cast<int64_t>(pos);
      }
      const int64_t u = static_cast<int64_t>(first.size());
      std::vector<int64_t> out_first(first.size()), out_count(first.size());
      for (size_t g = 0; g < first.size(); ++g) {
        out_first[static_cast<size_t>(rank_of[g])] = first[g];
        out_count[static_cast<size_t>(rank_of[g])] = count[g];
      }
      std::vector<int64_t> y_shape = flat.shape();
      y_shape[axis] = u;
      Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
      T* py = y.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < u; ++k)
          for (int64_t i = 0; i < inner; ++i)
            py[(o * u + k) * inner + i] = p[(o * n + out_first[static_cast<size_t>(k)]) * inner + i];
      auto emit = [&](size_t i, const std::vector<int64_t>& v) {
        if (ctx.output_count() <= i || !ctx.output_wanted(i)) return;
        Tensor& t = ctx.allocate_output(i, DataType::kInt64, {static_cast<int64_t>(v.size())});
        std::copy(v.begin(), v.end(), t.data<int64_t>());
      };
      std::vector<int64_t> inverse(static_cast<size_t>(n));
      for (size_t k = 0; k < inverse.size(); ++k) inverse[k] = rank_of[static_cast<size_t>(group_of[k])];
      emit(1, out_first);
      emit(2, inverse);
      emit(3, out_count);
    });
  }

 private:
  std::optional<int64_t> axis_;  // "axis": absent = flatten
  bool sorted_;                  // "sorted": 1
};

}  // namespace

void register_select_kernels(KernelRegistry& r) {
  r.add("NonZero", {9, 13}, make_kernel<NonZero>, ValueTypes::dtypes());
  r.add("Compress", {9, 11, 28}, make_kernel<Compress>).supports = input0_byte_addressable;
  r.add("Unique", {11, 28}, make_kernel<Unique>);
}

}  // namespace ferry::ep::cpu
