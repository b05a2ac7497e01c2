// The Reduce* family (Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare) over any
// set of axes, and ArgMax/ArgMin over one axis. Axes come from the "axes" attribute until the
// opset where they became an optional input (ReduceSum 13, the others 18). Reducing over an
// empty set of elements gives the reduction's identity (0 for sums, 1 for Prod, -inf for Max,
// +inf for Min, -inf for LogSum/LogSumExp, NaN for Mean).
#include <cmath>
#include <limits>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/reduce/axes.h"
#include "execution_providers/cpu/reduce/reduce.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

using SumTypes = Types<float, double, Float16, BFloat16, int32_t, int64_t, uint32_t, uint64_t>;
using MaxMinTypes = Types<float, double, Float16, BFloat16, int32_t, int64_t, uint32_t, uint64_t, int8_t, uint8_t, bool>;
using ArgTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t,
                       int64_t, uint64_t>;

struct ReduceAttributes {
  std::vector<int64_t> axes;  // "axes": all axes when empty (attribute form)
  bool keepdims;              // "keepdims": 1
  bool noop_with_empty_axes;  // "noop_with_empty_axes": 0 (input form only)
  bool axes_from_input;       // axes are input 1 from ReduceSum-13 / others-18

  ReduceAttributes(const ir::Node& n, int64_t opset, int64_t axes_input_since)
      : axes(n.get_ints("axes")),
        keepdims(n.get_int("keepdims", 1) != 0),
        noop_with_empty_axes(n.get_int("noop_with_empty_axes", 0) != 0),
        axes_from_input(opset >= axes_input_since) {}
};

/// Reduces x[offs[0]], x[offs[1]], ... (x points at the output element's first input).
template <ReduceKind K, typename T>
T reduce_one(const T* x, const std::vector<int64_t>& offs) {
  using C = compute_t<T>;
  const size_t n = offs.size();
  if constexpr (K == ReduceKind::kMax || K == ReduceKind::kMin) {
    if (n == 0) {
      if constexpr (std::is_same_v<C, bool>) return from_compute<T>(K == ReduceKind::kMin);
      else if constexpr (std::numeric_limits<C>::has_infinity)
        return from_compute<T>(K == ReduceKind::kMax ? -std::numeric_limits<C>::infinity()
                                                     : std::numeric_limits<C>::infinity());
      else return K == ReduceKind::kMax ? std::numeric_limits<C>::lowest() : std::numeric_limits<C>::max();
    }
    C best = to_compute(x[offs[0]]);
    for (size_t i = 1; i < n; ++i) {
      const C v = to_compute(x[offs[i]]);
      if constexpr (std::is_floating_point_v<C>) {
        if (std::isnan(v)) return from_compute<T>(v);
      }
      if (K == ReduceKind::kMax ? v > best : v < best) best = v;
    }
    return from_compute<T>(best);
  } else if constexpr (kIsFloating<T>) {
    double acc = K == ReduceKind::kProd ? 1.0 : 0.0;
    double mx = -std::numeric_limits<double>::infinity();
    if constexpr (K == ReduceKind::kLogSumExp) {
      for (size_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(to_compute(x[offs[i]])));
      if (!std::isfinite(mx)) mx = 0;
    }
    for (size_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(to_compute(x[offs[i]]));
      switch (K) {
        case ReduceKind::kProd: acc *= v; break;
        case ReduceKind::kL1: acc += std::abs(v); break;
        case ReduceKind::kL2:
        case ReduceKind::kSumSquare: acc += v * v; break;
        case ReduceKind::kLogSumExp: acc += std::exp(v - mx); break;
        default: acc += v; break;
      }
    }
    switch (K) {
      case ReduceKind::kMean: acc = n == 0 ? std::numeric_limits<double>::quiet_NaN() : acc / static_cast<double>(n); break;
      case ReduceKind::kL2: acc = std::sqrt(acc); break;
      case ReduceKind::kLogSum: acc = std::log(acc); break;
      case ReduceKind::kLogSumExp: acc = std::log(acc) + mx; break;
      default: break;
    }
    return from_compute<T>(acc);
  } else {
    // Integers: sums and products wrap (two's complement), as onnxruntime's do.
    using W = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
    if constexpr (K == ReduceKind::kL2 || K == ReduceKind::kLogSum || K == ReduceKind::kLogSumExp) {
      double acc = 0;
      for (size_t i = 0; i < n; ++i) {
        const double v = static_cast<double>(x[offs[i]]);
        acc += K == ReduceKind::kLogSumExp ? std::exp(v) : K == ReduceKind::kL2 ? v * v : v;
      }
      return static_cast<T>(K == ReduceKind::kL2 ? std::sqrt(acc) : std::log(acc));
    } else {
      uint64_t acc = K == ReduceKind::kProd ? 1 : 0;
      for (size_t i = 0; i < n; ++i) {
        const uint64_t v = static_cast<uint64_t>(static_cast<W>(x[offs[i]]));
        switch (K) {
          case ReduceKind::kProd: acc *= v; break;
          case ReduceKind::kSumSquare: acc += v * v; break;
          case ReduceKind::kL1: {
            const W s = static_cast<W>(x[offs[i]]);
            acc += static_cast<uint64_t>(s < 0 ? W(0) - s : s);
            break;
          }
          default: acc += v; break;
        }
      }
      if constexpr (K == ReduceKind::kMean) {
        if (n == 0) return T(0);
        return static_cast<T>(static_cast<W>(acc) / static_cast<W>(n));
      }
      return static_cast<T>(acc);
    }
  }
}

