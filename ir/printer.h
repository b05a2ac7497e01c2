// Textual form of the IR, stable for golden tests:
//
//   graph main (x: float[batch,3], w: float[4,3] = initializer) -> (y: float[batch,4]) {
//     y0 = Gemm(x, w) {transB=1}  # node 'fc'
//     y = Relu(y0)
//   }
//
// Values print with their types; attributes sorted by name; subgraphs indented inline.
#pragma once

#include <string>

#include "ir/graph.h"

namespace ferry::ir {

std::string print_graph(const Graph& graph);
std::string print_model(const Model& model);

}  // namespace ferry::ir
