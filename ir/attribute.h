// Node attributes, typed. The type codes match ONNX's AttributeProto.AttributeType.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ferry/tensor.h"
#include "ir/type.h"

namespace ferry::ir {

class Graph;

enum class AttributeType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

std::string_view attribute_type_name(AttributeType t);  // "INT", "FLOATS", ...

/// A sparse tensor in COO form, as ONNX stores it: `indices` is int64 [nnz, rank] or [nnz]
/// (linearised), `values` is [nnz].
struct SparseTensor {
  std::vector<int64_t> dims;
  Tensor values;
  Tensor indices;
  /// Dense equivalent. Throws kInvalidModel when an index is out of range.
  Tensor to_dense() const;
};

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::kUndefined;
  std::string doc_string;
  /// Inside a function body: the attribute takes the caller's attribute of this name.
  std::string ref_attr_name;

  float f = 0;
  int64_t i = 0;
  std::string s;  // bytes, not necessarily UTF-8
  Tensor t;
  std::shared_ptr<Graph> g;
  SparseTensor sparse;
  Type tp;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::vector<SparseTensor> sparse_tensors;
  std::vector<Type> tps;

  static Attribute make_int(std::string name, int64_t v);
  static Attribute make_float(std::string name, float v);
  static Attribute make_string(std::string name, std::string v);
  static Attribute make_ints(std::string name, std::vector<int64_t> v);
  static Attribute make_floats(std::string name, std::vector<float> v);
  static Attribute make_strings(std::string name, std::vector<std::string> v);
  static Attribute make_tensor(std::string name, Tensor v);
  static Attribute make_graph(std::string name, std::shared_ptr<Graph> v);

  /// Deep copy (subgraphs are cloned too).
  Attribute clone() const;
  /// Short printable form for the IR printer: "3", "[1,1]", "\"NOTSET\"", "float[64]", "<graph body>".
  std::string value_to_string() const;
};

}  // namespace ferry::ir