/// The number of elements each output reduces when the reduced dims are exactly the trailing
/// ones (contiguous rows); 0 otherwise.
int64_t trailing_reduced_length(const std::vector<int64_t>& shape, const std::vector<bool>& reduced) {
  size_t first = reduced.size();
  while (first > 0 && reduced[first - 1]) --first;
  if (first == reduced.size()) return 0;
  for (size_t d = 0; d < first; ++d)
    if (reduced[d]) return 0;
  return product(shape, first, shape.size());
}

/// Float Sum / Mean / Max over contiguous rows of `len` with the vectorised kernels (sums in
/// double, as reduce_one does).
template <ReduceKind K>
void reduce_rows_float(const KernelContext& ctx, const float* px, float* py, int64_t rows, int64_t len) {
  ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 0.5 + 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* row = px + r * len;
      if constexpr (K == ReduceKind::kMax) {
        py[r] = simd::reduce_max(row, len);
      } else {
        const double s = simd::reduce_sum_double(row, len);
        py[r] = static_cast<float>(K == ReduceKind::kMean ? s / static_cast<double>(len) : s);
      }
    }
  });
}

template <ReduceKind K, typename TypeList>
class Reduce final : public Kernel {
 public:
  Reduce(const KernelInfo& info, int64_t axes_input_since) : attrs_(info.node(), info.opset(), axes_input_since) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> axes = attrs_.axes;
    if (attrs_.axes_from_input) {
      const Tensor* a = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
      axes = a != nullptr && a->defined() ? read_int_list(*a, ctx, "input 'axes'") : std::vector<int64_t>{};
    }
    // No axes reduce over all dims, except with noop_with_empty_axes: then each element is
    // reduced alone (ReduceL1 gives |x|, ReduceSumSquare x*x...), as the reference defines it.
    const bool noop = attrs_.axes_from_input && axes.empty() && attrs_.noop_with_empty_axes;
    std::vector<bool> reduced(x.rank(), axes.empty() && !noop);
    for (int64_t a : axes) {
      if (a < -rank || a >= rank)
        fail(ctx, ErrorCode::kInvalidArgument, "axis " + std::to_string(a) + " is out of range for input " +
                                                   x.describe() + " (valid: [" + std::to_string(-rank) + ", " +
                                                   std::to_string(rank - 1) + "])");
      reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
    }
    std::vector<int64_t> y_shape;
    for (size_t d = 0; d < x.rank(); ++d) {
      if (!reduced[d]) y_shape.push_back(x.dim(d));
      else if (attrs_.keepdims) y_shape.push_back(1);
    }
    std::vector<bool> kept(reduced.size());
    for (size_t d = 0; d < reduced.size(); ++d) kept[d] = !reduced[d];
    visit_dtype(TypeList{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Tensor& y = ctx.allocate_output(0, x.dtype(), y_shape);
      if (y.element_count() == 0) return;
      std::vector<int64_t> red;
      if (x.element_count() > 0) red = combination_offsets(x.shape(), reduced);
      const std::vector<int64_t> base = x.element_count() > 0
                                            ? combination_offsets(x.shape(), kept)
                                            : std::vector<int64_t>(static_cast<size_t>(y.element_count()), 0);
      const T* px = x.data<T>();
      T* py = y.data<T>();
      if constexpr (std::is_same_v<T, float> &&
                    (K == ReduceKind::kSum || K == ReduceKind::kMean || K == ReduceKind::kMax)) {
        const int64_t len = trailing_reduced_length(x.shape(), reduced);
        if (len > 0 && x.element_count() == y.element_count() * len) {
          reduce_rows_float<K>(ctx, px, py, y.element_count(), len);
          return;
        }
      }
      ctx.thread_pool().parallel_for(y.element_count(), static_cast<double>(red.size()) + 1, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) py[o] = reduce_one<K, T>(px + base[static_cast<size_t>(o)], red);
      });
    });
  }

 private:
  ReduceAttributes attrs_;
};

