#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "ferry/session.h"
#include "ir/page_pool.h"
#include "ir/shape_inference.h"
#include "onnx_import/onnx_import.h"
#include "optimizer/expand_functions.h"
#include "optimizer/optimizer.h"
#include "runtime/node_evaluator.h"
#include "runtime/executor.h"
#include "runtime/input_check.h"
#include "runtime/providers.h"
#include "runtime/session_state.h"
#include "runtime/subgraph.h"

namespace ferry {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Prefixes the model source unless the message already starts with it.
Error in_model(const Error& e, const std::string& source) {
  std::string msg = e.what();
  if (msg.rfind(source, 0) == 0) return e;
  return e.with_context(source);
}

ValueInfo value_info(const ir::Value& v) {
  ValueInfo info;
  info.name = v.name();
  info.type = v.type().to_string();
  if (v.type().is_tensor() || v.type().kind == ir::Type::Kind::kSparseTensor) {
    info.dtype = v.dtype();
    info.has_rank = v.shape().has_rank;
    for (const ir::Dim& d : v.shape().dims) {
      DimInfo di;
      if (d.is_constant()) di.value = d.value();
      else di.symbol = d.to_string();
      info.shape.push_back(std::move(di));
    }
  } else {
    info.has_rank = false;
  }
  return info;
}

void for_each_node(const ir::Graph& g, const std::function<void(const ir::Node&)>& fn) {
  for (const ir::Node* n : g.nodes()) {
    fn(*n);
    for (const ir::Attribute& a : n->attributes()) {
      if (a.g) for_each_node(*a.g, fn);
      for (const auto& sub : a.graphs)
        if (sub) for_each_node(*sub, fn);
    }
  }
}

void for_each_graph(const ir::Graph& g, const std::function<void(const ir::Graph&)>& fn) {
  fn(g);
  for (const ir::Node* n : g.nodes())
    for (const ir::Attribute& a : n->attributes()) {
      if (a.g) for_each_graph(*a.g, fn);
      for (const auto& sub : a.graphs)
        if (sub) for_each_graph(*sub, fn);
    }
}

// Fewer nodes than this per thread are created on the calling thread alone.
constexpr size_t kMinNodesPerCreationThread = 8;
// Nodes whose releasable constants add up to at most this many bytes may be created at once,
// whatever the largest node's (partition_and_create_kernels).
constexpr size_t kMinCreationBudget = size_t{8} << 20;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

// ---- PlanCache ----------------------------------------------------------------------------

std::shared_ptr<const CachedPlan> PlanCache::get_or_build(
    const std::string& key, const std::function<runtime::MemoryPlan()>& build) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }
  // Built under the lock: concurrent first runs of one new shape plan it once.
  auto plan = std::make_shared<const CachedPlan>(build());
  lru_.emplace_front(key, plan);
  by_key_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return plan;
}

size_t PlanCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

// ---- SessionImpl --------------------------------------------------------------------------

