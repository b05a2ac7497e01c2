// Session::optimizer_report(): one entry per pass of the level's pipeline (minus the disabled
// ones), in order, with totals that agree with the entries and with the model's node count.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "ferry/ferry.h"
#include "onnx/onnx-ml.pb.h"
#include "optimizer/pipeline.h"

namespace ferry {
namespace {

// y = Relu(Identity(x) + (c1 + c2)): small, but with something for basic passes to do.
std::string model_bytes() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("report_graph");
  for (auto [vi, name] : {std::pair{g->add_input(), "x"}, std::pair{g->add_output(), "y"}}) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  }
  for (const char* name : {"c1", "c2"}) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(4);
    for (float v : {1.0f, -2.0f, 0.5f, 0.0f}) t->add_float_data(v);
  }
  auto node = [&](const char* type, std::vector<std::string> in, std::string out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    n->set_name(out);
    for (const auto& s : in) n->add_input(s);
    n->add_output(out);
  };
  node("Identity", {"x"}, "xi");
  node("Add", {"c1", "c2"}, "c");
  node("Add", {"xi", "c"}, "s");
  node("Relu", {"s"}, "y");
  return m.SerializeAsString();
}

Session make(GraphOptimizationLevel level, std::vector<std::string> disabled = {}) {
  SessionOptions o;
  o.graph_optimization_level = level;
  o.disabled_passes = std::move(disabled);
  std::string bytes = model_bytes();
  return Session::from_bytes(bytes.data(), bytes.size(), o);
}

TEST(SessionOptimizerReport, ListsTheLevelsPassesInOrderWithConsistentTotals) {
  for (auto level : {GraphOptimizationLevel::kDisabled, GraphOptimizationLevel::kBasic,
                     GraphOptimizationLevel::kExtended, GraphOptimizationLevel::kAll}) {
    Session s = make(level);
    OptimizerReport r = s.optimizer_report();
    std::vector<std::string> expected, got;
    for (const optimizer::Pass& p : optimizer::pipeline(level)) expected.push_back(p.name);
    for (const OptimizerPassReport& p : r.passes) got.push_back(p.name);
    SCOPED_TRACE("level " + std::to_string(static_cast<int>(level)));
    EXPECT_EQ(got, expected);
    EXPECT_EQ(r.nodes_before, 4u);
    EXPECT_EQ(r.nodes_after, static_cast<size_t>(s.model_info().node_count));  // no subgraphs here
    EXPECT_GE(r.total_ms, 0.0);
    if (r.passes.empty()) {
      EXPECT_EQ(r.rounds, 0);
      EXPECT_EQ(r.nodes_after, 4u);
      continue;
    }
    EXPECT_GE(r.rounds, 1);
    EXPECT_EQ(r.passes.front().nodes_before, r.nodes_before);
    EXPECT_EQ(r.passes.back().nodes_after, r.nodes_after);
    double sum_ms = 0;
    for (const OptimizerPassReport& p : r.passes) {
      EXPECT_GE(p.changed_rounds, 0);
      EXPECT_LE(p.changed_rounds, r.rounds);
      sum_ms += p.ms;
    }
    EXPECT_LE(sum_ms, r.total_ms + 1e-6);
    // The model still computes Relu(x + c1 + c2).
    std::vector<float> x = {0.5f, 1.0f, -1.0f, 2.0f};
    auto out = s.run({{"x", Tensor::view(DataType::kFloat, {4}, x.data())}});
    const float c[4] = {2.0f, -4.0f, 1.0f, 0.0f};
    for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], std::max(0.0f, x[i] + c[i]));
  }
}

TEST(SessionOptimizerReport, DisabledPassesAreLeftOut) {
  std::vector<std::string> all;
  for (const optimizer::Pass& p : optimizer::pipeline(GraphOptimizationLevel::kAll)) all.push_back(p.name);
  ASSERT_FALSE(all.empty()) << "level all has no passes";
  Session s = make(GraphOptimizationLevel::kAll, {all.front()});
  for (const OptimizerPassReport& p : s.optimizer_report().passes) EXPECT_NE(p.name, all.front());
  EXPECT_EQ(s.optimizer_report().passes.size(), all.size() - 1);
}

TEST(SessionOptimizerReport, UnknownDisabledPassIsAnInvalidArgument) {
  try {
    make(GraphOptimizationLevel::kBasic, {"no_such_pass"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("unknown optimizer pass 'no_such_pass'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ferry
