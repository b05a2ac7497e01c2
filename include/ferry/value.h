// ferry::Value: any value an ONNX model computes or takes as input. A tensor, a sequence of
// values (ONNX seq(...), usually of tensors), an optional (empty, or holding a tensor or a
// sequence), or a map (ai.onnx.ml: keys and values as two 1-D tensors of equal length).
//
// Like Tensor, a Value is a cheap handle: copies share the payload, which is immutable once
// built (a kernel that changes a sequence builds a new one; the tensors inside are shared).
//
//   ferry::Value seq = ferry::Value::sequence(ferry::DataType::kFloat, {a, b});
//   ferry::Value opt = ferry::Value::optional(seq);     // holds the sequence
//   ferry::Value none = ferry::Value::none();           // an empty optional
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ferry/tensor.h"

namespace ferry {

class Value {
 public:
  enum class Kind { kUndefined, kTensor, kSequence, kOptional, kMap };

  /// An undefined handle (no value at all; not the same as an empty optional).
  Value() = default;
  /// A tensor value (implicit, so a Tensor can be passed where a Value is expected).
  Value(Tensor t);  // NOLINT(google-explicit-constructor)

  /// A sequence; `elem_type` is the tensors' element type, kept for empty sequences.
  static Value sequence(DataType elem_type, std::vector<Value> items);
  /// An optional holding `inner` (a tensor or a sequence).
  static Value optional(Value inner);
  /// An empty optional.
  static Value none();
  /// A map with 1-D `keys` and `values` of equal length.
  static Value map(Tensor keys, Tensor values);

  Kind kind() const { return kind_; }
  bool defined() const { return kind_ != Kind::kUndefined; }
  bool is_tensor() const { return kind_ == Kind::kTensor; }
  bool is_sequence() const { return kind_ == Kind::kSequence; }
  bool is_optional() const { return kind_ == Kind::kOptional; }
  bool is_map() const { return kind_ == Kind::kMap; }

  /// The tensor; kInvalidArgument when this is not a tensor.
  const Tensor& tensor() const;
  /// Sequence elements; kInvalidArgument when this is not a sequence.
  const std::vector<Value>& items() const;
  /// Element type of a sequence (kUndefined when unknown).
  DataType elem_type() const { return elem_; }
  /// Optional: whether it holds a value, and the value.
  bool has_element() const { return inner_ != nullptr; }
  const Value& element() const;
  /// Map keys and values.
  const Tensor& map_keys() const;
  const Tensor& map_values() const;

  /// "float[2,3]", "seq(float)[2]", "optional(seq(float)[2])", "optional(none)", "map(int64,float)[3]"
  std::string describe() const;
  /// Storage bytes of every tensor inside.
  size_t byte_size() const;

 private:
  Kind kind_ = Kind::kUndefined;
  DataType elem_ = DataType::kUndefined;
  Tensor tensor_;                                    // kTensor; map keys
  Tensor second_;                                    // map values
  std::shared_ptr<const std::vector<Value>> items_;  // kSequence
  std::shared_ptr<const Value> inner_;               // kOptional with an element
};

}  // namespace ferry
