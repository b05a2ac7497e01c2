#include "ir/printer.h"

#include <algorithm>

namespace ferry::ir {

namespace {

std::string type_text(const Type& t) {
  if (t.kind == Type::Kind::kTensor) return std::string(dtype_name(t.elem)) + t.shape.to_string();
  if (t.kind == Type::Kind::kUnknown) return "?";
  return t.to_string();
}

std::string typed_name(const Value* v) { return v ? v->name() + ": " + type_text(v->type()) : std::string("<null>"); }

std::string op_text(const Node& n) { return n.domain().empty() ? n.op_type() : n.domain() + ":" + n.op_type(); }

void print_graph_into(const Graph& g, int indent, std::string& out);

void print_node(const Node& n, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  out += pad;
  if (!n.outputs().empty()) {
    for (size_t i = 0; i < n.outputs().size(); ++i)
      out += (i ? ", " : "") + (n.output(i) ? n.output(i)->name() : std::string());
    out += " = ";
  }
  out += op_text(n) + "(";
  for (size_t i = 0; i < n.inputs().size(); ++i) out += (i ? ", " : "") + (n.input(i) ? n.input(i)->name() : std::string());
  out += ")";
  if (!n.attributes().empty()) {
    std::vector<const Attribute*> attrs;
    for (const Attribute& a : n.attributes()) attrs.push_back(&a);
    std::sort(attrs.begin(), attrs.end(), [](const Attribute* a, const Attribute* b) { return a->name < b->name; });
    out += " {";
    for (size_t i = 0; i < attrs.size(); ++i) {
      const Attribute& a = *attrs[i];
      out += (i ? ", " : "") + a.name + "=";
      if (!a.ref_attr_name.empty()) {
        out += "@" + a.ref_attr_name;
      } else if (a.type == AttributeType::kGraph && a.g) {
        print_graph_into(*a.g, indent, out);
      } else if (a.type == AttributeType::kGraphs) {
        out += "[";
        for (size_t k = 0; k < a.graphs.size(); ++k) {
          if (k) out += ", ";
          if (a.graphs[k]) print_graph_into(*a.graphs[k], indent, out);
        }
        out += "]";
      } else {
        out += a.value_to_string();
      }
    }
    out += "}";
  }
  if (!n.name().empty()) out += "  # node '" + n.name() + "'";
  out += "\n";
}

// Prints "graph name (inputs) -> (outputs) {\n nodes }": nodes at `indent + 1`, the closing brace
// at `indent` (the level of the node holding a subgraph, 0 for the main graph).
void print_graph_into(const Graph& g, int indent, std::string& out) {
  out += "graph " + g.name() + " (";
  bool first = true;
  for (const Value* v : g.inputs()) {
    out += (first ? "" : ", ") + typed_name(v);
    if (v && v->is_initializer()) out += " = initializer";
    first = false;
  }
  for (const Value* v : g.initializers()) {
    if (v->is_graph_input()) continue;
    out += (first ? "" : ", ") + typed_name(v) + " = initializer";
    first = false;
  }
  out += ") -> (";
  for (size_t i = 0; i < g.outputs().size(); ++i) out += (i ? ", " : "") + typed_name(g.outputs()[i]);
  out += ") {\n";
  for (const Node* n : g.nodes()) print_node(*n, indent + 1, out);
  out += std::string(static_cast<size_t>(indent) * 2, ' ') + "}";
}

}  // namespace

std::string print_graph(const Graph& graph) {
  std::string out;
  print_graph_into(graph, 0, out);
  return out + "\n";
}

std::string print_model(const Model& model) {
  std::string out = "model (ir_version " + std::to_string(model.ir_version) + ", opsets";
  for (const auto& [domain, version] : model.opset_imports)
    out += " " + (domain.empty() ? std::string("ai.onnx") : domain) + "=" + std::to_string(version);
  out += ")\n";
  return out + print_graph(model.graph());
}

}  // namespace ferry::ir
