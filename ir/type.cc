#include "ir/type.h"

namespace ferry::ir {

Type Type::tensor(DataType dt, Shape s) {
  Type t;
  t.kind = Kind::kTensor;
  t.elem = dt;
  t.shape = std::move(s);
  return t;
}

Type Type::sequence(Type element) {
  Type t;
  t.kind = Kind::kSequence;
  t.inner = std::make_shared<const Type>(std::move(element));
  return t;
}

Type Type::optional(Type element) {
  Type t;
  t.kind = Kind::kOptional;
  t.inner = std::make_shared<const Type>(std::move(element));
  return t;
}

std::string Type::to_string() const {
  const std::string in = inner ? inner->to_string() : "unknown";
  switch (kind) {
    case Kind::kUnknown: return "unknown";
    case Kind::kTensor: return tensor_type_string(elem);
    case Kind::kSparseTensor: return "sparse_tensor(" + std::string(dtype_name(elem)) + ")";
    case Kind::kSequence: return "seq(" + in + ")";
    case Kind::kOptional: return "optional(" + in + ")";
    case Kind::kMap: return "map(" + std::string(dtype_name(elem)) + "," + in + ")";
  }
  return "unknown";
}

bool operator==(const Type& a, const Type& b) {
  if (a.kind != b.kind || a.elem != b.elem) return false;
  if ((a.kind == Type::Kind::kTensor || a.kind == Type::Kind::kSparseTensor) && !(a.shape == b.shape)) return false;
  if (static_cast<bool>(a.inner) != static_cast<bool>(b.inner)) return false;
  return !a.inner || *a.inner == *b.inner;
}

}  // namespace ferry::ir
