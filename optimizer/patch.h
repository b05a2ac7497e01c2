// Pattern rules and the patches they return (STYLE.md 9).
//
// A rule looks at one node, checks its pattern with early-return guards, and describes the
// rewrite as a Patch without touching the graph; the driver applies it. A rule that bails out
// half-way therefore leaves nothing behind.
//
//   std::optional<Patch> fold_double_transpose(ir::Node& node, const PassContext& ctx) {
//     if (node.op_type() != "Transpose") return std::nullopt;
//     ir::Node* first = producer_of(node.input(0), "Transpose");
//     if (!first || !sole_consumer(*first)) return std::nullopt;
//     Patch patch(node);
//     Patch::Ref y = patch.add_node("Transpose", {patch.use(first->input(0))},
//                                   {ir::Attribute::make_ints("perm", composed)})[0];
//     patch.replace(node.output(0), y);
//     return patch;
//   }
//   bool cancel_transposes(ir::Graph& g, const PassContext& ctx) {
//     return apply_rule(g, ctx, fold_double_transpose);
//   }
//
// Applying a patch: its initializers and nodes are added (nodes right before the anchor, in the
// order they were added), then every replaced value's uses (graph outputs included, in this
// graph and its subgraphs) move to the replacement, then nodes left with no used output are
// removed, walking back from the replaced values' producers. A replaced value that is a graph
// output keeps its name: the replacement takes it over. When that is impossible (the replacement
// is a graph input, an initializer or another graph output) the patch is not applied.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ferry/tensor.h"
#include "ir/graph.h"
#include "optimizer/pass.h"

namespace ferry::optimizer {

class Patch {
 public:
  /// A value the patch refers to: an existing value, or one the patch creates.
  using Ref = int;
  static constexpr Ref kOmitted = -1;

  /// New nodes go right before `anchor` (usually the node the rule was called on; it must come
  /// after the producers of every existing value the patch uses).
  explicit Patch(ir::Node& anchor) : anchor_(&anchor) {}

  /// An existing value (nullptr gives kOmitted, for an omitted optional input).
  Ref use(ir::Value* value);
  /// A new initializer; `name_hint` becomes a unique name.
  Ref add_initializer(Tensor tensor, const std::string& name_hint);
  /// A new node with `output_count` outputs; returns their refs. `name` "" = unnamed.
  std::vector<Ref> add_node(const std::string& op_type, const std::vector<Ref>& inputs,
                            std::vector<ir::Attribute> attributes = {}, size_t output_count = 1,
                            const std::string& domain = "", const std::string& name = "");
  /// Sets the type a new value will have (otherwise it is inferred after the pass).
  void set_type(Ref ref, ir::Type type);
  /// After applying, uses of `old_value` read `replacement` (a new value gets old_value's type).
  void replace(ir::Value* old_value, Ref replacement);

  ir::Node* anchor() const { return anchor_; }

  /// Applies the patch to the anchor's graph. Returns false, changing nothing, when a replaced
  /// graph output could not keep its name. Nodes it removes are appended to `removed` (their
  /// pointers are dangling by then: for bookkeeping only).
  bool apply(std::vector<ir::Node*>* removed = nullptr);

 private:
  struct Item {
    ir::Value* existing = nullptr;  // use()
    int node = -1, output = 0;      // add_node() output
    int initializer = -1;           // add_initializer()
    ir::Type type;
    bool typed = false;
  };
  struct NewNode {
    std::string op_type, domain, name;
    std::vector<Ref> inputs;
    std::vector<ir::Attribute> attributes;
    std::vector<Ref> outputs;
  };
  struct NewInitializer {
    Tensor tensor;
    std::string name_hint;
  };
  ir::Node* anchor_;
  std::vector<Item> items_;
  std::vector<NewNode> nodes_;
  std::vector<NewInitializer> initializers_;
  std::vector<std::pair<ir::Value*, Ref>> replacements_;
};

using Rule = std::function<std::optional<Patch>(ir::Node& node, const PassContext& ctx)>;

/// Runs `rule` on every node of `graph` in order (nodes a patch removed are skipped; nodes a
/// patch added are seen on the driver's next round) and applies each patch it returns. Returns
/// whether any patch was applied.
bool apply_rule(ir::Graph& graph, const PassContext& ctx, const Rule& rule);

/// Removes `node` when none of its outputs is used or a graph output and then, walking back
/// through its inputs, every producer left so. Returns how many nodes were removed; appends them
/// to `removed` when given.
size_t remove_dead_nodes_from(ir::Node& node, std::vector<ir::Node*>* removed = nullptr);

// ---- small helpers patterns need -------------------------------------------------------------

/// The node producing `value` when it has op type `op_type` (any when empty) in `domain`.
ir::Node* producer_of(const ir::Value* value, const std::string& op_type = "", const std::string& domain = "");
/// Whether every output of `node` is read by exactly one node input in total and none is a
/// graph output (a fusion may then swallow the node).
bool sole_consumer(const ir::Node& node);
/// The single consumer of `value` (null when it has none, several, or is a graph output).
ir::Node* only_consumer(const ir::Value* value);
/// The initializer behind `value`; null when it is not a constant, or when it is also a graph
/// input (an overridable default: a run may feed another value).
const Tensor* constant_of(const ir::Value* value);
/// The elements of a constant int64/int32 tensor of rank 0 or 1 (shape-like inputs: axes,
/// targets, pads).
std::optional<std::vector<int64_t>> constant_ints(const ir::Value* value);
/// The elements of a float/double tensor, widened to double (folding arithmetic in double).
std::optional<std::vector<double>> tensor_doubles(const Tensor* t);
/// A float or double tensor of `shape` from doubles (rounded to float for kFloat).
Tensor tensor_from_doubles(DataType dtype, std::vector<int64_t> shape, const std::vector<double>& values);
/// Whether the node holds a subgraph (If/Loop/Scan bodies and the like).
bool has_subgraph(const ir::Node& node);
/// A constant holding one number (any shape of one element; float, double or an integer type).
std::optional<double> scalar_constant(const ir::Value* value);

}  // namespace ferry::optimizer
