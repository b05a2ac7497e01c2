#include "ir/graph.h"
#include "ir/graph_edit.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_set>

namespace ferry::ir {

namespace {

[[noreturn]] void invalid(const std::string& msg) { throw Error(ErrorCode::kInvalidModel, msg); }

std::string graph_label(const Graph& g) { return "graph '" + g.name() + "'"; }

void remove_use(Node* node, int index, std::vector<Use>& uses) {
  auto it = std::find(uses.begin(), uses.end(), Use{node, index});
  if (it != uses.end()) uses.erase(it);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Value

void Value::set_initializer(Tensor t) {
  type_ = Type::tensor(t.dtype(), Shape::from_ints(t.shape()));
  initializer_ = std::move(t);
}

bool Value::is_graph_input() const {
  if (!graph_) return false;
  const auto& in = graph_->inputs();
  return std::find(in.begin(), in.end(), this) != in.end();
}

bool Value::is_graph_output() const {
  if (!graph_) return false;
  const auto& out = graph_->outputs();
  return std::find(out.begin(), out.end(), this) != out.end();
}

// ---------------------------------------------------------------------------------------------
// Node

void Node::set_input(size_t i, Value* v) {
  if (i >= inputs_.size()) inputs_.resize(i + 1, nullptr);
  Value* old = inputs_[i];
  if (old == v) return;
  if (old) remove_use(this, static_cast<int>(i), old->uses_);
  inputs_[i] = v;
  if (v) v->uses_.push_back(Use{this, static_cast<int>(i)});
}

void Node::truncate_inputs(size_t n) {
  for (size_t i = n; i < inputs_.size(); ++i)
    if (inputs_[i]) remove_use(this, static_cast<int>(i), inputs_[i]->uses_);
  if (n < inputs_.size()) inputs_.resize(n);
}

const Attribute* Node::find_attribute(const std::string& name) const {
  for (const Attribute& a : attributes_)
    if (a.name == name) return &a;
  return nullptr;
}

void Node::set_attribute(Attribute a) {
  for (Attribute& existing : attributes_) {
    if (existing.name == a.name) {
      existing = std::move(a);
      return;
    }
  }
  attributes_.push_back(std::move(a));
}

bool Node::remove_attribute(const std::string& name) {
  auto it = std::find_if(attributes_.begin(), attributes_.end(), [&](const Attribute& a) { return a.name == name; });
  if (it == attributes_.end()) return false;
  attributes_.erase(it);
  return true;
}

namespace {

const Attribute* typed(const Node& n, const std::string& name, AttributeType want) {
  const Attribute* a = n.find_attribute(name);
  if (a && a->type != want)
    invalid(n.describe() + ": attribute '" + name + "' is " + std::string(attribute_type_name(a->type)) +
            ", expected " + std::string(attribute_type_name(want)));
  return a;
}

const Attribute& required(const Node& n, const std::string& name, AttributeType want) {
  const Attribute* a = typed(n, name, want);
  if (!a) invalid(n.describe() + ": missing required attribute '" + name + "'");
  return *a;
}

}  // namespace

int64_t Node::get_int(const std::string& name, int64_t dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kInt);
  return a ? a->i : dflt;
}
float Node::get_float(const std::string& name, float dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kFloat);
  return a ? a->f : dflt;
}
std::string Node::get_string(const std::string& name, const std::string& dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kString);
  return a ? a->s : dflt;
}
std::vector<int64_t> Node::get_ints(const std::string& name, const std::vector<int64_t>& dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kInts);
  return a ? a->ints : dflt;
}
std::vector<float> Node::get_floats(const std::string& name, const std::vector<float>& dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kFloats);
  return a ? a->floats : dflt;
}
std::vector<std::string> Node::get_strings(const std::string& name, const std::vector<std::string>& dflt) const {
  const Attribute* a = typed(*this, name, AttributeType::kStrings);
  return a ? a->strings : dflt;
}
int64_t Node::require_int(const std::string& name) const { return required(*this, name, AttributeType::kInt).i; }
const Tensor& Node::require_tensor(const std::string& name) const {
  return required(*this, name, AttributeType::kTensor).t;
}
const Graph& Node::require_graph(const std::string& name) const {
  const Attribute& a = required(*this, name, AttributeType::kGraph);
  if (!a.g) invalid(describe() + ": attribute '" + name + "' holds no graph");
  return *a.g;
}

