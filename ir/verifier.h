// Structural checks of the IR: every node input is defined before use (graph inputs,
// initializers, earlier node outputs, or outer-scope values for subgraphs), no value has two
// producers, use lists match inputs, graph outputs are defined, nodes are in topological
// order, known ops have an allowed number of inputs/outputs and their required attributes
// at the model's opset. Run after import and after each optimizer pass in debug builds.
#pragma once

#include <string>

#include "ir/graph.h"

namespace ferry::ir {

/// Throws ferry::Error(kInvalidModel) with a message naming the graph, node and value.
void verify(const Model& model);
void verify_graph(const Graph& graph, const Model& model);

}  // namespace ferry::ir
