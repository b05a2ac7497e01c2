// Runs the nodes of an ExecGraph in order for one run. All state of a run lives in RunState,
// so any number of runs may execute the same (const) graph, kernels and plan at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ferry/tensor.h"
#include "runtime/exec_graph.h"
#include "runtime/planner.h"
#include "runtime/thread_pool.h"

namespace ferry::runtime {

struct RunState {
  const ExecGraph* graph = nullptr;
  const MemoryPlan* plan = nullptr;
  std::vector<Tensor> values;     ///< by value id
  std::shared_ptr<void> arena;    ///< the run's arena (null when the plan needs none)
  uint8_t* arena_base = nullptr;
  size_t arena_bytes = 0;

  bool in_arena(const void* p) const {
    auto* b = static_cast<const uint8_t*>(p);
    return arena_base && b >= arena_base && b < arena_base + arena_bytes;
  }
};

/// Runs every node. `feeds` are checked already; `constants` holds the initializers by id.
/// Returns the tensors of `output_ids`, owned by the caller (never aliasing a feed, an
/// initializer or the arena). Kernel errors are rethrown with `source` and the node's label
/// and input shapes in front.
std::vector<Tensor> execute(const ExecGraph& graph, const MemoryPlan& plan,
                            const std::vector<std::pair<int, Tensor>>& constants,
                            const std::vector<std::pair<int, Tensor>>& feeds,
                            const std::vector<int>& output_ids, const ThreadPool& pool,
                            const std::string& source);

/// Deep copy of `src` into `dst` (same dtype and element count; strings element by element).
void copy_tensor_data(const Tensor& src, Tensor& dst);

}  // namespace ferry::runtime
