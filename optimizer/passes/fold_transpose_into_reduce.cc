// fold_transpose_into_reduce (basic): a Transpose feeding a reduction that drops the reduced axes
// disappears when the axes that remain keep their order; the reduction reads the untransposed
// input over the permuted axes.
//
//   x: [S, B, H] -> Transpose(perm=[1,0,2]) -> [B, S, H] -> ReduceMean(axes=[1], keepdims=0) -> [B, H]
//   =>
//   x: [S, B, H] -> ReduceMean(axes=[0], keepdims=0) -> [B, H]
//
// Why it is exact: output element (i, k) reduces over the same input elements either way, since
// the reduced set {perm[a] : a in axes} is the same set of input axes and the kept axes
// (perm[i] for i not in axes) come out in the same order when perm restricted to them increases.
// Contract: any Reduce* op of ai.onnx; keepdims=0 given explicitly; axes a constant (attribute, or
// input 1 where the opset takes it as an input) that is not empty; the Transpose's output has this
// one consumer and is no graph output. The rewritten reduction keeps the original's form (axes as
// attribute or as input). With keepdims=1 the kept size-1 axes would need the Transpose back, so
// such nodes are left alone.
#include <algorithm>

#include "optimizer/passes.h"
#include "optimizer/patch.h"
#include "optimizer/passes/transpose_perm.h"

namespace ferry::optimizer::passes {

namespace {

bool is_reduce(const ir::Node& node) {
  return node.domain().empty() && node.op_type().rfind("Reduce", 0) == 0;
}

std::optional<Patch> fold_into_reduce(ir::Node& node, const PassContext&) {
  if (!is_reduce(node) || node.get_int("keepdims", 1) != 0) return std::nullopt;
  ir::Node* transpose = producer_of(node.input(0), "Transpose");
  if (!transpose || only_consumer(transpose->output(0)) != &node) return std::nullopt;
  const std::optional<std::vector<int64_t>> perm = perm_of(*transpose);
  if (!perm || !is_permutation(*perm)) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(perm->size());

  const ir::Attribute* axes_attr = node.find_attribute("axes");
  std::optional<std::vector<int64_t>> axes;
  if (axes_attr) {
    axes = axes_attr->ints;
  } else if (node.input(1)) {
    axes = constant_ints(node.input(1));
  }
  if (!axes || axes->empty()) return std::nullopt;
  std::vector<bool> reduced(perm->size(), false);
  for (int64_t a : *axes) {
    if (a < -rank || a >= rank) return std::nullopt;
    reduced[static_cast<size_t>(a < 0 ? a + rank : a)] = true;
  }
  std::vector<int64_t> new_axes;
  int64_t last_kept = -1;
  for (size_t i = 0; i < perm->size(); ++i) {
    if (reduced[i]) {
      new_axes.push_back((*perm)[i]);
    } else {
      if ((*perm)[i] < last_kept) return std::nullopt;
      last_kept = (*perm)[i];
    }
  }
  std::sort(new_axes.begin(), new_axes.end());

  Patch patch(node);
  std::vector<Patch::Ref> inputs = {patch.use(transpose->input(0))};
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : node.attributes())
    attrs.push_back(a.name == "axes" ? ir::Attribute::make_ints("axes", new_axes) : a.clone());
  if (!axes_attr) {
    const Tensor t = Tensor::from_vector<int64_t>(DataType::kInt64, {static_cast<int64_t>(new_axes.size())}, new_axes);
    inputs.push_back(patch.add_initializer(t, node.input(1)->name() + "_permuted"));
  }
  for (size_t i = inputs.size(); i < node.inputs().size(); ++i) inputs.push_back(patch.use(node.input(i)));
  patch.replace(node.output(0), patch.add_node(node.op_type(), inputs, std::move(attrs), 1, "", node.name())[0]);
  return patch;
}

}  // namespace

bool fold_transpose_into_reduce(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fold_into_reduce);
}

}  // namespace ferry::optimizer::passes
