// The IR every path shares: import, conversion, tracing, optimization, training, export and the
// runtime all read and write these classes. std-only; nothing here knows ONNX protobuf.
//
// Ownership: a Model owns its main Graph; a Graph owns its Nodes and Values; subgraphs (If /
// Loop / Scan bodies) are owned by the attribute that holds them and point to their parent
// graph, so a node in a body may use a Value of an enclosing graph (outer scope).
// Use lists are kept up to date by every mutating method: never edit inputs directly.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/tensor.h"
#include "ir/attribute.h"
#include "ir/type.h"

namespace ferry::ir {

class Graph;
class Node;

/// One consumer of a value: `node->inputs()[input_index] == value`.
struct Use {
  Node* node = nullptr;
  int input_index = 0;
  friend bool operator==(const Use&, const Use&) = default;
};

class Value {
 public:
  const std::string& name() const { return name_; }
  const Type& type() const { return type_; }
  Type& mutable_type() { return type_; }
  void set_type(Type t) { type_ = std::move(t); }
  DataType dtype() const { return type_.elem; }
  const Shape& shape() const { return type_.shape; }

  /// The node computing this value; null for graph inputs and initializers.
  Node* producer() const { return producer_; }
  int producer_output() const { return producer_output_; }
  const std::vector<Use>& uses() const { return uses_; }
  /// The graph that owns this value (not necessarily the graph of its users).
  Graph* graph() const { return graph_; }

  bool is_initializer() const { return initializer_.defined(); }
  const Tensor& initializer() const { return initializer_; }
  /// Makes this value a constant (its type becomes the tensor's type).
  void set_initializer(Tensor t);
  void clear_initializer() { initializer_ = Tensor(); }

  bool is_graph_input() const;
  bool is_graph_output() const;

  std::string doc_string;
  /// Initializer came from a sparse_initializer; export writes it back sparse.
  bool sparse_origin = false;

 private:
  friend class Graph;
  friend class Node;
  std::string name_;
  Type type_;
  Node* producer_ = nullptr;
  int producer_output_ = 0;
  std::vector<Use> uses_;
  Graph* graph_ = nullptr;
  size_t slot_ = 0;  // index in the owning graph's values_ (O(1) removal)
  Tensor initializer_;
};

class Node {
 public:
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const std::string& op_type() const { return op_type_; }
  /// "" for ai.onnx (also when the file said "ai.onnx").
  const std::string& domain() const { return domain_; }
  Graph* graph() const { return graph_; }

  /// An omitted optional input / output is nullptr.
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  /// Replaces input i (nullptr allowed), keeping use lists right. Grows the list if needed.
  void set_input(size_t i, Value* v);
  void add_input(Value* v) { set_input(inputs_.size(), v); }
  /// Drops trailing inputs from index n on.
  void truncate_inputs(size_t n);

  const std::vector<Attribute>& attributes() const { return attributes_; }
  std::vector<Attribute>& mutable_attributes() { return attributes_; }
  const Attribute* find_attribute(const std::string& name) const;
  void set_attribute(Attribute a);  // replaces one of the same name
  bool remove_attribute(const std::string& name);

  /// Typed getters: the default when absent; kInvalidModel naming node and attribute when the
  /// attribute exists with another type.
  int64_t get_int(const std::string& name, int64_t dflt) const;
  float get_float(const std::string& name, float dflt) const;
  std::string get_string(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> get_ints(const std::string& name, const std::vector<int64_t>& dflt = {}) const;
  std::vector<float> get_floats(const std::string& name, const std::vector<float>& dflt = {}) const;
  std::vector<std::string> get_strings(const std::string& name, const std::vector<std::string>& dflt = {}) const;
  /// Required variants: kInvalidModel "node 'x' (Op): missing required attribute 'a'".
  int64_t require_int(const std::string& name) const;
  const Tensor& require_tensor(const std::string& name) const;
  const Graph& require_graph(const std::string& name) const;

  /// "node 'conv1' (Conv)" or "node #12 (Conv)" when unnamed; with domain when not ai.onnx.
  std::string describe() const;

  std::string doc_string;

 private:
  friend class Graph;
  std::string name_, op_type_, domain_;
  std::vector<Value*> inputs_, outputs_;
  std::vector<Attribute> attributes_;
  Graph* graph_ = nullptr;
  std::list<std::unique_ptr<Node>>::iterator self_;
  int64_t index_hint_ = 0;  // position at creation, for describe() of unnamed nodes
};

class Graph {
 public:
  explicit Graph(std::string name = "", Graph* parent = nullptr);
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  Graph* parent() const { return parent_; }
  void set_parent(Graph* p) { parent_ = p; }
  std::string doc_string;

  /// A new value owned by this graph. Throws kInvalidModel when the name is taken in this
  /// graph. An empty name gets a unique generated one.
  Value* add_value(const std::string& name, Type type = {});
  /// A new initializer value.
  Value* add_initializer(const std::string& name, Tensor t);
  /// This graph only.
  Value* find_value(const std::string& name) const;
  /// This graph, then enclosing graphs (outer scope); null when nowhere.
  Value* lookup(const std::string& name) const;
  /// A name not used in this graph or any enclosing one: prefix, prefix_1, prefix_2, ...
  std::string unique_name(const std::string& prefix);