SessionImpl::SessionImpl(std::unique_ptr<ir::Model> model, const SessionOptions& options,
                         Clock::time_point started)
    : model_(std::move(model)), plans_(options.max_cached_plans) {
  const std::string& src = model_->source;
  if (options.intra_op_num_threads < 0)
    throw Error(ErrorCode::kInvalidArgument,
                "intra_op_num_threads must be >= 0 (0 = one per core), got " +
                    std::to_string(options.intra_op_num_threads));
  if (options.enable_profiling) {
    profiler_ = std::make_unique<runtime::Profiler>(options.profile_file_prefix, started);
    profile_phase("model_loading_uri", 0);
  }
  const int64_t init_us = profiler_ ? profiler_->now_us() : 0;

  auto t0 = Clock::now();
  int64_t phase_us = init_us;
  try {
    ir::infer_shapes(*model_);
  } catch (const Error& e) {
    throw in_model(e, src);
  }
  timings.infer_shapes_ms = ms_since(t0);
  profile_phase("infer_shapes", phase_us);

  t0 = Clock::now();
  phase_us = profiler_ ? profiler_->now_us() : 0;
  try {
    // Nodes no provider can run but whose op the spec defines as a function run as that body
    // (a correctness step, so at every level; disabled by name like a pass). It goes first so
    // that the passes see, and may fuse, the body's nodes.
    const auto& off = options.disabled_passes;
    if (std::find(off.begin(), off.end(), "expand_functions") == off.end())
      optimizer::expand_functions(*model_, [](const ir::Node& node, int64_t opset) {
        for (const std::string& name : runtime::provider_names())
          if (runtime::find_provider(name)->can_run(node, opset)) return true;
        return false;
      });
    optimizer::OptimizeOptions optimize_options;
    optimize_options.level = options.graph_optimization_level;
    optimize_options.disabled_passes = options.disabled_passes;
    optimize_options.evaluate = runtime::evaluate_node;
    optimizer_report = optimizer::optimize(*model_, optimize_options);
  } catch (const Error& e) {
    throw in_model(e, src);
  }
  if (!options.optimized_model_filepath.empty())
    onnx_import::save_model(*model_, options.optimized_model_filepath);
  timings.optimize_ms = ms_since(t0);
  profile_phase("optimize", phase_us);

  graph_ = runtime::ExecGraph::build(model_->graph(), *model_);
  int threads = options.intra_op_num_threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  pool_ = std::make_unique<runtime::ThreadPool>(threads);
  {
    const runtime::ScopedThreadCount kernel_threads(threads);  // oneDNN sizes its primitives now
    const mem::RecycleScope recycle;  // packed weights take over the pages of released ones
    partition_and_create_kernels(options, threads);
  }

  for (size_t id = 0; id < graph_.values.size(); ++id)
    if (graph_.values[id].kind == runtime::ValueKind::kInitializer)
      constants_.emplace_back(static_cast<int>(id), graph_.values[id].value->initializer());

  describe_model();
  profile_phase("session_initialization", init_us);
}

void SessionImpl::profile_phase(const std::string& name, int64_t start_us) const {
  if (!profiler_) return;
  runtime::Profiler::Event e;
  e.category = "Session";
  e.name = name;
  e.ts_us = start_us;
  e.dur_us = profiler_->now_us() - start_us;
  profiler_->add(std::move(e));
}

void SessionImpl::PrepackTracker::init(const runtime::ExecGraph& g) {
  readers.assign(g.values.size(), 0);
  seen.assign(g.values.size(), 0);
  packed.assign(g.values.size(), 0);
  pinned.assign(g.values.size(), false);
  for (const runtime::ExecNode& en : g.nodes) {
    for (int id : en.inputs)
      if (id != runtime::kNoValue) ++readers[id];
    for (int id : en.outer_uses) pinned[id] = true;  // read by a subgraph
  }
  for (size_t id = 0; id < g.values.size(); ++id) {
    const runtime::ExecValue& ev = g.values[id];
    if (ev.kind != runtime::ValueKind::kInitializer || ev.is_graph_output || ev.value->is_graph_input())
      pinned[id] = true;  // not a constant, an output, or overridable by a feed
  }
}

void SessionImpl::kernel_created(size_t node_index, const std::vector<size_t>& marked) {
  const runtime::ExecNode& en = graph_.nodes[node_index];
  for (size_t k = 0; k < en.inputs.size(); ++k) {
    int id = en.inputs[k];
    if (id == runtime::kNoValue || prepack_.pinned[id]) continue;
    ++prepack_.seen[id];
    if (std::find(marked.begin(), marked.end(), k) != marked.end()) ++prepack_.packed[id];
    if (prepack_.seen[id] == prepack_.readers[id] && prepack_.packed[id] == prepack_.readers[id])
      release_initializer(id);
  }
}

void SessionImpl::release_initializer(int id) {
  auto* v = const_cast<ir::Value*>(graph_.values[id].value);
  const Tensor& t = v->initializer();
  if (!t.raw_data() || t.byte_size() == 0 || t.dtype() == DataType::kString) return;
  // Shape and dtype stay for input checks and describe_model; the storage goes. The data
  // pointer is an inaccessible reservation: a kernel that reads it anyway faults at once.
  const size_t bytes = t.byte_size();
  void* p = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return;
  std::shared_ptr<void> reservation(p, [bytes](void* q) { ::munmap(q, bytes); });
  // Pages of a memory-mapped model file leave the process now (the page cache keeps them, and
  // any other handle sharing them maps them back on access); owned storage is freed when its
  // last handle goes.
  mem::drop_file_pages(t.raw_data(), bytes);
  released_bytes_ += bytes;
  v->set_initializer(Tensor::wrap(t.dtype(), t.shape(), p, std::move(reservation)));
}

