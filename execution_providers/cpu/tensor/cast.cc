// Cast between float, double, all 8-64 bit integers, bool, float16, bfloat16 and string.
//  - to float16 / bfloat16: round to nearest even (double goes through float);
//  - float -> integer truncates toward zero; values outside the target range are unspecified by
//    ONNX: here they wrap through int64 (NaN and values outside int64 become INT64_MIN first),
//    never undefined behaviour;
//  - number -> string: integers in decimal, floating point as printf "%.8g" with "NaN", "INF",
//    "-INF" (onnxruntime's spelling); bool as "1"/"0";
//  - string -> number: strtod / strtoll syntax ("1e-5", "NaN", "INF", "-inf" ...); text that
//    is not a number is an error naming the node and the string. string -> bool parses a number.
//  - the small types (float8 e4m3fn/e4m3fnuz/e5m2/e5m2fnuz, float8e8m0, float4e2m1, packed
//    int4/uint4/int2/uint2) go through double or int64: float8 encoding rounds to nearest even
//    and, with `saturate` (opset 19, default 1), clamps out-of-range values to the largest
//    finite one, else gives inf/NaN as the ONNX tables say; e8m0 rounds by `round_mode`
//    (opset 24: up, down, nearest); to int4/int2 floats truncate and integers wrap, as ml_dtypes
//    (onnx's reference) does. Strings convert through double (float types) or int64.
// CastLike is Cast with the target type taken from its second input.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/small_float.h"

namespace ferry::ep::cpu {
namespace {

using CastTypes = Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                        uint64_t, bool, Float16, BFloat16, std::string>;

template <typename T> constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

/// Floating value -> integer type To without undefined behaviour.
template <typename To>
To float_to_int(double v) {
  if constexpr (std::is_same_v<To, uint64_t>) {
    if (v >= 0 && v < 18446744073709551616.0) return static_cast<uint64_t>(v);
  }
  int64_t i = INT64_MIN;
  if (v >= -9223372036854775808.0 && v < 9223372036854775808.0) i = static_cast<int64_t>(v);
  return static_cast<To>(i);
}

template <typename To>
To parse_string(const std::string& s, const std::string& where) {
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  To out{};
  if constexpr (std::is_floating_point_v<To> || kIsHalf<To>) {
    const double d = std::strtod(begin, &end);
    if constexpr (kIsHalf<To>) {
      out = std::is_same_v<To, Float16> ? To{to_float16(static_cast<float>(d)).bits}
                                        : To{to_bfloat16(static_cast<float>(d)).bits};
    } else {
      out = static_cast<To>(d);
    }
  } else if constexpr (std::is_same_v<To, bool>) {
    out = std::strtod(begin, &end) != 0.0;
  } else if constexpr (std::is_signed_v<To>) {
    out = static_cast<To>(std::strtoll(begin, &end, 10));
  } else {
    out = static_cast<To>(std::strtoull(begin, &end, 10));
  }
  while (end != nullptr && *end != '\0' && std::isspace(static_cast<unsigned char>(*end))) ++end;
  if (end == begin || end == nullptr || *end != '\0')
    throw Error(ErrorCode::kInvalidArgument, where + ": cannot convert string '" + s + "' to " +
                                                 std::string(dtype_name(kDTypeOf<To>)));
  return out;
}

inline std::string float_to_string(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", v);
  return buf;
}

template <typename To, typename From>
To convert(const From& v, const std::string& where) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, std::string>) {
    return parse_string<To>(v, where);
  } else if constexpr (kIsHalf<From>) {
    return convert<To, float>(to_float(v), where);
  } else if constexpr (std::is_same_v<To, Float16>) {
    return to_float16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return to_bfloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, std::string>) {
    if constexpr (std::is_floating_point_v<From>) return float_to_string(static_cast<double>(v));
    else if constexpr (std::is_same_v<From, bool>) return v ? "1" : "0";
    else return std::to_string(v);
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return float_to_int<To>(static_cast<double>(v));
  } else {
    return static_cast<To>(v);
  }
}

bool is_small(DataType t) {
  return minifloat_format(t) != nullptr || packed_int_bits(t) != 0 || t == DataType::kFloat8E8M0;
}

bool castable(DataType t) {
  for (DataType d : CastTypes::dtypes())
    if (d == t) return true;
  return t == DataType::kUndefined || is_small(t);
}

bool pair_castable(DataType from, DataType to) { return castable(from) && castable(to); }

