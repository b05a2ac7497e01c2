// Cast between float, double, all 8-64 bit integers, bool, float16, bfloat16 and string.
//  - to float16 / bfloat16: round to nearest even (double goes through float);
//  - float -> integer truncates toward zero; values outside the target range are unspecified by
//    ONNX: here they wrap through int64 (NaN and values outside int64 become INT64_MIN first),
//    never undefined behaviour;
//  - number -> string: integers in decimal, floating point as printf "%.8g" with "NaN", "INF",
//    "-INF" (onnxruntime's spelling); bool as "1"/"0";
//  - string -> number: strtod / strtoll syntax ("1e-5", "NaN", "INF", "-inf" ...); text that
//    is not a number is an error naming the node and the string. string -> bool parses a number.
// float8 / int4 / uint4 / float4 / int2 types are not implemented (the capability predicate
// declines them).
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

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

bool castable(DataType t) {
  for (DataType d : CastTypes::dtypes())
    if (d == t) return true;
  return t == DataType::kUndefined;
}

bool cast_supports(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return (x == nullptr || castable(x->dtype())) &&
         castable(static_cast<DataType>(node.get_int("to", 0)));
}

class Cast final : public Kernel {
 public:
  explicit Cast(const KernelInfo& info) : to_(static_cast<DataType>(info.node().require_int("to"))) {
    if (!castable(to_) || to_ == DataType::kUndefined)
      throw Error(ErrorCode::kNotImplemented,
                  info.node().describe() + ": cast to type code " + std::to_string(static_cast<int>(to_)) +
                      " is not supported");
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const std::string where = ctx.node().describe();
    Tensor& y = ctx.allocate_output(0, to_, x.shape());
    if (x.dtype() == to_) {
      copy_elements(x, y);
      return;
    }
    visit_dtype(CastTypes{}, x.dtype(), where, [&](auto from_tag) {
      using From = typename decltype(from_tag)::type;
      visit_dtype(CastTypes{}, to_, where, [&](auto to_tag) {
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
  DataType to_;  // "to": required
};

}  // namespace

void register_cast_kernels(KernelRegistry& r) {
  r.add("Cast", {6, 9, 13, 19, 21, 23, 24, 25}, make_kernel<Cast>, CastTypes::dtypes()).supports = cast_supports;
}

}  // namespace ferry::ep::cpu
