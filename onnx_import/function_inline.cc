// Inlining of model-local functions (ModelProto.functions), done on the protobuf before the IR
// is built:
//
//   y = local.Scale(x) {factor=2}        Scale(X) -> (Y) { C = Constant() {value_float=@factor}
//                                                           Y = Mul(X, C) }
//   becomes
//   Scale__C = Constant() {value_float=2}
//   y = Mul(x, Scale__C)
//
// Every name defined inside the body (also inside its subgraphs) is renamed uniquely; formal
// inputs and outputs become the call's actual names; attribute references take the call's
// attribute, else the function's default, else the attribute is dropped (as the spec says).

#include <set>
#include <tuple>

#include "ir/schema.h"
#include "onnx_import/internal.h"

namespace ferry::onnx_import::detail {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // domain, name, overload

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidModel, msg); }

void collect_names(const onnx::GraphProto& g, std::set<std::string>& names);

void collect_attr_names(const onnx::NodeProto& n, std::set<std::string>& names) {
  for (const auto& a : n.attribute()) {
    if (a.has_g()) collect_names(a.g(), names);
    for (const auto& sg : a.graphs()) collect_names(sg, names);
  }
}

void collect_names(const onnx::GraphProto& g, std::set<std::string>& names) {
  for (const auto& v : g.input()) names.insert(v.name());
  for (const auto& v : g.output()) names.insert(v.name());
  for (const auto& v : g.value_info()) names.insert(v.name());
  for (const auto& t : g.initializer()) names.insert(t.name());
  for (const auto& t : g.sparse_initializer()) names.insert(t.values().name());
  for (const auto& n : g.node()) {
    for (const auto& s : n.input()) names.insert(s);
    for (const auto& s : n.output()) names.insert(s);
    collect_attr_names(n, names);
  }
}

/// Names a graph (and its nested subgraphs) defines: inputs, initializers, node outputs.
void collect_definitions(const onnx::GraphProto& g, std::vector<std::string>& out);

void collect_node_definitions(const onnx::NodeProto& n, std::vector<std::string>& out) {
  for (const auto& s : n.output())
    if (!s.empty()) out.push_back(s);
  for (const auto& a : n.attribute()) {
    if (a.has_g()) collect_definitions(a.g(), out);
    for (const auto& sg : a.graphs()) collect_definitions(sg, out);
  }
}

void collect_definitions(const onnx::GraphProto& g, std::vector<std::string>& out) {
  for (const auto& v : g.input()) out.push_back(v.name());
  for (const auto& t : g.initializer()) out.push_back(t.name());
  for (const auto& t : g.sparse_initializer()) out.push_back(t.values().name());
  for (const auto& n : g.node()) collect_node_definitions(n, out);
}

void collect_used_domains(const onnx::GraphProto& g, std::set<std::string>& out) {
  for (const auto& n : g.node()) {
    out.insert(normalize_domain(n.domain()));
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_used_domains(a.g(), out);
      for (const auto& sg : a.graphs()) collect_used_domains(sg, out);
    }
  }
}

class Inliner {
 public:
  Inliner(const onnx::ModelProto& model, std::map<std::string, int64_t>& opsets) : opsets_(opsets) {
    for (const auto& f : model.functions()) {
      Key k{normalize_domain(f.domain()), f.name(), f.overload()};
      if (!functions_.emplace(k, &f).second)
        throw invalid("function '" + f.name() + "' (domain '" + f.domain() + "') is defined twice");
    }
    collect_names(model.graph(), names_);
    for (const auto& f : model.functions())
      for (const auto& n : f.node()) collect_attr_names(n, names_);
  }