template <ReduceKind K, typename TypeList, int64_t kAxesInputSince>
std::unique_ptr<Kernel> make_reduce(const KernelInfo& info) {
  return std::make_unique<Reduce<K, TypeList>>(info, kAxesInputSince);
}

/// Integer and bool element types of ReduceMax/ReduceMin exist from opsets 12 (int8/uint8) and
/// 20 (bool); the 32/64-bit integers from 1.
bool max_min_supports(const ir::Node& node, int64_t opset) {
  const ir::Value* x = node.input(0);
  if (x == nullptr) return true;
  const DataType dt = x->dtype();
  if (dt == DataType::kBool) return opset >= 20;
  if (dt == DataType::kInt8 || dt == DataType::kUInt8) return opset >= 12;
  return true;
}

struct ArgAttributes {
  int64_t axis;            // "axis": 0
  bool keepdims;           // "keepdims": 1
  bool select_last_index;  // "select_last_index": 0 (opset 12+)
  explicit ArgAttributes(const ir::Node& n)
      : axis(n.get_int("axis", 0)),
        keepdims(n.get_int("keepdims", 1) != 0),
        select_last_index(n.get_int("select_last_index", 0) != 0) {}
};

template <bool kMax>
class ArgReduce final : public Kernel {
 public:
  explicit ArgReduce(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(x.rank()));
    const size_t axis = static_cast<size_t>(normalize_axis(attrs_.axis, rank, ctx.node()));
    std::vector<int64_t> shape = x.shape();
    if (shape.empty()) shape.push_back(1);
    const int64_t outer = product(shape, 0, axis), len = shape[axis], inner = product(shape, axis + 1, shape.size());
    std::vector<int64_t> y_shape = shape;
    if (attrs_.keepdims) y_shape[axis] = 1;
    else y_shape.erase(y_shape.begin() + static_cast<std::ptrdiff_t>(axis));
    if (x.rank() == 0 && !attrs_.keepdims) y_shape.clear();
    if (len == 0 && outer * inner > 0)
      fail(ctx, ErrorCode::kInvalidArgument, "cannot take the arg" + std::string(kMax ? "max" : "min") +
                                                 " over empty axis " + std::to_string(axis) + " of " + x.describe());
    visit_dtype(ArgTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      int64_t* py = ctx.allocate_output(0, DataType::kInt64, y_shape).template data<int64_t>();
      const bool last = attrs_.select_last_index;
      ctx.thread_pool().parallel_for(outer * inner, static_cast<double>(len), [&](int64_t b, int64_t e) {
        for (int64_t g = b; g < e; ++g) {
          const T* p = px + (g / inner) * len * inner + g % inner;
          auto best = to_compute(p[0]);
          int64_t bi = 0;
          for (int64_t i = 1; i < len; ++i) {
            const auto v = to_compute(p[i * inner]);
            const bool better = kMax ? (last ? v >= best : v > best) : (last ? v <= best : v < best);
            if (better) {
              best = v;
              bi = i;
            }
          }
          py[g] = bi;
        }
      });
    });
  }

 private:
  ArgAttributes attrs_;
};

}  // namespace

void register_reduce_ops(KernelRegistry& r) {
  using K = ReduceKind;
  const std::vector<int> v18 = {1, 11, 13, 18};
  r.add("ReduceSum", {1, 11, 13}, make_reduce<K::kSum, SumTypes, 13>, SumTypes::dtypes());
  r.add("ReduceMean", v18, make_reduce<K::kMean, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceProd", v18, make_reduce<K::kProd, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceL1", v18, make_reduce<K::kL1, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceL2", v18, make_reduce<K::kL2, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceSumSquare", v18, make_reduce<K::kSumSquare, SumTypes, 18>, SumTypes::dtypes());
  // Opset 28 keeps only the floating types.
  r.add("ReduceLogSum", {1, 11, 13, 18, 28}, make_reduce<K::kLogSum, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceLogSumExp", {1, 11, 13, 18, 28}, make_reduce<K::kLogSumExp, SumTypes, 18>, SumTypes::dtypes());
  r.add("ReduceMax", {1, 11, 12, 13, 18, 20}, make_reduce<K::kMax, MaxMinTypes, 18>, MaxMinTypes::dtypes())
      .supports = max_min_supports;
  r.add("ReduceMin", {1, 11, 12, 13, 18, 20}, make_reduce<K::kMin, MaxMinTypes, 18>, MaxMinTypes::dtypes())
      .supports = max_min_supports;
  r.add("ArgMax", {1, 11, 12, 13}, make_kernel<ArgReduce<true>>, ArgTypes::dtypes());
  r.add("ArgMin", {1, 11, 12, 13}, make_kernel<ArgReduce<false>>, ArgTypes::dtypes());
}

}  // namespace ferry::ep::cpu
