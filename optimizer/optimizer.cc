#include "optimizer/optimizer.h"

#include <algorithm>
#include <chrono>
#include <functional>

#include "ferry/error.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "optimizer/known_values.h"
#include "optimizer/pipeline.h"

namespace ferry::optimizer {

namespace {

struct KnownValuesCache {
  const ir::Model* model = nullptr;
  ir::KnownValues values;
};
thread_local KnownValuesCache t_known;

/// Infers types like ir::infer_shapes and keeps the propagated values for the passes.
void infer(ir::Model& model, const ir::InferenceOptions& options) {
  forget_known_values();
  set_current_known_values(model, ir::infer_values(model, options));
}

// Not in any pipeline but disabled by the same option: the session's function expansion.
constexpr const char* kSessionStepNames[] = {"expand_functions"};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void collect_graphs(ir::Graph& g, std::vector<ir::Graph*>& out) {
  for (ir::Graph* sg : g.direct_subgraphs()) collect_graphs(*sg, out);
  out.push_back(&g);
}

/// Values (all graphs) whose type is not known yet: what a pass created without a type.
size_t count_untyped(const std::vector<ir::Graph*>& graphs) {
  size_t n = 0;
  for (const ir::Graph* g : graphs)
    g->for_each_value([&](const ir::Value* v) { n += v->type().kind == ir::Type::Kind::kUnknown; });
  return n;
}

/// The model's graphs (innermost first), their node count and untyped values. A pass that
/// changes nothing leaves all three as they were, so the driver recounts only after a change
/// (or after inference, which types values).
struct GraphCensus {
  std::vector<ir::Graph*> graphs;
  size_t nodes = 0;
  size_t untyped = 0;

  void take(ir::Model& model) {
    graphs.clear();
    collect_graphs(model.graph(), graphs);
    nodes = 0;
    for (const ir::Graph* g : graphs) nodes += g->node_count();
    untyped = count_untyped(graphs);
  }
};

size_t count_graph_nodes(const ir::Graph& g) {
  size_t n = g.node_count();
  for (const ir::Graph* sg : g.direct_subgraphs()) n += count_graph_nodes(*sg);
  return n;
}

void check_disabled_names(const std::vector<std::string>& disabled) {
  std::vector<std::string> known = all_pass_names();
  for (const char* s : kSessionStepNames) known.emplace_back(s);
  for (const std::string& name : disabled) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error(ErrorCode::kInvalidArgument, "unknown optimizer pass '" + name + "' to disable; passes: " + list);
  }
}

}  // namespace

size_t count_nodes(const ir::Model& model) { return count_graph_nodes(model.graph()); }

const ir::KnownValues* current_known_values(const ir::Model& model) {
  return t_known.model == &model ? &t_known.values : nullptr;
}

void set_current_known_values(const ir::Model& model, ir::KnownValues values) {
  t_known.model = &model;
  t_known.values = std::move(values);
}

void forget_known_values() {
  t_known.model = nullptr;
  t_known.values.clear();
}

OptimizeReport optimize(ir::Model& model, const OptimizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  check_disabled_names(options.disabled_passes);
  OptimizeReport report;
  report.nodes_before = count_nodes(model);
  for (Pass& p : pipeline(options.level)) {
    const auto& off = options.disabled_passes;
    if (std::find(off.begin(), off.end(), p.name) != off.end()) continue;
    report.passes.push_back({p.name});
  }
  std::vector<Pass> passes;
  for (Pass& p : pipeline(options.level))
    if (std::any_of(report.passes.begin(), report.passes.end(), [&](const PassRun& r) { return r.name == p.name; }))
      passes.push_back(std::move(p));

  PassContext ctx(model);
  ctx.evaluate = options.evaluate;
  ir::InferenceOptions inference;
  inference.strict = options.verify_each_pass;
  if (options.verify_each_pass) ir::verify(model);
  GraphCensus census;
  census.take(model);
  forget_known_values();  // the session inferred before optimize(), but not through the driver
  struct Forget {
    ~Forget() { forget_known_values(); }
  } forget_at_end;
  for (int round = 0; round < options.max_rounds && !passes.empty(); ++round) {
    bool round_changed = false;
    report.rounds = round + 1;
    for (size_t i = 0; i < passes.size(); ++i) {
      PassRun& run = report.passes[i];
      const auto t0 = std::chrono::steady_clock::now();
      if (round == 0) run.nodes_before = census.nodes;
      bool changed = false;
      try {
        const size_t untyped_before = census.untyped;
        // The list is taken before the pass: a pass on an outer graph may drop an inner one,
        // which has had its turn by then (innermost first).
        const std::vector<ir::Graph*> graphs = census.graphs;
        for (ir::Graph* g : graphs) changed |= passes[i].run(*g, ctx);
        if (changed) {
          forget_known_values();
          census.take(model);
        }
        // Rewrites keep every type valid (a replacement takes the replaced value's type), so
        // inference reruns only when a pass left new values untyped; the refinements it would
        // add elsewhere (a folded constant making a downstream dim concrete) come at the end of
        // the round.
        if (changed && census.untyped > untyped_before) {
          infer(model, inference);
          census.untyped = count_untyped(census.graphs);
        }
        if (changed && options.verify_each_pass) ir::verify(model);
      } catch (const Error& e) {
        throw Error(e.code(), "after optimizer pass '" + passes[i].name + "': " + e.what());
      }
      run.nodes_after = census.nodes;
      run.ms += ms_since(t0);
      if (changed) ++run.changed_rounds;
      round_changed |= changed;
    }
    if (!round_changed) break;
    // Inference after the last change of the round (a pass that left values untyped, or
    // fold_shape_computations) is still current: inferring again would give the same types.
    if (current_known_values(model)) continue;
    try {
      infer(model, inference);
      census.untyped = count_untyped(census.graphs);
    } catch (const Error& e) {
      throw Error(e.code(), "after optimizer round " + std::to_string(round + 1) + ": " + e.what());
    }
  }
  report.nodes_after = count_nodes(model);
  report.total_ms = ms_since(start);
  return report;
}

}  // namespace ferry::optimizer
