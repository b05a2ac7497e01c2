#include "runtime/planner.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>

namespace ferry::runtime {

namespace {

size_t align_up(size_t n) { return (n + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

// Best-fit allocator over offsets in a growing arena.
class OffsetAllocator {
 public:
  size_t allocate(size_t size) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best != free_.end()) {
      size_t offset = best->first, left = best->second - size;
      free_.erase(best);
      if (left > 0) free_.emplace(offset + size, left);
      return offset;
    }
    // A free block touching the end of the arena grows instead of a new block after it.
    if (!free_.empty()) {
      auto last = std::prev(free_.end());
      if (last->first + last->second == end_) {
        size_t offset = last->first;
        free_.erase(last);
        end_ = offset + size;
        return offset;
      }
    }
    size_t offset = end_;
    end_ += size;
    return offset;
  }

  void release(size_t offset, size_t size) {
    auto [it, inserted] = free_.emplace(offset, size);
    auto next = std::next(it);
    if (next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  size_t end() const { return end_; }

 private:
  std::map<size_t, size_t> free_;  // offset -> size
  size_t end_ = 0;
};

}  // namespace

MemoryPlan plan_memory(const ExecGraph& graph, const ir::SymbolBindings& bindings) {
  MemoryPlan plan;
  const size_t nv = graph.values.size();
  plan.values.resize(nv);

  for (size_t id = 0; id < nv; ++id) {
    const ExecValue& ev = graph.values[id];
    ValuePlan& vp = plan.values[id];
    if (ev.value->type().is_tensor()) {
      if (auto shape = ev.value->shape().evaluate(bindings)) {
        bool valid = std::all_of(shape->begin(), shape->end(), [](int64_t d) { return d >= 0; });
        if (valid) {
          try {
            int64_t count = shape_element_count(*shape);
            vp.bytes = dtype_storage_bytes(ev.value->dtype(), static_cast<size_t>(count));
            vp.shape = std::move(*shape);
            vp.shape_known = ev.value->dtype() != DataType::kUndefined;
          } catch (const Error&) {
            vp.shape_known = false;  // overflowing shape: left to the kernel to reject
          }
        }
      }
    }
    if (ev.kind != ValueKind::kIntermediate) vp.placement = Placement::kExternal;
    else if (ev.is_graph_output) vp.placement = Placement::kOutput;
    else vp.placement = Placement::kDynamic;  // refined below
  }

  // Pass 1: decide which values share a buffer. group[id] is the id of the value whose arena
  // block `id` lives in (itself for a block's first owner), -1 when not in the arena.
  std::vector<int> group(nv, -1);
  std::vector<int> group_end(nv, -1);  // by root: last node reading any member
  auto arena_eligible = [&](int id) {
    const ValuePlan& vp = plan.values[id];
    const ExecValue& ev = graph.values[id];
    return vp.placement == Placement::kDynamic && vp.shape_known && vp.bytes > 0 &&
           ev.value->dtype() != DataType::kString;
  };

  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ExecNode& node = graph.nodes[i];
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      int out = node.outputs[o];
      if (out == kNoValue) continue;
      ValuePlan& vp = plan.values[out];
      const ExecValue& ev = graph.values[out];
      int in0 = node.inputs.empty() ? kNoValue : node.inputs[0];

      if (o == 0 && node.output_is_view && in0 != kNoValue) {
        if (ev.is_graph_output) continue;  // kOutput: the runtime shares or copies
        vp.placement = Placement::kView;
        plan.report.view_values++;
        if (group[in0] >= 0) {
          int root = group[in0];
          group[out] = root;
          group_end[root] = std::max(group_end[root], ev.last_use);
        }
        continue;
      }
      if (!arena_eligible(out)) {
        if (vp.placement == Placement::kDynamic) plan.report.dynamic_values++;
        continue;
      }
      if (o == 0) {
        for (int idx : node.in_place_inputs) {
          if (idx < 0 || static_cast<size_t>(idx) >= node.inputs.size()) continue;
          int in = node.inputs[idx];
          if (in == kNoValue || group[in] < 0) continue;
          int root = group[in];
          const ValuePlan& ip = plan.values[in];
          if (group_end[root] != static_cast<int>(i)) continue;
          if (graph.values[in].value->dtype() != ev.value->dtype() || ip.shape != vp.shape) continue;
          // Another input reading the same buffer through a different value (a view) would see
          // its data change under it.
          bool shared = false;
          for (int other : node.inputs)
            if (other != kNoValue && other != in && group[other] == root) shared = true;
          for (int other : node.outer_uses)
            if (group[other] == root) shared = true;
          if (shared) continue;
          vp.placement = Placement::kArena;
          vp.in_place = true;
          group[out] = root;
          group_end[root] = std::max(group_end[root], ev.last_use);
          plan.report.in_place_values++;
          break;
        }
        if (vp.in_place) continue;
      }
      vp.placement = Placement::kArena;
      group[out] = out;
      group_end[out] = ev.last_use;
    }
  }

  // Pass 2: give each block an offset; a block is freed after the last node reading it.
  OffsetAllocator alloc;
  std::vector<std::vector<int>> frees(graph.nodes.size() + 1);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (int out : graph.nodes[i].outputs) {
      if (out == kNoValue || group[out] != out) continue;
      ValuePlan& vp = plan.values[out];
      size_t size = align_up(vp.bytes);
      vp.offset = alloc.allocate(size);
      plan.report.total_bytes += size;
      plan.report.planned_values++;
      int end = std::clamp(group_end[out], static_cast<int>(i), static_cast<int>(graph.nodes.size()));
      frees[end].push_back(out);
    }
    for (int root : frees[i]) alloc.release(plan.values[root].offset, align_up(plan.values[root].bytes));
  }
  for (size_t id = 0; id < nv; ++id) {
    ValuePlan& vp = plan.values[id];
    if (vp.in_place) {
      vp.offset = plan.values[group[id]].offset;
      plan.report.planned_values++;
    }
  }
  plan.arena_bytes = alloc.end();
  plan.report.peak_bytes = plan.arena_bytes;
  return plan;
}

}  // namespace ferry::runtime
