#include "optimizer/expand_functions.h"

#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "ferry/error.h"
#include "ir/schema.h"
#include "ir/shape_inference.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using ir::FunctionBody;
using ir::Graph;
using ir::Node;
using ir::OpSchema;
using ir::Value;
using ValueMap = std::unordered_map<const Value*, Value*>;

/// More rounds than any spec body nests (bodies of bodies); beyond it a body keeps producing
/// nodes that need expanding, which only a recursive definition does.
constexpr int kMaxRounds = 16;

std::string domain_label(const std::string& d) { return d.empty() ? "ai.onnx" : d; }

void collect_names(const Graph& g, std::unordered_set<std::string>& names) {
  for (const Value* v : g.values()) names.insert(v->name());
  for (const Graph* sub : g.direct_subgraphs()) collect_names(*sub, names);
}

template <typename F>
void for_each_body_node(const Graph& g, const F& fn) {
  for (const Node* n : g.nodes()) {
    fn(*n);
    for (const Attribute& a : n->attributes()) {
      if (a.g) for_each_body_node(*a.g, fn);
      for (const auto& sub : a.graphs)
        if (sub) for_each_body_node(*sub, fn);
    }
  }
}

/// "hs" for node 'hs'; "c__EluResult" for node 'c/EluResult' (a node from an earlier expansion);
/// the op type for an unnamed node.
std::string name_prefix(const Node& n) {
  if (n.name().empty()) return n.op_type();
  std::string out;
  for (char ch : n.name()) out += ch == '/' ? std::string("__") : std::string(1, ch);
  return out;
}

bool is_optional(const ir::FormalParameter& p) { return p.option != ir::FormalParameter::Option::kSingle; }

/// Why `n`, written against schema `b` (the body's opset), would not mean the same when run at
/// schema `m` (the model's opset); "" when it would.
std::string schema_change(const Node& n, const OpSchema& b, const OpSchema& m) {
  if (&b == &m) return "";
  for (const ir::AttributeSpec& ab : b.attributes) {
    const ir::AttributeSpec* am = m.find_attribute(ab.name);
    if (!am) {
      if (n.find_attribute(ab.name)) return "attribute '" + ab.name + "' does not exist there";
      continue;
    }
    if (am->type != ab.type) return "attribute '" + ab.name + "' changed type";
    const std::string db = ab.default_value ? ab.default_value->value_to_string() : "";
    const std::string dm = am->default_value ? am->default_value->value_to_string() : "";
    if (db != dm) return "attribute '" + ab.name + "' changed its default";
  }
  for (const ir::AttributeSpec& am : m.attributes)
    if (!b.find_attribute(am.name) && am.required) return "attribute '" + am.name + "' is required there";
  auto params = [&](const std::vector<ir::FormalParameter>& pb, const std::vector<ir::FormalParameter>& pm,
                    size_t used, const char* what) -> std::string {
    const size_t common = std::min(pb.size(), pm.size());
    for (size_t i = 0; i < common; ++i)
      if (pb[i].name != pm[i].name || pb[i].option != pm[i].option)
        return std::string(what) + " " + std::to_string(i) + " changed ('" + pb[i].name + "' vs '" + pm[i].name + "')";
    for (size_t i = common; i < pm.size(); ++i)
      if (!is_optional(pm[i])) return std::string(what) + " '" + pm[i].name + "' is required there";
    const bool variadic_tail = !pm.empty() && pm.back().option == ir::FormalParameter::Option::kVariadic;
    if (pb.size() > pm.size() && used > pm.size() && !variadic_tail)
      return std::string(what) + " '" + pb[pm.size()].name + "' does not exist there";
    return "";
  };
  auto used_count = [](const std::vector<Value*>& vs) {
    size_t k = vs.size();
    while (k > 0 && !vs[k - 1]) --k;
    return k;
  };
  std::string why = params(b.inputs, m.inputs, used_count(n.inputs()), "input");
  if (why.empty()) why = params(b.outputs, m.outputs, used_count(n.outputs()), "output");
  return why;
}

class Expander {
 public:
  Expander(ir::Model& model, const HasKernel& has_kernel) : model_(model), has_kernel_(has_kernel) {
    collect_names(model.graph(), names_);
  }

  /// One round over `g` and its subgraphs; true when a node was expanded.
  bool expand_graph(Graph& g) {
    bool changed = false;
    for (Node* node : g.nodes()) {
      for (Attribute& a : node->mutable_attributes()) {
        if (a.g) changed |= expand_graph(*a.g);
        for (auto& sub : a.graphs)
          if (sub) changed |= expand_graph(*sub);
      }
      const int64_t opset = model_.opset(node->domain());
      if (opset <= 0) continue;
      // Ops without a function body are skipped before asking the providers (the costlier check).
      const OpSchema* schema = ir::find_schema(node->domain(), node->op_type(), opset);
      if (!schema || !schema->has_function || has_kernel_(*node, opset)) continue;
      const FunctionBody* body = ir::find_function_body(node->domain(), node->op_type(), opset);
      if (!body) continue;
      const std::string who = node->describe();
      try {
        check_opsets(*body);
        expand_node(g, node, *body, *schema);
      } catch (const Error& e) {
        throw e.with_context(who + " (opset " + std::to_string(opset) +
                             ", no kernel; expanding its ONNX function body)");
      }
      changed = true;
    }
    return changed;
  }

