// optimizer/: the pass driver (levels, disabling, verification naming the pass) and Patch
// application (graph outputs keep their names, dead producers go, bail-outs leave no trace).

#include <gtest/gtest.h>

#include "ferry/error.h"
#include "optimizer/patch.h"
#include "optimizer/pipeline.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using testing::PassTest;

// Relu(Relu(x)) -> Relu(x): a rule written the way passes write them.
std::optional<Patch> drop_double_relu(ir::Node& node, const PassContext&) {
  if (node.op_type() != "Relu") return std::nullopt;
  ir::Node* inner = producer_of(node.input(0), "Relu");
  if (!inner || !sole_consumer(*inner)) return std::nullopt;
  Patch patch(node);
  patch.replace(node.output(0), patch.use(inner->output(0)));
  return patch;
}

bool drop_double_relus(ir::Graph& g, const PassContext& ctx) { return apply_rule(g, ctx, drop_double_relu); }

TEST(OptimizerPatch, ReplacedGraphOutputKeepsItsName) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 3});
  t.output(t.node("Relu", {t.node("Relu", {x})}, {}, "y"));
  auto before = t.run({{"x", testing::random_tensor({2, 3})}});
  EXPECT_TRUE(t.run_pass(drop_double_relus));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,3]) -> (y: float[batch,3]) {\n"
            "  y = Relu(x)\n"
            "}\n");
  testing::expect_close(t.run({{"x", testing::random_tensor({2, 3})}}), before);
  EXPECT_FALSE(t.run_pass(drop_double_relus));
}

TEST(OptimizerPatch, DoesNotFireWhenTheInnerValueHasASecondConsumer) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* inner = t.node("Relu", {x}, {}, "inner");
  t.output(t.node("Relu", {inner}, {}, "y"));
  t.output(t.node("Neg", {inner}, {}, "z"));
  EXPECT_FALSE(t.run_pass(drop_double_relus));
}

TEST(OptimizerPatch, NewNodesAndInitializers) {
  // y = x * 2 written as Add(x, x): the rule builds Mul(x, const 2) with a fresh initializer.
  PassTest t;
  ir::Value* x = t.input("x", {4});
  t.output(t.node("Add", {x, x}, {}, "y"));
  Rule rule = [](ir::Node& n, const PassContext&) -> std::optional<Patch> {
    if (n.op_type() != "Add" || n.input(0) != n.input(1)) return std::nullopt;
    Patch p(n);
    Patch::Ref two = p.add_initializer(Tensor::from_vector<float>(DataType::kFloat, {}, {2.f}), "two");
    Patch::Ref y = p.add_node("Mul", {p.use(n.input(0)), two}, {}, 1, "", "double")[0];
    p.replace(n.output(0), y);
    return p;
  };
  Tensor in = testing::random_tensor({4});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass([&](ir::Graph& g, const PassContext& c) { return apply_rule(g, c, rule); }));
  EXPECT_EQ(t.print(),
            "graph main (x: float[4], two: float[] = initializer) -> (y: float[4]) {\n"
            "  y = Mul(x, two)  # node 'double'\n"
            "}\n");
  testing::expect_close(t.run({{"x", in}}), before);
}

TEST(OptimizerPatch, RefusesToRenameAGraphInputIntoAnOutput) {
  // y = Identity(x) with x a graph input and y a graph output: replacing y by x would rename the
  // input, so the patch is not applied and the graph is unchanged.
  PassTest t;
  ir::Value* x = t.input("x", {4});
  t.output(t.node("Identity", {x}, {}, "y"));
  Rule rule = [](ir::Node& n, const PassContext&) -> std::optional<Patch> {
    if (n.op_type() != "Identity") return std::nullopt;
    Patch p(n);
    p.replace(n.output(0), p.use(n.input(0)));
    return p;
  };
  const std::string printed = (t.infer(), t.print());
  EXPECT_FALSE(t.run_pass([&](ir::Graph& g, const PassContext& c) { return apply_rule(g, c, rule); }));
  EXPECT_EQ(t.print(), printed);
}

TEST(OptimizerDriver, UnknownPassNameToDisableIsAnError) {
  PassTest t;
  t.output(t.node("Relu", {t.input("x", {2})}, {}, "y"));
  t.infer();
  OptimizeOptions o;
  o.disabled_passes = {"no_such_pass"};
  try {
    optimize(t.model(), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("no_such_pass"), std::string::npos) << e.what();
  }
}

TEST(OptimizerDriver, LevelsNestAndDisabledLevelRunsNothing) {
  EXPECT_TRUE(pipeline(GraphOptimizationLevel::kDisabled).empty());
  auto names = [](GraphOptimizationLevel l) {
    std::vector<std::string> out;
    for (const Pass& p : pipeline(l)) out.push_back(p.name);
    return out;
  };
  const auto basic = names(GraphOptimizationLevel::kBasic);
  const auto extended = names(GraphOptimizationLevel::kExtended);
  const auto all = names(GraphOptimizationLevel::kAll);
  ASSERT_LE(basic.size(), extended.size());
  ASSERT_LE(extended.size(), all.size());
  EXPECT_TRUE(std::equal(basic.begin(), basic.end(), extended.begin()));
  EXPECT_TRUE(std::equal(extended.begin(), extended.end(), all.begin()));
  EXPECT_EQ(all, all_pass_names());
}

}  // namespace
}  // namespace ferry::optimizer
