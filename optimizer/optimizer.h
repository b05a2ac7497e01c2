// The graph optimizer's entry point: runs the pipeline of one level (pipeline.h) over a model.
//
// Driver contract (STYLE.md 8, 10):
// - Each pass runs on the main graph and on every subgraph (If/Loop/Scan bodies), innermost
//   first; the whole pipeline repeats until a round changes nothing (at most max_rounds).
// - Types are re-inferred after a pass that left new values untyped, and after every round
//   that changed something (a rewrite never makes a type wrong, only less refined).
// - With verify_each_pass (the default in debug builds) the IR is verified after every pass and
//   a failure names the pass: "after pass 'fuse_gelu': ...".
// - disabled_passes names passes to skip; an unknown name is kInvalidArgument listing the valid
//   names, so a typo is not silently ignored.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ferry/session.h"
#include "ir/graph.h"
#include "optimizer/pass.h"

namespace ferry::optimizer {

struct OptimizeOptions {
  GraphOptimizationLevel level = GraphOptimizationLevel::kAll;
  std::vector<std::string> disabled_passes;
  /// Runs nodes with the CPU kernels for constant folding (the runtime sets it).
  NodeEvaluator evaluate;
#ifdef NDEBUG
  bool verify_each_pass = false;
#else
  bool verify_each_pass = true;
#endif
  int max_rounds = 8;
};

/// One pass's work over the whole optimization (summed over rounds and subgraphs).
struct PassRun {
  std::string name;
  double ms = 0;
  size_t nodes_before = 0;  ///< nodes in all graphs when the pass first ran
  size_t nodes_after = 0;   ///< when it last ran
  int changed_rounds = 0;   ///< rounds in which it changed something
};

struct OptimizeReport {
  std::vector<PassRun> passes;  ///< in pipeline order
  int rounds = 0;
  size_t nodes_before = 0, nodes_after = 0;
  double total_ms = 0;
};

/// Rewrites the model in place with the pipeline of `options.level`.
OptimizeReport optimize(ir::Model& model, const OptimizeOptions& options);

/// Nodes in the model's graphs, subgraphs included.
size_t count_nodes(const ir::Model& model);

}  // namespace ferry::optimizer
