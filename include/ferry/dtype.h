// Element types. The numeric codes are ONNX's TensorProto.DataType codes, so a code read from a
// model file is a DataType without translation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
  kFloat8E4M3FN = 17,
  kFloat8E4M3FNUZ = 18,
  kFloat8E5M2 = 19,
  kFloat8E5M2FNUZ = 20,
  kUInt4 = 21,
  kInt4 = 22,
  kFloat4E2M1 = 23,
  kFloat8E8M0 = 24,
  kUInt2 = 25,
  kInt2 = 26,
};

/// Largest code this build knows; codes above it are rejected at import with a clear error.
inline constexpr int32_t kMaxDataTypeCode = 26;

/// True for a code this build knows (1..kMaxDataTypeCode).
bool is_known_dtype_code(int32_t code);

/// ONNX's spelling as used in type strings: "float", "int64", "float16", "bfloat16",
/// "float8e4m3fn", "int4", "string", ... ("undefined" for kUndefined).
std::string_view dtype_name(DataType t);

/// onnxruntime-style type string for a tensor of this type: "tensor(float)".
std::string tensor_type_string(DataType t);

/// Storage bits per element: 32 for float, 4 for int4/uint4/float4e2m1, 2 for int2/uint2,
/// 8 * sizeof(std::string) for strings (they are stored as std::string objects).
size_t dtype_bits(DataType t);

/// Bytes needed to store `count` elements (sub-byte types are packed, rounded up to whole bytes).
size_t dtype_storage_bytes(DataType t, size_t count);

bool dtype_is_float(DataType t);    // float, double, float16, bfloat16, float8*, float4
bool dtype_is_integer(DataType t);  // signed and unsigned ints, including int4/uint4/int2/uint2
bool dtype_is_signed(DataType t);

}  // namespace ferry
