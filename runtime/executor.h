// Runs the nodes of an ExecGraph in order for one run. All state of a run lives in RunState,
// so any number of runs may execute the same (const) graph, kernels and plan at once.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ferry/tensor.h"
#include "ferry/value.h"
#include "runtime/exec_graph.h"
#include "runtime/planner.h"
#include "runtime/profiler.h"
#include "runtime/thread_pool.h"

namespace ferry::runtime {

class ArenaPool;

struct RunState {
  const ExecGraph* graph = nullptr;
  const MemoryPlan* plan = nullptr;
  std::vector<Tensor> values;     ///< by value id: tensors
  std::vector<Value> others;      ///< by value id: sequences, optionals, maps (tensors: undefined)
  std::shared_ptr<void> arena;    ///< the run's arena (null when the plan needs none)
  ArenaPool* buffers = nullptr;  ///< recycles dynamic values' storage (may be null)
  uint8_t* arena_base = nullptr;
  size_t arena_bytes = 0;

  bool in_arena(const void* p) const {
    auto* b = static_cast<const uint8_t*>(p);
    return arena_base && b >= arena_base && b < arena_base + arena_bytes;
  }
};

/// Memory kept for one memory plan, so repeated runs reuse (already paged-in) memory:
/// - arenas: it holds at most as many as runs of the plan were ever in flight at once; they are
///   freed with the pool (when its plan leaves the cache);
/// - storage of dynamic values (sizes known only while running, e.g. behind an unbound symbolic
///   dim): a buffer of 64 KiB or more, freed after its last reader, is kept for the next request
///   of its size (in pages) instead of going back to malloc, which returns large blocks to the
///   system (a fresh mapping, page faults on every run: up to 30% of a transformer's run). The
///   pool keeps at most twice as many free bytes as were ever in use at once; a buffer still held
///   by a tensor when the pool goes is freed by that tensor.
class ArenaPool {
 public:
  ArenaPool();
  /// A free arena of `bytes` bytes, or a new one when all are in use.
  Tensor acquire(size_t bytes);
  /// Gives an arena back for the next run.
  void release(Tensor arena);
  size_t size() const;
  /// An uninitialized tensor for a dynamic value, its storage recycled when large.
  Tensor dynamic_tensor(DataType dtype, std::vector<int64_t> shape);
  /// Bytes of dynamic-value buffers kept free for reuse.
  size_t kept_bytes() const;

 private:
  struct Recycled;
  mutable std::mutex mu_;
  std::vector<Tensor> free_;
  size_t created_ = 0;
  std::shared_ptr<Recycled> recycled_;
};

/// Runs every node. `feeds` are checked already; `constants` holds the initializers by id.
/// `arenas` (may be null) supplies the run's arena. Returns the values of `output_ids`, owned
/// by the caller (never aliasing a feed, an initializer or the arena). Kernel errors are
/// rethrown with `source` and the node's label and input shapes in front. With a `profiler`,
/// each node's compute() is timed and recorded as a "Node" event.
std::vector<Value> execute(const ExecGraph& graph, const MemoryPlan& plan, ArenaPool* arenas,
                           const std::vector<std::pair<int, Tensor>>& constants,
                           const std::vector<std::pair<int, Value>>& feeds,
                           const std::vector<int>& output_ids, const ThreadPool& pool,
                           const std::string& source, Profiler* profiler = nullptr);

/// `v` with every tensor inside that lies in the run's arena (or is borrowed) deep-copied: what
/// a kernel must do before keeping a tensor inside a sequence or optional.
Value detach_value(const Value& v, const RunState& state);

/// Deep copy of `src` into `dst` (same dtype and element count; strings element by element).
void copy_tensor_data(const Tensor& src, Tensor& dst);

}  // namespace ferry::runtime
