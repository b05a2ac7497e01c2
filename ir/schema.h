// Operator schemas: every operator and every opset version the installed onnx package
// defines, with its formal inputs/outputs, attributes and the spec's default values.
// The table is generated from onnx.defs by tools/gen_schemas.py into ir/schemas_generated.inc
// (a test fails when it is stale). Type and shape inference functions are attached by hand,
// per op, in ir/infer/*.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"

namespace ferry::ir {

struct FormalParameter {
  enum class Option { kSingle, kOptional, kVariadic };
  std::string name;
  Option option = Option::kSingle;
  std::string type_constraint;  ///< "T", "tensor(int64)", ...
  int min_arity = 1;            ///< variadic only
};

struct AttributeSpec {
  std::string name;
  AttributeType type = AttributeType::kUndefined;
  bool required = false;
  /// The spec's default, when it has one.
  std::optional<Attribute> default_value;
};

struct OpSchema {
  std::string domain;  ///< "" for ai.onnx
  std::string name;
  int since_version = 1;
  bool deprecated = false;
  /// The op is defined by a function body in the spec.
  bool has_function = false;
  std::vector<FormalParameter> inputs, outputs;
  std::vector<AttributeSpec> attributes;
  int min_inputs = 0, max_inputs = 0, min_outputs = 0, max_outputs = 0;  // max: INT32_MAX = unbounded
  /// Allowed types per constraint name: {"T", {"tensor(float)", "tensor(double)"}}.
  std::vector<std::pair<std::string, std::vector<std::string>>> type_constraints;

  const AttributeSpec* find_attribute(std::string_view name) const;
};

/// The schema in force for `op` at `opset`: the highest since_version <= opset.
/// null when the op does not exist in that domain at that opset.
const OpSchema* find_schema(std::string_view domain, std::string_view op, int64_t opset);
/// Every version of every op, sorted by (domain, name, since_version).
const std::vector<OpSchema>& all_schemas();
/// The newest opset the schema table knows for a domain ("" -> e.g. 23).
int64_t newest_opset(std::string_view domain);

}  // namespace ferry::ir
