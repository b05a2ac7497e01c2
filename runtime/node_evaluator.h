// Runs one node on constant inputs with the session machinery (the optimizer's constant
// folding calls it through optimizer::NodeEvaluator, so that folding computes exactly what the
// kernels would at run time).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ferry/tensor.h"
#include "ir/graph.h"

namespace ferry::runtime {

/// The node's outputs, or std::nullopt when it cannot be evaluated alone: it has graph
/// attributes, an input is not given, or creating or running it fails.
std::optional<std::vector<Tensor>> evaluate_node(const ir::Node& node,
                                                 const std::map<std::string, int64_t>& opset_imports,
                                                 const std::vector<const Tensor*>& inputs);

}  // namespace ferry::runtime
