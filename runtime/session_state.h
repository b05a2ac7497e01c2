// The definition of SessionImpl (declared in runtime/session_impl.h): everything a session
// owns after creation. Immutable once built, except the plan cache, which has its own lock;
// run() is const and keeps all per-run state on its stack.
#pragma once

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
  SessionImpl(std::unique_ptr<ir::Model> model, const SessionOptions& options);

  std::vector<Value> run(const std::vector<NamedValue>& feeds,
                         const std::vector<std::string>& output_names) const;
  /// The tensor API: feeds checked as tensors; a non-tensor output is an error.
  std::vector<Tensor> run_tensors(const std::vector<NamedTensor>& feeds,
                                  const std::vector<std::string>& output_names) const;
  MemoryPlanReport memory_plan(const std::map<std::string, std::vector<int64_t>>& input_shapes) const;
  size_t cached_plan_count() const { return plans_.size(); }

  const ir::Model& model() const { return *model_; }
  const std::string& source() const { return model_->source; }

  std::vector<ValueInfo> inputs, outputs;
  ModelInfo info;
  SessionTimings timings;
  std::vector<std::string> used_providers;
  /// What each optimizer pass did while the session was created.
  optimizer::OptimizeReport optimizer_report;

 private:
  void partition_and_create_kernels(const SessionOptions& options);
  void describe_model();
  std::vector<int> output_ids(const std::vector<std::string>& output_names) const;
  std::vector<Value> run_checked(const runtime::CheckedFeeds& checked, const std::vector<int>& ids) const;

  std::unique_ptr<ir::Model> model_;
  runtime::ExecGraph graph_;
  std::vector<std::unique_ptr<ep::Kernel>> kernels_;
  std::vector<std::pair<int, Tensor>> constants_;
  std::unique_ptr<runtime::ThreadPool> pool_;
  mutable PlanCache plans_;
};

}  // namespace ferry
