// Shared helpers for CPU kernels: dtype dispatch, half-precision storage types, broadcasting,
// axis normalisation and error construction. Header-only; everything is inline or a template.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "execution_providers/kernel.h"
#include "ferry/error.h"
#include "ferry/tensor.h"

namespace ferry::ep::cpu {

// ---------------------------------------------------------------------------------------------
// Half-precision storage types. Arithmetic goes through float; conversions round to nearest even.

struct Float16 {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float to_float(Float16 h) {
  const uint32_t sign = static_cast<uint32_t>(h.bits & 0x8000u) << 16;
  const uint32_t exp = (h.bits >> 10) & 0x1fu;
  uint32_t mant = h.bits & 0x3ffu;
  if (exp == 0x1f) return bits_to_float(sign | 0x7f800000u | (mant << 13));  // inf / nan
  if (exp != 0) return bits_to_float(sign | ((exp + 112) << 23) | (mant << 13));
  // Zero or subnormal: mant * 2^-24 is exact in float.
  const float v = static_cast<float>(mant) * 5.9604644775390625e-08f;
  return bits_to_float(sign | float_to_bits(v));
}

inline Float16 to_float16(float f) {
  const uint32_t u = float_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return {static_cast<uint16_t>(sign | 0x7e00u)};  // nan
  if (abs >= 0x477ff000u) return {static_cast<uint16_t>(sign | 0x7c00u)};  // rounds to inf
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: add a magic number so the FPU rounds to nearest even.
    const float magic = bits_to_float(0x3f000000u);  // 0.5: shifts mantissa into place
    const uint32_t r = float_to_bits(bits_to_float(abs) + magic) - float_to_bits(magic);
    return {static_cast<uint16_t>(sign | r)};
  }
  const uint32_t mant_odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xc8000fffu + mant_odd;  // rebias exponent (-112<<23) + RNE
  return {static_cast<uint16_t>(sign | (rounded >> 13))};
}

inline float to_float(BFloat16 b) { return bits_to_float(static_cast<uint32_t>(b.bits) << 16); }

inline BFloat16 to_bfloat16(float f) {
  const uint32_t u = float_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<uint16_t>((u >> 16) | 0x40u)};  // quiet nan
  const uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<uint16_t>(rounded >> 16)};
}

// ---------------------------------------------------------------------------------------------
// C++ type <-> DataType.

template <typename T> struct DTypeOf;
#define FERRY_DTYPE_OF(T, D) \
  template <> struct DTypeOf<T> { static constexpr DataType value = DataType::D; };
FERRY_DTYPE_OF(float, kFloat)
FERRY_DTYPE_OF(double, kDouble)
FERRY_DTYPE_OF(int8_t, kInt8)
FERRY_DTYPE_OF(uint8_t, kUInt8)
FERRY_DTYPE_OF(int16_t, kInt16)
FERRY_DTYPE_OF(uint16_t, kUInt16)
FERRY_DTYPE_OF(int32_t, kInt32)
FERRY_DTYPE_OF(uint32_t, kUInt32)
FERRY_DTYPE_OF(int64_t, kInt64)
FERRY_DTYPE_OF(uint64_t, kUInt64)
FERRY_DTYPE_OF(bool, kBool)
FERRY_DTYPE_OF(Float16, kFloat16)
FERRY_DTYPE_OF(BFloat16, kBFloat16)
FERRY_DTYPE_OF(std::string, kString)
#undef FERRY_DTYPE_OF
template <typename T> inline constexpr DataType kDTypeOf = DTypeOf<T>::value;

/// A list of C++ element types a kernel supports; `dtypes()` gives them for registration.
template <typename... Ts> struct Types {
  static std::vector<DataType> dtypes() { return {kDTypeOf<Ts>...}; }
};
using FloatTypes = Types<float, double>;
using IntTypes = Types<int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;
using NumericTypes =
    Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;

