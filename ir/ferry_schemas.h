// Schemas of the "ferry" domain: the fused ops the optimizer creates at level extended and
// above (docs/ferry_ops.md is generated from these). They join ONNX's schemas in find_schema,
// so the verifier, the printer and the kernel registry treat them like any other op. Inference
// functions are in ir/infer/ferry_*.cc, CPU kernels in execution_providers/cpu/fused/.
//
// A schema is written with SchemaBuilder, next to the family's other schemas:
//
//   SchemaBuilder("FusedConv", "Conv with bias, an optional residual Z added, then activation.")
//       .input("X").input("W").optional_input("B").optional_input("Z").output("Y")
//       .attr("activation", ir::Attribute::make_string("activation", ""))
//       .required_attr("kernel_shape", AttributeType::kInts)
//       .types("T", {"tensor(float)"})
//       .build()
#pragma once

#include <string>
#include <vector>

#include "ir/schema.h"

namespace ferry::ir {

inline constexpr const char* kFerrySchemaDomain = "ferry";

class SchemaBuilder {
 public:
  SchemaBuilder(std::string name, std::string doc, int since_version = 1);
  SchemaBuilder& input(std::string name, std::string type_constraint = "T");
  SchemaBuilder& optional_input(std::string name, std::string type_constraint = "T");
  SchemaBuilder& variadic_input(std::string name, std::string type_constraint = "T", int min_arity = 1);
  SchemaBuilder& output(std::string name, std::string type_constraint = "T");
  SchemaBuilder& optional_output(std::string name, std::string type_constraint = "T");
  /// An attribute with a default (the Attribute's name must be `name`'s).
  SchemaBuilder& attr(Attribute default_value);
  SchemaBuilder& required_attr(std::string name, AttributeType type);
  SchemaBuilder& types(std::string constraint, std::vector<std::string> allowed);
  OpSchema build() const;

 private:
  OpSchema s_;
};

/// Every ferry-domain schema (the concatenation of the families below).
std::vector<OpSchema> ferry_schemas();

// One list per family, each in its own file.
std::vector<OpSchema> ferry_fusion_schemas();     // ir/ferry_schemas_fusion.cc: conv/gemm + activation, element-wise chains
std::vector<OpSchema> ferry_norm_schemas();       // ir/ferry_schemas_norm.cc: GELU, LayerNorm, SkipLayerNorm, RMSNorm, SiLU
std::vector<OpSchema> ferry_attention_schemas();  // ir/ferry_schemas_attention.cc: multi-head attention, rotary
std::vector<OpSchema> ferry_layout_schemas();     // ir/ferry_schemas_layout.cc: channels-last pooling

}  // namespace ferry::ir
