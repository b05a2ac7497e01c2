// eliminate_common_subexpressions: computes each distinct thing once.
//
//   before                                    after
//   a = Relu(x)                               a = Relu(x)
//   b = Relu(x)                               y = Add(a, a)
//   y = Add(a, b)
//   graph (..., c1 = int64[1] [0], c2 = int64[1] [0])   ->   c2's uses read c1
//
// Contract:
// - Two nodes with the same op type, domain, inputs (the same values, in order; an omitted
//   optional input only matches an omitted one), the same present outputs and equal attributes
//   (compared by value, in any order; an attribute given with its default value is not equal to
//   an absent one) compute the same tensors: the first in graph order stays, the later one's
//   outputs are replaced by the first's. Nodes are visited in order, so merged chains collapse in
//   one call (after Relu(x) merges, the two Neg(Relu(x)) become identical too).
// - Never merged: non-deterministic ops (is_nondeterministic), nodes with subgraph attributes,
//   nodes without outputs, nodes with large tensor attributes (over kMaxAttributeBytes; comparing
//   them costs more than it saves; fold_constants turns large Constants into initializers
//   anyway), and pairs whose outputs are both graph outputs (both names must stay).
// - Initializers of this graph with the same dtype, shape and bytes and at most
//   kMaxMergedElements elements are merged into the first; not those that are graph inputs
//   (overridable) or graph outputs, nor string tensors.
#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#include "ir/graph_edit.h"
#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

constexpr int64_t kMaxMergedElements = 64;
constexpr size_t kMaxAttributeBytes = 4096;

template <typename T>
void append_raw(std::string& key, const T& v) {
  key.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

void append_string(std::string& key, const std::string& s) {
  append_raw(key, s.size());
  key += s;
}

/// Appends the tensor's dtype, shape and contents; false when it is too large to compare.
bool append_tensor(std::string& key, const Tensor& t) {
  append_raw(key, t.dtype());
  append_raw(key, t.shape().size());
  for (int64_t d : t.shape()) append_raw(key, d);
  if (!t.defined()) return true;
  if (t.dtype() == DataType::kString) {
    size_t bytes = 0;
    for (const std::string& s : t.span<std::string>()) {
      bytes += s.size();
      append_string(key, s);
    }
    return bytes <= kMaxAttributeBytes;
  }
  if (t.byte_size() > kMaxAttributeBytes) return false;
  key.append(static_cast<const char*>(t.raw_data()), t.byte_size());
  return true;
}

/// Appends the attribute's name, type and value; false when it cannot take part in a key.
bool append_attribute(std::string& key, const ir::Attribute& a) {
  if (a.g || !a.graphs.empty() || !a.ref_attr_name.empty()) return false;
  append_string(key, a.name);
  append_raw(key, a.type);
  append_raw(key, a.f);
  append_raw(key, a.i);
  append_string(key, a.s);
  if (!append_tensor(key, a.t)) return false;
  append_raw(key, a.floats.size());
  for (float f : a.floats) append_raw(key, f);
  append_raw(key, a.ints.size());
  for (int64_t i : a.ints) append_raw(key, i);
  append_raw(key, a.strings.size());
  for (const std::string& s : a.strings) append_string(key, s);
  append_raw(key, a.tensors.size());
  for (const Tensor& t : a.tensors)
    if (!append_tensor(key, t)) return false;
  auto append_sparse = [&](const ir::SparseTensor& s) {
    append_raw(key, s.dims.size());
    for (int64_t d : s.dims) append_raw(key, d);
    return append_tensor(key, s.values) && append_tensor(key, s.indices);
  };
  if (!append_sparse(a.sparse)) return false;
  append_raw(key, a.sparse_tensors.size());
  for (const ir::SparseTensor& s : a.sparse_tensors)
    if (!append_sparse(s)) return false;
  append_string(key, a.tp.to_string());
  append_raw(key, a.tps.size());
  for (const ir::Type& t : a.tps) append_string(key, t.to_string());
  return true;
}

/// What makes two nodes compute the same thing, in two parts: the op, inputs and outputs
/// (structure_key), then the attributes (attribute_key). Two nodes merge when both parts are equal;
/// nullopt from either: never merged. Most nodes differ in the first part already, so the
/// attributes are serialized only for nodes whose structure another node shares.
std::optional<std::string> structure_key(const ir::Node& node, const PassContext& ctx) {
  if (node.outputs().empty() || is_nondeterministic(node, ctx)) return std::nullopt;
  std::string key;
  append_string(key, node.domain());
  append_string(key, node.op_type());
  append_raw(key, node.inputs().size());
  for (const ir::Value* in : node.inputs()) append_raw(key, in);
  append_raw(key, node.outputs().size());
  for (const ir::Value* out : node.outputs()) append_raw(key, out != nullptr);
  return key;
}

std::optional<std::string> attribute_key(const ir::Node& node) {
  std::string key;
  std::vector<const ir::Attribute*> attributes;
  for (const ir::Attribute& a : node.attributes()) attributes.push_back(&a);
  std::sort(attributes.begin(), attributes.end(), [](auto* x, auto* y) { return x->name < y->name; });
  for (const ir::Attribute* a : attributes)
    if (!append_attribute(key, *a)) return std::nullopt;
  return key;
}

/// A node seen earlier that later ones may merge into; its attribute key is computed when a
/// node with the same structure key comes.
struct Candidate {
  ir::Node* node = nullptr;
  std::optional<std::string> attributes;
  bool keyed = false;
};

/// Merges identical small initializers of `graph`; returns whether any was merged.
bool merge_initializers(ir::Graph& graph) {
  std::unordered_map<std::string, ir::Value*> first;
  bool changed = false;
  const std::vector<ir::Graph*> nested = ir::nested_graphs(graph);  // merging keeps them all
  for (ir::Value* v : graph.initializers()) {
    const Tensor& t = v->initializer();
    if (v->is_graph_input() || v->is_graph_output() || t.dtype() == DataType::kString ||
        t.element_count() > kMaxMergedElements)
      continue;
    std::string key;
    append_tensor(key, t);
    auto [it, inserted] = first.emplace(std::move(key), v);
    if (inserted) continue;
    ir::replace_all_uses(graph, v, it->second, nested);
    graph.remove_value(v);
    changed = true;
  }
  return changed;
}

}  // namespace

