// fold_constants: computes at optimization time what does not depend on the model's inputs.
//
//   before                                      after
//   c = Constant(value_floats=[1,2])            w2_folded: float[2] = initializer (w * [1,2])
//   w2 = Mul(w, c)        (w an initializer)    y = Add(x, w2_folded)
//   y = Add(x, w2)
//
// (the Constant becomes the initializer c_folded first; eliminate_dead_code then drops it and w
// when nothing else reads them).
//
// Contract:
// - A Constant node (any of value, sparse_value, value_float(s), value_int(s), value_string(s))
//   becomes an initializer. A sparse value becomes dense only within the size cap.
// - A node whose inputs are all constants (initializers that are not graph inputs, which callers
//   may override; omitted optional inputs are fine; no inputs at all is fine too) is run with
//   ctx.evaluate (the CPU kernels) and its used outputs become initializers, unless that would
//   grow the model: the outputs together may take ctx.constant_folding_max_bytes, or as many
//   bytes as the constant inputs that only this node reads (they go once it is folded: a Concat
//   of weight slices folds at any size, an Expand of a scalar to a large shape stays lazy).
//   Checked before running when the output shapes are static, and on the results.
// - Never folded: non-deterministic ops (is_nondeterministic), nodes with subgraph attributes,
//   nodes with a non-tensor output (sequence, optional, map), DequantizeLinear (folding it would
//   turn a quantized weight back into a float one, undoing the QDQ pattern and growing the model).
// - A folded value that is a graph output keeps its name: it becomes a Constant node (an
//   initializer cannot take over an output's name), and such a Constant is left alone.
// - Without ctx.evaluate only Constant nodes are folded.
#include <algorithm>
#include <cstring>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

/// Bytes a value of this type takes, when its shape and dtype are static.
std::optional<size_t> static_bytes(const ir::Type& t) {
  if (t.kind != ir::Type::Kind::kTensor || t.elem == DataType::kUndefined || !t.shape.has_rank) return std::nullopt;
  size_t count = 1;
  for (const ir::Dim& d : t.shape.dims) {
    if (!d.is_constant() || d.value() < 0) return std::nullopt;
    count *= static_cast<size_t>(d.value());
  }
  return dtype_storage_bytes(t.elem, count);
}

/// The tensor a Constant node holds; nullopt for a malformed node.
std::optional<Tensor> constant_value(const ir::Node& node, size_t max_bytes) {
  if (node.attributes().size() != 1) return std::nullopt;
  const ir::Attribute& a = node.attributes()[0];
  using AT = ir::AttributeType;
  auto vec = [](size_t n) { return std::vector<int64_t>{static_cast<int64_t>(n)}; };
  if (a.name == "value" && a.type == AT::kTensor) return a.t;
  if (a.name == "sparse_value" && a.type == AT::kSparseTensor) {
    size_t count = 1;
    for (int64_t d : a.sparse.dims) count *= static_cast<size_t>(d < 0 ? 0 : d);
    if (dtype_storage_bytes(a.sparse.values.dtype(), count) > max_bytes) return std::nullopt;
    return a.sparse.to_dense();
  }
  if (a.name == "value_float" && a.type == AT::kFloat) return Tensor::from_vector<float>(DataType::kFloat, {}, {a.f});
  if (a.name == "value_floats" && a.type == AT::kFloats)
    return Tensor::from_vector<float>(DataType::kFloat, vec(a.floats.size()), a.floats);
  if (a.name == "value_int" && a.type == AT::kInt) return Tensor::from_vector<int64_t>(DataType::kInt64, {}, {a.i});
  if (a.name == "value_ints" && a.type == AT::kInts)
    return Tensor::from_vector<int64_t>(DataType::kInt64, vec(a.ints.size()), a.ints);
  if (a.name == "value_string" && a.type == AT::kString)
    return Tensor::from_vector<std::string>(DataType::kString, {}, {a.s});
  if (a.name == "value_strings" && a.type == AT::kStrings)
    return Tensor::from_vector<std::string>(DataType::kString, vec(a.strings.size()), a.strings);
  return std::nullopt;
}

