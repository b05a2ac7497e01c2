// Ops that make a tensor from sizes rather than from data: ConstantOfShape, Range, Size,
// EyeLike, OneHot. Sizes read from inputs are checked (negative, overflowing) and bounded by
// Tensor's allocation limit.
#include <cmath>

#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

using AllNumeric = Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t,
                         bool, Float16, BFloat16>;

template <typename T> T from_double(double v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}
template <typename T> double to_double(const T& v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return to_float(v);
  else return static_cast<double>(v);
}

class ConstantOfShape final : public Kernel {
 public:
  explicit ConstantOfShape(const KernelInfo& info) {
    const ir::Attribute* a = info.node().find_attribute("value");
    if (a && a->type == ir::AttributeType::kTensor) {
      if (a->t.element_count() != 1)
        throw Error(ErrorCode::kInvalidModel, "attribute 'value' must hold one element, got " + a->t.describe());
      value_ = a->t;
    } else {
      value_ = Tensor::zeros(DataType::kFloat, {1});  // "value": float 0
    }
  }

  void compute(KernelContext& ctx) const override {
    const std::vector<int64_t> shape = ints_of(ctx.required_input(0), "input 'input'");
    for (int64_t d : shape)
      if (d < 0) invalid("input 'input' " + shape_to_string(shape) + " has a negative dim");
    shape_element_count(shape);
    Tensor& y = ctx.allocate_output(0, value_.dtype(), shape);
    visit_by_size(value_.dtype(), "attribute 'value'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T v = value_.data<T>()[0];
      T* out = y.data<T>();
      ctx.thread_pool().parallel_for(y.element_count(), 1.0, [&](int64_t b, int64_t e) { std::fill(out + b, out + e, v); });
    });
  }

 private:
  Tensor value_;
};

/// Range's element count and values as numpy's arange computes them (onnx's reference):
/// n = ceil((limit - start) / delta); out[i] = start + i * ((start + delta) - start), in T.
/// `store(out, i, value)` writes element i of the output.
template <typename T, typename Store>
void range_fill(T s, T l, T d, KernelContext& ctx, DataType dtype, Store store) {
  if (d == T(0)) invalid("input 'delta' must not be zero");
  int64_t n = 0;
  if constexpr (std::is_integral_v<T>) {
    const __int128 span = static_cast<__int128>(l) - s;
    __int128 q = span / d;
    if (q * d != span && ((span > 0) == (d > 0))) ++q;  // ceil for same-sign operands
    if (q > static_cast<__int128>(INT64_MAX)) invalid("Range has too many elements");
    n = q > 0 ? static_cast<int64_t>(q) : 0;
  } else {
    const double c = std::ceil((static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d));
    if (std::isnan(c) || c > 9.0e18)
      invalid("Range of start " + std::to_string(s) + ", limit " + std::to_string(l) + ", delta " + std::to_string(d) +
              " has no finite element count");
    n = c > 0 ? static_cast<int64_t>(c) : 0;
  }
  Tensor& y = ctx.allocate_output(0, dtype, {n});
  T step = d;
  if constexpr (!std::is_integral_v<T>) step = static_cast<T>(static_cast<T>(s + d) - s);  // numpy's fill
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_integral_v<T>)  // the true value fits T; wrapping arithmetic reaches it without overflow
      store(y, i, static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(s)) +
                                 static_cast<uint64_t>(i) * static_cast<uint64_t>(static_cast<int64_t>(step))));
    else
      store(y, i, static_cast<T>(s + static_cast<T>(i) * step));
  }
}

class Range final : public Kernel {
 public:
  explicit Range(const KernelInfo& info) : stash_double_(info.node().get_int("stash_type", 1) == 11) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& start = ctx.required_input(0);
    const Tensor& limit = ctx.required_input(1);
    const Tensor& delta = ctx.required_input(2);
    for (const Tensor* t : {&start, &limit, &delta}) {
      if (t->element_count() != 1) invalid("inputs must be scalars, got " + t->describe());
      if (t->dtype() != start.dtype()) invalid("inputs must have one type, got " + start.describe() + " and " + t->describe());
    }
    const DataType dt = start.dtype();
    visit_dtype(Types<float, double, int16_t, int32_t, int64_t, Float16, BFloat16>{}, dt, "input 'start'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T s = start.data<T>()[0], l = limit.data<T>()[0], d = delta.data<T>()[0];
      if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
        // The half types compute in float or double ("stash_type") and round once.
        auto compute_in = [&](auto c) {
          using C = decltype(c);
          range_fill<C>(static_cast<C>(to_float(s)), static_cast<C>(to_float(l)), static_cast<C>(to_float(d)), ctx, dt,
                        [](Tensor& y, int64_t i, C v) { y.data<T>()[i] = from_double<T>(static_cast<double>(v)); });
        };
        if (stash_double_) compute_in(0.0);
        else compute_in(0.0f);
      } else {
        range_fill<T>(s, l, d, ctx, dt, [](Tensor& y, int64_t i, T v) { y.data<T>()[i] = v; });
      }
    });
  }

 private:
  bool stash_double_;  // "stash_type" (opset 27): 1 = float, 11 = double; half inputs only
};

