// What an optimizer pass is (STYLE.md 8): a function `bool pass(ir::Graph&, const PassContext&)`
// in its own file, with a before/after diagram at the top. It rewrites one graph and returns
// whether it changed anything. The driver (optimizer.cc) calls it on the main graph and on every
// subgraph (If/Loop/Scan bodies), repeats the pipeline to a fixed point, re-infers types when a
// pass left values untyped and after each round, and verifies the IR after each pass when asked (always in debug
// builds), naming the pass in any failure.
//
// Contract every pass keeps:
// - Outputs of the model change by no more than rounding (fusions may reassociate float math).
// - Graph inputs and outputs keep their names, order and types.
// - A value the pass removes or replaces is not referenced afterwards (use lists stay right:
//   mutate through ir::Graph / ir::Node methods or a Patch, never by hand).
// - New nodes of the "ferry" domain only at level extended and above (kFerryDomain), and the
//   pass records the domain with PassContext::use_ferry_domain.
// - A pass that needs types reads them from values (inference ran before it); values it creates
//   may have unknown types until the driver re-infers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ferry/tensor.h"
#include "ir/graph.h"

namespace ferry::optimizer {

/// Domain of Ferry's fused ops (schemas in ir/ferry_schemas.cc, documented in docs/ferry_ops.md).
inline constexpr const char* kFerryDomain = "ferry";
inline constexpr int64_t kFerryOpsetVersion = 1;

/// Runs one node (at the model's `opset_imports`) on constant inputs and returns its outputs
/// (null entries in `inputs` are omitted optional inputs); std::nullopt when it cannot (no
/// kernel, a graph attribute, an error while running). The runtime supplies it (the optimizer
/// depends on ir only); constant folding uses it.
using NodeEvaluator = std::function<std::optional<std::vector<Tensor>>(
    const ir::Node& node, const std::map<std::string, int64_t>& opset_imports,
    const std::vector<const Tensor*>& inputs)>;

/// What a pass may use besides the graph it rewrites.
class PassContext {
 public:
  explicit PassContext(ir::Model& model) : model_(model) {}

  ir::Model& model() const { return model_; }
  /// The model's opset for `domain` ("" = ai.onnx).
  int64_t opset(const std::string& domain = "") const { return model_.opset(domain); }

  /// Evaluates a node with the CPU kernels; null evaluator: constant folding does nothing.
  NodeEvaluator evaluate;
  /// Constant folding leaves a node alone when an output would exceed this many bytes, so that
  /// folding never grows the model much (an Expand of a scalar to a large shape stays lazy).
  size_t constant_folding_max_bytes = size_t{1} << 20;

  /// Adds the ferry domain to the model's opset imports (a pass that creates ferry ops calls it).
  void use_ferry_domain() const { model_.opset_imports[kFerryDomain] = kFerryOpsetVersion; }

 private:
  ir::Model& model_;
};

using PassFunction = std::function<bool(ir::Graph& graph, const PassContext& ctx)>;

struct Pass {
  std::string name;   ///< snake_case; what --disable-pass and SessionOptions.disabled_passes take
  PassFunction run;
};

}  // namespace ferry::optimizer
