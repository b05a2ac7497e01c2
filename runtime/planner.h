// The static memory planner. For one set of symbol bindings (one concrete input-shape
// signature) it evaluates every intermediate's inferred shape and gives each intermediate of
// known size an offset in a single per-run arena:
//
//   - lifetime is [producer, last use] in node order (uses inside subgraphs count);
//   - buffers are reused: greedy best-fit over a free list, sizes rounded up to 64 bytes;
//   - in place: output 0 of a node whose kernel allows it takes over the buffer of an input
//     that dies at this node, has the same dtype and shape, and is itself in the arena;
//   - views: output 0 of a view kernel shares input 0's storage and extends its lifetime;
//   - graph inputs, initializers and graph outputs are never in the arena (outputs are owned
//     tensors handed to the caller); strings and values of unknown size are allocated while
//     running.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ferry/session.h"
#include "ir/dim.h"
#include "runtime/exec_graph.h"

namespace ferry::runtime {

inline constexpr size_t kArenaAlignment = 64;

enum class Placement {
  kExternal,  ///< graph input or initializer: not planned
  kArena,     ///< at `offset` in the run's arena (possibly in place over a dead input)
  kView,      ///< shares input 0's storage
  kOutput,    ///< graph output: an owned tensor for the caller
  kDynamic,   ///< size unknown until the kernel asks (or a string tensor): allocated then
};

struct ValuePlan {
  Placement placement = Placement::kExternal;
  size_t offset = 0;
  size_t bytes = 0;             ///< exact byte size when the shape is known
  bool shape_known = false;
  std::vector<int64_t> shape;   ///< concrete shape when shape_known
  bool in_place = false;        ///< kArena over the buffer of a dying input
};

struct MemoryPlan {
  size_t arena_bytes = 0;
  std::vector<ValuePlan> values;  ///< indexed by ExecGraph value id
  MemoryPlanReport report;
};

/// Plans memory for `graph` with symbols bound as in `bindings`.
MemoryPlan plan_memory(const ExecGraph& graph, const ir::SymbolBindings& bindings);

}  // namespace ferry::runtime