  void expand_graph(onnx::GraphProto& g, std::vector<Key>& stack) {
    google::protobuf::RepeatedPtrField<onnx::NodeProto> out;
    int index = 0;
    for (auto& node : *g.mutable_node()) {
      const int my_index = index++;
      for (auto& a : *node.mutable_attribute()) {
        if (a.has_g()) expand_graph(*a.mutable_g(), stack);
        for (auto& sg : *a.mutable_graphs()) expand_graph(sg, stack);
      }
      Key k{normalize_domain(node.domain()), node.op_type(), node.overload()};
      auto it = functions_.find(k);
      if (it == functions_.end()) {
        out.Add(std::move(node));
        continue;
      }
      const std::string call = describe_node(node, my_index);
      for (const Key& s : stack)
        if (s == k) throw invalid(call + ": function '" + node.op_type() + "' calls itself (recursion)");
      onnx::GraphProto body;
      try {
        instantiate(*it->second, node, body);
        stack.push_back(k);
        expand_graph(body, stack);
        stack.pop_back();
      } catch (const Error& e) {
        throw e.with_context(call + ": inlining function '" + node.op_type() + "'");
      }
      for (auto& n : *body.mutable_node()) out.Add(std::move(n));
      for (auto& vi : *body.mutable_value_info()) *g.add_value_info() = std::move(vi);
    }
    g.mutable_node()->Swap(&out);
  }

