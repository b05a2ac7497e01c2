#include "ir/ferry_schemas.h"

#include <climits>

namespace ferry::ir {

SchemaBuilder::SchemaBuilder(std::string name, std::string doc, int since_version) {
  s_.domain = kFerrySchemaDomain;
  s_.name = std::move(name);
  s_.doc = std::move(doc);
  s_.since_version = since_version;
}

SchemaBuilder& SchemaBuilder::input(std::string name, std::string type_constraint) {
  s_.inputs.push_back({std::move(name), FormalParameter::Option::kSingle, std::move(type_constraint), 1});
  return *this;
}

SchemaBuilder& SchemaBuilder::optional_input(std::string name, std::string type_constraint) {
  s_.inputs.push_back({std::move(name), FormalParameter::Option::kOptional, std::move(type_constraint), 1});
  return *this;
}

SchemaBuilder& SchemaBuilder::variadic_input(std::string name, std::string type_constraint, int min_arity) {
  s_.inputs.push_back({std::move(name), FormalParameter::Option::kVariadic, std::move(type_constraint), min_arity});
  return *this;
}

SchemaBuilder& SchemaBuilder::output(std::string name, std::string type_constraint) {
  s_.outputs.push_back({std::move(name), FormalParameter::Option::kSingle, std::move(type_constraint), 1});
  return *this;
}

SchemaBuilder& SchemaBuilder::optional_output(std::string name, std::string type_constraint) {
  s_.outputs.push_back({std::move(name), FormalParameter::Option::kOptional, std::move(type_constraint), 1});
  return *this;
}

SchemaBuilder& SchemaBuilder::attr(Attribute default_value) {
  AttributeSpec a;
  a.name = default_value.name;
  a.type = default_value.type;
  a.default_value = std::move(default_value);
  s_.attributes.push_back(std::move(a));
  return *this;
}

SchemaBuilder& SchemaBuilder::required_attr(std::string name, AttributeType type) {
  AttributeSpec a;
  a.name = std::move(name);
  a.type = type;
  a.required = true;
  s_.attributes.push_back(std::move(a));
  return *this;
}

SchemaBuilder& SchemaBuilder::types(std::string constraint, std::vector<std::string> allowed) {
  s_.type_constraints.emplace_back(std::move(constraint), std::move(allowed));
  return *this;
}

namespace {

// min/max counts the way onnx computes them from the formal parameters.
std::pair<int, int> arity(const std::vector<FormalParameter>& params) {
  int lo = 0, hi = 0;
  for (const FormalParameter& p : params) {
    if (p.option == FormalParameter::Option::kSingle) {
      ++lo;
      ++hi;
    } else if (p.option == FormalParameter::Option::kOptional) {
      ++hi;
    } else {
      lo += p.min_arity;
      hi = INT_MAX;
    }
  }
  return {lo, hi};
}

}  // namespace

OpSchema SchemaBuilder::build() const {
  OpSchema s = s_;
  std::tie(s.min_inputs, s.max_inputs) = arity(s.inputs);
  std::tie(s.min_outputs, s.max_outputs) = arity(s.outputs);
  return s;
}

std::vector<OpSchema> ferry_schemas() {
  std::vector<OpSchema> all;
  for (auto family : {ferry_fusion_schemas, ferry_norm_schemas, ferry_attention_schemas, ferry_layout_schemas})
    for (OpSchema& s : family()) all.push_back(std::move(s));
  return all;
}

}  // namespace ferry::ir