/// Replaces `value` by the constant `t` in `patch`: an initializer, or a Constant node when the
/// value is a graph output (whose name must stay).
void replace_by_constant(Patch& patch, ir::Value* value, Tensor t) {
  if (value->is_graph_output()) {
    patch.replace(value, patch.add_node("Constant", {}, {ir::Attribute::make_tensor("value", std::move(t))})[0]);
  } else {
    patch.replace(value, patch.add_initializer(std::move(t), value->name() + "_folded"));
  }
}

bool used(const ir::Value* v) { return v && (!v->uses().empty() || v->is_graph_output()); }

std::optional<Patch> fold_constant_node(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() == "Constant" && node.domain().empty()) {
    ir::Value* out = node.output(0);
    if (!out || out->is_graph_output() || out->uses().empty()) return std::nullopt;
    std::optional<Tensor> t = constant_value(node, ctx.constant_folding_max_bytes);
    if (!t || !t->defined()) return std::nullopt;
    Patch patch(node);
    patch.replace(out, patch.add_initializer(std::move(*t), out->name() + "_folded"));
    return patch;
  }

  if (!ctx.evaluate || has_subgraph(node) || is_nondeterministic(node, ctx)) return std::nullopt;
  if (node.op_type() == "DequantizeLinear" && node.domain().empty()) return std::nullopt;
  if (node.outputs().empty()) return std::nullopt;
  std::vector<const Tensor*> inputs;
  size_t freed_bytes = 0;  // constant inputs only this node reads
  for (ir::Value* in : node.inputs()) {
    if (in && !constant_of(in)) return std::nullopt;
    inputs.push_back(in ? constant_of(in) : nullptr);
    if (in && in->uses().size() == 1 && !in->is_graph_output()) freed_bytes += in->initializer().byte_size();
  }
  const size_t max_bytes = std::max(ctx.constant_folding_max_bytes, freed_bytes);
  bool any_used = false;
  size_t static_total = 0;
  for (ir::Value* out : node.outputs()) {
    if (!out) continue;
    const ir::Type& t = out->type();
    if (t.kind != ir::Type::Kind::kTensor && t.kind != ir::Type::Kind::kUnknown) return std::nullopt;
    if (auto bytes = static_bytes(t)) static_total += *bytes;
    any_used |= used(out);
  }
  if (static_total > max_bytes) return std::nullopt;
  if (!any_used) return std::nullopt;  // dead code; eliminate_dead_code removes it

  std::optional<std::vector<Tensor>> results = ctx.evaluate(node, ctx.model().opset_imports, inputs);
  if (!results || results->size() != node.outputs().size()) return std::nullopt;
  size_t total = 0;
  for (size_t k = 0; k < results->size(); ++k) {
    if (!node.output(k)) continue;
    const Tensor& r = (*results)[k];
    if (!r.defined()) return std::nullopt;
    total += r.byte_size();
  }
  if (total > max_bytes) return std::nullopt;
  Patch patch(node);
  for (size_t k = 0; k < results->size(); ++k)
    if (used(node.output(k))) replace_by_constant(patch, node.output(k), std::move((*results)[k]));
  return patch;
}

}  // namespace

bool is_nondeterministic(const ir::Node& node, const PassContext& ctx) {
  const std::string& op = node.op_type();
  if (!node.domain().empty() && node.domain() != "ai.onnx")  // other domains: judged by name
    return op.find("Random") != std::string::npos || op.find("Dropout") != std::string::npos;
  if (op == "RandomNormal" || op == "RandomUniform" || op == "RandomNormalLike" || op == "RandomUniformLike" ||
      op == "Bernoulli" || op == "Multinomial")
    return true;
  if (op == "Dropout") {
    // Opsets 1-6: is_test=0 (the default) means training. Opset 12+: the training_mode input.
    if (ctx.opset() < 7) return node.get_int("is_test", 0) == 0;
    const ir::Value* training = node.input(2);
    if (!training) return false;
    const Tensor* t = constant_of(training);
    return !t || t->dtype() != DataType::kBool || t->element_count() != 1 || *t->data<bool>();
  }
  return false;
}

bool fold_constants(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fold_constant_node); }

}  // namespace ferry::optimizer::passes