 private:
  /// Throws kNotImplemented when a body op means something else at the model's opset.
  void check_opsets(const FunctionBody& body) {
    for (const auto& [d, v] : body.opset_imports)
      if (model_.opset(d) <= 0) model_.opset_imports[d] = v;
    if (checked_.count(&body)) return;
    for_each_body_node(*body.graph, [&](const Node& n) {
      auto it = body.opset_imports.find(n.domain());
      if (it == body.opset_imports.end())
        throw Error(ErrorCode::kRuntime, "the body uses domain '" + domain_label(n.domain()) + "' it does not import");
      const int64_t fv = it->second, mv = model_.opset(n.domain());
      const OpSchema* b = ir::find_schema(n.domain(), n.op_type(), fv);
      const OpSchema* m = ir::find_schema(n.domain(), n.op_type(), mv);
      std::string why;
      if (!b)
        throw Error(ErrorCode::kRuntime, "the body uses " + n.op_type() + ", which its opset " + std::to_string(fv) +
                                             " does not define");
      if (!m) why = "does not exist at the model's opset " + std::to_string(mv);
      else why = schema_change(n, *b, *m);
      if (why.empty()) return;
      if (m) why = "at the model's opset " + std::to_string(mv) + " is version " + std::to_string(m->since_version) +
                   ", where " + why;
      throw Error(ErrorCode::kNotImplemented, "the body is written for " + domain_label(n.domain()) + " opset " +
                                                  std::to_string(fv) + " and uses " + n.op_type() + " (since " +
                                                  std::to_string(b->since_version) + "), which " + why);
    });
    checked_.insert(&body);
  }

  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
    names_.insert(name);
    return name;
  }

  struct Call {
    std::vector<Attribute> attributes;  ///< the node's (it is removed before its body is copied)
    const OpSchema& schema;
    std::string prefix;     ///< for new value names (name_prefix)
    std::string node_name;  ///< for new node names: the node's name, else its op type
  };

  std::optional<Attribute> resolve_ref(const Attribute& a, const Call& call) {
    Attribute value;
    auto given = std::find_if(call.attributes.begin(), call.attributes.end(),
                              [&](const Attribute& x) { return x.name == a.ref_attr_name; });
    if (given != call.attributes.end()) {
      value = given->clone();
    } else {
      const ir::AttributeSpec* spec = call.schema.find_attribute(a.ref_attr_name);
      if (!spec || !spec->default_value) return std::nullopt;  // no value: the attribute is absent
      value = spec->default_value->clone();
    }
    if (value.type != a.type)
      throw Error(ErrorCode::kInvalidModel, "attribute '" + a.ref_attr_name + "' is " +
                                                std::string(ir::attribute_type_name(value.type)) + ", the body uses it as " +
                                                std::string(ir::attribute_type_name(a.type)));
    value.name = a.name;
    value.ref_attr_name.clear();
    return value;
  }

  std::vector<Attribute> copy_attributes(const Node& n, Graph& dst, ValueMap& map, const Call& call) {
    std::vector<Attribute> out;
    for (const Attribute& a : n.attributes()) {
      if (!a.ref_attr_name.empty()) {
        if (auto v = resolve_ref(a, call)) out.push_back(std::move(*v));
        continue;
      }
      if (!a.g && a.graphs.empty()) {
        out.push_back(a.clone());
        continue;
      }
      Attribute c = a;
      if (a.g) c.g = copy_subgraph(*a.g, &dst, map, call);
      for (auto& sub : c.graphs)
        if (sub) sub = copy_subgraph(*sub, &dst, map, call);
      out.push_back(std::move(c));
    }
    return out;
  }

  /// Copies the nodes of `src` into `dst` before `position` (null: at the end). Body values get
  /// fresh names unless `fixed` names them.
  void copy_nodes(const Graph& src, Graph& dst, Node* position, ValueMap& map,
                  const std::map<const Value*, std::string>& fixed, const Call& call) {
    for (const Node* n : src.nodes()) {
      std::vector<Value*> inputs;
      for (const Value* in : n->inputs()) {
        if (!in) {
          inputs.push_back(nullptr);
          continue;
        }
        auto it = map.find(in);
        if (it == map.end()) throw Error(ErrorCode::kRuntime, "the body uses '" + in->name() + "' before defining it");
        inputs.push_back(it->second);
      }
      while (!inputs.empty() && !inputs.back()) inputs.pop_back();  // omitted trailing inputs
      std::vector<std::string> out_names;
      for (const Value* out : n->outputs()) {
        auto it = out ? fixed.find(out) : fixed.end();
        out_names.push_back(!out ? "" : it != fixed.end() ? it->second : fresh(call.prefix + "__" + out->name()));
      }
      const std::string label = n->name().empty() ? (n->outputs().empty() || !n->output(0) ? n->op_type() : n->output(0)->name())
                                                  : n->name();
      const std::string name = call.node_name + "/" + label;
      Node* c = position ? dst.insert_node_before(position, n->op_type(), inputs, out_names, n->domain(), name)
                         : dst.add_node(n->op_type(), inputs, out_names, n->domain(), name);
      for (size_t i = 0; i < n->outputs().size(); ++i)
        if (n->output(i)) map[n->output(i)] = c->output(i);
      c->mutable_attributes() = copy_attributes(*n, dst, map, call);
    }
  }

  std::shared_ptr<Graph> copy_subgraph(const Graph& src, Graph* parent, ValueMap& map, const Call& call) {
    auto g = std::make_shared<Graph>(src.name(), parent);
    for (const Value* in : src.inputs()) {
      Value* v = g->add_value(fresh(call.prefix + "__" + in->name()), in->type());
      g->add_input(v);
      map[in] = v;
    }
    copy_nodes(src, *g, nullptr, map, {}, call);
    for (const Value* out : src.outputs()) {
      auto it = map.find(out);
      if (it == map.end() || !it->second)
        throw Error(ErrorCode::kRuntime, "subgraph output '" + out->name() + "' is not defined");
      g->add_output(it->second);
    }
    return g;
  }

  void expand_node(Graph& g, Node* node, const FunctionBody& body, const OpSchema& schema) {
    const Graph& bg = *body.graph;
    if (node->inputs().size() > bg.inputs().size())
      throw Error(ErrorCode::kInvalidModel, "the node has " + std::to_string(node->inputs().size()) +
                                                " inputs but the function body takes " + std::to_string(bg.inputs().size()));
    if (node->outputs().size() > bg.outputs().size())
      throw Error(ErrorCode::kInvalidModel, "the node has " + std::to_string(node->outputs().size()) +
                                                " outputs but the function body produces " + std::to_string(bg.outputs().size()));
    const Call call{node->attributes(), schema, name_prefix(*node),
                    node->name().empty() ? node->op_type() : node->name()};
    ValueMap map;
    for (size_t i = 0; i < bg.inputs().size(); ++i) map[bg.inputs()[i]] = node->input(i);

    // The node's outputs keep their names and types: their uses move to placeholders while the
    // node goes, and the body's producers take the freed names.
    const size_t n_out = node->outputs().size();
    std::vector<std::string> actual_names(n_out);
    std::vector<ir::Type> actual_types(n_out);
    std::vector<Value*> hold(n_out, nullptr);
    std::map<const Value*, std::string> fixed;
    std::unordered_set<const Value*> body_inputs(bg.inputs().begin(), bg.inputs().end());
    for (size_t k = 0; k < n_out; ++k) {
      Value* actual = node->output(k);
      if (!actual) continue;
      actual_names[k] = actual->name();
      actual_types[k] = actual->type();
      hold[k] = g.add_value(fresh(actual->name() + "__expanding"), actual->type());
      g.replace_all_uses(actual, hold[k]);
      const Value* formal = bg.outputs()[k];
      if (!body_inputs.count(formal) && !fixed.count(formal)) fixed[formal] = actual_names[k];
    }
    std::vector<Node*> order = g.nodes();
    Node* position = nullptr;
    for (size_t i = 0; i + 1 < order.size(); ++i)
      if (order[i] == node) position = order[i + 1];
    g.remove_node(node);

    copy_nodes(bg, g, position, map, fixed, call);
    for (size_t k = 0; k < n_out; ++k) {
      if (!hold[k]) continue;
      Value* produced = map.at(bg.outputs()[k]);
      if (!produced)
        throw Error(ErrorCode::kInvalidModel, "output " + std::to_string(k) + " would be the omitted input '" +
                                                  bg.outputs()[k]->name() + "'");
      if (produced->name() != actual_names[k]) {
        Node* id = position ? g.insert_node_before(position, "Identity", {produced}, {actual_names[k]}, "",
                                                   call.node_name + "/" + bg.outputs()[k]->name())
                            : g.add_node("Identity", {produced}, {actual_names[k]}, "",
                                         call.node_name + "/" + bg.outputs()[k]->name());
        produced = id->output(0);
      }
      if (actual_types[k].kind != ir::Type::Kind::kUnknown) produced->set_type(actual_types[k]);
      g.replace_all_uses(hold[k], produced);
      g.remove_value(hold[k]);
    }
  }

  ir::Model& model_;
  const HasKernel& has_kernel_;
  std::unordered_set<std::string> names_;
  std::unordered_set<const FunctionBody*> checked_;
};

}  // namespace

bool expand_functions(ir::Model& model, const HasKernel& has_kernel) {
  Expander expander(model, has_kernel);
  bool changed = false;
  for (int round = 0; expander.expand_graph(model.graph()); ++round) {
    changed = true;
    if (round + 1 >= kMaxRounds)
      throw Error(ErrorCode::kNotImplemented,
                  "function expansion did not settle after " + std::to_string(kMaxRounds) +
                      " rounds: function bodies keep producing nodes without kernels");
    ir::InferenceOptions options;
    options.strict = false;
    ir::infer_shapes(model, options);
  }
  return changed;
}

}  // namespace ferry::optimizer
