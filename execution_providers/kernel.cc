#include "execution_providers/kernel.h"

#include <algorithm>

#include "ir/schema.h"

namespace ferry::ep {

const Tensor* KernelInfo::constant_input(size_t i) const {
  const ir::Value* v = node_.input(i);
  return v != nullptr && v->is_initializer() ? &v->initializer() : nullptr;
}

const ir::Type* KernelInfo::input_type(size_t i) const {
  const ir::Value* v = node_.input(i);
  return v != nullptr ? &v->type() : nullptr;
}

const ir::Type* KernelInfo::output_type(size_t i) const {
  const ir::Value* v = node_.output(i);
  return v != nullptr ? &v->type() : nullptr;
}

std::shared_ptr<SubgraphRunner> KernelInfo::compile_subgraph(const ir::Graph& graph) const {
  if (!compiler_)
    throw Error(ErrorCode::kNotImplemented, "subgraph '" + graph.name() + "' cannot be compiled here");
  return compiler_(graph);
}

Value KernelContext::input_value(size_t i) const {
  const Tensor* t = input(i);
  return t ? Value(*t) : Value();
}

void KernelContext::set_output_value(size_t i, Value value) {
  if (!value.is_tensor())
    throw Error(ErrorCode::kNotImplemented, "output " + std::to_string(i) + " is " + value.describe() +
                                                "; this context holds tensors only");
  set_output(i, value.tensor());
}

Value KernelContext::outer_value(const ir::Value& v) const {
  throw Error(ErrorCode::kRuntime, "outer-scope value '" + v.name() + "' is not available in this context");
}

const Tensor& KernelContext::required_input(size_t i) const {
  const Tensor* t = i < input_count() ? input(i) : nullptr;
  if (t == nullptr || !t->defined()) {
    std::string which = "input " + std::to_string(i);
    if (const ir::Value* v = node().input(i); v != nullptr && !v->name().empty())
      which += " ('" + v->name() + "')";
    throw Error(ErrorCode::kInvalidModel,
                "required " + which + " is missing (the node has " +
                    std::to_string(input_count()) + " inputs)");
  }
  return *t;
}

KernelDef& KernelRegistry::add(std::string op_type, std::vector<int> versions,
                               KernelFactory factory, std::vector<DataType> types,
                               std::string domain) {
  std::sort(versions.begin(), versions.end());
  KernelDef def;
  def.domain = std::move(domain);
  def.op_type = std::move(op_type);
  def.versions = std::move(versions);
  def.types = std::move(types);
  def.factory = std::move(factory);
  defs_.push_back(std::move(def));
  return defs_.back();
}

// For each def of the op, the version it would serve is its highest listed version <= opset.
// A def is rejected when the spec has a newer schema version in force at that opset than the one
// it lists (the kernel does not know that version's semantics), or when its capability
// predicate declines the node. Among the rest, the highest served version wins; on a tie the
// def registered first.
const KernelDef* KernelRegistry::find(const ir::Node& node, int64_t opset) const {
  const ir::OpSchema* schema = ir::find_schema(node.domain(), node.op_type(), opset);
  const KernelDef* best = nullptr;
  int best_version = -1;
  for (const KernelDef& def : defs_) {
    if (def.op_type != node.op_type() || def.domain != node.domain()) continue;
    int served = -1;
    for (int v : def.versions)
      if (v <= opset) served = v;
    if (served < 0 || served <= best_version) continue;
    if (schema != nullptr && schema->since_version > served) continue;
    if (def.supports && !def.supports(node, opset)) continue;
    best = &def;
    best_version = served;
  }
  return best;
}

}  // namespace ferry::ep
