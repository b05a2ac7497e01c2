#include "runtime/executor.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>
#include <mutex>
#include <map>
#include <cstdlib>

#include "execution_providers/kernel.h"
#include "runtime/input_check.h"
#include "runtime/kernel_context.h"

namespace ferry::runtime {

void copy_tensor_data(const Tensor& src, Tensor& dst) {
  if (src.dtype() != dst.dtype() || src.element_count() != dst.element_count())
    throw Error(ErrorCode::kRuntime, "copy from " + src.describe() + " to " + dst.describe());
  if (src.dtype() == DataType::kString) {
    std::copy_n(src.data<std::string>(), src.element_count(), dst.data<std::string>());
  } else if (src.byte_size() > 0 && src.raw_data() != dst.raw_data()) {
    std::memcpy(dst.raw_data(), src.raw_data(), src.byte_size());
  }
}

// Free buffers by size. At most twice the peak bytes ever in use at once are kept free: free
// blocks of one size must not crowd out those of another (every size of a run recurs).
struct ArenaPool::Recycled {
  static constexpr size_t kMinBytes = size_t{64} << 10;  // smaller blocks: malloc keeps them
  static constexpr size_t kPage = 4096;
  std::mutex mu;
  std::multimap<size_t, void*> free;
  size_t free_bytes = 0, in_use = 0, peak = 0;

  ~Recycled() {
    for (auto& [bytes, p] : free) std::free(p);
  }
  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      in_use += bytes;
      peak = std::max(peak, in_use);
      auto it = free.find(bytes);
      if (it != free.end()) {
        void* p = it->second;
        free.erase(it);
        free_bytes -= bytes;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) {
      std::lock_guard<std::mutex> lock(mu);
      in_use -= bytes;
      throw std::bad_alloc();
    }
    return p;
  }
  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu);
      in_use -= bytes;
      if (free_bytes + bytes <= 2 * peak) {
        free.emplace(bytes, p);
        free_bytes += bytes;
        return;
      }
    }
    std::free(p);
  }
};

ArenaPool::ArenaPool() : recycled_(std::make_shared<Recycled>()) {}

Tensor ArenaPool::dynamic_tensor(DataType dtype, std::vector<int64_t> shape) {
  const size_t bytes = dtype == DataType::kString ? 0 : dtype_storage_bytes(dtype, static_cast<size_t>(shape_element_count(shape)));
  if (bytes < Recycled::kMinBytes) return Tensor::empty(dtype, std::move(shape));
  const size_t rounded = (bytes + Recycled::kPage - 1) / Recycled::kPage * Recycled::kPage;
  void* p = recycled_->take(rounded);
  std::shared_ptr<void> keeper(p, [pool = recycled_, rounded](void* q) { pool->give(q, rounded); });
  return Tensor::wrap(dtype, std::move(shape), p, std::move(keeper));
}

size_t ArenaPool::kept_bytes() const {
  std::lock_guard<std::mutex> lock(recycled_->mu);
  return recycled_->free_bytes;
}

Tensor ArenaPool::acquire(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!free_.empty()) {
      Tensor t = std::move(free_.back());
      free_.pop_back();
      if (static_cast<size_t>(t.element_count()) == bytes) return t;
      --created_;  // a different size: drop it
    }
    ++created_;
  }
  try {
    return Tensor::empty(DataType::kUInt8, {static_cast<int64_t>(bytes)});
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    --created_;
    throw;
  }
}

void ArenaPool::release(Tensor arena) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(arena));
}

size_t ArenaPool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return created_;
}

