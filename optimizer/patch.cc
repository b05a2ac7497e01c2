#include "optimizer/patch.h"

#include <algorithm>
#include <unordered_set>

#include "ferry/error.h"
#include "ir/graph_edit.h"

namespace ferry::optimizer {

namespace {

/// The graphs nested in `root` (recursively), known while apply_rule walks it. Graph's own
/// replace_all_uses scans every node for subgraphs on each call (a graph output of a subgraph
/// may be the replaced value); within apply_rule only a patch changes the graph, and the nested
/// graphs change only when a patch adds or removes a node that holds one.
struct NestedGraphs {
  ir::Graph* root = nullptr;
  std::vector<ir::Graph*> graphs;
  bool known = false;
};
thread_local NestedGraphs* t_nested = nullptr;

/// graph.replace_all_uses(from, to), using the nested graphs apply_rule keeps when it can.
void replace_all_uses(ir::Graph& graph, ir::Value* from, ir::Value* to) {
  if (!t_nested || t_nested->root != &graph) {
    graph.replace_all_uses(from, to);
    return;
  }
  if (!t_nested->known) {
    t_nested->graphs = ir::nested_graphs(graph);
    t_nested->known = true;
  }
  ir::replace_all_uses(graph, from, to, t_nested->graphs);
}

void forget_nested_graphs() {
  if (t_nested) t_nested->known = false;
}

}  // namespace

Patch::Ref Patch::use(ir::Value* value) {
  if (!value) return kOmitted;
  Item item;
  item.existing = value;
  items_.push_back(std::move(item));
  return static_cast<Ref>(items_.size() - 1);
}

Patch::Ref Patch::add_initializer(Tensor tensor, const std::string& name_hint) {
  Item item;
  item.initializer = static_cast<int>(initializers_.size());
  item.type = ir::Type::tensor(tensor.dtype(), ir::Shape::from_ints(tensor.shape()));
  item.typed = true;
  initializers_.push_back({std::move(tensor), name_hint});
  items_.push_back(std::move(item));
  return static_cast<Ref>(items_.size() - 1);
}

std::vector<Patch::Ref> Patch::add_node(const std::string& op_type, const std::vector<Ref>& inputs,
                                        std::vector<ir::Attribute> attributes, size_t output_count,
                                        const std::string& domain, const std::string& name) {
  NewNode n{op_type, domain, name, inputs, std::move(attributes), {}};
  for (Ref r : inputs)
    if (r != kOmitted && (r < 0 || static_cast<size_t>(r) >= items_.size()))
      throw Error(ErrorCode::kRuntime, "optimizer patch: input ref " + std::to_string(r) + " of new " + op_type +
                                           " node does not exist");
  for (size_t k = 0; k < output_count; ++k) {
    Item item;
    item.node = static_cast<int>(nodes_.size());
    item.output = static_cast<int>(k);
    items_.push_back(std::move(item));
    n.outputs.push_back(static_cast<Ref>(items_.size() - 1));
  }
  nodes_.push_back(std::move(n));
  return nodes_.back().outputs;
}

void Patch::set_type(Ref ref, ir::Type type) {
  Item& item = items_.at(static_cast<size_t>(ref));
  item.type = std::move(type);
  item.typed = true;
}

void Patch::replace(ir::Value* old_value, Ref replacement) {
  if (!old_value || replacement < 0 || static_cast<size_t>(replacement) >= items_.size())
    throw Error(ErrorCode::kRuntime, "optimizer patch: replace() needs a value and a ref of this patch");
  replacements_.emplace_back(old_value, replacement);
}

bool Patch::apply(std::vector<ir::Node*>* removed) {
  ir::Graph& graph = *anchor_->graph();

  // A graph output must keep its name; check before changing anything.
  for (const auto& [old_value, ref] : replacements_) {
    if (!old_value->is_graph_output()) continue;
    const Item& item = items_[static_cast<size_t>(ref)];
    if (item.node < 0) {
      ir::Value* v = item.existing;
      if (!v || v->graph() != &graph || v->is_graph_input() || v->is_graph_output() || v->is_initializer() ||
          !v->producer())
        return false;
    }
  }

  std::vector<ir::Value*> made(items_.size(), nullptr);
  for (size_t i = 0; i < items_.size(); ++i)
    if (items_[i].existing) made[i] = items_[i].existing;
  for (size_t i = 0; i < items_.size(); ++i) {
    const Item& item = items_[i];
    if (item.initializer < 0) continue;
    NewInitializer& init = initializers_[static_cast<size_t>(item.initializer)];
    made[i] = graph.add_initializer(graph.unique_name(init.name_hint), std::move(init.tensor));
  }
  auto value_of = [&](Ref r) { return r == kOmitted ? nullptr : made[static_cast<size_t>(r)]; };
  for (NewNode& n : nodes_) {
    std::vector<ir::Value*> inputs;
    for (Ref r : n.inputs) inputs.push_back(value_of(r));
    std::vector<std::string> names;
    // Distinct prefixes per output: unique_name does not reserve a name until a value takes it.
    for (size_t k = 0; k < n.outputs.size(); ++k)
      names.push_back(graph.unique_name(n.op_type + "_out" + (k == 0 ? "" : std::to_string(k))));
    ir::Node* node = graph.insert_node_before(anchor_, n.op_type, inputs, names, n.domain,
                                              n.name.empty() ? "" : graph.unique_name(n.name));
    for (ir::Attribute& a : n.attributes) {
      if (a.g || !a.graphs.empty()) forget_nested_graphs();
      node->set_attribute(std::move(a));
    }
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      made[static_cast<size_t>(n.outputs[k])] = node->output(k);
      const Item& item = items_[static_cast<size_t>(n.outputs[k])];
      if (item.typed) node->output(k)->set_type(item.type);
    }
  }

