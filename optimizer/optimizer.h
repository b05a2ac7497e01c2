// The graph optimizer's entry point. Issue "Graph optimizer" fills the per-level pipelines;
// until then every level's pipeline is empty and optimize() only verifies the model.
#pragma once

#include <string>
#include <vector>

#include "ferry/session.h"
#include "ir/graph.h"

namespace ferry::optimizer {

struct OptimizeOptions {
  GraphOptimizationLevel level = GraphOptimizationLevel::kAll;
  std::vector<std::string> disabled_passes;
};

/// Rewrites the model in place with the pipeline of `options.level`. Returns the names of the
/// passes that changed something.
std::vector<std::string> optimize(ir::Model& model, const OptimizeOptions& options);

}  // namespace ferry::optimizer