std::string Node::describe() const {
  const std::string op = domain_.empty() ? op_type_ : domain_ + ":" + op_type_;
  if (!name_.empty()) return "node '" + name_ + "' (" + op + ")";
  return "node #" + std::to_string(index_hint_) + " (" + op + ")";
}

// ---------------------------------------------------------------------------------------------
// Graph

Graph::Graph(std::string name, Graph* parent) : name_(std::move(name)), parent_(parent) {}

Graph::~Graph() {
  // Uses of values owned elsewhere (outer scope) must not outlive this graph's nodes. Subgraphs
  // die with their nodes' attributes, while this graph's values are still alive.
  for (auto& node : nodes_)
    for (size_t i = 0; i < node->inputs_.size(); ++i)
      if (Value* v = node->inputs_[i]; v && v->graph_ != this) remove_use(node.get(), static_cast<int>(i), v->uses_);
  nodes_.clear();
  values_.clear();
}

Value* Graph::add_value(const std::string& name, Type type) {
  const std::string n = name.empty() ? unique_name("_v") : name;
  if (by_name_.count(n)) invalid(graph_label(*this) + ": value name '" + n + "' is already used");
  auto v = std::make_unique<Value>();
  v->name_ = n;
  v->type_ = std::move(type);
  v->graph_ = this;
  v->slot_ = values_.size();
  Value* raw = v.get();
  values_.push_back(std::move(v));
  by_name_[n] = raw;
  return raw;
}

Value* Graph::add_initializer(const std::string& name, Tensor t) {
  Value* v = add_value(name);
  v->set_initializer(std::move(t));
  return v;
}

Value* Graph::find_value(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Value* Graph::lookup(const std::string& name) const {
  for (const Graph* g = this; g; g = g->parent_)
    if (Value* v = g->find_value(name)) return v;
  return nullptr;
}

std::string Graph::unique_name(const std::string& prefix) {
  if (!lookup(prefix)) return prefix;
  for (;;) {
    std::string candidate = prefix + "_" + std::to_string(++next_unique_);
    if (!lookup(candidate)) return candidate;
  }
}

Node* Graph::insert_node_before(Node* position, const std::string& op_type, const std::vector<Value*>& inputs,
                                const std::vector<std::string>& output_names, const std::string& domain,
                                const std::string& name) {
  if (position && position->graph_ != this)
    invalid(graph_label(*this) + ": cannot insert before " + position->describe() + " of another graph");
  // Check output names first so that a failure leaves the graph unchanged.
  for (size_t i = 0; i < output_names.size(); ++i) {
    const std::string& out = output_names[i];
    if (out.empty()) continue;
    if (std::count(output_names.begin(), output_names.end(), out) > 1)
      invalid(graph_label(*this) + ": node output name '" + out + "' repeats");
    Value* existing = find_value(out);
    if (existing && (existing->producer_ || existing->is_initializer() || existing->is_graph_input()))
      invalid(graph_label(*this) + ": value '" + out + "' already has a definition");
  }
  auto owned = std::make_unique<Node>();
  Node* node = owned.get();
  node->op_type_ = op_type;
  node->domain_ = domain == "ai.onnx" ? "" : domain;
  node->name_ = name;
  node->graph_ = this;
  node->index_hint_ = next_node_index_++;
  auto where = position ? position->self_ : nodes_.end();
  node->self_ = nodes_.insert(where, std::move(owned));
  for (Value* v : inputs) node->add_input(v);
  for (size_t i = 0; i < output_names.size(); ++i) {
    Value* v = nullptr;
    if (!output_names[i].empty()) {
      // A value created earlier by name only (a forward reference) is adopted as this output.
      v = find_value(output_names[i]);
      if (!v) v = add_value(output_names[i]);
      v->producer_ = node;
      v->producer_output_ = static_cast<int>(i);
    }
    node->outputs_.push_back(v);
  }
  return node;
}

Node* Graph::add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                      const std::vector<std::string>& output_names, const std::string& domain,
                      const std::string& name) {
  return insert_node_before(nullptr, op_type, inputs, output_names, domain, name);
}

