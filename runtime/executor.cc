#include "runtime/executor.h"

#include <algorithm>
#include <cstring>
#include <exception>

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
    s += "'" + state.graph->values[id].value->name() + "' " +
         (t.defined() ? t.describe() : std::string("<not computed>"));
  }
  return s;
}

}  // namespace

std::vector<Tensor> execute(const ExecGraph& graph, const MemoryPlan& plan,
                            const std::vector<std::pair<int, Tensor>>& constants,
                            const std::vector<std::pair<int, Tensor>>& feeds,
                            const std::vector<int>& output_ids, const ThreadPool& pool,
                            const std::string& source) {
  RunState state;
  state.graph = &graph;
  state.plan = &plan;
  state.values.resize(graph.values.size());
  if (plan.arena_bytes > 0) {
    Tensor arena = Tensor::empty(DataType::kUInt8, {static_cast<int64_t>(plan.arena_bytes)});
    state.arena_base = arena.data<uint8_t>();
    state.arena_bytes = plan.arena_bytes;
    // The arena lives as long as any tensor wrapping it.
    state.arena = std::shared_ptr<void>(state.arena_base, [arena](void*) {});
  }
  for (const auto& [id, t] : constants) state.values[id] = t;
  for (const auto& [id, t] : feeds) state.values[id] = t;

  // What the caller must never receive a handle into.
  std::vector<Range> foreign;
  for (const auto& list : {&constants, &feeds})
    for (const auto& [id, t] : *list)
      if (t.raw_data() && t.byte_size() > 0) {
        auto* b = static_cast<const uint8_t*>(t.raw_data());
        foreign.push_back({b, b + t.byte_size()});
      }
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
      node.kernel->compute(ctx);
      for (size_t o = 0; o < node.outputs.size(); ++o)
        if (node.outputs[o] != kNoValue && !state.values[node.outputs[o]].defined())
          throw Error(ErrorCode::kRuntime, "the kernel did not produce output " + std::to_string(o) +
                                               " ('" + graph.values[node.outputs[o]].value->name() + "')");
    } catch (const Error& e) {
      throw Error(e.code(), source + ": " + node.label + ": " + e.what() + " (inputs: " +
                                describe_inputs(state, node) + ")");
    } catch (const std::bad_alloc&) {
      throw Error(ErrorCode::kRuntime, source + ": " + node.label + ": out of memory (inputs: " +
                                           describe_inputs(state, node) + ")");
    } catch (const std::exception& e) {
      throw Error(ErrorCode::kRuntime, source + ": " + node.label + ": " + e.what() + " (inputs: " +
                                           describe_inputs(state, node) + ")");
    }
    for (int id : release_after[i]) state.values[id] = Tensor();
  }

  std::vector<Tensor> results;
  results.reserve(output_ids.size());
  for (int id : output_ids) {
    Tensor t = state.values[id];
    if (!t.defined())
      throw Error(ErrorCode::kRuntime, source + ": output '" + graph.values[id].value->name() +
                                           "' was not computed");
    if (t.is_borrowed() || overlaps(t, foreign)) t = t.clone();
    results.push_back(std::move(t));
  }
  return results;
}

}  // namespace ferry::runtime
