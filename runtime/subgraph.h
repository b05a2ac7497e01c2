// Subgraphs (If branches, Loop / Scan / SequenceMap bodies) compiled for their kernels: the
// runtime's implementation of ep::SubgraphRunner. A body is flattened like the main graph
// (values of enclosing graphs it reads become kOuter values, taken from the enclosing run at
// each call), its nodes get kernels from the session's providers, and each call plans memory
// for the concrete shapes it sees (plans cached per shape signature, with their arenas).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "execution_providers/kernel.h"
#include "ir/graph.h"

namespace ferry::runtime {

struct SubgraphOptions {
  const ir::Model* model = nullptr;
  /// In priority order; CPU takes what none claims when `allow_cpu_fallback`.
  std::vector<ep::ExecutionProvider*> providers;
  bool allow_cpu_fallback = true;
  size_t max_cached_plans = 16;
  /// The session's config entries, seen by the subgraph's kernels (KernelInfo::config_entry).
  std::map<std::string, std::string> config_entries;
};

/// The compiler kernels get through KernelInfo::compile_subgraph (nested bodies included).
ep::SubgraphCompiler make_subgraph_compiler(SubgraphOptions options);

}  // namespace ferry::runtime