 private:
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; names_.count(name); ++i) name = base + "_" + std::to_string(i);
    names_.insert(name);
    return name;
  }

  void check_opsets(const onnx::FunctionProto& f) {
    for (const auto& op : f.opset_import()) {
      const std::string d = normalize_domain(op.domain());
      auto it = opsets_.find(d);
      if (it == opsets_.end()) {
        opsets_[d] = op.version();
        continue;
      }
      if (it->second == op.version()) continue;
      const std::string dn = d.empty() ? std::string("ai.onnx") : d;
      onnx::GraphProto g;
      *g.mutable_node() = f.node();
      check_body_ops(g, d, dn, op.version(), it->second, f.name());
    }
  }

  void check_body_ops(const onnx::GraphProto& g, const std::string& d, const std::string& dn,
                      int64_t fv, int64_t mv, const std::string& fname) {
    for (const auto& n : g.node()) {
      for (const auto& a : n.attribute()) {
        if (a.has_g()) check_body_ops(a.g(), d, dn, fv, mv, fname);
        for (const auto& sg : a.graphs()) check_body_ops(sg, d, dn, fv, mv, fname);
      }
      if (normalize_domain(n.domain()) != d) continue;
      const ir::OpSchema* a = ir::find_schema(d, n.op_type(), fv);
      const ir::OpSchema* b = ir::find_schema(d, n.op_type(), mv);
      if (a && b && a->since_version == b->since_version) continue;
      throw Error(ErrorCode::kNotImplemented,
                  "function '" + fname + "' imports " + dn + " opset " + std::to_string(fv) +
                      " but the model imports opset " + std::to_string(mv) + ", and " + n.op_type() +
                      " is not the same operator in both (" +
                      (a ? "since " + std::to_string(a->since_version) : std::string("unknown")) + " vs " +
                      (b ? "since " + std::to_string(b->since_version) : std::string("unknown")) +
                      "); a model holds one opset per domain");
    }
  }

  using Rename = std::map<std::string, std::string>;

  std::string renamed(const Rename& r, const std::string& name, const std::string& fname) {
    if (name.empty()) return name;
    auto it = r.find(name);
    if (it == r.end())
      throw invalid("function '" + fname + "': '" + name +
                    "' is used but is neither a function input nor defined in its body");
    return it->second;
  }

  /// Renames names and substitutes attribute references in a body node and its subgraphs.
  void rewrite_node(onnx::NodeProto& n, const Rename& r, const onnx::FunctionProto& f,
                    const onnx::NodeProto& call, const std::string& prefix) {
    for (auto& s : *n.mutable_input()) s = renamed(r, s, f.name());
    for (auto& s : *n.mutable_output()) s = renamed(r, s, f.name());
    if (!n.name().empty()) n.set_name(prefix + n.name());
    google::protobuf::RepeatedPtrField<onnx::AttributeProto> attrs;
    for (auto& a : *n.mutable_attribute()) {
      if (!a.ref_attr_name().empty()) {
        const onnx::AttributeProto* src = nullptr;
        for (const auto& ca : call.attribute())
          if (ca.name() == a.ref_attr_name()) src = &ca;
        if (!src)
          for (const auto& da : f.attribute_proto())
            if (da.name() == a.ref_attr_name()) src = &da;
        if (!src) continue;  // no value and no default: the attribute is absent
        onnx::AttributeProto copy = *src;
        copy.set_name(a.name());
        attrs.Add(std::move(copy));
        continue;
      }
      if (a.has_g()) rewrite_graph(*a.mutable_g(), r, f, call, prefix);
      for (auto& sg : *a.mutable_graphs()) rewrite_graph(sg, r, f, call, prefix);
      attrs.Add(std::move(a));
    }
    n.mutable_attribute()->Swap(&attrs);
  }

  void rewrite_graph(onnx::GraphProto& g, const Rename& r, const onnx::FunctionProto& f,
                     const onnx::NodeProto& call, const std::string& prefix) {
    for (auto& v : *g.mutable_input()) v.set_name(renamed(r, v.name(), f.name()));
    for (auto& v : *g.mutable_output()) v.set_name(renamed(r, v.name(), f.name()));
    for (auto& t : *g.mutable_initializer()) t.set_name(renamed(r, t.name(), f.name()));
    for (auto& t : *g.mutable_sparse_initializer())
      t.mutable_values()->set_name(renamed(r, t.values().name(), f.name()));
    google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> vis;
    for (auto& v : *g.mutable_value_info()) {
      auto it = r.find(v.name());
      if (it == r.end()) continue;
      v.set_name(it->second);
      vis.Add(std::move(v));
    }
    g.mutable_value_info()->Swap(&vis);
    for (auto& n : *g.mutable_node()) rewrite_node(n, r, f, call, prefix);
  }

  void instantiate(const onnx::FunctionProto& f, const onnx::NodeProto& call, onnx::GraphProto& body) {
    check_opsets(f);
    if (call.input_size() > f.input_size())
      throw invalid("the call has " + std::to_string(call.input_size()) + " inputs but the function takes " +
                    std::to_string(f.input_size()));
    if (call.output_size() > f.output_size())
      throw invalid("the call has " + std::to_string(call.output_size()) +
                    " outputs but the function produces " + std::to_string(f.output_size()));
    const std::string prefix = (call.name().empty() ? f.name() : call.name()) + "__";
    Rename r;
    for (int i = 0; i < f.input_size(); ++i) r[f.input(i)] = i < call.input_size() ? call.input(i) : "";
    for (int i = 0; i < f.output_size(); ++i) {
      std::string actual = i < call.output_size() ? call.output(i) : "";
      r[f.output(i)] = actual.empty() ? fresh(prefix + f.output(i)) : actual;
    }
    std::vector<std::string> defs;
    for (const auto& n : f.node()) collect_node_definitions(n, defs);
    for (const std::string& d : defs)
      if (!r.count(d)) r[d] = fresh(prefix + d);
    *body.mutable_node() = f.node();
    *body.mutable_value_info() = f.value_info();
    rewrite_graph(body, r, f, call, prefix);
  }

  std::map<std::string, int64_t>& opsets_;
  std::map<Key, const onnx::FunctionProto*> functions_;
  std::set<std::string> names_;
};

}  // namespace

void inline_functions(onnx::ModelProto& model, std::map<std::string, int64_t>& opsets) {
  if (model.functions_size() == 0) return;
  Inliner inliner(model, opsets);
  std::vector<Key> stack;
  inliner.expand_graph(*model.mutable_graph(), stack);
  // Domains that only named the functions are no longer used by any node.
  std::set<std::string> used;
  collect_used_domains(model.graph(), used);
  for (const auto& f : model.functions()) {
    const std::string d = normalize_domain(f.domain());
    if (!d.empty() && !used.count(d)) opsets.erase(d);
  }
  model.clear_functions();
}

}  // namespace ferry::onnx_import::detail