namespace {

struct Range {
  const uint8_t* begin;
  const uint8_t* end;
};

bool overlaps(const Tensor& t, const std::vector<Range>& ranges) {
  if (!t.raw_data() || t.byte_size() == 0) return false;
  auto* b = static_cast<const uint8_t*>(t.raw_data());
  const uint8_t* e = b + t.byte_size();
  for (const Range& r : ranges)
    if (b < r.end && r.begin < e) return true;
  return false;
}

// `v` with every tensor inside that is borrowed or lies in `foreign` deep-copied.
Value detach(const Value& v, const std::vector<Range>& foreign) {
  switch (v.kind()) {
    case Value::Kind::kTensor: {
      const Tensor& t = v.tensor();
      return t.is_borrowed() || overlaps(t, foreign) ? Value(t.clone()) : v;
    }
    case Value::Kind::kSequence: {
      std::vector<Value> items;
      items.reserve(v.items().size());
      for (const Value& x : v.items()) items.push_back(detach(x, foreign));
      return Value::sequence(v.elem_type(), std::move(items));
    }
    case Value::Kind::kOptional:
      return v.has_element() ? Value::optional(detach(v.element(), foreign)) : v;
    case Value::Kind::kMap: {
      auto fix = [&](const Tensor& t) { return t.is_borrowed() || overlaps(t, foreign) ? t.clone() : t; };
      return Value::map(fix(v.map_keys()), fix(v.map_values()));
    }
    default: return v;
  }
}

std::string describe_inputs(const RunState& state, const ExecNode& node) {
  std::string s;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (i) s += ", ";
    int id = node.inputs[i];
    if (id == kNoValue) {
      s += "<omitted>";
      continue;
    }
    const Tensor& t = state.values[id];
    const Value& o = state.others[id];
    s += "'" + state.graph->values[id].value->name() + "' " +
         (t.defined() ? t.describe() : o.defined() ? o.describe() : std::string("<not computed>"));
  }
  return s;
}

// {"float":[1,3,224,224]} for each value id (omitted or non-tensor: an empty object).
std::string type_shapes(const RunState& state, const std::vector<int>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ",";
    const Tensor* t = ids[i] == kNoValue ? nullptr : &state.values[ids[i]];
    if (!t || !t->defined()) {
      s += "{}";
      continue;
    }
    s += "{\"" + std::string(dtype_name(t->dtype())) + "\":[";
    for (size_t d = 0; d < t->rank(); ++d) s += (d ? "," : "") + std::to_string(t->dim(d));
    s += "]}";
  }
  return s + "]";
}

void record_node(Profiler& profiler, const RunState& state, const ExecNode& node, int64_t start_us) {
  Profiler::Event e;
  e.category = "Node";
  e.ts_us = start_us;
  e.dur_us = profiler.now_us() - start_us;
  e.name = (node.node->name().empty() ? node.label : node.node->name()) + "_kernel_time";
  e.args.emplace_back("op_name", Profiler::quote(node.node->op_type()));
  e.args.emplace_back("provider", Profiler::quote(node.provider ? node.provider->name() : std::string()));
  e.args.emplace_back("input_type_shape", type_shapes(state, node.inputs));
  e.args.emplace_back("output_type_shape", type_shapes(state, node.outputs));
  profiler.add(std::move(e));
}

}  // namespace

Value detach_value(const Value& v, const RunState& state) {
  std::vector<Range> arena;
  if (state.arena_base) arena.push_back({state.arena_base, state.arena_base + state.arena_bytes});
  return detach(v, arena);
}