void SessionImpl::partition_and_create_kernels(const SessionOptions& options, int threads) {
  const std::string& src = model_->source;
  auto t0 = Clock::now();
  const int64_t partition_us = profiler_ ? profiler_->now_us() : 0;
  std::vector<std::string> names = options.providers.empty() ? runtime::provider_names() : options.providers;
  std::vector<ep::ExecutionProvider*> providers;
  for (const std::string& n : names) {
    ep::ExecutionProvider* p = runtime::find_provider(n);
    if (!p)
      throw Error(ErrorCode::kInvalidArgument, "unknown execution provider '" + n +
                                                   "'; this build has: " + join(runtime::provider_names()));
    if (std::find(providers.begin(), providers.end(), p) == providers.end()) providers.push_back(p);
  }
  ep::ExecutionProvider* cpu = runtime::find_provider("CPUExecutionProvider");
  bool cpu_listed = std::find(providers.begin(), providers.end(), cpu) != providers.end();

  std::vector<const ep::KernelDef*> defs(graph_.nodes.size(), nullptr);
  std::vector<std::string> failures;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    runtime::ExecNode& en = graph_.nodes[i];
    for (ep::ExecutionProvider* p : providers) {
      if (!p->can_run(*en.node, en.opset)) continue;
      if (const ep::KernelDef* def = p->registry().find(*en.node, en.opset)) {
        en.provider = p;
        defs[i] = def;
        break;
      }
    }
    if (en.provider) continue;
    if (!cpu_listed && !options.allow_cpu_fallback) {
      std::string domain = en.node->domain().empty() ? "ai.onnx" : en.node->domain();
      failures.push_back(en.label + ": domain '" + domain + "' cannot run on " + join(names) +
                         " and CPU fallback is disabled");
      continue;
    }
    if (!cpu_listed && cpu->can_run(*en.node, en.opset)) {
      if (const ep::KernelDef* def = cpu->registry().find(*en.node, en.opset)) {
        en.provider = cpu;
        defs[i] = def;
        continue;
      }
    }
    failures.push_back(en.label + ": no kernel for this op/opset/types in CPUExecutionProvider");
  }
  if (!failures.empty()) {
    std::string msg = src + ": " + failures[0];
    if (failures.size() > 1) {
      msg += " (and " + std::to_string(failures.size() - 1) + " more unsupported node" +
             (failures.size() > 2 ? "s" : "") + ": ";
      for (size_t k = 1; k < failures.size() && k <= 5; ++k)
        msg += (k > 1 ? "; " : "") + failures[k].substr(0, failures[k].find(':'));
      msg += failures.size() > 6 ? "; ...)" : ")";
    }
    throw Error(ErrorCode::kNotImplemented, msg);
  }
  timings.partition_ms = ms_since(t0);
  profile_phase("partition", partition_us);

  t0 = Clock::now();
  const int64_t kernels_us = profiler_ ? profiler_->now_us() : 0;
  runtime::SubgraphOptions sub;
  sub.model = model_.get();
  sub.providers = providers;
  sub.allow_cpu_fallback = cpu_listed || options.allow_cpu_fallback;
  sub.max_cached_plans = options.max_cached_plans;
  sub.config_entries = options.config_entries;
  ep::SubgraphCompiler compiler = runtime::make_subgraph_compiler(sub);
  prepack_.init(graph_);
  const size_t n = graph_.nodes.size();
  std::vector<std::unique_ptr<ep::Kernel>> made(n);
  std::vector<std::exception_ptr> failed(n);
  std::mutex created_mu;  // kernel_created: prepack counts and initializer releases
  // Creation order: nodes with the most releasable constant bytes first, ties in node order.
  // Packing a weight holds it twice (source and packed copy) until it is released, and what is
  // resident grows as weights still in the mapped file get packed, so the largest such transient
  // comes first, while least is resident.
  // Threads creating at once hold their transients at once, so a node starts only while the
  // releasable bytes of the nodes in creation, its own included, stay within the largest
  // node's, or kMinCreationBudget when that is more (or it would be alone): large weights are
  // packed one at a time, small ones together (a small model's largest weight does not hold
  // back the others).
  std::vector<size_t> order(n), releasable(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (int id : graph_.nodes[i].inputs)
      if (id != runtime::kNoValue && !prepack_.pinned[id] && graph_.values[id].kind == runtime::ValueKind::kInitializer)
        releasable[i] += graph_.values[id].value->initializer().byte_size();
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return releasable[a] > releasable[b]; });
  const size_t in_creation_budget = std::max(n > 0 ? releasable[order[0]] : 0, kMinCreationBudget);
  size_t in_creation = 0;
  std::mutex budget_mu;
  std::condition_variable budget_cv;
  std::vector<char> attempted(n, 0);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  auto create = [&](size_t i) {
    attempted[i] = 1;
    runtime::ExecNode& en = graph_.nodes[i];
    std::vector<size_t> marked;
    try {
      try {
        ep::KernelInfo kernel_info(*en.node, en.opset, *en.provider, compiler);
        kernel_info.set_prepacked_sink(&marked);
        kernel_info.set_config_entries(&options.config_entries);
        made[i] = defs[i]->factory(kernel_info);
      } catch (const Error& e) {
        throw Error(e.code(), src + ": " + en.label + ": " + e.what());
      } catch (const std::exception& e) {
        throw Error(ErrorCode::kRuntime, src + ": " + en.label + ": " + e.what());
      }
      if (!made[i])
        throw Error(ErrorCode::kRuntime, src + ": " + en.label + ": the kernel factory returned nothing");
      const std::lock_guard<std::mutex> lock(created_mu);
      kernel_created(i, marked);
    } catch (...) {
      failed[i] = std::current_exception();
      stop = true;
    }
  };
  auto work = [&] {
    for (size_t k = next++; k < n && !stop; k = next++) {
      const size_t i = order[k];
      {
        std::unique_lock<std::mutex> lock(budget_mu);
        budget_cv.wait(lock, [&] { return in_creation == 0 || in_creation + releasable[i] <= in_creation_budget; });
        in_creation += releasable[i];
      }
      create(i);
      {
        const std::lock_guard<std::mutex> lock(budget_mu);
        in_creation -= releasable[i];
      }
      budget_cv.notify_all();
    }
  };
  // Kernels are independent, so a session of several threads creates them on as many (each
  // thread with the session's OpenMP count, which oneDNN sizes its primitives by). After a
  // failure the nodes before it that were not tried yet are tried, so the error reported is the
  // one a serial loop in node order would report. Graphs with subgraphs are compiled serially
  // (the subgraph compiler shares its options and plans).
  bool has_subgraphs = false;
  for (const runtime::ExecNode& en : graph_.nodes)
    for (const ir::Attribute& a : en.node->attributes()) has_subgraphs |= a.g != nullptr || !a.graphs.empty();
  const size_t workers =
      has_subgraphs ? 1 : std::clamp<size_t>(n / kMinNodesPerCreationThread, 1, static_cast<size_t>(threads));
  std::vector<std::thread> helpers;
  for (size_t w = 1; w < workers; ++w)
    helpers.emplace_back([&] {
      const runtime::ScopedThreadCount kernel_threads(threads);
      work();
    });
  work();
  for (std::thread& t : helpers) t.join();
  size_t first_failed = n;
  for (size_t i = 0; i < n && first_failed == n; ++i)
    if (failed[i]) first_failed = i;
  for (size_t i = 0; i < first_failed; ++i)
    if (!attempted[i]) {
      create(i);
      if (failed[i]) break;
    }
  for (size_t i = 0; i < n; ++i)
    if (failed[i]) std::rethrow_exception(failed[i]);

  for (size_t i = 0; i < n; ++i) {
    runtime::ExecNode& en = graph_.nodes[i];
    kernels_.push_back(std::move(made[i]));
    en.kernel = kernels_.back().get();
    en.in_place_inputs = defs[i]->in_place_inputs;
    en.output_is_view = defs[i]->output_is_view;
    if (std::find(used_providers.begin(), used_providers.end(), en.provider->name()) == used_providers.end())
      used_providers.push_back(en.provider->name());
  }
  // Report in priority order.
  std::vector<std::string> ordered;
  for (ep::ExecutionProvider* p : providers)
    if (std::find(used_providers.begin(), used_providers.end(), p->name()) != used_providers.end())
      ordered.push_back(p->name());
  for (const std::string& n : used_providers)
    if (std::find(ordered.begin(), ordered.end(), n) == ordered.end()) ordered.push_back(n);
  if (ordered.empty()) ordered.push_back(providers.empty() ? "CPUExecutionProvider" : providers[0]->name());
  used_providers = ordered;
  timings.prepare_kernels_ms = ms_since(t0);
  profile_phase("kernel_creation", kernels_us);
}

