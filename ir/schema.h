// Operator schemas: every operator and every opset version the installed onnx package
// defines, with its formal inputs/outputs, attributes and the spec's default values.
// The table is generated from onnx.defs by tools/gen_schemas.py into ir/schemas_generated.inc
// (a test fails when it is stale). Type and shape inference functions are attached by hand,
// per op, in ir/infer/*.cc.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
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
  /// What the op computes (written for the ferry domain's hand-made schemas; empty for ONNX's).
  std::string doc;
  std::vector<FormalParameter> inputs, outputs;
  std::vector<AttributeSpec> attributes;
  int min_inputs = 0, max_inputs = 0, min_outputs = 0, max_outputs = 0;  // max: INT32_MAX = unbounded
  /// Allowed types per constraint name: {"T", {"tensor(float)", "tensor(double)"}}.
  std::vector<std::pair<std::string, std::vector<std::string>>> type_constraints;

  const AttributeSpec* find_attribute(std::string_view name) const;
};

/// A function body the spec defines for an op (onnx.defs `function_opset_versions`): the op means
/// this graph of other ops. Context-dependent bodies (built per input types, e.g.
/// LayerNormalization, Softmax-13) are not here.
struct FunctionBody {
  std::string domain;  ///< of the op the body defines; "" for ai.onnx
  std::string name;
  int since_version = 1;       ///< the schema version it belongs to
  int64_t function_opset = 0;  ///< the opset the body's nodes are written against
  /// The body's opset imports: domain ("" = ai.onnx) -> version.
  std::map<std::string, int64_t> opset_imports;
  /// Attribute names the body may reference (defaults: the op's schema).
  std::vector<std::string> attributes;
  /// inputs = the formal inputs, outputs = the formal outputs (positionally), nodes in order;
  /// attributes taking the caller's value carry Attribute::ref_attr_name. Graph attributes
  /// (If/Loop bodies) are subgraphs whose parent is this graph.
  std::shared_ptr<const Graph> graph;
};

/// The body in force for `op` at `opset`: the op's schema at that opset (find_schema) has static
/// bodies; the one written for the highest opset <= `opset` (onnx's rule), else the lowest
/// one above it (the caller checks that its ops mean the same at `opset`). null when none.
const FunctionBody* find_function_body(std::string_view domain, std::string_view op, int64_t opset);
/// Every static body of every schema version, by (domain, name, since_version, function_opset).
std::vector<const FunctionBody*> all_function_bodies();

/// The schema in force for `op` at `opset`: the highest since_version <= opset.
/// null when the op does not exist in that domain at that opset.
const OpSchema* find_schema(std::string_view domain, std::string_view op, int64_t opset);
/// Every version of every op, sorted by (domain, name, since_version).
const std::vector<OpSchema>& all_schemas();
/// The newest opset the schema table knows for a domain ("" -> e.g. 23).
int64_t newest_opset(std::string_view domain);

}  // namespace ferry::ir
