// ferry::Value (include/ferry/value.h), beside ferry::Tensor (ir/tensor.cc).
#include "ferry/value.h"

namespace ferry {

namespace {
[[noreturn]] void wrong_kind(const Value& v, const char* wanted) {
  throw Error(ErrorCode::kInvalidArgument,
              std::string("expected ") + wanted + ", got " + (v.defined() ? v.describe() : "an undefined value"));
}
}  // namespace

Value::Value(Tensor t) {
  if (t.defined()) {
    kind_ = Kind::kTensor;
    elem_ = t.dtype();
    tensor_ = std::move(t);
  }
}

Value Value::sequence(DataType elem_type, std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kSequence;
  v.elem_ = elem_type;
  v.items_ = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value Value::optional(Value inner) {
  if (inner.is_optional()) return inner;
  Value v;
  v.kind_ = Kind::kOptional;
  if (inner.defined()) {
    v.elem_ = inner.elem_;
    v.inner_ = std::make_shared<const Value>(std::move(inner));
  }
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kOptional;
  return v;
}

Value Value::map(Tensor keys, Tensor values) {
  if (keys.rank() != 1 || values.rank() != 1 || keys.dim(0) != values.dim(0))
    throw Error(ErrorCode::kInvalidArgument, "a map needs 1-D keys and values of equal length, got " +
                                                 keys.describe() + " and " + values.describe());
  Value v;
  v.kind_ = Kind::kMap;
  v.elem_ = values.dtype();
  v.tensor_ = std::move(keys);
  v.second_ = std::move(values);
  return v;
}

const Tensor& Value::tensor() const {
  if (!is_tensor()) wrong_kind(*this, "a tensor");
  return tensor_;
}

const std::vector<Value>& Value::items() const {
  if (!is_sequence()) wrong_kind(*this, "a sequence");
  return *items_;
}

const Value& Value::element() const {
  if (!is_optional() || !inner_) wrong_kind(*this, "an optional holding a value");
  return *inner_;
}

const Tensor& Value::map_keys() const {
  if (!is_map()) wrong_kind(*this, "a map");
  return tensor_;
}

const Tensor& Value::map_values() const {
  if (!is_map()) wrong_kind(*this, "a map");
  return second_;
}

std::string Value::describe() const {
  switch (kind_) {
    case Kind::kUndefined: return "undefined";
    case Kind::kTensor: return tensor_.describe();
    case Kind::kSequence: return "seq(" + std::string(dtype_name(elem_)) + ")[" + std::to_string(items_->size()) + "]";
    case Kind::kOptional: return "optional(" + (inner_ ? inner_->describe() : std::string("none")) + ")";
    case Kind::kMap:
      return "map(" + std::string(dtype_name(tensor_.dtype())) + "," + std::string(dtype_name(second_.dtype())) +
             ")[" + std::to_string(tensor_.element_count()) + "]";
  }
  return "";
}

size_t Value::byte_size() const {
  switch (kind_) {
    case Kind::kTensor: return tensor_.byte_size();
    case Kind::kSequence: {
      size_t n = 0;
      for (const Value& v : *items_) n += v.byte_size();
      return n;
    }
    case Kind::kOptional: return inner_ ? inner_->byte_size() : 0;
    case Kind::kMap: return tensor_.byte_size() + second_.byte_size();
    default: return 0;
  }
}

}  // namespace ferry
