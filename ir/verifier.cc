#include "ir/verifier.h"

#include <algorithm>
#include <unordered_set>

#include "ir/schema.h"

namespace ferry::ir {

namespace {

[[noreturn]] void fail(const Graph& g, const std::string& what) {
  throw Error(ErrorCode::kInvalidModel, "graph '" + g.name() + "': " + what);
}

// "node 'x' (Conv, opset 13)"
std::string describe_at(const Node& n, int64_t opset) {
  std::string d = n.describe();
  if (opset > 0 && !d.empty() && d.back() == ')') d.insert(d.size() - 1, ", opset " + std::to_string(opset));
  return d;
}

bool is_known_standard_domain(const std::string& domain) { return domain.empty() || domain == "ai.onnx.ml"; }

void check_schema(const Graph& g, const Node& n, const Model& model) {
  const int64_t opset = model.opset(n.domain());
  if (opset <= 0) return;
  const OpSchema* s = find_schema(n.domain(), n.op_type(), opset);
  const std::string who = describe_at(n, opset);
  if (!s) {
    // An op of a standard domain that only exists in later opsets is a versioning mistake.
    if (is_known_standard_domain(n.domain()) && find_schema(n.domain(), n.op_type(), INT32_MAX)) {
      const OpSchema* later = find_schema(n.domain(), n.op_type(), INT32_MAX);
      int first = later->since_version;
      for (const OpSchema& x : all_schemas())
        if (x.domain == later->domain && x.name == later->name) first = std::min(first, x.since_version);
      fail(g, who + ": " + n.op_type() + " does not exist before opset " + std::to_string(first));
    }
    return;  // unknown op: not the verifier's business
  }
  if (s->deprecated) fail(g, who + ": " + n.op_type() + " is deprecated since opset " + std::to_string(s->since_version));
  const int n_in = static_cast<int>(n.inputs().size());
  const int n_out = static_cast<int>(n.outputs().size());
  if (n_in < s->min_inputs || n_in > s->max_inputs)
    fail(g, who + ": has " + std::to_string(n_in) + " inputs, expected " +
                (s->min_inputs == s->max_inputs ? std::to_string(s->min_inputs)
                 : s->max_inputs == INT32_MAX   ? "at least " + std::to_string(s->min_inputs)
                                                : std::to_string(s->min_inputs) + " to " + std::to_string(s->max_inputs)));
  if (n_out < s->min_outputs || n_out > s->max_outputs)
    fail(g, who + ": has " + std::to_string(n_out) + " outputs, expected " +
                (s->min_outputs == s->max_outputs ? std::to_string(s->min_outputs)
                 : s->max_outputs == INT32_MAX    ? "at least " + std::to_string(s->min_outputs)
                                                  : std::to_string(s->min_outputs) + " to " + std::to_string(s->max_outputs)));
  for (size_t i = 0; i < s->inputs.size() && i < n.inputs().size(); ++i)
    if (s->inputs[i].option == FormalParameter::Option::kSingle && !n.input(i))
      fail(g, who + ": required input " + std::to_string(i) + " ('" + s->inputs[i].name + "') is missing");
  for (const AttributeSpec& spec : s->attributes) {
    const Attribute* a = n.find_attribute(spec.name);
    if (spec.required && !a) fail(g, who + ": missing required attribute '" + spec.name + "'");
    if (a && a->ref_attr_name.empty() && a->type != spec.type)
      fail(g, who + ": attribute '" + spec.name + "' is " + std::string(attribute_type_name(a->type)) + ", expected " +
                  std::string(attribute_type_name(spec.type)));
  }
  for (const Attribute& a : n.attributes())
    if (!s->find_attribute(a.name))
      fail(g, who + ": unknown attribute '" + a.name + "' (" + n.op_type() + " has " +
                  [&] {
                    std::string names;
                    for (const AttributeSpec& spec : s->attributes) names += (names.empty() ? "'" : ", '") + spec.name + "'";
                    return names.empty() ? std::string("no attributes") : names;
                  }() +
                  ")");
}

void verify_scope(const Graph& g, const Model& model, const std::unordered_set<const Value*>& outer) {
  std::unordered_set<const Value*> defined = outer;
  std::unordered_set<const Value*> owned;
  for (const Value* v : g.values()) {
    owned.insert(v);
    if (v->graph() != &g) fail(g, "value '" + v->name() + "' claims another owning graph");
    if (v->is_initializer()) defined.insert(v);
    for (const Use& u : v->uses()) {
      if (!u.node || u.node->input(static_cast<size_t>(u.input_index)) != v)
        fail(g, "value '" + v->name() + "' has a stale use (" + (u.node ? u.node->describe() : std::string("null node")) +
                    " input " + std::to_string(u.input_index) + ")");
      if (std::count(v->uses().begin(), v->uses().end(), u) != 1)
        fail(g, "value '" + v->name() + "' lists a use twice");
    }
  }
  for (const Value* v : g.inputs()) {
    if (!v) fail(g, "a graph input is null");
    if (!owned.count(v)) fail(g, "graph input '" + v->name() + "' belongs to another graph");
    if (v->producer()) fail(g, "graph input '" + v->name() + "' is also produced by " + v->producer()->describe());
    defined.insert(v);
  }
  std::unordered_set<const Value*> produced;
  for (const Node* n : g.nodes()) {
    if (n->graph() != &g) fail(g, n->describe() + " claims another owning graph");
    const int64_t opset = model.opset(n->domain());
    const std::string who = describe_at(*n, opset);
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Value* v = n->input(i);
      if (!v) continue;
      const Use use{const_cast<Node*>(n), static_cast<int>(i)};
      if (std::find(v->uses().begin(), v->uses().end(), use) == v->uses().end())
        fail(g, who + ": input " + std::to_string(i) + " '" + v->name() + "' does not list this node as a use");
      if (!defined.count(v)) {
        if (owned.count(v) && v->producer() && !produced.count(v))
          fail(g, who + ": input '" + v->name() + "' is used before " + v->producer()->describe() +
                      " produces it (nodes are not in topological order)");
        fail(g, who + ": input '" + v->name() + "' is not defined in this graph or an enclosing one");
      }
    }
    for (const Attribute& a : n->attributes()) {
      if (a.type == AttributeType::kGraph && a.g) {
        if (a.g->parent() != &g) fail(g, who + ": subgraph '" + a.name + "' does not name this graph as its parent");
        verify_scope(*a.g, model, defined);
      }
      if (a.type == AttributeType::kGraphs)
        for (const auto& sg : a.graphs)
          if (sg) {
            if (sg->parent() != &g) fail(g, who + ": subgraph '" + a.name + "' does not name this graph as its parent");
            verify_scope(*sg, model, defined);
          }
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      const Value* v = n->output(i);
      if (!v) continue;
      if (!owned.count(v)) fail(g, who + ": output '" + v->name() + "' belongs to another graph");
      if (v->producer() != n || v->producer_output() != static_cast<int>(i))
        fail(g, who + ": output '" + v->name() + "' records another producer");
      if (!produced.insert(v).second || v->is_initializer() || v->is_graph_input())
        fail(g, who + ": value '" + v->name() + "' has more than one definition");
      defined.insert(v);
    }
    check_schema(g, *n, model);
  }
  for (const Value* v : g.outputs()) {
    if (!v) fail(g, "a graph output is null");
    if (!defined.count(v)) fail(g, "graph output '" + v->name() + "' is never defined");
  }
}

}  // namespace

void verify_graph(const Graph& graph, const Model& model) {
  std::unordered_set<const Value*> outer;
  // A subgraph verified on its own sees every value of its enclosing graphs.
  for (const Graph* p = graph.parent(); p; p = p->parent())
    for (const Value* v : p->values()) outer.insert(v);
  verify_scope(graph, model, outer);
}

void verify(const Model& model) { verify_graph(model.graph(), model); }

}  // namespace ferry::ir
