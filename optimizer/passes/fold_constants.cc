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
// - Reshape, Flatten, Squeeze, Unsqueeze, Identity and contiguous unit-step Slices of an
//   initializer fold without copying: the new initializer shares the input's storage (see
//   fold_as_view), so folding a model's weight re-arrangements costs no copy of the weights.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>

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

/// The static shape of a tensor type; nullopt when a dim is symbolic or the rank unknown.
std::optional<std::vector<int64_t>> static_shape(const ir::Type& t) {
  if (t.kind != ir::Type::Kind::kTensor || !t.shape.has_rank) return std::nullopt;
  std::vector<int64_t> out;
  for (const ir::Dim& d : t.shape.dims) {
    if (!d.is_constant() || d.value() < 0) return std::nullopt;
    out.push_back(d.value());
  }
  return out;
}

/// Whether elements of `dtype` are whole bytes each (not strings, not packed sub-byte types).
bool byte_addressable(DataType dtype) {
  return dtype != DataType::kString && dtype != DataType::kUndefined && dtype_bits(dtype) % 8 == 0;
}

/// Folds ops whose output is a contiguous part of input 0's bytes without copying them: the
/// result shares the input's storage (Tensor handles share it like std::shared_ptr; nothing
/// writes into initializers). Reshape, Flatten, Squeeze, Unsqueeze and Identity keep every byte;
/// Slice with unit steps keeps a contiguous range when it narrows a single axis and every axis
/// before it has size 1, and the input stays alive anyway or the slice is at least half of it.
/// Needs the inferred static output type; nullopt (the caller evaluates the node) otherwise, and
/// for a borrowed input, whose memory the caller owns.
std::optional<Tensor> fold_as_view(const ir::Node& node) {
  static const char* const kSameBytes[] = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"};
  if (!node.domain().empty() || node.outputs().size() != 1 || !node.output(0)) return std::nullopt;
  const bool same_bytes = std::any_of(std::begin(kSameBytes), std::end(kSameBytes),
                                      [&](const char* op) { return node.op_type() == op; });
  if (!same_bytes && node.op_type() != "Slice") return std::nullopt;
  const Tensor* in = constant_of(node.input(0));
  if (!in || !in->defined() || in->is_borrowed() || !byte_addressable(in->dtype())) return std::nullopt;
  const ir::Type& out_type = node.output(0)->type();
  std::optional<std::vector<int64_t>> out_shape = static_shape(out_type);
  if (!out_shape || out_type.elem != in->dtype()) return std::nullopt;
  const int64_t out_count = shape_element_count(*out_shape);
  if (out_count == 0) return std::nullopt;
  if (same_bytes) {
    if (out_count != in->element_count()) return std::nullopt;
    return in->reshaped(*out_shape);
  }
  // Slice (opset 10+: starts, ends, axes, steps as inputs). A view keeps all of the input
  // alive: only when something else keeps it anyway, or the slice is at least half of it.
  if (node.inputs().size() < 3 || node.find_attribute("starts")) return std::nullopt;
  const ir::Value* source = node.input(0);
  if (source->uses().size() == 1 && !source->is_graph_output() && 2 * out_count < in->element_count())
    return std::nullopt;
  const std::vector<int64_t>& dims = in->shape();
  if (out_shape->size() != dims.size()) return std::nullopt;
  std::optional<std::vector<int64_t>> starts = constant_ints(node.input(1));
  std::optional<std::vector<int64_t>> ends = constant_ints(node.input(2));
  if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
  std::vector<int64_t> axes(starts->size());
  for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
  if (node.input(3)) {
    std::optional<std::vector<int64_t>> given = constant_ints(node.input(3));
    if (!given || given->size() != axes.size()) return std::nullopt;
    axes = *given;
  }
  if (node.input(4)) {
    std::optional<std::vector<int64_t>> steps = constant_ints(node.input(4));
    if (!steps || steps->size() != axes.size() ||
        std::any_of(steps->begin(), steps->end(), [](int64_t st) { return st != 1; }))
      return std::nullopt;
  }
  const int64_t rank = static_cast<int64_t>(dims.size());
  std::vector<int64_t> begin(dims.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank) return std::nullopt;
    const int64_t dim = dims[static_cast<size_t>(axis)];
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + dim : v, int64_t{0}, dim); };
    const int64_t b = clamp((*starts)[i]), e = clamp((*ends)[i]);
    if (std::max<int64_t>(e - b, 0) != (*out_shape)[static_cast<size_t>(axis)]) return std::nullopt;
    begin[static_cast<size_t>(axis)] = b;
  }
  // The one narrowed axis k (none: the whole tensor); axes before it must have size 1.
  size_t k = dims.size();
  for (size_t a = 0; a < dims.size(); ++a) {
    if ((*out_shape)[a] == dims[a]) continue;
    if (k != dims.size()) return std::nullopt;
    k = a;
  }
  if (k == dims.size()) return in->reshaped(*out_shape);
  for (size_t a = 0; a < k; ++a)
    if (dims[a] != 1) return std::nullopt;
  int64_t inner = 1;
  for (size_t a = k + 1; a < dims.size(); ++a) inner *= dims[a];
  const size_t offset = dtype_storage_bytes(in->dtype(), static_cast<size_t>(begin[k] * inner));
  auto keeper = std::make_shared<Tensor>(*in);
  void* data = static_cast<char*>(keeper->raw_data()) + offset;
  return Tensor::wrap(in->dtype(), *out_shape, data, std::move(keeper));
}

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
  if (std::optional<Tensor> view = fold_as_view(node)) {
    Patch patch(node);
    replace_by_constant(patch, node.output(0), std::move(*view));
    return patch;
  }

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