  std::vector<ir::Node*> old_producers;
  for (const auto& [old_value, ref] : replacements_) {
    ir::Value* replacement = value_of(ref);
    if (!replacement || replacement == old_value) continue;
    const Item& item = items_[static_cast<size_t>(ref)];
    if (item.node >= 0 && !item.typed) replacement->set_type(old_value->type());
    const bool keep_name = old_value->is_graph_output() && old_value->graph() == &graph;
    replace_all_uses(graph, old_value, replacement);
    if (keep_name) {
      const std::string name = old_value->name();
      graph.rename_value(old_value, graph.unique_name(name + "_replaced"));
      graph.rename_value(replacement, name);
    }
    if (old_value->producer()) old_producers.push_back(old_value->producer());
  }
  std::vector<ir::Node*> gone;
  for (ir::Node* producer : old_producers)
    if (std::find(gone.begin(), gone.end(), producer) == gone.end()) remove_dead_nodes_from(*producer, &gone);
  if (removed) removed->insert(removed->end(), gone.begin(), gone.end());
  return true;
}

size_t remove_dead_nodes_from(ir::Node& node, std::vector<ir::Node*>* removed) {
  ir::Graph& graph = *node.graph();
  std::vector<ir::Node*> stack = {&node};
  std::unordered_set<ir::Node*> gone;
  while (!stack.empty()) {
    ir::Node* n = stack.back();
    stack.pop_back();
    if (gone.count(n)) continue;
    bool dead = true;
    for (ir::Value* out : n->outputs())
      if (out && (!out->uses().empty() || out->is_graph_output())) dead = false;
    if (!dead) continue;
    std::vector<ir::Node*> producers;
    for (ir::Value* in : n->inputs())
      if (in && in->producer() && in->graph() == &graph) producers.push_back(in->producer());
    if (has_subgraph(*n)) forget_nested_graphs();
    graph.remove_node(n);
    gone.insert(n);
    if (removed) removed->push_back(n);
    for (ir::Node* p : producers) stack.push_back(p);
  }
  return gone.size();
}