bool eliminate_common_subexpressions(ir::Graph& graph, const PassContext& ctx) {
  bool changed = merge_initializers(graph);
  // Keys hold the addresses of input values; every value a key names belongs to a node or
  // initializer that stays (a merged node's inputs are the kept node's inputs), and so does
  // every candidate (only merged nodes, never candidates, are removed).
  std::unordered_map<std::string, std::vector<Candidate>> seen;  // structure key -> in order
  Rule merge_node = [&](ir::Node& node, const PassContext& c) -> std::optional<Patch> {
    std::optional<std::string> structure = structure_key(node, c);
    if (!structure) return std::nullopt;
    std::vector<Candidate>& candidates = seen[std::move(*structure)];
    if (candidates.empty()) {
      candidates.push_back({&node, std::nullopt, false});
      return std::nullopt;
    }
    std::optional<std::string> attributes = attribute_key(node);
    if (!attributes) return std::nullopt;
    const ir::Node* match = nullptr;
    for (Candidate& cand : candidates) {  // the first equal one, in graph order
      if (!cand.keyed) {
        cand.attributes = attribute_key(*cand.node);
        cand.keyed = true;
      }
      if (cand.attributes == attributes) {
        match = cand.node;
        break;
      }
    }
    if (!match) {
      candidates.push_back({&node, std::move(attributes), true});
      return std::nullopt;
    }
    const ir::Node& kept = *match;
    for (size_t k = 0; k < node.outputs().size(); ++k)
      if (node.output(k) && node.output(k)->is_graph_output() && kept.output(k)->is_graph_output())
        return std::nullopt;
    Patch patch(node);
    for (size_t k = 0; k < node.outputs().size(); ++k)
      if (node.output(k)) patch.replace(node.output(k), patch.use(kept.output(k)));
    return patch;
  };
  return apply_rule(graph, ctx, merge_node) || changed;
}

}  // namespace ferry::optimizer::passes