void SessionImpl::describe_model() {
  const ir::Model& m = *model_;
  info.path = m.source;
  info.ir_version = m.ir_version;
  info.opset_imports = m.opset_imports;
  info.producer_name = m.producer_name;
  info.producer_version = m.producer_version;
  info.domain = m.domain;
  info.model_version = m.model_version;
  info.graph_name = m.graph().name();
  info.graph_doc_string = m.graph().doc_string;
  info.doc_string = m.doc_string;
  info.metadata = m.metadata;
  for_each_node(m.graph(), [&](const ir::Node& n) {
    info.op_histogram[n.domain().empty() ? n.op_type() : n.domain() + ":" + n.op_type()]++;
    info.node_count++;
  });
  for_each_graph(m.graph(), [&](const ir::Graph& g) {
    for (const ir::Value* v : g.initializers()) {
      info.parameter_count += v->initializer().element_count();
      info.parameter_bytes += static_cast<int64_t>(v->initializer().byte_size());
    }
  });
  info.released_parameter_bytes = static_cast<int64_t>(released_bytes_);
  for (const ir::Value* v : m.graph().inputs())
    if (!v->is_initializer()) inputs.push_back(value_info(*v));
  for (const ir::Value* v : m.graph().outputs()) outputs.push_back(value_info(*v));
}