/// Calls `f(std::type_identity<T>{})` for the T in Ts whose DataType is `dt`; throws
/// kNotImplemented naming `what` (which input: "input", "input 'B'") when none matches. The one place a
/// kernel switches on dtype (STYLE 6).
template <typename... Ts, typename F>
decltype(auto) visit_dtype(Types<Ts...>, DataType dt, const std::string& what, F&& f) {
  using R = decltype(f(std::type_identity<std::tuple_element_t<0, std::tuple<Ts...>>>{}));
  if constexpr (std::is_void_v<R>) {
    bool done = ((dt == kDTypeOf<Ts> ? (f(std::type_identity<Ts>{}), true) : false) || ...);
    if (!done)
      throw Error(ErrorCode::kNotImplemented,
                  what + ": element type '" + std::string(dtype_name(dt)) + "' is not supported");
  } else {
    R result{};
    bool done = ((dt == kDTypeOf<Ts> ? (result = f(std::type_identity<Ts>{}), true) : false) || ...);
    if (!done)
      throw Error(ErrorCode::kNotImplemented,
                  what + ": element type '" + std::string(dtype_name(dt)) + "' is not supported");
    return result;
  }
}

/// The storage-compatible unsigned type for element copies by size (type-agnostic kernels).
template <size_t N> struct UIntOfSize;
template <> struct UIntOfSize<1> { using type = uint8_t; };
template <> struct UIntOfSize<2> { using type = uint16_t; };
template <> struct UIntOfSize<4> { using type = uint32_t; };
template <> struct UIntOfSize<8> { using type = uint64_t; };

/// For type-agnostic kernels (Transpose, Concat, Gather...): calls f with uint8/16/32/64_t by
/// element size, or std::string for strings; throws for sub-byte and complex types.
template <typename F>
void visit_by_size(DataType dt, const std::string& what, F&& f) {
  if (dt == DataType::kString) return f(std::type_identity<std::string>{});
  switch (dt == DataType::kBool ? 8 : dtype_bits(dt)) {
    case 8: return f(std::type_identity<uint8_t>{});
    case 16: return f(std::type_identity<uint16_t>{});
    case 32: return f(std::type_identity<uint32_t>{});
    case 64: return f(std::type_identity<uint64_t>{});
    default:
      throw Error(ErrorCode::kNotImplemented,
                  what + ": element type '" + std::string(dtype_name(dt)) + "' is not supported");
  }
}

/// True for element types visit_by_size handles (capability predicates use it).
inline bool byte_addressable(DataType dt) {
  if (dt == DataType::kUndefined) return true;  // unknown at load: decided at run time
  if (dt == DataType::kString || dt == DataType::kBool) return true;
  if (dt == DataType::kComplex64 || dt == DataType::kComplex128) return false;
  const size_t b = dtype_bits(dt);
  return b == 8 || b == 16 || b == 32 || b == 64;
}

// ---------------------------------------------------------------------------------------------
// Errors and small shape helpers.

// The runtime prefixes every kernel error with the model and the node (name, op, opset), so
// kernel messages say only what is wrong with which input or attribute.
[[noreturn]] inline void fail(const KernelContext&, ErrorCode code, const std::string& msg) {
  throw Error(code, msg);
}
[[noreturn]] inline void fail_model(const KernelInfo&, const std::string& msg) {
  throw Error(ErrorCode::kInvalidModel, msg);
}

/// Normalises a possibly negative axis into [0, rank); kInvalidArgument naming `what` otherwise.
inline int64_t checked_axis(int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    throw Error(ErrorCode::kInvalidArgument, what + " " + std::to_string(axis) + " is out of range for rank " +
                                                 std::to_string(rank) + " (valid: [" + std::to_string(-rank) +
                                                 ", " + std::to_string(rank - 1) + "])");
  return axis < 0 ? axis + rank : axis;
}
inline int64_t normalize_axis(int64_t axis, int64_t rank, const ir::Node& /*node*/) {
  return checked_axis(axis, rank, "axis");
}

inline int64_t product(std::span<const int64_t> dims, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= dims[i];
  return p;
}
inline int64_t product(std::span<const int64_t> dims) { return product(dims, 0, dims.size()); }

/// Elements of an int32/int64 tensor (shapes, axes...) as int64s; kInvalidArgument naming
/// `what` for other element types.
inline std::vector<int64_t> read_ints(const Tensor& t, const std::string& what) {
  std::vector<int64_t> out(static_cast<size_t>(t.element_count()));
  if (t.dtype() == DataType::kInt64) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<int32_t>()[i];
  } else {
    throw Error(ErrorCode::kInvalidArgument, what + " must be int32 or int64, got " + t.describe());
  }
  return out;
}
inline std::vector<int64_t> read_int_list(const Tensor& t, const KernelContext&, const char* what) {
  return read_ints(t, what);
}