bool cast_supports(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return pair_castable(x == nullptr ? DataType::kUndefined : x->dtype(), static_cast<DataType>(node.get_int("to", 0)));
}

bool cast_like_supports(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  const ir::Value* t = node.input(1);
  return pair_castable(x == nullptr ? DataType::kUndefined : x->dtype(), t == nullptr ? DataType::kUndefined : t->dtype());
}

enum class E8M0Rounding { kUp, kDown, kNearest };

/// float -> float8e8m0 exactly as onnx.numpy_helper.to_float8e8m0 (the sign is dropped).
uint8_t float_to_e8m0(float x, bool saturate, E8M0Rounding mode) {
  const uint32_t bits = float_to_bits(x);
  uint32_t exponent = (bits >> 23) & 0xffu;
  if (exponent == 0xffu) return 0xff;
  bool round_up = false;
  if (mode == E8M0Rounding::kNearest) {
    const bool g = bits & 0x400000u, r = bits & 0x200000u, st = bits & 0x1fffffu, lsb = exponent > 0;
    round_up = g && (r || st || lsb);
  } else if (mode == E8M0Rounding::kUp) {
    round_up = (bits & 0x7fffffu) != 0;
  }
  if (saturate && exponent == 0xfeu) round_up = false;
  return static_cast<uint8_t>(exponent + (round_up ? 1 : 0));
}

/// Integer semantics of ml_dtypes' float -> int4/int2: truncate through int32 (NaN and values
/// outside int32 become INT32_MIN), then keep the low bits.
int64_t float_to_packed_int(double v) {
  if (std::isnan(v) || v >= 2147483648.0 || v < -2147483648.0) return INT32_MIN;
  return static_cast<int32_t>(v);
}

struct CastOptions {
  bool saturate = true;  // "saturate": 1 (opset 19)
  E8M0Rounding rounding = E8M0Rounding::kUp;  // "round_mode": "up" (opset 24)
};

/// Cast where either side is a small type: through int64 (exact for the packed integers) or
/// through double.
void cast_small(const Tensor& x, Tensor& y, const CastOptions& opt, const std::string& where) {
  const DataType from = x.dtype(), to = y.dtype();
  const int64_t n = x.element_count();
  const bool via_int = packed_int_bits(from) != 0 ||
                       (packed_int_bits(to) != 0 && !is_small(from) && !dtype_is_float(from));
  std::vector<int64_t> ints(via_int ? static_cast<size_t>(n) : 0);
  std::vector<double> reals(via_int ? 0 : static_cast<size_t>(n));
  const uint8_t* src_bytes = static_cast<const uint8_t*>(x.raw_data());
  if (const int bits = packed_int_bits(from)) {
    for (int64_t i = 0; i < n; ++i) ints[static_cast<size_t>(i)] = get_packed(src_bytes, i, bits, dtype_is_signed(from));
  } else if (const MiniFloatFormat* f = minifloat_format(from)) {
    for (int64_t i = 0; i < n; ++i) reals[static_cast<size_t>(i)] = minifloat_to_float(get_minifloat_code(src_bytes, i, *f), *f);
  } else if (from == DataType::kFloat8E8M0) {
    for (int64_t i = 0; i < n; ++i) reals[static_cast<size_t>(i)] = e8m0_to_float(src_bytes[i]);
  } else {
    visit_dtype(CastTypes{}, from, where, [&](auto tag) {
      using From = typename decltype(tag)::type;
      const From* in = x.data<From>();
      for (int64_t i = 0; i < n; ++i) {
        if (via_int) ints[static_cast<size_t>(i)] = convert<int64_t, From>(in[i], where);
        else reals[static_cast<size_t>(i)] = convert<double, From>(in[i], where);
      }
    });
  }
  uint8_t* dst_bytes = static_cast<uint8_t*>(y.raw_data());
  if (const int bits = packed_int_bits(to)) {
    std::memset(dst_bytes, 0, y.byte_size());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = via_int ? ints[static_cast<size_t>(i)] : float_to_packed_int(reals[static_cast<size_t>(i)]);
      set_packed(dst_bytes, i, bits, static_cast<int32_t>(v & 0xff));
    }
  } else if (const MiniFloatFormat* f = minifloat_format(to)) {
    std::memset(dst_bytes, 0, y.byte_size());
    for (int64_t i = 0; i < n; ++i) {
      const double v = via_int ? static_cast<double>(ints[static_cast<size_t>(i)]) : reals[static_cast<size_t>(i)];
      set_minifloat_code(dst_bytes, i, *f, float_to_minifloat(v, *f, opt.saturate));
    }
  } else if (to == DataType::kFloat8E8M0) {
    for (int64_t i = 0; i < n; ++i) {
      const double v = via_int ? static_cast<double>(ints[static_cast<size_t>(i)]) : reals[static_cast<size_t>(i)];
      dst_bytes[i] = float_to_e8m0(static_cast<float>(v), opt.saturate, opt.rounding);
    }
  } else {
    visit_dtype(CastTypes{}, to, where, [&](auto tag) {
      using To = typename decltype(tag)::type;
      To* out = y.data<To>();
      for (int64_t i = 0; i < n; ++i)
        out[i] = via_int ? convert<To, int64_t>(ints[static_cast<size_t>(i)], where)
                         : convert<To, double>(reals[static_cast<size_t>(i)], where);
    });
  }
}