std::vector<int> SessionImpl::output_ids(const std::vector<std::string>& output_names) const {
  const std::string& src = model_->source;
  if (output_names.empty()) return graph_.graph_outputs;
  std::vector<int> ids;
  for (const std::string& name : output_names) {
    int found = runtime::kNoValue;
    for (int id : graph_.graph_outputs)
      if (graph_.values[id].value->name() == name) found = id;
    if (found == runtime::kNoValue) {
      std::vector<std::string> names;
      for (int id : graph_.graph_outputs) names.push_back("'" + graph_.values[id].value->name() + "'");
      throw Error(ErrorCode::kInvalidArgument,
                  src + ": unknown output '" + name + "'; the model's outputs are " + join(names));
    }
    ids.push_back(found);
  }
  return ids;
}

std::vector<Value> SessionImpl::run_checked(const runtime::CheckedFeeds& checked,
                                            const std::vector<int>& ids) const {
  const int64_t start_us = profiler_ ? profiler_->now_us() : 0;
  auto plan = plans_.get_or_build(checked.signature,
                                  [&] { return runtime::plan_memory(graph_, checked.bindings); });
  std::vector<Value> out = runtime::execute(graph_, plan->plan, &plan->arenas, constants_, checked.values, ids,
                                            *pool_, model_->source, profiler_.get());
  profile_phase("model_run", start_us);
  return out;
}

std::vector<Value> SessionImpl::run(const std::vector<NamedValue>& feeds,
                                    const std::vector<std::string>& output_names) const {
  std::vector<int> ids = output_ids(output_names);
  return run_checked(runtime::check_value_feeds(graph_, feeds, model_->source), ids);
}

std::vector<Tensor> SessionImpl::run_tensors(const std::vector<NamedTensor>& feeds,
                                             const std::vector<std::string>& output_names) const {
  std::vector<int> ids = output_ids(output_names);
  for (int id : ids) {
    const ir::Value& v = *graph_.values[id].value;
    if (v.type().kind != ir::Type::Kind::kTensor && v.type().kind != ir::Type::Kind::kUnknown)
      throw Error(ErrorCode::kInvalidArgument, model_->source + ": output '" + v.name() + "' is " +
                                                   v.type().to_string() +
                                                   ", not a tensor; use Session::run_values to get it");
  }
  std::vector<Value> values = run_checked(runtime::check_feeds(graph_, feeds, model_->source), ids);
  std::vector<Tensor> out;
  out.reserve(values.size());
  for (size_t k = 0; k < values.size(); ++k) {
    if (!values[k].is_tensor())
      throw Error(ErrorCode::kInvalidArgument, model_->source + ": output '" + graph_.values[ids[k]].value->name() +
                                                   "' is " + values[k].describe() +
                                                   ", not a tensor; use Session::run_values to get it");
    out.push_back(values[k].tensor());
  }
  return out;
}