  /// Appends a node. Outputs are new values named `output_names` ("" = omitted optional).
  Node* add_node(const std::string& op_type, const std::vector<Value*>& inputs,
                 const std::vector<std::string>& output_names, const std::string& domain = "",
                 const std::string& name = "");
  /// Like add_node, placed right before `position`.
  Node* insert_node_before(Node* position, const std::string& op_type,
                           const std::vector<Value*>& inputs,
                           const std::vector<std::string>& output_names,
                           const std::string& domain = "", const std::string& name = "");
  /// Removes a node; its outputs must have no uses and must not be graph outputs (kInvalidModel
  /// otherwise). Its output values are removed too.
  void remove_node(Node* node);
  /// Every use of `from` (inputs of nodes, in this graph and subgraphs, and graph outputs)
  /// becomes a use of `to`.
  void replace_all_uses(Value* from, Value* to);
  /// Removes a value that has no producer, no uses and is neither input nor output.
  void remove_value(Value* v);
  /// Gives a value of this graph a new name (graph outputs keep their names across rewrites
  /// this way). Throws kInvalidModel when the name is taken in this graph.
  void rename_value(Value* v, const std::string& name);

  /// Nodes in execution order.
  std::vector<Node*> nodes() const;
  size_t node_count() const { return nodes_.size(); }
  /// Every value owned by this graph, in creation order.
  std::vector<Value*> values() const;
  size_t value_count() const { return values_.size() - dead_values_; }
  std::vector<Value*> initializers() const;

  /// The nodes in execution order without copying them: `for (Node* n : g.node_range())`.
  /// The current node may be removed (or nodes inserted anywhere) during the loop: the iterator
  /// steps to the next node before yielding, so only removing *that* next node is not allowed.
  class NodeRange {
   public:
    using ListIt = std::list<std::unique_ptr<Node>>::const_iterator;
    class iterator {
     public:
      iterator(ListIt it, ListIt end) : it_(it), end_(end) { advance(); }
      Node* operator*() const { return current_; }
      iterator& operator++() {
        advance();
        return *this;
      }
      bool operator==(const iterator& o) const { return current_ == o.current_; }

     private:
      void advance() {
        current_ = it_ == end_ ? nullptr : (it_++)->get();
      }
      ListIt it_, end_;
      Node* current_ = nullptr;
    };
    explicit NodeRange(const std::list<std::unique_ptr<Node>>& l) : list_(l) {}
    iterator begin() const { return iterator(list_.begin(), list_.end()); }
    iterator end() const { return iterator(list_.end(), list_.end()); }

   private:
    const std::list<std::unique_ptr<Node>>& list_;
  };
  NodeRange node_range() const { return NodeRange(nodes_); }
  /// The node after / before `node` in execution order (null at either end), in O(1).
  Node* next_node(const Node& node) const;
  Node* prev_node(const Node& node) const;
  /// Calls f(Value*) for every value owned by this graph, in creation order, without copying
  /// the list. f must not add or remove values of this graph.
  template <typename F>
  void for_each_value(F&& f) const {
    for (const auto& v : values_)
      if (v) f(v.get());
  }

  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  void add_input(Value* v);
  void add_output(Value* v);
  void set_outputs(std::vector<Value*> outputs);
  void set_inputs(std::vector<Value*> inputs);

  /// Reorders nodes so every node comes after the producers of its inputs (stable for graphs
  /// already in order). Throws kInvalidModel naming the nodes on a cycle.
  void sort_topologically();

  /// Subgraphs held by node attributes, recursively not included.
  std::vector<Graph*> direct_subgraphs() const;

  /// Deep copy with the given parent (values are renamed nowhere; pointers are remapped).
  std::unique_ptr<Graph> clone(Graph* parent = nullptr) const;

 private:
  friend class Node;
  std::string name_;
  Graph* parent_ = nullptr;
  std::list<std::unique_ptr<Node>> nodes_;
  // Creation order; a removed value leaves a null slot (removal is O(1)), compacted once the
  // holes are half the vector.
  std::vector<std::unique_ptr<Value>> values_;
  size_t dead_values_ = 0;
  void erase_value(Value* v);
  std::unordered_map<std::string, Value*> by_name_;
  std::vector<Value*> inputs_, outputs_;
  int64_t next_node_index_ = 0;
  int64_t next_unique_ = 0;
};

class Model {
 public:
  Model();
  int64_t ir_version = 8;
  /// domain -> opset version; "" is ai.onnx.
  std::map<std::string, int64_t> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  /// Where the model came from, for error messages: a path, or "<bytes>".
  std::string source = "<memory>";
  /// Directory external data is resolved against ("" when loaded from bytes).
  std::string directory;

  Graph& graph() { return *graph_; }
  const Graph& graph() const { return *graph_; }

  /// Opset version imported for `domain` ("" and "ai.onnx" are the same); 0 when absent.
  int64_t opset(const std::string& domain) const;

 private:
  std::unique_ptr<Graph> graph_;
};

}  // namespace ferry::ir
