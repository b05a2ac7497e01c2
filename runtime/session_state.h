// The definition of SessionImpl (declared in runtime/session_impl.h): everything a session
// owns after creation. Immutable once built, except the plan cache, which has its own lock;
// run() is const and keeps all per-run state on its stack.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "execution_providers/kernel.h"
#include "optimizer/optimizer.h"
#include "runtime/exec_graph.h"
#include "runtime/executor.h"
#include "runtime/input_check.h"
#include "runtime/planner.h"
#include "runtime/profiler.h"
#include "runtime/session_impl.h"
#include "runtime/thread_pool.h"

namespace ferry {

/// A memory plan with the arenas kept for its runs.
struct CachedPlan {
  explicit CachedPlan(runtime::MemoryPlan p) : plan(std::move(p)) {}
  runtime::MemoryPlan plan;
  mutable runtime::ArenaPool arenas;
};

/// Least-recently-used cache of memory plans by input-shape signature. A plan in use by a run
/// stays alive (shared_ptr) even when evicted meanwhile; its arenas go with it.
class PlanCache {
 public:
  explicit PlanCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  std::shared_ptr<const CachedPlan> get_or_build(const std::string& key,
                                                 const std::function<runtime::MemoryPlan()>& build);
  size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CachedPlan>>;
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> by_key_;
};

class SessionImpl {
 public:
  /// `started`: when creation began (before loading), the profile's time origin.
  SessionImpl(std::unique_ptr<ir::Model> model, const SessionOptions& options,
              std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());

  std::vector<Value> run(const std::vector<NamedValue>& feeds,
                         const std::vector<std::string>& output_names) const;
  /// The tensor API: feeds checked as tensors; a non-tensor output is an error.
  std::vector<Tensor> run_tensors(const std::vector<NamedTensor>& feeds,
                                  const std::vector<std::string>& output_names) const;
  MemoryPlanReport memory_plan(const std::map<std::string, std::vector<int64_t>>& input_shapes) const;
  size_t cached_plan_count() const { return plans_.size(); }
  /// Null unless SessionOptions::enable_profiling.
  runtime::Profiler* profiler() const { return profiler_.get(); }
  /// Bytes of initializer storage released because every reader keeps a prepacked copy.
  size_t released_initializer_bytes() const { return released_bytes_; }

  const ir::Model& model() const { return *model_; }
  const std::string& source() const { return model_->source; }

  std::vector<ValueInfo> inputs, outputs;
  ModelInfo info;
  SessionTimings timings;
  std::vector<std::string> used_providers;
  /// What each optimizer pass did while the session was created.
  optimizer::OptimizeReport optimizer_report;

 private:
  /// Kernels are created on up to `threads` threads (the session's intra-op count).
  void partition_and_create_kernels(const SessionOptions& options, int threads);
  /// After node i's kernel exists: an initializer every reader of which keeps a prepacked
  /// copy (KernelInfo::mark_prepacked) is released at once, so that weights live only once.
  void kernel_created(size_t node_index, const std::vector<size_t>& marked);
  /// Replaces initializer `id`'s storage by an inaccessible reservation of the same size
  /// (shape and dtype stay, for input checks and reports).
  void release_initializer(int id);
  /// Adds a "Session" event from `start_us` to now (when profiling).
  void profile_phase(const std::string& name, int64_t start_us) const;
  void describe_model();
  std::vector<int> output_ids(const std::vector<std::string>& output_names) const;
  std::vector<Value> run_checked(const runtime::CheckedFeeds& checked, const std::vector<int>& ids) const;

  std::unique_ptr<ir::Model> model_;
  runtime::ExecGraph graph_;
  std::vector<std::unique_ptr<ep::Kernel>> kernels_;
  std::vector<std::pair<int, Tensor>> constants_;
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::unique_ptr<runtime::Profiler> profiler_;
  /// Per value id while kernels are created: readers, readers done, readers that prepacked,
  /// and whether the value may never be released.
  struct PrepackTracker {
    std::vector<int> readers, seen, packed;
    std::vector<bool> pinned;
    void init(const runtime::ExecGraph& g);
  } prepack_;
  size_t released_bytes_ = 0;
  mutable PlanCache plans_;
};

}  // namespace ferry