MemoryPlanReport SessionImpl::memory_plan(
    const std::map<std::string, std::vector<int64_t>>& input_shapes) const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes(input_shapes.begin(), input_shapes.end());
  runtime::CheckedFeeds checked = runtime::check_shapes(graph_, shapes, model_->source);
  auto plan = plans_.get_or_build(checked.signature,
                                  [&] { return runtime::plan_memory(graph_, checked.bindings); });
  return plan->plan.report;
}

std::unique_ptr<SessionImpl> create_session_impl(std::unique_ptr<ir::Model> model,
                                                 const SessionOptions& options,
                                                 std::chrono::steady_clock::time_point started) {
  if (!model) throw Error(ErrorCode::kInvalidArgument, "create_session_impl: no model");
  auto t0 = Clock::now();
  auto impl = std::make_unique<SessionImpl>(std::move(model), options, started);
  impl->timings.total_ms = ms_since(t0);
  return impl;
}

// ---- Session ------------------------------------------------------------------------------

namespace {
std::unique_ptr<SessionImpl> create_timed(const std::function<std::unique_ptr<ir::Model>()>& load,
                                          const SessionOptions& options) {
  auto t0 = Clock::now();
  std::unique_ptr<ir::Model> model = load();
  double load_ms = ms_since(t0);
  auto impl = create_session_impl(std::move(model), options, t0);
  impl->timings.load_ms = load_ms;
  impl->timings.total_ms = ms_since(t0);
  return impl;
}
}  // namespace

Session::Session(const std::string& model_path, const SessionOptions& options)
    : impl_(create_timed([&] { return onnx_import::load_model(model_path); }, options)) {}

Session::Session(std::unique_ptr<SessionImpl> impl) : impl_(std::move(impl)) {}

Session Session::from_bytes(const void* data, size_t size, const SessionOptions& options) {
  return Session(create_timed([&] { return onnx_import::load_model_from_bytes(data, size); }, options));
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<ValueInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->outputs; }
const ModelInfo& Session::model_info() const { return impl_->info; }
const SessionTimings& Session::timings() const { return impl_->timings; }
std::vector<std::string> Session::providers() const { return impl_->used_providers; }

OptimizerReport Session::optimizer_report() const {
  const optimizer::OptimizeReport& r = impl_->optimizer_report;
  OptimizerReport out;
  for (const optimizer::PassRun& p : r.passes)
    out.passes.push_back({p.name, p.ms, p.nodes_before, p.nodes_after, p.changed_rounds});
  out.rounds = r.rounds;
  out.nodes_before = r.nodes_before;
  out.nodes_after = r.nodes_after;
  out.total_ms = r.total_ms;
  return out;
}

std::vector<Tensor> Session::run(const std::vector<NamedTensor>& feeds,
                                 const std::vector<std::string>& output_names) const {
  return impl_->run_tensors(feeds, output_names);
}

std::vector<Value> Session::run_values(const std::vector<NamedValue>& feeds,
                                       const std::vector<std::string>& output_names) const {
  return impl_->run(feeds, output_names);
}

MemoryPlanReport Session::memory_plan(const std::map<std::string, std::vector<int64_t>>& input_shapes) const {
  return impl_->memory_plan(input_shapes);
}

size_t Session::cached_plan_count() const { return impl_->cached_plan_count(); }

std::string Session::end_profiling() {
  runtime::Profiler* p = impl_->profiler();
  return p ? p->end() : std::string();
}

int64_t Session::profiling_start_time_ns() const {
  runtime::Profiler* p = impl_->profiler();
  return p ? p->start_time_ns() : 0;
}

std::vector<std::string> available_providers() { return runtime::provider_names(); }

const char* version() { return "0.1.0"; }

}  // namespace ferry