void Graph::remove_node(Node* node) {
  if (!node || node->graph_ != this) invalid(graph_label(*this) + ": remove_node of a node not in this graph");
  for (Value* out : node->outputs_) {
    if (!out) continue;
    if (!out->uses_.empty())
      invalid(graph_label(*this) + ": cannot remove " + node->describe() + ": its output '" + out->name() +
              "' is still used by " + out->uses_.front().node->describe());
    if (out->is_graph_output())
      invalid(graph_label(*this) + ": cannot remove " + node->describe() + ": its output '" + out->name() +
              "' is a graph output");
  }
  node->truncate_inputs(0);
  for (Value* out : node->outputs_) {
    if (!out) continue;
    out->producer_ = nullptr;
    erase_value(out);
  }
  nodes_.erase(node->self_);
}

namespace {

void replace_in_outputs(Value* from, Value* to, std::vector<Value*>& outputs) {
  for (Value*& o : outputs)
    if (o == from) o = to;
}

}  // namespace

void Graph::replace_all_uses(Value* from, Value* to) {
  if (from == to) return;
  // Uses include nodes of subgraphs (they register on outer-scope values like any other).
  // Every use moves, so the use lists change wholesale (no per-use search).
  std::vector<Use> uses = std::move(from->uses_);
  from->uses_.clear();
  for (const Use& u : uses) {
    u.node->inputs_[static_cast<size_t>(u.input_index)] = to;
    if (to) to->uses_.push_back(u);
  }
  // Graph outputs here and in any nested subgraph that returns the outer value directly.
  std::vector<Graph*> stack = {this};
  while (!stack.empty()) {
    Graph* g = stack.back();
    stack.pop_back();
    replace_in_outputs(from, to, g->outputs_);
    for (Graph* sg : g->direct_subgraphs()) stack.push_back(sg);
  }
}

void Graph::remove_value(Value* v) {
  if (!v || v->graph_ != this) invalid(graph_label(*this) + ": remove_value of a value not in this graph");
  if (v->producer_ || !v->uses_.empty() || v->is_graph_input() || v->is_graph_output())
    invalid(graph_label(*this) + ": cannot remove value '" + v->name() + "': it is still produced, used, or a graph input/output");
  erase_value(v);
}

void Graph::erase_value(Value* v) {
  by_name_.erase(v->name_);
  values_[v->slot_].reset();
  ++dead_values_;
  if (dead_values_ < 64 || dead_values_ * 2 < values_.size()) return;
  size_t kept = 0;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (!values_[i]) continue;
    values_[i]->slot_ = kept;
    if (i != kept) values_[kept] = std::move(values_[i]);
    ++kept;
  }
  values_.resize(kept);
  dead_values_ = 0;
}

void Graph::rename_value(Value* v, const std::string& name) {
  if (!v || v->graph_ != this) invalid(graph_label(*this) + ": rename_value of a value not in this graph");
  if (v->name_ == name) return;
  if (name.empty() || by_name_.count(name))
    invalid(graph_label(*this) + ": cannot rename '" + v->name_ + "' to '" + name + "': the name is empty or taken");
  by_name_.erase(v->name_);
  v->name_ = name;
  by_name_[name] = v;
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

Node* Graph::next_node(const Node& node) const {
  auto it = std::next(node.self_);
  return it == nodes_.end() ? nullptr : it->get();
}

Node* Graph::prev_node(const Node& node) const {
  return node.self_ == nodes_.begin() ? nullptr : std::prev(node.self_)->get();
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size() - dead_values_);
  for (const auto& v : values_)
    if (v) out.push_back(v.get());
  return out;
}