class Size final : public Kernel {
 public:
  explicit Size(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    ctx.allocate_output(0, DataType::kInt64, {}).data<int64_t>()[0] = x.element_count();
  }
};

class EyeLike final : public Kernel {
 public:
  explicit EyeLike(const KernelInfo& info)
      : dtype_(static_cast<DataType>(info.node().get_int("dtype", 0))), k_(info.node().get_int("k", 0)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() != 2) invalid("input must be 2-D, got " + x.describe());
    const DataType dt = dtype_ == DataType::kUndefined ? x.dtype() : dtype_;
    Tensor& y = ctx.allocate_output(0, dt, x.shape());
    const int64_t rows = x.dim(0), cols = x.dim(1);
    visit_dtype(AllNumeric{}, dt, "output", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y.data<T>();
      std::fill(out, out + y.element_count(), T{});
      const T one = from_double<T>(1.0);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r + k_;
        if (c >= 0 && c < cols) out[r * cols + c] = one;
      }
    });
  }

 private:
  DataType dtype_;  // "dtype": the input's type
  int64_t k_;       // "k": 0
};

class OneHot final : public Kernel {
 public:
  explicit OneHot(const KernelInfo& info) : axis_(info.node().get_int("axis", -1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& indices = ctx.required_input(0);
    const Tensor& depth_t = ctx.required_input(1);
    const Tensor& values = ctx.required_input(2);
    if (depth_t.element_count() != 1) invalid("input 'depth' must have one element, got " + depth_t.describe());
    if (values.element_count() != 2) invalid("input 'values' must have two elements [off, on], got " + values.describe());
    const double depth_d = visit_dtype(AllNumeric{}, depth_t.dtype(), "input 'depth'",
                                       [&](auto tag) { return to_double(depth_t.data<typename decltype(tag)::type>()[0]); });
    if (!(depth_d >= 1) || depth_d > 9.0e18) invalid("input 'depth' must be positive, got " + std::to_string(depth_d));
    const int64_t depth = static_cast<int64_t>(depth_d);
    const int64_t rank = static_cast<int64_t>(indices.rank()) + 1;
    const size_t axis = static_cast<size_t>(axis_in(axis_, rank, "axis"));
    std::vector<int64_t> out_shape = indices.shape();
    out_shape.insert(out_shape.begin() + static_cast<std::ptrdiff_t>(axis), depth);
    shape_element_count(out_shape);
    std::vector<int64_t> idx(static_cast<size_t>(indices.element_count()));
    visit_dtype(AllNumeric{}, indices.dtype(), "input 'indices'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* p = indices.data<T>();
      for (size_t i = 0; i < idx.size(); ++i) {
        const double v = to_double(p[i]);
        idx[i] = std::isfinite(v) && std::fabs(v) < 9.0e18 ? static_cast<int64_t>(v) : -depth - 1;
        if (idx[i] < 0) idx[i] += depth;  // negative counts from the end; still negative: off
      }
    });
    Tensor& y = ctx.allocate_output(0, values.dtype(), out_shape);
    if (y.element_count() == 0) return;
    const int64_t outer = product(indices.shape(), 0, axis);
    const int64_t inner = product(indices.shape(), axis, indices.rank());
    visit_by_size(values.dtype(), "input 'values'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T off = values.data<T>()[0], on = values.data<T>()[1];
      T* out = y.data<T>();
      ctx.thread_pool().parallel_for(outer, static_cast<double>(depth * inner), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          T* block = out + o * depth * inner;
          std::fill(block, block + depth * inner, off);
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t v = idx[static_cast<size_t>(o * inner + i)];
            if (v >= 0 && v < depth) block[v * inner + i] = on;
          }
        }
      });
    });
  }

 private:
  int64_t axis_;  // "axis": -1
};

}  // namespace

void register_generator_kernels(KernelRegistry& r) {
  r.add("ConstantOfShape", {9, 20, 21, 23, 24, 25}, make_kernel<ConstantOfShape>);
  r.add("Range", {11, 27}, make_kernel<Range>, Types<float, double, int16_t, int32_t, int64_t, Float16, BFloat16>::dtypes());
  r.add("Size", {1, 13, 19, 21, 23, 24, 25}, make_kernel<Size>);
  r.add("EyeLike", {9, 22}, make_kernel<EyeLike>, AllNumeric::dtypes());
  r.add("OneHot", {9, 11, 28}, make_kernel<OneHot>);
}

}  // namespace ferry::ep::cpu
