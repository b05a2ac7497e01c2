// The optimizer's fast paths keep the slow paths' results: bulk use replacement with a known
// list of nested graphs (ir/graph_edit.h), constant folding through the kernel directly
// (runtime/node_evaluator.cc), common-subexpression keys built in two parts, and the driver's
// cached inference values (optimizer/known_values.h).
#include <gtest/gtest.h>

#include "ir/graph_edit.h"
#include "optimizer/known_values.h"
#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer::testing {
namespace {

std::vector<float> floats(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.element_count()}; }
std::vector<int64_t> ints_of(const Tensor& t) { return {t.data<int64_t>(), t.data<int64_t>() + t.element_count()}; }

// main: a = Relu(x), b = Neg(x), y = If(c) { then: returns a (outer value) } else { returns b }
TEST(GraphEdit, ReplaceAllUsesReachesSubgraphOutputsLikeTheGraphMethod) {
  for (bool bulk : {false, true}) {
    PassTest t;
    ir::Value* x = t.input("x", {2});
    ir::Value* c = t.input("c", {}, DataType::kBool);
    ir::Value* a = t.node("Relu", {x}, {}, "a");
    ir::Value* b = t.node("Neg", {x}, {}, "b");
    ir::Value* z = t.node("Abs", {a}, {}, "z");
    auto then_branch = std::make_shared<ir::Graph>("then", &t.graph());
    then_branch->add_output(a);
    auto else_branch = std::make_shared<ir::Graph>("else", &t.graph());
    else_branch->add_output(b);
    ir::Value* y = t.node("If", {c}, {ir::Attribute::make_graph("then_branch", then_branch),
                                      ir::Attribute::make_graph("else_branch", else_branch)}, "y");
    t.output(y);
    t.output(z);
    std::vector<ir::Graph*> nested = ir::nested_graphs(t.graph());
    ASSERT_EQ(nested.size(), 2u);
    if (bulk)
      ir::replace_all_uses(t.graph(), a, b, nested);
    else
      t.graph().replace_all_uses(a, b);
    EXPECT_EQ(then_branch->outputs()[0], b) << "bulk=" << bulk;
    EXPECT_TRUE(a->uses().empty());
    ASSERT_EQ(b->uses().size(), 1u);  // Abs (a graph output of a subgraph is not a use)
    EXPECT_EQ(b->uses()[0].node->op_type(), "Abs");
    EXPECT_EQ(z->producer()->input(0), b);
  }
}

TEST(NodeEvaluator, FoldsWithTheKernelAndOwnsItsResults) {
  PassTest t;
  ir::Value* w = t.initializer("w", Tensor::from_vector<float>(DataType::kFloat, {2, 3}, {1, -2, 3, -4, 5, -6}));
  ir::Value* shape = t.initializer("shape", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {6}));
  ir::Value* r = t.node("Reshape", {w, shape});
  t.output(t.node("Relu", {r}));
  t.infer();
  ir::Node* reshape = r->producer();
  auto got = runtime::evaluate_node(*reshape, t.model().opset_imports, {&w->initializer(), &shape->initializer()});
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].shape(), (std::vector<int64_t>{6}));
  EXPECT_EQ(floats((*got)[0]), (std::vector<float>{1, -2, 3, -4, 5, -6}));
  // A view of the input would tie the folded initializer to the one it replaces.
  EXPECT_NE((*got)[0].raw_data(), w->initializer().raw_data());

  ir::Node* relu = t.graph().nodes().back();
  auto relu_out = runtime::evaluate_node(*relu, t.model().opset_imports, {&(*got)[0]});
  ASSERT_TRUE(relu_out.has_value());
  EXPECT_EQ(floats((*relu_out)[0]), (std::vector<float>{1, 0, 3, 0, 5, 0}));
}

