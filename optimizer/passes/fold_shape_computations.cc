// fold_shape_computations: shape arithmetic whose result is known although the shapes it reads
// are symbolic.
//
//   x: float[batch,128,768]                   x: float[batch,128,768]
//   s = Shape(x)                              t_folded: int64[2] = initializer [-1,768]
//   d = Gather(s, 2)        (d = 768)         y = Reshape(x, t_folded)
//   u = Unsqueeze(d, [0])
//   t = Concat([-1], u)     (t = [-1,768])
//   y = Reshape(x, t)
//
// Shape inference (ir/shape_inference.h, infer_values) propagates the values of small integer
// tensors as dims through Shape, Size, Gather, Slice, Concat, Unsqueeze, Squeeze, Cast, the
// arithmetic ops and so on. Contract:
// - A node output whose propagated value is fully constant (no symbol left), whose type is a
//   0-D or 1-D int64/int32 tensor of matching size, becomes an initializer with that value
//   (a Constant node when it is a graph output, which must keep its name). Constant nodes are
//   left to fold_constants.
// - Values that still depend on a symbol (Gather(s, 0) = batch above) stay computed.
// - Shape(x, start, end) folds when the dims it selects are constant.
// - The values are as exact as the types inference starts from: a dim the model declares as a
//   number (graph inputs, value_info) is trusted, as the runtime trusts it.
// - Types are inferred once per call, over the whole model (an outer value's propagated value is
//   what a subgraph reads), unless the driver's last inference is still current
//   (optimizer/known_values.h). A graph with no Shape or Size node and no use of an outer value
//   has nothing to fold, and the pass returns at once.
#include <algorithm>

#include "ir/shape_inference.h"
#include "optimizer/known_values.h"
#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

bool may_have_shape_values(const ir::Graph& graph) {
  for (const ir::Node* node : graph.node_range()) {
    if (node->domain().empty() && (node->op_type() == "Shape" || node->op_type() == "Size")) return true;
    for (const ir::Value* in : node->inputs())
      if (in && in->graph() != &graph) return true;
  }
  return false;
}

/// The tensor holding `dims` for a value of type `type`, when every dim is a constant and the
/// type is a 0-D/1-D int64/int32 tensor of that many elements.
std::optional<Tensor> constant_tensor(const ir::Type& type, const std::vector<ir::Dim>& dims) {
  if (type.kind != ir::Type::Kind::kTensor || !type.shape.has_rank || type.shape.rank() > 1) return std::nullopt;
  if (type.elem != DataType::kInt64 && type.elem != DataType::kInt32) return std::nullopt;
  const int64_t n = static_cast<int64_t>(dims.size());
  if (type.shape.rank() == 0 ? n != 1 : !(type.shape.dims[0].is_constant() && type.shape.dims[0].value() == n))
    return std::nullopt;
  std::vector<int64_t> values;
  for (const ir::Dim& d : dims) {
    if (!d.is_constant()) return std::nullopt;
    values.push_back(d.value());
  }
  std::vector<int64_t> shape;
  if (type.shape.rank() == 1) shape.push_back(n);
  if (type.elem == DataType::kInt64) return Tensor::from_vector<int64_t>(DataType::kInt64, shape, values);
  std::vector<int32_t> narrow;
  for (int64_t v : values) {
    if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
    narrow.push_back(static_cast<int32_t>(v));
  }
  return Tensor::from_vector<int32_t>(DataType::kInt32, shape, narrow);
}

std::optional<Patch> fold_known_values(ir::Node& node, const ir::KnownValues& known) {
  if (node.op_type() == "Constant" && node.domain().empty()) return std::nullopt;
  std::optional<Patch> patch;
  for (ir::Value* out : node.outputs()) {
    if (!out || (out->uses().empty() && !out->is_graph_output())) continue;
    auto it = known.find(out);
    if (it == known.end()) continue;
    std::optional<Tensor> t = constant_tensor(out->type(), it->second);
    if (!t) continue;
    if (!patch) patch.emplace(node);
    if (out->is_graph_output()) {
      patch->replace(out, patch->add_node("Constant", {}, {ir::Attribute::make_tensor("value", std::move(*t))})[0]);
    } else {
      patch->replace(out, patch->add_initializer(std::move(*t), out->name() + "_folded"));
    }
  }
  return patch;
}

}  // namespace

bool fold_shape_computations(ir::Graph& graph, const PassContext& ctx) {
  if (!may_have_shape_values(graph)) return false;
  // Pointers in `known` stay valid for the nodes apply_rule visits: it skips removed nodes, and
  // a live node's outputs are the values inference saw.
  // The driver's last inference, when no pass changed the model since, is what a new one would
  // give (inference is a forward walk that starts from the types it left).
  ir::KnownValues inferred;
  const ir::KnownValues* known = current_known_values(ctx.model());
  if (!known) {
    ir::InferenceOptions options;
    options.strict = false;
    inferred = ir::infer_values(ctx.model(), options);
    known = &inferred;
  }
  const bool changed =
      apply_rule(graph, ctx, [&](ir::Node& node, const PassContext&) { return fold_known_values(node, *known); });
  if (changed) forget_known_values();  // the driver calls this pass on the next graph before it notices
  else if (known == &inferred) set_current_known_values(ctx.model(), std::move(inferred));  // still current
  return changed;
}

}  // namespace ferry::optimizer::passes
