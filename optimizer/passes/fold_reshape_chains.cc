// fold_reshape_chains (basic): two reshaping nodes in a row become one, when the first one's output
// feeds only the second.
//
//   x -> Reshape(s1) -> Reshape(s2) -> y          x -> Reshape(s2) -> y
//   x -> Unsqueeze([0]) -> Unsqueeze([3]) -> y  => x -> Unsqueeze([0,3]) -> y
//   x -> Squeeze([0]) -> Squeeze([1]) -> y        x -> Squeeze([0,2]) -> y
//   x[2,3,4] -> Flatten -> Unsqueeze([0]) -> y    x -> Reshape([1,2,12]) -> y
//
// The reshaping ops are Reshape, Squeeze, Unsqueeze and Flatten (all keep element order), so the
// pair equals one reshape of x to the second's output shape. In order of preference:
//   1. Reshape -> Reshape: the second's target is kept when it is a constant with no 0 entry (a 0
//      copies a dim of the first's output, which x does not have) or allowzero=1 makes 0 literal.
//   2. Unsqueeze -> Unsqueeze and Squeeze -> Squeeze with explicit constant axes: one node with the
//      axes merged (x's rank must be known). Axes are an attribute before opset 13, an input from.
//   3. The second's inferred output shape equals x's type: the pair goes and y reads x (symbolic
//      dims compare as expressions: Unsqueeze(1) -> Squeeze(1) on x[batch,seq]).
//   4. Otherwise one Reshape to a constant target written from the second's inferred output shape:
//      known dims as numbers, symbolic dims that equal x's dim at the same index as 0 ("copy"),
//      and at most one other symbolic dim as -1. Not when two symbolic dims are left (a symbol
//      cannot be written as a constant) or a dim is 0 (Reshape would read 0 as "copy").
// Does not fire at opset < 5 (Reshape's target was an attribute) or when the first output has
// another consumer or is a graph output.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

bool is_reshaping(const ir::Node* node) {
  if (!node || !node->domain().empty()) return false;
  const std::string& op = node->op_type();
  return op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten";
}

Tensor int64_vector(const std::vector<int64_t>& values) {
  return Tensor::from_vector<int64_t>(DataType::kInt64, {static_cast<int64_t>(values.size())}, values);
}

/// Explicit constant axes of a Squeeze / Unsqueeze (nullopt when omitted or not constant).
std::optional<std::vector<int64_t>> axes_of(const ir::Node& node, int64_t opset) {
  if (opset < 13) {
    if (!node.find_attribute("axes")) return std::nullopt;
    return node.get_ints("axes");
  }
  if (!node.input(1)) return std::nullopt;
  return constant_ints(node.input(1));
}

/// Axes normalized to [0, rank), sorted; nullopt when one is out of range or repeated.
std::optional<std::set<int64_t>> normalized(const std::vector<int64_t>& axes, int64_t rank) {
  std::set<int64_t> out;
  for (int64_t a : axes) {
    const int64_t k = a < 0 ? a + rank : a;
    if (k < 0 || k >= rank || !out.insert(k).second) return std::nullopt;
  }
  return out;
}

/// Axes of Unsqueeze(Unsqueeze(x, first), second) as one Unsqueeze of x (rank `rank`).
std::optional<std::vector<int64_t>> merge_unsqueeze(const std::vector<int64_t>& first,
                                                     const std::vector<int64_t>& second, int64_t rank) {
  const int64_t mid_rank = rank + static_cast<int64_t>(first.size());
  const int64_t out_rank = mid_rank + static_cast<int64_t>(second.size());
  auto a1 = normalized(first, mid_rank);
  auto a2 = normalized(second, out_rank);
  if (!a1 || !a2) return std::nullopt;
  std::vector<int64_t> mid_positions;  // where the intermediate's dims land in the output
  for (int64_t k = 0; k < out_rank; ++k)
    if (!a2->count(k)) mid_positions.push_back(k);
  std::set<int64_t> merged = *a2;
  for (int64_t k : *a1) merged.insert(mid_positions[static_cast<size_t>(k)]);
  return std::vector<int64_t>(merged.begin(), merged.end());
}

/// Axes of Squeeze(Squeeze(x, first), second) as one Squeeze of x (rank `rank`).
std::optional<std::vector<int64_t>> merge_squeeze(const std::vector<int64_t>& first,
                                                   const std::vector<int64_t>& second, int64_t rank) {
  auto a1 = normalized(first, rank);
  if (!a1) return std::nullopt;
  auto a2 = normalized(second, rank - static_cast<int64_t>(a1->size()));
  if (!a2) return std::nullopt;
  std::vector<int64_t> kept;  // x's axes that the intermediate still has
  for (int64_t k = 0; k < rank; ++k)
    if (!a1->count(k)) kept.push_back(k);
  std::set<int64_t> merged = *a1;
  for (int64_t k : *a2) merged.insert(kept[static_cast<size_t>(k)]);
  return std::vector<int64_t>(merged.begin(), merged.end());
}