TEST(NodeEvaluator, ReportsWhatItCannotEvaluate) {
  PassTest t;
  ir::Value* a = t.initializer("a", Tensor::from_vector<float>(DataType::kFloat, {2}, {1, 2}));
  ir::Value* b = t.initializer("b", Tensor::from_vector<float>(DataType::kFloat, {3}, {1, 2, 3}));
  ir::Value* bad = t.node("Add", {a, b});  // shapes do not broadcast
  ir::Value* unknown = t.node("NoSuchOp", {a}, {}, "", "example.domain");
  t.output(bad);
  t.output(unknown);
  EXPECT_FALSE(runtime::evaluate_node(*bad->producer(), t.model().opset_imports, {&a->initializer(), &b->initializer()}));
  EXPECT_FALSE(runtime::evaluate_node(*unknown->producer(), t.model().opset_imports, {&a->initializer()}));
  EXPECT_FALSE(runtime::evaluate_node(*bad->producer(), t.model().opset_imports, {&a->initializer(), nullptr}));
}

// Same op and inputs, attributes differing or given in another order: the attribute part of the
// key decides, and a later node merges into the first equal one.
TEST(EliminateCommonSubexpressions, AttributesDecideAmongNodesOfOneStructure) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* p = t.node("Transpose", {x}, {ir::Attribute::make_ints("perm", {1, 0})}, "p");
  auto hard_sigmoid = [&](const char* name, std::vector<ir::Attribute> attrs) {
    return t.node("HardSigmoid", {x}, std::move(attrs), name);
  };
  using A = ir::Attribute;
  ir::Value* q = hard_sigmoid("q", {A::make_float("alpha", 0.5f), A::make_float("beta", 0.25f)});
  ir::Value* r = hard_sigmoid("r", {A::make_float("alpha", 0.125f), A::make_float("beta", 0.25f)});
  ir::Value* s = hard_sigmoid("s", {A::make_float("beta", 0.25f), A::make_float("alpha", 0.125f)});
  ir::Value* u = hard_sigmoid("u", {A::make_float("beta", 0.25f), A::make_float("alpha", 0.5f)});
  t.output(t.node("Add", {q, u}, {}, "y1"));
  t.output(t.node("Mul", {r, s}, {}, "y2"));
  t.output(p);
  const auto before = t.run({{"x", random_tensor({2, 3})}});
  EXPECT_TRUE(t.run_pass(passes::eliminate_common_subexpressions));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (y1: float[2,3], y2: float[2,3], p: float[3,2]) {\n"
            "  p = Transpose(x) {perm=[1,0]}\n"
            "  q = HardSigmoid(x) {alpha=0.5, beta=0.25}\n"
            "  r = HardSigmoid(x) {alpha=0.125, beta=0.25}\n"
            "  y1 = Add(q, q)\n"
            "  y2 = Mul(r, r)\n"
            "}\n");
  expect_close(t.run({{"x", random_tensor({2, 3})}}), before);
}

// The driver keeps the values its last inference propagated while nothing changes; a level run
// folds shape computations the same way whether the pass infers or reads them.
TEST(OptimizerDriver, KnownValuesAreForgottenAfterOptimizeAndFoldingMatches) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4, 8});
  ir::Value* shape = t.node("Shape", {x});
  ir::Value* idx = t.initializer("idx", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {2}));
  ir::Value* last = t.node("Gather", {shape, idx}, {ir::Attribute::make_int("axis", 0)});
  ir::Value* minus1 = t.initializer("minus1", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {-1}));
  ir::Value* target = t.node("Concat", {minus1, last}, {ir::Attribute::make_int("axis", 0)});
  t.output(t.node("Reshape", {x, target}, {}, "y"));
  const auto before = t.run({{"x", random_tensor({2, 4, 8})}});
  OptimizeReport report = t.run_level(GraphOptimizationLevel::kBasic);
  EXPECT_EQ(current_known_values(t.model()), nullptr);
  EXPECT_EQ(report.nodes_after, 1u);
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,8], Concat_3_folded: int64[2] = initializer) -> (y: float[4*batch,8]) {\n"
            "  y = Reshape(x, Concat_3_folded)\n"
            "}\n");
  const ir::Value* folded = t.graph().find_value("Concat_3_folded");
  ASSERT_TRUE(folded && folded->is_initializer());
  EXPECT_EQ(ints_of(folded->initializer()), (std::vector<int64_t>{-1, 8}));
  expect_close(t.run({{"x", random_tensor({2, 4, 8})}}), before);
}

}  // namespace
}  // namespace ferry::optimizer::testing