CastOptions parse_options(const ir::Node& node, int64_t opset) {
  CastOptions o;
  if (opset >= 19) o.saturate = node.get_int("saturate", 1) != 0;
  if (opset >= 24) {
    const std::string m = node.get_string("round_mode", "up");
    if (m == "up") o.rounding = E8M0Rounding::kUp;
    else if (m == "down") o.rounding = E8M0Rounding::kDown;
    else if (m == "nearest") o.rounding = E8M0Rounding::kNearest;
    else throw Error(ErrorCode::kInvalidModel, "attribute 'round_mode' is '" + m + "'; valid: up, down, nearest");
  }
  return o;
}

/// Cast (`like` false: target from attribute 'to') and CastLike (target: input 1's type).
template <bool like>
class Cast final : public Kernel {
 public:
  explicit Cast(const KernelInfo& info) : options_(parse_options(info.node(), info.opset())) {
    if constexpr (!like) {
      to_ = static_cast<DataType>(info.node().require_int("to"));
      if (!castable(to_) || to_ == DataType::kUndefined)
        throw Error(ErrorCode::kNotImplemented,
                    "cast to type code " + std::to_string(static_cast<int>(to_)) + " is not supported");
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const DataType to = like ? ctx.required_input(1).dtype() : to_;
    const std::string where = "input";
    if (!pair_castable(x.dtype(), to))
      throw Error(ErrorCode::kNotImplemented, "cast from " + std::string(dtype_name(x.dtype())) + " to " +
                                                  std::string(dtype_name(to)) + " is not supported");
    Tensor& y = ctx.allocate_output(0, to, x.shape());
    if (x.dtype() == to) {
      copy_elements(x, y);
      return;
    }
    if (is_small(x.dtype()) || is_small(to)) return cast_small(x, y, options_, where);
    visit_dtype(CastTypes{}, x.dtype(), where, [&](auto from_tag) {
      using From = typename decltype(from_tag)::type;
      visit_dtype(CastTypes{}, to, where, [&](auto to_tag) {
        using To = typename decltype(to_tag)::type;
        const From* in = x.data<From>();
        To* out = y.data<To>();
        const double cost = std::is_same_v<From, std::string> || std::is_same_v<To, std::string> ? 200.0 : 1.0;
        ctx.thread_pool().parallel_for(x.element_count(), cost, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) out[i] = convert<To, From>(in[i], where);
        });
      });
    });
  }

 private:
  DataType to_ = DataType::kUndefined;  // "to": required (Cast)
  CastOptions options_;
};

}  // namespace

void register_cast_kernels(KernelRegistry& r) {
  std::vector<DataType> types = CastTypes::dtypes();
  for (DataType t : {DataType::kFloat8E4M3FN, DataType::kFloat8E4M3FNUZ, DataType::kFloat8E5M2, DataType::kFloat8E5M2FNUZ,
                     DataType::kFloat8E8M0, DataType::kFloat4E2M1, DataType::kInt4, DataType::kUInt4, DataType::kInt2,
                     DataType::kUInt2})
    types.push_back(t);
  r.add("Cast", {6, 9, 13, 19, 21, 23, 24, 25, 28}, make_kernel<Cast<false>>, types).supports = cast_supports;
  r.add("CastLike", {15, 19, 21, 23, 24, 25}, make_kernel<Cast<true>>, types).supports = cast_like_supports;
}

}  // namespace ferry::ep::cpu