/// A constant target reshaping `input` to `shape`: known dims as numbers, a symbolic dim equal to
/// the input's dim at the same index as 0 ("copy"), and at most one other symbolic dim as -1.
std::optional<std::vector<int64_t>> constant_target(const ir::Shape& input, const ir::Shape& shape) {
  if (!shape.has_rank) return std::nullopt;
  std::vector<int64_t> target;
  bool inferred = false;
  for (size_t i = 0; i < shape.rank(); ++i) {
    const ir::Dim& d = shape.dims[i];
    if (d.is_constant()) {
      if (d.value() == 0) return std::nullopt;
      target.push_back(d.value());
    } else if (input.has_rank && i < input.rank() && input.dims[i] == d) {
      target.push_back(0);
    } else {
      if (inferred) return std::nullopt;
      inferred = true;
      target.push_back(-1);
    }
  }
  return target;
}

/// Whether a patch may make uses of `old_value` read `replacement` (a graph output must keep its
/// name, which only a value computed in the same graph can take over).
bool can_take_over(const ir::Value* old_value, const ir::Value* replacement) {
  if (!old_value->is_graph_output()) return true;
  return replacement->graph() == old_value->graph() && replacement->producer() && !replacement->is_graph_input() &&
         !replacement->is_graph_output() && !replacement->is_initializer();
}

std::optional<Patch> fold_reshape_chain(ir::Node& node, const PassContext& ctx) {
  const int64_t opset = ctx.opset();
  if (opset < 5 || !is_reshaping(&node) || !node.input(0) || !node.output(0)) return std::nullopt;
  ir::Node* first = producer_of(node.input(0));
  if (!is_reshaping(first) || first->graph() != node.graph() || !first->input(0) || !sole_consumer(*first))
    return std::nullopt;
  ir::Value* x = first->input(0);
  ir::Value* y = node.output(0);
  const std::string& op = node.op_type();
  const std::string& first_op = first->op_type();
  Patch patch(node);

  // 1. Reshape -> Reshape keeps the second's target.
  if (op == "Reshape" && first_op == "Reshape") {
    auto target = constant_ints(node.input(1));
    const bool allowzero = opset >= 14 && node.get_int("allowzero", 0) != 0;
    if (target && (allowzero || std::find(target->begin(), target->end(), 0) == target->end())) {
      std::vector<ir::Attribute> attrs;
      for (const ir::Attribute& a : node.attributes()) attrs.push_back(a.clone());
      patch.replace(y, patch.add_node("Reshape", {patch.use(x), patch.use(node.input(1))}, std::move(attrs))[0]);
      return patch;
    }
  }

  // 2. Same-kind Squeeze / Unsqueeze pairs merge their axes.
  const bool rank_known = x->type().is_tensor() && x->shape().has_rank;
  if (rank_known && op == first_op && (op == "Squeeze" || op == "Unsqueeze")) {
    auto a1 = axes_of(*first, opset);
    auto a2 = axes_of(node, opset);
    if (a1 && a2) {
      const int64_t rank = static_cast<int64_t>(x->shape().rank());
      auto merged = op == "Unsqueeze" ? merge_unsqueeze(*a1, *a2, rank) : merge_squeeze(*a1, *a2, rank);
      if (merged) {
        if (opset < 13) {
          patch.replace(y, patch.add_node(op, {patch.use(x)}, {ir::Attribute::make_ints("axes", *merged)})[0]);
        } else {
          const char* hint = op == "Squeeze" ? "squeeze_axes" : "unsqueeze_axes";
          Patch::Ref axes = patch.add_initializer(int64_vector(*merged), hint);
          patch.replace(y, patch.add_node(op, {patch.use(x), axes})[0]);
        }
        return patch;
      }
    }
  }

  // 3. The pair changes nothing.
  if (!y->type().is_tensor() || !y->shape().has_rank) return std::nullopt;
  if (rank_known && x->type() == y->type() && can_take_over(y, x)) {
    patch.replace(y, patch.use(x));
    return patch;
  }

  // 4. One Reshape to a constant target.
  auto target = constant_target(x->type().is_tensor() ? x->shape() : ir::Shape::unknown(), y->shape());
  if (!target) return std::nullopt;
  Patch::Ref shape = patch.add_initializer(int64_vector(*target), "reshape_shape");
  patch.replace(y, patch.add_node("Reshape", {patch.use(x), shape})[0]);
  return patch;
}

}  // namespace

bool fold_reshape_chains(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fold_reshape_chain);
}

}  // namespace ferry::optimizer::passes
