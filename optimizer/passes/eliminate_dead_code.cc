// eliminate_dead_code: removes what nothing reads.
//
//   before                                    after
//   graph (x, w = initializer, u = init.)     graph (x, w = initializer)
//   a = Relu(x)                               y = Mul(x, w)
//   b = Neg(a)          (b unused)
//   y = Mul(x, w)
//
// Contract:
// - A node is dead when none of its outputs is a graph output or has a use; uses include nodes
//   of subgraphs that read an outer value (Value::uses() lists them), so a value read only inside
//   an If branch stays. Nodes are visited last to first, so a whole dead chain goes in one call.
//   Removing a node with subgraph attributes drops those subgraphs (and their uses of outer
//   values) with it.
// - An initializer with no use is removed, unless it is also a graph input (an overridable
//   initializer is part of the model's interface) or a graph output.
// - Graph inputs and outputs are never removed. ONNX ops have no side effects, so "dead" needs
//   no op list.
// This sweep is not a pattern rule: deadness is a property of the whole graph's use lists, and a
// Patch has nothing to replace, so the pass walks the node list itself.
#include <algorithm>

#include "optimizer/passes.h"

namespace ferry::optimizer::passes {

namespace {

bool is_dead(const ir::Node& node) {
  return std::none_of(node.outputs().begin(), node.outputs().end(), [](const ir::Value* out) {
    return out && (!out->uses().empty() || out->is_graph_output());
  });
}

}  // namespace

bool eliminate_dead_code(ir::Graph& graph, const PassContext&) {
  bool changed = false;
  std::vector<ir::Node*> nodes = graph.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (!is_dead(**it)) continue;
    graph.remove_node(*it);
    changed = true;
  }
  for (ir::Value* v : graph.initializers()) {
    if (!v->uses().empty() || v->is_graph_input() || v->is_graph_output()) continue;
    graph.remove_value(v);
    changed = true;
  }
  return changed;
}

}  // namespace ferry::optimizer::passes
