// The optimizer's pipelines: one named, ordered list of passes per level (STYLE.md 10). The
// order and the reasons for it are in pipeline.cc.
#pragma once

#include <string>
#include <vector>

#include "ferry/session.h"
#include "optimizer/pass.h"

namespace ferry::optimizer {

/// The passes of `level`, in order (each level includes the ones below it).
std::vector<Pass> pipeline(GraphOptimizationLevel level);
/// Every pass name of every level, in order of first appearance.
std::vector<std::string> all_pass_names();

}  // namespace ferry::optimizer
