// The memory planner on small IR graphs built by hand (no kernels, no import): buffers are
// reused, element-wise nodes run in place only when it is safe, views share storage, values of
// unknown size stay dynamic, and no two values alive at once ever overlap in the arena.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "runtime/exec_graph.h"
#include "runtime/planner.h"

namespace ferry::runtime {
namespace {

ir::Type f32(std::vector<int64_t> dims) { return ir::Type::tensor(DataType::kFloat, ir::Shape::from_ints(dims)); }

struct Built {
  ir::Model model;
  ir::Graph& g() { return model.graph(); }
  ir::Value* input(const std::string& name, ir::Type t) {
    ir::Value* v = g().add_value(name, std::move(t));
    g().add_input(v);
    return v;
  }
  ir::Value* node(const std::string& op, std::vector<ir::Value*> in, const std::string& out, ir::Type t) {
    ir::Node* n = g().add_node(op, in, {out}, "", out + "_node");
    n->output(0)->set_type(std::move(t));
    return n->output(0);
  }
  ExecGraph exec(const std::map<std::string, std::vector<int>>& in_place = {},
                 const std::vector<std::string>& views = {}) {
    model.opset_imports[""] = 13;
    ExecGraph eg = ExecGraph::build(g(), model);
    for (ExecNode& n : eg.nodes) {
      const std::string& out = n.node->output(0)->name();
      if (auto it = in_place.find(out); it != in_place.end()) n.in_place_inputs = it->second;
      for (const std::string& v : views)
        if (v == out) n.output_is_view = true;
    }
    return eg;
  }
};

// Replays the graph over a shadow arena that records which value last wrote each byte, and
// checks every read sees its own value's bytes (so nothing was overwritten while alive).
void expect_no_clobber(const ExecGraph& eg, const MemoryPlan& plan) {
  std::vector<int> shadow(plan.arena_bytes, -1);
  std::vector<int> storage(eg.values.size(), -1);  // value whose bytes this value reads
  for (size_t id = 0; id < eg.values.size(); ++id)
    if (plan.values[id].placement == Placement::kArena) {
      ASSERT_LE(plan.values[id].offset + plan.values[id].bytes, plan.arena_bytes);
      ASSERT_EQ(plan.values[id].offset % kArenaAlignment, 0u);
    }
  auto check_read = [&](int id, size_t node) {
    if (id == kNoValue || storage[id] < 0) return;
    const ValuePlan& p = plan.values[storage[id]];
    for (size_t b = p.offset; b < p.offset + p.bytes; ++b)
      ASSERT_EQ(shadow[b], storage[id]) << "value '" << eg.values[id].value->name() << "' read by node " << node
                                        << " was overwritten by value #" << shadow[b];
  };
  for (size_t i = 0; i < eg.nodes.size(); ++i) {
    const ExecNode& n = eg.nodes[i];
    for (int id : n.inputs) check_read(id, i);
    for (int id : n.outer_uses) check_read(id, i);
    for (int out : n.outputs) {
      if (out == kNoValue) continue;
      const ValuePlan& p = plan.values[out];
      if (p.placement == Placement::kArena) {
        storage[out] = out;
        for (size_t b = p.offset; b < p.offset + p.bytes; ++b) shadow[b] = out;
      } else if (p.placement == Placement::kView && n.inputs[0] != kNoValue) {
        storage[out] = storage[n.inputs[0]];
      }
    }
  }
}

TEST(RuntimePlanner, ChainReusesBuffers) {
  Built b;
  ir::Value* v = b.input("x", f32({256}));
  for (int i = 0; i < 6; ++i) v = b.node("Relu", {v}, "v" + std::to_string(i), f32({256}));
  b.g().add_output(v);
  ExecGraph eg = b.exec();
  MemoryPlan plan = plan_memory(eg, {});
  // v0..v4 are intermediates (1024 bytes each); at most two are alive at once.
  EXPECT_EQ(plan.report.planned_values, 5u);
  EXPECT_EQ(plan.report.total_bytes, 5u * 1024);
  EXPECT_EQ(plan.report.peak_bytes, 2u * 1024);
  EXPECT_LT(plan.report.peak_bytes, plan.report.total_bytes);
  EXPECT_EQ(plan.values[eg.id_of(v)].placement, Placement::kOutput);
  EXPECT_EQ(plan.values[eg.id_of(b.g().inputs()[0])].placement, Placement::kExternal);
  expect_no_clobber(eg, plan);
}

TEST(RuntimePlanner, ElementwiseChainRunsInPlace) {
  Built b;
  ir::Value* v = b.input("x", f32({256}));
  std::map<std::string, std::vector<int>> in_place;
  for (int i = 0; i < 6; ++i) {
    v = b.node("Relu", {v}, "v" + std::to_string(i), f32({256}));
    in_place[v->name()] = {0};
  }
  b.g().add_output(v);
  ExecGraph eg = b.exec(in_place);
  MemoryPlan plan = plan_memory(eg, {});
  // v0 cannot overwrite the caller's x and v5 is an output; v1..v4 reuse v0's buffer.
  EXPECT_EQ(plan.report.in_place_values, 4u);
  EXPECT_EQ(plan.report.peak_bytes, 1024u);
  EXPECT_EQ(plan.values[eg.id_of(b.g().find_value("v0"))].in_place, false);
  EXPECT_EQ(plan.values[eg.id_of(b.g().find_value("v3"))].offset,
            plan.values[eg.id_of(b.g().find_value("v0"))].offset);
  expect_no_clobber(eg, plan);
}

TEST(RuntimePlanner, InPlaceRefusedWhileInputStillNeededOrShapeDiffers) {
  Built b;
  ir::Value* x = b.input("x", f32({64}));
  ir::Value* a = b.node("Relu", {x}, "a", f32({64}));
  ir::Value* c = b.node("Sigmoid", {a}, "c", f32({64}));  // a is read again below
  ir::Value* d = b.node("Add", {a, c}, "d", f32({64}));   // a dies here: in place over a
  ir::Value* e = b.node("Relu", {d}, "e", f32({64}));
  ir::Value* w = b.node("Wide", {e}, "w", f32({128}));     // different size: no in place
  ir::Value* y = b.node("Relu", {w}, "y", f32({128}));
  b.g().add_output(y);
  ExecGraph eg = b.exec({{"c", {0}}, {"d", {0, 1}}, {"w", {0}}});
  MemoryPlan plan = plan_memory(eg, {});
  EXPECT_FALSE(plan.values[eg.id_of(c)].in_place);
  EXPECT_TRUE(plan.values[eg.id_of(d)].in_place);
  EXPECT_FALSE(plan.values[eg.id_of(w)].in_place);
  EXPECT_EQ(plan.report.in_place_values, 1u);
  expect_no_clobber(eg, plan);
}

TEST(RuntimePlanner, ViewsShareStorageAndExtendItsLife) {
  Built b;
  ir::Value* x = b.input("x", f32({4, 64}));
  ir::Value* a = b.node("Relu", {x}, "a", f32({4, 64}));
  ir::Value* r = b.node("Reshape", {a}, "r", f32({256}));  // view of a
  ir::Value* c = b.node("Relu", {x}, "c", f32({4, 64}));   // a is dead, but r still reads it
  ir::Value* d = b.node("Relu", {c}, "d", f32({4, 64}));
  ir::Value* s = b.node("Concat", {r, d}, "s", f32({512}));
  ir::Value* xv = b.node("Reshape", {x}, "xv", f32({256}));  // view of a caller input
  ir::Value* t = b.node("Concat", {s, xv}, "t", f32({768}));
  b.g().add_output(t);
  ExecGraph eg = b.exec({}, {"r", "xv"});
  MemoryPlan plan = plan_memory(eg, {});
  EXPECT_EQ(plan.values[eg.id_of(r)].placement, Placement::kView);
  EXPECT_EQ(plan.values[eg.id_of(xv)].placement, Placement::kView);
  EXPECT_EQ(plan.report.view_values, 2u);
  // a's block stays reserved until s: c and d must not land on it.
  size_t a_off = plan.values[eg.id_of(a)].offset;
  EXPECT_NE(plan.values[eg.id_of(c)].offset, a_off);
  EXPECT_NE(plan.values[eg.id_of(d)].offset, a_off);
  expect_no_clobber(eg, plan);
}

TEST(RuntimePlanner, InPlaceNotOverAViewStillReadThroughAnotherValue) {
  Built b;
  ir::Value* x = b.input("x", f32({256}));
  ir::Value* a = b.node("Relu", {x}, "a", f32({256}));
  ir::Value* r = b.node("Reshape", {a}, "r", f32({256}));
  ir::Value* y = b.node("Add", {a, r}, "y0", f32({256}));  // a and r share storage
  ir::Value* z = b.node("Relu", {y}, "z", f32({256}));
  b.g().add_output(z);
  ExecGraph eg = b.exec({{"y0", {0, 1}}}, {"r"});
  MemoryPlan plan = plan_memory(eg, {});
  EXPECT_FALSE(plan.values[eg.id_of(y)].in_place);
  expect_no_clobber(eg, plan);
}

TEST(RuntimePlanner, SymbolicShapesUseBindingsAndUnknownOnesStayDynamic) {
  Built b;
  ir::Type xt = ir::Type::tensor(DataType::kFloat, ir::Shape({ir::Dim::symbol("batch"), ir::Dim(16)}));
  ir::Value* x = b.input("x", xt);
  ir::Value* a = b.node("Relu", {x}, "a", ir::Type::tensor(DataType::kFloat, ir::Shape({ir::Dim::symbol("batch") * 2, ir::Dim(16)})));
  ir::Value* n = b.node("NonZero", {a}, "n", ir::Type::tensor(DataType::kInt64, ir::Shape({ir::Dim(2), ir::Dim::symbol("unk__0")})));
  ir::Value* u = b.node("Unknown", {n}, "u", ir::Type::tensor(DataType::kFloat));  // rank unknown
  ir::Value* s = b.node("Strs", {u}, "s", ir::Type::tensor(DataType::kString, ir::Shape::from_ints({4})));
  ir::Value* y = b.node("Relu", {s}, "y", f32({4}));
  b.g().add_output(y);
  ExecGraph eg = b.exec();
  MemoryPlan plan = plan_memory(eg, {{"batch", 3}});
  EXPECT_EQ(plan.values[eg.id_of(a)].placement, Placement::kArena);
  EXPECT_EQ(plan.values[eg.id_of(a)].shape, (std::vector<int64_t>{6, 16}));
  EXPECT_EQ(plan.values[eg.id_of(a)].bytes, 6u * 16 * 4);
  EXPECT_EQ(plan.values[eg.id_of(n)].placement, Placement::kDynamic);
  EXPECT_EQ(plan.values[eg.id_of(u)].placement, Placement::kDynamic);
  EXPECT_EQ(plan.values[eg.id_of(s)].placement, Placement::kDynamic);  // strings are never in the arena
  EXPECT_EQ(plan.report.dynamic_values, 3u);
  EXPECT_EQ(plan.report.planned_values, 1u);
  // Unbound batch: a becomes dynamic as well.
  MemoryPlan unbound = plan_memory(eg, {});
  EXPECT_EQ(unbound.values[eg.id_of(a)].placement, Placement::kDynamic);
  EXPECT_EQ(unbound.arena_bytes, 0u);
}

TEST(RuntimePlanner, SubgraphReadsKeepOuterValuesAlive) {
  Built b;
  ir::Value* x = b.input("x", f32({64}));
  ir::Value* cond = b.input("cond", ir::Type::tensor(DataType::kBool, ir::Shape::from_ints({})));
  ir::Value* a = b.node("Relu", {x}, "a", f32({64}));
  ir::Value* c = b.node("Relu", {x}, "c", f32({64}));
  // If's branches read `a` from the outer scope.
  ir::Node* iff = b.g().add_node("If", {cond}, {"i"}, "", "if");
  iff->output(0)->set_type(f32({64}));
  auto then_g = std::make_shared<ir::Graph>("then", &b.g());
  ir::Node* inner = then_g->add_node("Relu", {a}, {"t"});
  then_g->add_output(inner->output(0));
  iff->set_attribute(ir::Attribute::make_graph("then_branch", then_g));
  ir::Value* d = b.node("Add", {iff->output(0), c}, "d", f32({64}));
  b.g().add_output(d);
  ExecGraph eg = b.exec({{"c", {0}}});
  EXPECT_EQ(eg.values[eg.id_of(a)].last_use, 2);
  MemoryPlan plan = plan_memory(eg, {});
  EXPECT_NE(plan.values[eg.id_of(a)].offset, plan.values[eg.id_of(c)].offset);
  expect_no_clobber(eg, plan);
}

}  // namespace
}  // namespace ferry::runtime
