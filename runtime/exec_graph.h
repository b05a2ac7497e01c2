// The main graph flattened for running and planning: every value gets a dense id, every node
// lists its inputs/outputs by id, and each value knows where it is defined and last used.
// Built once at session creation; read-only afterwards (shared by concurrent runs).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace ferry::ep {
class Kernel;
class ExecutionProvider;
}  // namespace ferry::ep

namespace ferry::runtime {

inline constexpr int kNoValue = -1;

enum class ValueKind {
  kInput,         ///< graph input (caller-owned at run time)
  kInitializer,   ///< constant (also when it is an overridable graph input)
  kIntermediate,  ///< computed by a node
  kOuter,         ///< of an enclosing graph, read by this subgraph (given to each run)
};

struct ExecValue {
  const ir::Value* value = nullptr;
  ValueKind kind = ValueKind::kIntermediate;
  bool is_graph_output = false;
  int producer = -1;  ///< node index, -1 for inputs and initializers
  /// Last node index that reads it (directly or from inside a subgraph); producer when unused;
  /// node_count for graph outputs (alive until the end).
  int last_use = -1;
};

struct ExecNode {
  const ir::Node* node = nullptr;
  int64_t opset = 0;
  std::vector<int> inputs;   ///< value ids; kNoValue for an omitted optional input
  std::vector<int> outputs;  ///< value ids; kNoValue for an omitted optional output
  /// Main-graph values read by nodes inside this node's subgraphs (outer scope).
  std::vector<int> outer_uses;
  /// From the kernel's registration: inputs whose buffer output 0 may overwrite.
  std::vector<int> in_place_inputs;
  /// From the kernel's registration: output 0 is a view of input 0.
  bool output_is_view = false;
  /// "node 'conv1' (Conv, opset 13)"
  std::string label;
  const ep::Kernel* kernel = nullptr;
  ep::ExecutionProvider* provider = nullptr;
};

struct ExecGraph {
  std::vector<ExecValue> values;
  std::vector<ExecNode> nodes;
  /// Graph inputs the caller may feed, in graph order (initializer inputs included).
  std::vector<int> graph_inputs;
  std::vector<int> graph_outputs;
  /// For a subgraph: values of enclosing graphs that it (or a subgraph nested in it) reads.
  std::vector<int> outer_inputs;
  std::unordered_map<const ir::Value*, int> ids;

  /// Flattens `graph` (nodes in their current, topological order). Opsets come from `model`.
  /// `graph` may be a subgraph: values it reads from enclosing graphs become kOuter values.
  static ExecGraph build(const ir::Graph& graph, const ir::Model& model);
  int id_of(const ir::Value* v) const;
};

/// "node 'conv1' (Conv, opset 13)", "node #4 (com.microsoft:FusedConv, opset 1)".
std::string node_label(const ir::Node& node, size_t index, int64_t opset);

}  // namespace ferry::runtime
