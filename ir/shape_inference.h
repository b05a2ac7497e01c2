// Type and shape inference over symbolic shapes. Runs once when a model is loaded; dims the
// model leaves open stay symbols, and a run binds them. Besides types, inference propagates
// the *values* of small integer tensors where they are computable from shapes (Shape ->
// Gather -> Concat -> Reshape chains), as symbolic dims, so that Reshape targets built from
// shapes stay exact.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/dim.h"
#include "ir/graph.h"

namespace ferry::ir {

class InferenceContext {
 public:
  InferenceContext(Node& node, int64_t opset, SymbolFactory& symbols,
                   std::vector<std::optional<std::vector<Dim>>>& known_values);

  Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  size_t input_count() const { return node_.inputs().size(); }
  bool has_input(size_t i) const { return node_.input(i) != nullptr; }
  /// Type of input i (kUnknown type when omitted).
  const Type& input_type(size_t i) const;
  /// Initializer value of input i when it is a constant, else null.
  const Tensor* constant_input(size_t i) const;
  /// The elements of a 0-D/1-D integer input as dims (constants or symbols), when known.
  std::optional<std::vector<Dim>> input_value(size_t i) const;
  /// Like input_value, but also when only some elements are known (onnx's partial data
  /// propagation, e.g. a Concat of Shape slices and a computed piece): the unknown ones are
  /// infer::unknown_element() markers. input_value never returns markers.
  std::optional<std::vector<Dim>> input_partial_value(size_t i) const;

  size_t output_count() const { return node_.outputs().size(); }
  void set_output_type(size_t i, Type t);
  /// Records the elements of a 0-D/1-D integer output (for downstream input_value).
  void set_output_value(size_t i, std::vector<Dim> v);
  Dim fresh_dim() { return symbols_.fresh(); }

  /// For ops with subgraphs (If, Loop, Scan, SequenceMap): infers the types inside `graph` (a
  /// graph attribute of this node) with its inputs typed as `inputs` (an unknown type keeps
  /// what the body declares; where they conflict the declaration wins) and returns the types of
  /// its outputs. Without subgraph support (a bare context) the body's declared output types.
  std::vector<Type> infer_subgraph(const Graph& graph, const std::vector<Type>& inputs);
  using SubgraphInferrer = std::function<std::vector<Type>(const Graph&, const std::vector<Type>&)>;
  void set_subgraph_inferrer(SubgraphInferrer f) { subgraphs_ = std::move(f); }

  /// kInvalidModel naming the node, e.g. fail("input 'B' has shape [3,4], expected rank 1").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  Node& node_;
  int64_t opset_;
  SymbolFactory& symbols_;
  std::vector<std::optional<std::vector<Dim>>>& known_values_;
  SubgraphInferrer subgraphs_;
};

using InferFunction = std::function<void(InferenceContext&)>;

/// Registers an inference function for (domain, op) from `since_version` on.
void register_inference(const std::string& domain, const std::string& op, int since_version,
                        InferFunction fn);
/// Whether an inference function exists for this op at this opset.
bool has_inference(const std::string& domain, const std::string& op, int64_t opset);

struct InferenceOptions {
  /// When the model declares a type for a value and inference disagrees: throw (true) or keep
  /// the declared, more specific one silently merged (false).
  bool strict = true;
};

/// Infers every value's type in the model's graphs (subgraphs included), merging with the
/// types the model declares (declared symbols keep their names). Ops without an inference
/// function get outputs of unknown shape (declared types are kept). Errors name the node.
void infer_shapes(Model& model, const InferenceOptions& options = {});

/// Values of small integer tensors, as inference propagated them (elements are constant dims or
/// symbols); keyed by value, subgraphs included, initializers included.
using KnownValues = std::unordered_map<const Value*, std::vector<Dim>>;
/// Runs infer_shapes and also returns the propagated values whose every element is known (a
/// constant or a symbol; partially known values are left out). Pointers are valid until the
/// model changes. Shape-computation folding reads them: Shape(x)[1] of an x typed [batch, 128]
/// is the constant 128, Shape(x)[0] the symbol batch.
KnownValues infer_values(Model& model, const InferenceOptions& options = {});

}  // namespace ferry::ir