std::vector<Value*> Graph::initializers() const {
  std::vector<Value*> out;
  for (const auto& v : values_)
    if (v && v->is_initializer()) out.push_back(v.get());
  return out;
}

void Graph::add_input(Value* v) { inputs_.push_back(v); }
void Graph::add_output(Value* v) { outputs_.push_back(v); }
void Graph::set_outputs(std::vector<Value*> outputs) { outputs_ = std::move(outputs); }
void Graph::set_inputs(std::vector<Value*> inputs) { inputs_ = std::move(inputs); }

std::vector<Graph*> Graph::direct_subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& n : nodes_) {
    for (const Attribute& a : n->attributes_) {
      if (a.g) out.push_back(a.g.get());
      for (const auto& g : a.graphs)
        if (g) out.push_back(g.get());
    }
  }
  return out;
}

namespace {

// Values a node reads, including those read by nodes of its subgraphs (implicit inputs).
void collect_reads(const Node& node, std::vector<Value*>& out) {
  for (Value* v : node.inputs())
    if (v) out.push_back(v);
  for (const Attribute& a : node.attributes()) {
    std::vector<Graph*> subs;
    if (a.g) subs.push_back(a.g.get());
    for (const auto& g : a.graphs)
      if (g) subs.push_back(g.get());
    for (Graph* g : subs) {
      for (Node* n : g->nodes()) collect_reads(*n, out);
      for (Value* v : g->outputs())
        if (v) out.push_back(v);
    }
  }
}

}  // namespace

void Graph::sort_topologically() {
  std::vector<Node*> order = nodes();
  std::unordered_map<const Node*, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i) pos[order[i]] = i;
  std::vector<std::vector<size_t>> consumers(order.size());
  std::vector<size_t> pending(order.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) {
    std::vector<Value*> reads;
    collect_reads(*order[i], reads);
    std::unordered_set<size_t> deps;
    for (Value* v : reads) {
      Node* p = v->producer();
      if (!p) continue;
      auto it = pos.find(p);
      if (it == pos.end() || it->second == i) {
        if (it != pos.end()) deps.insert(i);  // self-loop
        continue;
      }
      deps.insert(it->second);
    }
    for (size_t d : deps) {
      consumers[d].push_back(i);
      ++pending[i];
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < order.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> sorted;
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    sorted.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (sorted.size() != order.size()) {
    std::string names;
    int listed = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      if (pending[i] == 0) continue;
      if (listed == 8) {
        names += ", ...";
        break;
      }
      names += (listed++ ? ", " : "") + order[i]->describe();
    }
    invalid(graph_label(*this) + ": the graph has a cycle (or reads a value before any node produces it) among " +
            std::to_string(order.size() - sorted.size()) + " nodes: " + names);
  }
  std::list<std::unique_ptr<Node>> reordered;
  std::vector<std::unique_ptr<Node>> holders(order.size());
  for (auto& n : nodes_) holders[pos[n.get()]] = std::move(n);
  nodes_.clear();
  for (size_t i : sorted) {
    Node* raw = holders[i].get();
    nodes_.push_back(std::move(holders[i]));
    raw->self_ = std::prev(nodes_.end());
  }
}

namespace {

using ValueMap = std::unordered_map<const Value*, Value*>;

Value* remap(const ValueMap& map, Value* v, Graph* new_parent) {
  if (!v) return nullptr;
  auto it = map.find(v);
  if (it != map.end()) return it->second;
  if (new_parent)
    if (Value* found = new_parent->lookup(v->name())) return found;
  return v;  // outer-scope value of a graph cloned without a new parent
}

}  // namespace