/// Copies `count` elements (any byte-addressable type, strings included).
inline void copy_elements(const Tensor& src, Tensor& dst) {
  if (src.raw_data() == dst.raw_data()) return;
  if (src.dtype() == DataType::kString) {
    const auto* s = src.data<std::string>();
    auto* d = dst.data<std::string>();
    for (int64_t i = 0; i < src.element_count(); ++i) d[i] = s[i];
  } else if (src.byte_size() > 0) {
    std::memcpy(dst.raw_data(), src.raw_data(), src.byte_size());
  }
}

// ---------------------------------------------------------------------------------------------
// Multidirectional (numpy) broadcasting.

/// Output shape of broadcasting a with b; kInvalidArgument naming the node when incompatible.
inline std::vector<int64_t> broadcast_shape(std::span<const int64_t> a, std::span<const int64_t> b,
                                            const ir::Node& /*node*/) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                      " cannot be broadcast (dim " + std::to_string(i) + ": " + std::to_string(da) +
                      " vs " + std::to_string(db) + ")");
    }
  }
  return out;
}

/// Iteration plan for out[i] = f(a[ia], b[ib]) under broadcasting. Dims are collapsed where
/// both inputs behave alike, so the innermost run is as long as possible. Rows are the outer
/// index space; each row is `inner` contiguous outputs, with a and b advancing by a_step /
/// b_step (0 = broadcast, 1 = contiguous).
struct BroadcastPlan {
  std::vector<int64_t> out_shape;
  std::vector<int64_t> outer_dims;  ///< collapsed dims except the innermost
  std::vector<int64_t> a_strides, b_strides;  ///< per outer dim, in elements (0 = broadcast)
  int64_t inner = 1;
  int64_t a_step = 1, b_step = 1;
  int64_t rows = 1;

  BroadcastPlan(std::span<const int64_t> a, std::span<const int64_t> b, const ir::Node& node) {
    out_shape = broadcast_shape(a, b, node);
    const size_t rank = out_shape.size();
    // Per-dim flags: does a/b vary along this dim?
    std::vector<int64_t> dims;
    std::vector<bool> av, bv;
    for (size_t i = 0; i < rank; ++i) {
      const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
      const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
      if (out_shape[i] == 1) continue;
      const bool va = da != 1, vb = db != 1;
      if (!dims.empty() && av.back() == va && bv.back() == vb) {
        dims.back() *= out_shape[i];
      } else {
        dims.push_back(out_shape[i]);
        av.push_back(va);
        bv.push_back(vb);
      }
    }
    if (dims.empty()) {
      dims.push_back(1);
      av.push_back(true);
      bv.push_back(true);
    }
    inner = dims.back();
    a_step = av.back() ? 1 : 0;
    b_step = bv.back() ? 1 : 0;
    const size_t outer = dims.size() - 1;
    outer_dims.assign(dims.begin(), dims.begin() + static_cast<std::ptrdiff_t>(outer));
    a_strides.assign(outer, 0);
    b_strides.assign(outer, 0);
    int64_t sa = av.back() ? inner : 1, sb = bv.back() ? inner : 1;
    for (size_t i = outer; i-- > 0;) {
      if (av[i]) {
        a_strides[i] = sa;
        sa *= dims[i];
      }
      if (bv[i]) {
        b_strides[i] = sb;
        sb *= dims[i];
      }
    }
    rows = product(outer_dims);
    if (product(out_shape) == 0) rows = 0;
  }

  /// Calls row_fn(row, a_offset, b_offset) for rows [begin, end) (offsets in elements).
  template <typename RowFn>
  void for_rows(int64_t begin, int64_t end, RowFn&& row_fn) const {
    if (begin >= end) return;
    const size_t n = outer_dims.size();
    std::vector<int64_t> idx(n, 0);
    int64_t ao = 0, bo = 0, r = begin;
    for (size_t i = n; i-- > 0;) {
      idx[i] = r % outer_dims[i];
      r /= outer_dims[i];
      ao += idx[i] * a_strides[i];
      bo += idx[i] * b_strides[i];
    }
    for (int64_t row = begin; row < end; ++row) {
      row_fn(row, ao, bo);
      for (size_t i = n; i-- > 0;) {
        ++idx[i];
        ao += a_strides[i];
        bo += b_strides[i];
        if (idx[i] < outer_dims[i]) break;
        ao -= a_strides[i] * outer_dims[i];
        bo -= b_strides[i] * outer_dims[i];
        idx[i] = 0;
      }
    }
  }
};

}  // namespace ferry::ep::cpu
