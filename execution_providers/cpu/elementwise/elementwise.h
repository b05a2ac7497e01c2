// Shared pieces of the element-wise kernel family (execution_providers/cpu/elementwise/):
// half-precision load/store through float, the type lists of the ONNX specs, and an N-input
// multidirectional broadcast plan. Internal to this family.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

// Sub-family registrations, each in its own file; register_elementwise_kernels calls them.
void register_unary_math_kernels(KernelRegistry& r);   // elementwise/unary.cc
void register_activation_ext_kernels(KernelRegistry& r);  // elementwise/activations.cc
void register_binary_ext_kernels(KernelRegistry& r);   // elementwise/binary.cc
void register_variadic_kernels(KernelRegistry& r);     // elementwise/variadic.cc
void register_softmax_ext_kernels(KernelRegistry& r);  // elementwise/softmax.cc

namespace ew {

using HalfTypes = Types<Float16, BFloat16>;
using FloatAll = Types<float, double, Float16, BFloat16>;
using SignedInts = Types<int8_t, int16_t, int32_t, int64_t>;
using FloatAllInts = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t,
                           int32_t, uint32_t, int64_t, uint64_t>;
using FloatAllSigned = Types<float, double, Float16, BFloat16, int8_t, int16_t, int32_t, int64_t>;

template <typename T>
inline constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

/// The type arithmetic on T is done in: float for the half types, T otherwise.
template <typename T> using Compute = std::conditional_t<kIsHalf<T>, float, T>;

/// The value to compute with: a float for the half types, a reference to v otherwise.
template <typename T> inline decltype(auto) load(const T& v) {
  if constexpr (kIsHalf<T>) return to_float(v);
  else return (v);
}
template <typename T> inline T store(Compute<T> v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(v);
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(v);
  else return v;
}

template <typename... A, typename... B>
auto concat_types(Types<A...>, Types<B...>) -> Types<A..., B...>;

/// Ops without attributes: constructed from the node like the ones with attributes.
struct NoAttributes {
  NoAttributes(const ir::Node&, int64_t) {}
};

/// An op with a vectorised float kernel, `void simd(const float* x, float* y, int64_t n) const`
/// (or static; see simd/vmath.h), used instead of op(x) for float tensors.
template <typename Op>
concept HasFloatSimd = requires(const Op& op, const float* x, float* y, int64_t n) { op.simd(x, y, n); };

/// y = op(x) element by element, the half types computed through float. Op is constructed once
/// from (node, opset) and called as op(Compute<T>) -> Compute<T>; `cost` is rough ns per element.
/// Safe in place (each output reads only its own input element).
template <typename Op, typename TypeList, int cost = 1>
class UnaryKernel final : public Kernel {
 public:
  explicit UnaryKernel(const KernelInfo& info) : op_(info.node(), info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    visit_dtype(TypeList{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      if constexpr (std::is_same_v<T, float> && HasFloatSimd<Op>) {
        ctx.thread_pool().parallel_for(x.element_count(), cost / 8.0, [&](int64_t b, int64_t e) {
          op_.simd(px + b, py + b, e - b);
        });
      } else {
        ctx.thread_pool().parallel_for(x.element_count(), cost, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) py[i] = store<T>(op_(load(px[i])));
        });
      }
    });
  }

 private:
  Op op_;
};

/// Broadcast of any number of input shapes; kInvalidArgument naming the node when incompatible.
inline std::vector<int64_t> broadcast_all(const std::vector<std::span<const int64_t>>& shapes,
                                          const ir::Node& node) {
  std::vector<int64_t> out;
  for (auto s : shapes) out = broadcast_shape(out, s, node);
  return out;
}

/// Iteration plan for out[i] = f(in_0[i_0], ..., in_{n-1}[i_{n-1}]) under multidirectional
/// broadcasting. Dims where every input behaves alike are merged, so the innermost run is as
/// long as possible. Each row is `inner` contiguous outputs; input k advances by step[k]
/// (0: broadcast, 1: contiguous) within a row.
struct NaryPlan {
  std::vector<int64_t> out_shape;
  int64_t inner = 1, rows = 1;
  std::vector<int64_t> step;  ///< per input

