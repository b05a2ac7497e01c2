#include "runtime/exec_graph.h"

#include <algorithm>
#include <functional>

namespace ferry::runtime {

std::string node_label(const ir::Node& node, size_t index, int64_t opset) {
  std::string who = node.name().empty() ? "node #" + std::to_string(index) : "node '" + node.name() + "'";
  std::string op = node.domain().empty() ? node.op_type() : node.domain() + ":" + node.op_type();
  return who + " (" + op + ", opset " + std::to_string(opset) + ")";
}

int ExecGraph::id_of(const ir::Value* v) const {
  auto it = ids.find(v);
  return it == ids.end() ? kNoValue : it->second;
}

namespace {

void for_each_subgraph(const ir::Node& n, const std::function<void(const ir::Graph&)>& fn) {
  for (const ir::Attribute& a : n.attributes()) {
    if (a.g) fn(*a.g);
    for (const auto& g : a.graphs)
      if (g) fn(*g);
  }
}

// Every value from outside `g` that nodes inside `g` (recursively) read.
void collect_outer_uses(const ir::Graph& g, const std::function<void(const ir::Value*)>& use) {
  for (const ir::Node* n : g.nodes()) {
    for (const ir::Value* v : n->inputs())
      if (v && v->graph() != &g) use(v);
    for_each_subgraph(*n, [&](const ir::Graph& sub) { collect_outer_uses(sub, use); });
  }
  for (const ir::Value* v : g.outputs())
    if (v && v->graph() != &g) use(v);
}

// Whether `owner` is `g` or encloses it.
bool owns_or_encloses(const ir::Graph* owner, const ir::Graph& g) {
  for (const ir::Graph* p = &g; p != nullptr; p = p->parent())
    if (p == owner) return true;
  return false;
}

}  // namespace

ExecGraph ExecGraph::build(const ir::Graph& graph, const ir::Model& model) {
  ExecGraph eg;
  auto add_value = [&](const ir::Value* v, ValueKind kind) {
    auto [it, inserted] = eg.ids.emplace(v, static_cast<int>(eg.values.size()));
    if (inserted) {
      ExecValue ev;
      ev.value = v;
      ev.kind = kind;
      eg.values.push_back(ev);
    }
    return it->second;
  };
  for (const ir::Value* v : graph.inputs())
    eg.graph_inputs.push_back(add_value(v, v->is_initializer() ? ValueKind::kInitializer : ValueKind::kInput));
  for (const ir::Value* v : graph.initializers()) add_value(v, ValueKind::kInitializer);
  // Values of enclosing graphs read here (directly, by graph outputs, or by nested subgraphs):
  // constants of an enclosing graph stay constants; anything else is given to each run.
  if (graph.parent() != nullptr) {
    collect_outer_uses(graph, [&](const ir::Value* v) {
      if (v->graph() == &graph || !owns_or_encloses(v->graph(), *graph.parent()) || eg.ids.count(v)) return;
      int id = add_value(v, v->is_initializer() ? ValueKind::kInitializer : ValueKind::kOuter);
      if (eg.values[id].kind == ValueKind::kOuter) eg.outer_inputs.push_back(id);
    });
  }

  std::vector<ir::Node*> nodes = graph.nodes();
  eg.nodes.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ir::Node& n = *nodes[i];
    ExecNode en;
    en.node = &n;
    en.opset = model.opset(n.domain());
    en.label = node_label(n, i, en.opset);
    for (const ir::Value* v : n.inputs()) {
      // A value defined nowhere earlier is left to the verifier; here it becomes an input slot
      // that stays empty.
      en.inputs.push_back(v ? add_value(v, v->is_initializer() ? ValueKind::kInitializer
                                                                 : ValueKind::kIntermediate)
                            : kNoValue);
    }
    for (const ir::Value* v : n.outputs()) {
      int id = v ? add_value(v, ValueKind::kIntermediate) : kNoValue;
      if (id != kNoValue) eg.values[id].producer = static_cast<int>(i);
      en.outputs.push_back(id);
    }
    for_each_subgraph(n, [&](const ir::Graph& sub) {
      collect_outer_uses(sub, [&](const ir::Value* v) {
        if (!owns_or_encloses(v->graph(), graph)) return;  // belongs to an intermediate subgraph level
        int id = eg.id_of(v);
        if (id != kNoValue && std::find(en.outer_uses.begin(), en.outer_uses.end(), id) == en.outer_uses.end())
          en.outer_uses.push_back(id);
      });
    });
    eg.nodes.push_back(std::move(en));
  }

  for (const ir::Value* v : graph.outputs()) {
    int id = add_value(v, v->is_initializer() ? ValueKind::kInitializer : ValueKind::kIntermediate);
    eg.values[id].is_graph_output = true;
    eg.graph_outputs.push_back(id);
  }

  for (ExecValue& ev : eg.values) ev.last_use = ev.producer;
  for (size_t i = 0; i < eg.nodes.size(); ++i) {
    auto touch = [&](int id) {
      if (id != kNoValue) eg.values[id].last_use = std::max(eg.values[id].last_use, static_cast<int>(i));
    };
    for (int id : eg.nodes[i].inputs) touch(id);
    for (int id : eg.nodes[i].outer_uses) touch(id);
  }
  for (ExecValue& ev : eg.values)
    if (ev.is_graph_output) ev.last_use = static_cast<int>(eg.nodes.size());
  return eg;
}

}  // namespace ferry::runtime