std::vector<Value> execute(const ExecGraph& graph, const MemoryPlan& plan, ArenaPool* arenas,
                           const std::vector<std::pair<int, Tensor>>& constants,
                           const std::vector<std::pair<int, Value>>& feeds,
                           const std::vector<int>& output_ids, const ThreadPool& pool,
                           const std::string& source, Profiler* profiler) {
  const ScopedThreadCount threads(pool.num_threads());
  RunState state;
  state.graph = &graph;
  state.plan = &plan;
  state.values.resize(graph.values.size());
  state.others.resize(graph.values.size());
  state.buffers = arenas;
  Tensor arena;
  struct Return {  // gives the arena back to the pool however the run ends
    ArenaPool* pool;
    Tensor& arena;
    ~Return() {
      if (pool && arena.defined()) pool->release(std::move(arena));
    }
  } give_back{arenas, arena};
  if (plan.arena_bytes > 0) {
    arena = arenas ? arenas->acquire(plan.arena_bytes)
                   : Tensor::empty(DataType::kUInt8, {static_cast<int64_t>(plan.arena_bytes)});
    state.arena_base = arena.data<uint8_t>();
    state.arena_bytes = plan.arena_bytes;
    // Tensors wrapping the arena share this keeper; none outlives the run (outputs are copied
    // out of the arena), so the arena can go back to the pool afterwards.
    if (arenas) state.arena = std::shared_ptr<void>(state.arena_base, [](void*) {});
    else state.arena = std::shared_ptr<void>(state.arena_base, [keep = arena](void*) {});
  }
  for (const auto& [id, t] : constants) state.values[id] = t;
  for (const auto& [id, v] : feeds) {
    if (v.is_tensor()) state.values[id] = v.tensor();
    else state.others[id] = v;
  }

  // What the caller must never receive a handle into.
  std::vector<Range> foreign;
  auto add_foreign = [&](const Tensor& t) {
    if (t.raw_data() && t.byte_size() > 0) {
      auto* b = static_cast<const uint8_t*>(t.raw_data());
      foreign.push_back({b, b + t.byte_size()});
    }
  };
  for (const auto& [id, t] : constants) add_foreign(t);
  for (const auto& [id, v] : feeds)
    if (v.is_tensor()) add_foreign(v.tensor());
  if (state.arena_base) foreign.push_back({state.arena_base, state.arena_base + state.arena_bytes});

  // Values freed after each node (their last reader), so dynamic buffers do not pile up.
  std::vector<std::vector<int>> release_after(graph.nodes.size());
  for (size_t id = 0; id < graph.values.size(); ++id) {
    const ExecValue& ev = graph.values[id];
    if (ev.kind == ValueKind::kIntermediate && !ev.is_graph_output && ev.last_use >= 0 &&
        ev.last_use < static_cast<int>(graph.nodes.size()))
      release_after[ev.last_use].push_back(static_cast<int>(id));
  }

  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ExecNode& node = graph.nodes[i];
    try {
      if (!node.kernel) throw Error(ErrorCode::kRuntime, "no kernel was created for this node");
      RunKernelContext ctx(state, node, pool);
      const int64_t start_us = profiler ? profiler->now_us() : 0;
      node.kernel->compute(ctx);
      for (size_t o = 0; o < node.outputs.size(); ++o) {
        int id = node.outputs[o];
        if (id != kNoValue && !state.values[id].defined() && !state.others[id].defined())
          throw Error(ErrorCode::kRuntime, "the kernel did not produce output " + std::to_string(o) +
                                               " ('" + graph.values[id].value->name() + "')");
      }
      if (profiler) record_node(*profiler, state, node, start_us);
    } catch (const Error& e) {
      throw Error(e.code(), source + ": " + node.label + ": " + e.what() +
                                " (inputs: " + describe_inputs(state, node) + ")");
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::kRuntime, source + ": " + node.label + ": out of memory (inputs: " +
                                           describe_inputs(state, node) + ")");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kRuntime, source + ": " + node.label + ": " + e.what() +
                                           " (inputs: " + describe_inputs(state, node) + ")");
    }
    for (int id : release_after[i]) {
      state.values[id] = Tensor();
      state.others[id] = Value();
    }
  }

  std::vector<Value> results;
  results.reserve(output_ids.size());
  for (int id : output_ids) {
    Value v = state.values[id].defined() ? Value(state.values[id]) : state.others[id];
    if (!v.defined())
      throw Error(ErrorCode::kRuntime, source + ": output '" + graph.values[id].value->name() +
                                           "' was not computed");
    results.push_back(detach(v, foreign));
  }
  return results;
}

}  // namespace ferry::runtime