  NaryPlan(const std::vector<std::span<const int64_t>>& shapes, const ir::Node& node)
      : out_shape(broadcast_all(shapes, node)), step(shapes.size(), 1) {
    const size_t rank = out_shape.size(), n = shapes.size();
    std::vector<int64_t> dims;
    std::vector<std::vector<bool>> varies;  // per merged dim, per input
    for (size_t i = 0; i < rank; ++i) {
      if (out_shape[i] == 1) continue;
      std::vector<bool> v(n);
      for (size_t k = 0; k < n; ++k) {
        const auto& s = shapes[k];
        v[k] = i >= rank - s.size() && s[i - (rank - s.size())] != 1;
      }
      if (!dims.empty() && varies.back() == v) {
        dims.back() *= out_shape[i];
      } else {
        dims.push_back(out_shape[i]);
        varies.push_back(std::move(v));
      }
    }
    if (dims.empty()) {
      dims.push_back(1);
      varies.emplace_back(n, true);
    }
    inner = dims.back();
    outer_dims_.assign(dims.begin(), dims.end() - 1);
    strides_.assign(n, std::vector<int64_t>(outer_dims_.size(), 0));
    for (size_t k = 0; k < n; ++k) {
      step[k] = varies.back()[k] ? 1 : 0;
      int64_t s = varies.back()[k] ? inner : 1;
      for (size_t i = outer_dims_.size(); i-- > 0;) {
        if (varies[i][k]) {
          strides_[k][i] = s;
          s *= dims[i];
        }
      }
    }
    rows = product(outer_dims_);
    if (product(out_shape) == 0) rows = 0;
  }

  /// Calls row_fn(row, offsets) for rows [begin, end); offsets[k] is input k's element offset.
  template <typename RowFn>
  void for_rows(int64_t begin, int64_t end, RowFn&& row_fn) const {
    if (begin >= end) return;
    const size_t d = outer_dims_.size(), n = strides_.size();
    std::vector<int64_t> idx(d, 0), off(n, 0);
    int64_t r = begin;
    for (size_t i = d; i-- > 0;) {
      idx[i] = r % outer_dims_[i];
      r /= outer_dims_[i];
      for (size_t k = 0; k < n; ++k) off[k] += idx[i] * strides_[k][i];
    }
    for (int64_t row = begin; row < end; ++row) {
      row_fn(row, static_cast<const int64_t*>(off.data()));
      for (size_t i = d; i-- > 0;) {
        ++idx[i];
        for (size_t k = 0; k < n; ++k) off[k] += strides_[k][i];
        if (idx[i] < outer_dims_[i]) break;
        for (size_t k = 0; k < n; ++k) off[k] -= strides_[k][i] * outer_dims_[i];
        idx[i] = 0;
      }
    }
  }

 private:
  std::vector<int64_t> outer_dims_;
  std::vector<std::vector<int64_t>> strides_;  ///< [input][outer dim]
};

/// out[i] = f(a[ia], b[ib]) over a broadcast, in parallel. A, B, O are storage types; f takes
/// and returns storage types. Safe when out is exactly a (or b) with the output's shape.
template <typename A, typename B, typename O, typename F>
void broadcast_binary(const KernelContext& ctx, const NaryPlan& plan, const A* a, const B* b, O* out,
                      F&& f) {
  const int64_t n = plan.inner, sa = plan.step[0], sb = plan.step[1];
  ctx.thread_pool().parallel_for(plan.rows, static_cast<double>(n), [&](int64_t begin, int64_t end) {
    plan.for_rows(begin, end, [&](int64_t row, const int64_t* off) {
      const A* pa = a + off[0];
      const B* pb = b + off[1];
      O* po = out + row * n;
      if (sa && sb) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
      } else if (sa) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[0]);
      } else if (sb) {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[0], pb[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) po[i] = f(pa[0], pb[0]);
      }
    });
  });
}

}  // namespace ew
}  // namespace ferry::ep::cpu
