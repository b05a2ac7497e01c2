// Bulk edits for code that replaces many values of one graph in a row (optimizer passes).
// Graph::replace_all_uses looks for nested subgraphs (whose outputs may be the replaced value)
// by scanning every node on each call; these functions take that list once from the caller.
#pragma once

#include <vector>

#include "ir/graph.h"

namespace ferry::ir {

/// Every graph nested in `g`: the graphs its nodes' attributes hold, recursively.
std::vector<Graph*> nested_graphs(const Graph& g);

/// Does what g.replace_all_uses(from, to) does, with `nested` == nested_graphs(g) as the graph
/// is now (the caller takes it again after adding or removing a node that holds a subgraph).
void replace_all_uses(Graph& g, Value* from, Value* to, const std::vector<Graph*>& nested);

}  // namespace ferry::ir