bool apply_rule(ir::Graph& graph, const PassContext& ctx, const Rule& rule) {
  const std::vector<ir::Node*> order = graph.nodes();
  std::unordered_set<ir::Node*> removed;
  std::vector<ir::Node*> just_removed;
  bool changed = false;
  NestedGraphs nested;
  nested.root = &graph;
  NestedGraphs* const outer = t_nested;
  t_nested = &nested;
  struct Restore {
    NestedGraphs* previous;
    ~Restore() { t_nested = previous; }
  } restore{outer};
  for (ir::Node* node : order) {
    if (removed.count(node)) continue;
    std::optional<Patch> patch = rule(*node, ctx);
    if (!patch) continue;
    just_removed.clear();
    if (!patch->apply(&just_removed)) continue;
    changed = true;
    removed.insert(just_removed.begin(), just_removed.end());
  }
  return changed;
}

// ---- helpers -----------------------------------------------------------------------------------

ir::Node* producer_of(const ir::Value* value, const std::string& op_type, const std::string& domain) {
  if (!value || !value->producer()) return nullptr;
  ir::Node* p = value->producer();
  if (!op_type.empty() && (p->op_type() != op_type || p->domain() != domain)) return nullptr;
  return p;
}

bool sole_consumer(const ir::Node& node) {
  for (ir::Value* out : node.outputs())
    if (out && (out->uses().size() != 1 || out->is_graph_output())) return false;
  return true;
}

ir::Node* only_consumer(const ir::Value* value) {
  if (!value || value->uses().size() != 1 || value->is_graph_output()) return nullptr;
  return value->uses()[0].node;
}

const Tensor* constant_of(const ir::Value* value) {
  return value && value->is_initializer() && !value->is_graph_input() ? &value->initializer() : nullptr;
}

std::optional<double> scalar_constant(const ir::Value* value) {
  const Tensor* t = constant_of(value);
  if (!t || t->element_count() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DataType::kFloat: return *t->data<float>();
    case DataType::kDouble: return *t->data<double>();
    case DataType::kInt8: return *t->data<int8_t>();
    case DataType::kUInt8: return *t->data<uint8_t>();
    case DataType::kInt16: return *t->data<int16_t>();
    case DataType::kUInt16: return *t->data<uint16_t>();
    case DataType::kInt32: return *t->data<int32_t>();
    case DataType::kUInt32: return *t->data<uint32_t>();
    case DataType::kInt64: return static_cast<double>(*t->data<int64_t>());
    case DataType::kUInt64: return static_cast<double>(*t->data<uint64_t>());
    default: return std::nullopt;
  }
}

std::optional<std::vector<int64_t>> constant_ints(const ir::Value* value) {
  const Tensor* t = constant_of(value);
  if (!t || t->rank() > 1) return std::nullopt;
  std::vector<int64_t> out;
  if (t->dtype() == DataType::kInt64) {
    for (int64_t v : t->span<int64_t>()) out.push_back(v);
  } else if (t->dtype() == DataType::kInt32) {
    for (int32_t v : t->span<int32_t>()) out.push_back(v);
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<double>> tensor_doubles(const Tensor* t) {
  if (!t) return std::nullopt;
  std::vector<double> out(static_cast<size_t>(t->element_count()));
  if (t->dtype() == DataType::kFloat) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t->data<float>()[i];
  } else if (t->dtype() == DataType::kDouble) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = t->data<double>()[i];
  } else {
    return std::nullopt;
  }
  return out;
}

Tensor tensor_from_doubles(DataType dtype, std::vector<int64_t> shape, const std::vector<double>& values) {
  if (dtype != DataType::kFloat && dtype != DataType::kDouble)
    throw Error(ErrorCode::kRuntime, "tensor_from_doubles: only float and double tensors");
  Tensor t = Tensor::empty(dtype, std::move(shape));
  if (static_cast<size_t>(t.element_count()) != values.size())
    throw Error(ErrorCode::kRuntime, "tensor_from_doubles: " + std::to_string(values.size()) +
                                         " values for " + std::to_string(t.element_count()) + " elements");
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DataType::kFloat)
      t.data<float>()[i] = static_cast<float>(values[i]);
    else
      t.data<double>()[i] = values[i];
  }
  return t;
}

bool has_subgraph(const ir::Node& node) {
  for (const ir::Attribute& a : node.attributes())
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

}  // namespace ferry::optimizer