std::unique_ptr<Graph> Graph::clone(Graph* parent) const {
  // `map` grows with every cloned graph's values so that subgraph nodes reading outer-scope
  // values resolve to the copies.
  ValueMap map;
  std::function<std::unique_ptr<Graph>(const Graph&, Graph*)> run = [&](const Graph& src, Graph* new_parent) {
    auto g = std::make_unique<Graph>(src.name_, new_parent);
    g->doc_string = src.doc_string;
    g->next_node_index_ = src.next_node_index_;
    g->next_unique_ = src.next_unique_;
    for (const auto& v : src.values_) {
      if (!v) continue;
      Value* nv = g->add_value(v->name_, v->type_);
      nv->initializer_ = v->initializer_;
      nv->doc_string = v->doc_string;
      nv->sparse_origin = v->sparse_origin;
      map[v.get()] = nv;
    }
    for (const auto& n : src.nodes_) {
      auto owned = std::make_unique<Node>();
      Node* node = owned.get();
      node->name_ = n->name_;
      node->op_type_ = n->op_type_;
      node->domain_ = n->domain_;
      node->doc_string = n->doc_string;
      node->index_hint_ = n->index_hint_;
      node->graph_ = g.get();
      node->self_ = g->nodes_.insert(g->nodes_.end(), std::move(owned));
      for (Value* in : n->inputs_) node->add_input(remap(map, in, new_parent));
      for (Value* out : n->outputs_) {
        Value* nv = out ? map.at(out) : nullptr;
        if (nv) {
          nv->producer_ = node;
          nv->producer_output_ = out->producer_output_;
        }
        node->outputs_.push_back(nv);
      }
      node->attributes_ = n->attributes_;
      for (Attribute& a : node->attributes_) {
        if (a.g) a.g = std::shared_ptr<Graph>(run(*a.g, g.get()));
        for (auto& sg : a.graphs)
          if (sg) sg = std::shared_ptr<Graph>(run(*sg, g.get()));
      }
    }
    for (Value* v : src.inputs_) g->inputs_.push_back(remap(map, v, new_parent));
    for (Value* v : src.outputs_) g->outputs_.push_back(remap(map, v, new_parent));
    return g;
  };
  return run(*this, parent);
}

// ---------------------------------------------------------------------------------------------
// Model

Model::Model() : graph_(std::make_unique<Graph>("main")) {}

int64_t Model::opset(const std::string& domain) const {
  auto it = opset_imports.find(domain == "ai.onnx" ? std::string() : domain);
  return it == opset_imports.end() ? 0 : it->second;
}

}  // namespace ferry::ir

// ---------------------------------------------------------------------------------------------
// graph_edit.h

namespace ferry::ir {

std::vector<Graph*> nested_graphs(const Graph& g) {
  std::vector<Graph*> out;
  for (Graph* sg : g.direct_subgraphs()) {
    out.push_back(sg);
    std::vector<Graph*> inner = nested_graphs(*sg);
    out.insert(out.end(), inner.begin(), inner.end());
  }
  return out;
}

void replace_all_uses(Graph& g, Value* from, Value* to, const std::vector<Graph*>& nested) {
  if (from == to) return;
  const std::vector<Use> uses = from->uses();
  for (const Use& u : uses) u.node->set_input(static_cast<size_t>(u.input_index), to);
  auto replace_in = [&](Graph& h) {
    const std::vector<Value*>& outs = h.outputs();
    if (std::find(outs.begin(), outs.end(), from) == outs.end()) return;
    std::vector<Value*> updated = outs;
    std::replace(updated.begin(), updated.end(), from, to);
    h.set_outputs(std::move(updated));
  };
  replace_in(g);
  for (Graph* h : nested) replace_in(*h);
}

}  // namespace ferry::ir
