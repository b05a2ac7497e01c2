// The type of a value: a tensor (element type + shape), or a sequence / optional / map of
// such, or a sparse tensor. Mirrors ONNX's TypeProto without depending on it.
#pragma once

#include <memory>
#include <string>

#include "ferry/dtype.h"
#include "ir/dim.h"

namespace ferry::ir {

struct Type {
  enum class Kind { kUnknown, kTensor, kSparseTensor, kSequence, kOptional, kMap };

  Kind kind = Kind::kUnknown;
  DataType elem = DataType::kUndefined;  ///< tensor / sparse tensor element type; map key type
  Shape shape;                           ///< tensor / sparse tensor shape
  std::shared_ptr<const Type> inner;     ///< sequence / optional element; map value

  static Type tensor(DataType dt, Shape s = Shape::unknown());
  static Type sequence(Type element);
  static Type optional(Type element);

  bool is_tensor() const { return kind == Kind::kTensor; }
  /// onnxruntime spelling: "tensor(float)", "seq(tensor(int64))", "optional(tensor(float))",
  /// "map(int64,tensor(float))", "sparse_tensor(float)".
  std::string to_string() const;
  friend bool operator==(const Type& a, const Type& b);
};

}  // namespace ferry::ir
