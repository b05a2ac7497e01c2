// optimizer/passes: the basic folding and clean-up passes (fold_constants,
// fold_shape_computations, eliminate_common_subexpressions, eliminate_dead_code): a positive
// case, cases that must not fire, numeric parity and golden printed IR for each.

#include <gtest/gtest.h>

#include <algorithm>

#include "optimizer/passes.h"
#include "optimizer/pipeline.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using testing::expect_close;
using testing::PassTest;
using testing::random_tensor;

Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> values) {
  return Tensor::from_vector<int64_t>(DataType::kInt64, std::move(shape), values);
}
Tensor f32(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::from_vector<float>(DataType::kFloat, std::move(shape), values);
}

void collect_graphs(ir::Graph& g, std::vector<ir::Graph*>& out) {
  for (ir::Graph* sg : g.direct_subgraphs()) collect_graphs(*sg, out);
  out.push_back(&g);
}

/// Runs `pass` on every graph, innermost first, as the driver does (PassTest::run_pass runs the
/// main graph only), with a chosen size cap for constant folding.
bool run_everywhere(PassTest& t, const PassFunction& pass, size_t max_bytes = size_t{1} << 20) {
  t.infer();
  PassContext ctx(t.model());
  ctx.evaluate = runtime::evaluate_node;
  ctx.constant_folding_max_bytes = max_bytes;
  std::vector<ir::Graph*> graphs;
  collect_graphs(t.graph(), graphs);
  bool changed = false;
  for (ir::Graph* g : graphs) changed |= pass(*g, ctx);
  ir::infer_shapes(t.model());
  ir::verify(t.model());
  return changed;
}

const Tensor& initializer_named(PassTest& t, const std::string& name) {
  ir::Value* v = t.graph().find_value(name);
  EXPECT_TRUE(v && v->is_initializer()) << name;
  static const Tensor none;
  return v && v->is_initializer() ? v->initializer() : none;
}

std::vector<float> floats_of(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.element_count()}; }
std::vector<int64_t> ints_of(const Tensor& t) { return {t.data<int64_t>(), t.data<int64_t>() + t.element_count()}; }

// ---- fold_constants ----------------------------------------------------------------------------

TEST(FoldConstants, ConstantNodeAndConstantChainBecomeInitializers) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* w = t.initializer("w", f32({2}, {3, 4}));
  ir::Value* c = t.node("Constant", {}, {ir::Attribute::make_floats("value_floats", {1, 2})}, "c");
  ir::Value* m = t.node("Mul", {w, c}, {}, "m");
  t.output(t.node("Add", {x, m}, {}, "y"));
  const Tensor in = random_tensor({2});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], w: float[2] = initializer, c_folded: float[2] = initializer, "
            "m_folded: float[2] = initializer) -> (y: float[2]) {\n"
            "  y = Add(x, m_folded)\n"
            "}\n");
  EXPECT_EQ(floats_of(initializer_named(t, "c_folded")), (std::vector<float>{1, 2}));
  EXPECT_EQ(floats_of(initializer_named(t, "m_folded")), (std::vector<float>{3, 8}));
  expect_close(t.run({{"x", in}}), before);
  // Dead code then sweeps the inputs of the folded Mul.
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_dead_code));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], m_folded: float[2] = initializer) -> (y: float[2]) {\n"
            "  y = Add(x, m_folded)\n"
            "}\n");
  EXPECT_FALSE(run_everywhere(t, passes::fold_constants));
}

TEST(FoldConstants, EveryConstantAttributeForm) {
  PassTest t;
  ir::Attribute sparse;
  sparse.name = "sparse_value";
  sparse.type = ir::AttributeType::kSparseTensor;
  sparse.sparse.dims = {4};
  sparse.sparse.values = f32({1}, {5});
  sparse.sparse.indices = i64({1}, {2});
  ir::Value* s = t.node("Constant", {}, {std::move(sparse)}, "s");
  ir::Value* f = t.node("Constant", {}, {ir::Attribute::make_float("value_float", 1.5f)}, "f");
  ir::Value* i = t.node("Constant", {}, {ir::Attribute::make_int("value_int", 7)}, "i");
  ir::Value* is = t.node("Constant", {}, {ir::Attribute::make_ints("value_ints", {1, -1})}, "is");
  ir::Value* v = t.node("Constant", {}, {ir::Attribute::make_tensor("value", i64({1, 2}, {3, 4}))}, "v");
  ir::Value* str = t.node("Constant", {}, {ir::Attribute::make_strings("value_strings", {"a", "b"})}, "str");
  ir::Value* x = t.input("x", {4});
  t.output(t.node("Add", {x, s}, {}, "y1"));
  t.output(t.node("Add", {x, f}, {}, "y2"));
  t.output(t.node("Add", {i, is}, {}, "y3"));  // folded too, but a graph output: a Constant node
  t.output(t.node("Identity", {v}, {}, "y4"));
  t.output(t.node("Identity", {str}, {}, "y5"));
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants));
  EXPECT_EQ(t.print(),
            "graph main (x: float[4], s_folded: float[4] = initializer, f_folded: float[] = initializer, "
            "i_folded: int64[] = initializer, is_folded: int64[2] = initializer, v_folded: int64[1,2] = initializer, "
            "str_folded: string[2] = initializer) -> (y1: float[4], y2: float[4], y3: int64[2], y4: int64[1,2], "
            "y5: string[2]) {\n"
            "  y1 = Add(x, s_folded)\n"
            "  y2 = Add(x, f_folded)\n"
            "  y3 = Constant() {value=int64[2]}\n"
            "  y4 = Constant() {value=int64[1,2]}\n"
            "  y5 = Constant() {value=string[2]}\n"
            "}\n");
  EXPECT_EQ(floats_of(initializer_named(t, "s_folded")), (std::vector<float>{0, 0, 5, 0}));
  EXPECT_EQ(floats_of(initializer_named(t, "f_folded")), (std::vector<float>{1.5f}));
  EXPECT_EQ(ints_of(t.graph().find_value("y3")->producer()->attributes()[0].t), (std::vector<int64_t>{8, 6}));
  // A Constant that is a graph output stays as it is: the pass reaches a fixed point.
  EXPECT_FALSE(run_everywhere(t, passes::fold_constants));
}

TEST(FoldConstants, ConstantOfShapeFoldsWithinTheSizeCap) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* shape = t.node("Constant", {}, {ir::Attribute::make_ints("value_ints", {2, 3})}, "shape");
  ir::Value* ones = t.node("ConstantOfShape", {shape}, {ir::Attribute::make_tensor("value", f32({1}, {1}))}, "ones");
  t.output(t.node("Add", {x, ones}, {}, "y"));
  const Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  // 24 bytes: over a 16-byte cap only the Constant folds.
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants, 16));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3], shape_folded: int64[2] = initializer) -> (y: float[2,3]) {\n"
            "  ones = ConstantOfShape(shape_folded) {value=float[1]}\n"
            "  y = Add(x, ones)\n"
            "}\n");
  EXPECT_FALSE(run_everywhere(t, passes::fold_constants, 16));
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants, 24));
  EXPECT_EQ(floats_of(initializer_named(t, "ones_folded")), (std::vector<float>(6, 1.f)));
  expect_close(t.run({{"x", in}}), before);
}

TEST(FoldConstants, FoldsBeyondTheCapWhatReplacesInputsOnlyItReads) {
  // Concat(a, b) of two 16-byte constants is 32 bytes, over a 16-byte cap; folding it frees a and
  // b, so the model does not grow and it folds. Concat(c, d), whose inputs are read elsewhere
  // too, frees nothing: folding it would add 32 bytes, so it stays.
  PassTest t;
  ir::Value* x = t.input("x", {8});
  ir::Value* a = t.initializer("a", f32({4}, {1, 2, 3, 4}));
  ir::Value* b = t.initializer("b", f32({4}, {5, 6, 7, 8}));
  t.output(t.node("Add", {x, t.node("Concat", {a, b}, {ir::Attribute::make_int("axis", 0)}, "ab")}, {}, "y"));
  ir::Value* c = t.initializer("c", f32({4}, {9, 9, 9, 9}));
  ir::Value* d = t.initializer("d", f32({4}, {0, 1, 0, 1}));
  ir::Value* cd = t.node("Concat", {c, d}, {ir::Attribute::make_int("axis", 0)}, "cd");
  t.output(t.node("Mul", {x, cd}, {}, "z"));
  t.output(t.node("Neg", {c}, {}, "negc"));
  t.output(t.node("Neg", {d}, {}, "negd"));
  const Tensor in = random_tensor({8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants, 16));
  EXPECT_EQ(floats_of(initializer_named(t, "ab_folded")), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(t.graph().find_value("cd")->producer()->op_type(), "Concat");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FoldConstants, DoesNotFoldWhatMayChangeBetweenRuns) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* w = t.initializer("w", f32({2}, {1, 2}));
  // An initializer that is also a graph input is only a default: callers may feed it.
  ir::Value* b = t.initializer("b", f32({2}, {1, 1}));
  t.graph().add_input(b);
  t.output(t.node("Add", {w, b}, {}, "overridable"));
  t.output(t.node("RandomNormalLike", {w}, {}, "random"));
  t.output(t.node("RandomUniform", {}, {ir::Attribute::make_ints("shape", {2})}, "random2"));
  ir::Value* ratio = t.initializer("ratio", f32({}, {0.5f}));
  ir::Value* training = t.initializer("training", Tensor::from_vector<bool>(DataType::kBool, {}, {true}));
  t.output(t.node("Dropout", {w, ratio, training}, {}, "dropped"));
  t.output(t.node("SequenceConstruct", {w}, {}, "sequence"));
  ir::Value* q = t.initializer("q", Tensor::from_vector<int8_t>(DataType::kInt8, {2}, {1, 2}));
  ir::Value* scale = t.initializer("scale", f32({}, {0.5f}));
  t.output(t.node("DequantizeLinear", {q, scale}, {}, "dequantized"));
  t.output(t.node("Add", {x, w}, {}, "y"));  // x is not a constant
  EXPECT_FALSE(run_everywhere(t, passes::fold_constants));
}

TEST(FoldConstants, WithoutAnEvaluatorOnlyConstantNodesFold) {
  PassTest t;
  ir::Value* w = t.initializer("w", f32({2}, {3, 4}));
  ir::Value* c = t.node("Constant", {}, {ir::Attribute::make_floats("value_floats", {1, 2})}, "c");
  t.output(t.node("Mul", {w, c}, {}, "y"));
  t.infer();
  PassContext ctx(t.model());  // no ctx.evaluate
  EXPECT_TRUE(passes::fold_constants(t.graph(), ctx));
  EXPECT_EQ(t.print(),
            "graph main (w: float[2] = initializer, c_folded: float[2] = initializer) -> (y: float[2]) {\n"
            "  y = Mul(w, c_folded)\n"
            "}\n");
  EXPECT_FALSE(passes::fold_constants(t.graph(), ctx));
}

TEST(FoldConstants, DropoutInInferenceModeFolds) {
  PassTest t;
  ir::Value* w = t.initializer("w", f32({2}, {1, 2}));
  ir::Value* ratio = t.initializer("ratio", f32({}, {0.5f}));
  ir::Value* training = t.initializer("training", Tensor::from_vector<bool>(DataType::kBool, {}, {false}));
  ir::Value* x = t.input("x", {2});
  t.output(t.node("Add", {x, t.node("Dropout", {w, ratio, training}, {}, "d")}, {}, "y"));
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants));
  EXPECT_EQ(floats_of(initializer_named(t, "d_folded")), (std::vector<float>{1, 2}));
}

TEST(FoldConstants, InsideAnIfBranchWithOuterConstants) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* cond = t.input("cond", {}, DataType::kBool);
  ir::Value* w = t.initializer("w", f32({2}, {3, 4}));
  ir::Value* y = t.node("If", {cond}, {}, "y");
  ir::Node* iff = t.last_node();
  auto then_g = std::make_shared<ir::Graph>("then", &t.graph());
  ir::Node* c = then_g->add_node("Constant", {}, {"c"});
  c->set_attribute(ir::Attribute::make_float("value_float", 2.f));
  ir::Node* m = then_g->add_node("Mul", {w, c->output(0)}, {"m"});
  ir::Node* a = then_g->add_node("Add", {x, m->output(0)}, {"a"});
  then_g->add_output(a->output(0));
  auto else_g = std::make_shared<ir::Graph>("else", &t.graph());
  else_g->add_output(else_g->add_node("Neg", {x}, {"n"})->output(0));
  iff->set_attribute(ir::Attribute::make_graph("then_branch", then_g));
  iff->set_attribute(ir::Attribute::make_graph("else_branch", else_g));
  t.output(y);
  const Tensor in = random_tensor({2});
  const Tensor yes = Tensor::from_vector<bool>(DataType::kBool, {}, {true});
  const Tensor no = Tensor::from_vector<bool>(DataType::kBool, {}, {false});
  auto before_yes = t.run({{"x", in}, {"cond", yes}});
  auto before_no = t.run({{"x", in}, {"cond", no}});
  EXPECT_TRUE(run_everywhere(t, passes::fold_constants));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], cond: bool[], w: float[2] = initializer) -> (y: float[2]) {\n"
            "  y = If(cond) {else_branch=graph else () -> (n: float[2]) {\n"
            "    n = Neg(x)\n"
            "  }, then_branch=graph then (c_folded: float[] = initializer, m_folded: float[2] = initializer) -> "
            "(a: float[2]) {\n"
            "    a = Add(x, m_folded)\n"
            "  }}\n"
            "}\n");
  EXPECT_EQ(floats_of(then_g->find_value("m_folded")->initializer()), (std::vector<float>{6, 8}));
  expect_close(t.run({{"x", in}, {"cond", yes}}), before_yes);
  expect_close(t.run({{"x", in}, {"cond", no}}), before_no);
  // The If itself has subgraphs and is never evaluated, even with a constant condition.
  EXPECT_FALSE(run_everywhere(t, passes::fold_constants));
}

// ---- fold_shape_computations -------------------------------------------------------------------

TEST(InferValues, ReportsPropagatedValuesOfShapeChains) {
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4});
  ir::Value* k = t.input("k", {1}, DataType::kInt64);
  ir::Value* s = t.node("Shape", {x}, {}, "s");
  ir::Value* partial = t.node("Concat", {s, k}, {ir::Attribute::make_int("axis", 0)}, "partial");
  t.output(partial);
  const ir::KnownValues known = ir::infer_values(t.model());
  ASSERT_TRUE(known.count(s));
  ASSERT_EQ(known.at(s).size(), 2u);
  EXPECT_TRUE(known.at(s)[0].is_symbolic());
  EXPECT_EQ(known.at(s)[0].symbol_name(), "batch");
  EXPECT_EQ(known.at(s)[1].value(), 4);
  EXPECT_FALSE(known.count(partial));  // k's element is unknown
  EXPECT_EQ(partial->shape().to_string(), "[3]");  // and types are inferred as by infer_shapes
}

TEST(FoldShapeComputations, ConstantDimsOfASymbolicShapeFold) {
  // target = Concat([-1], Unsqueeze(Shape(x)[2])) = [-1, 6] although x is [batch, 4, 6].
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4, 6});
  ir::Value* s = t.node("Shape", {x}, {}, "s");
  ir::Value* d = t.node("Gather", {s, t.initializer("two", i64({}, {2}))}, {}, "d");
  ir::Value* u = t.node("Unsqueeze", {d, t.initializer("axes", i64({1}, {0}))}, {}, "u");
  ir::Value* target =
      t.node("Concat", {t.initializer("minus_one", i64({1}, {-1})), u}, {ir::Attribute::make_int("axis", 0)}, "target");
  t.output(t.node("Reshape", {x, target}, {}, "y"));
  const Tensor in = random_tensor({3, 4, 6});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::fold_shape_computations));
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_dead_code));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,6], target_folded: int64[2] = initializer) -> (y: float[4*batch,6]) {\n"
            "  y = Reshape(x, target_folded)\n"
            "}\n");
  EXPECT_EQ(ints_of(initializer_named(t, "target_folded")), (std::vector<int64_t>{-1, 6}));
  expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(run_everywhere(t, passes::fold_shape_computations));
}

TEST(FoldShapeComputations, SymbolicDimsStay) {
  // Concat(Shape(x)[0], [-1]) = [batch, -1]: nothing in the chain is fully known.
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4, 6});
  ir::Value* s = t.node("Shape", {x}, {}, "s");
  ir::Value* d = t.node("Gather", {s, t.initializer("idx", i64({1}, {0}))}, {}, "d");
  ir::Value* target =
      t.node("Concat", {d, t.initializer("minus_one", i64({1}, {-1}))}, {ir::Attribute::make_int("axis", 0)}, "target");
  t.output(t.node("Reshape", {x, target}, {}, "y"));
  EXPECT_FALSE(run_everywhere(t, passes::fold_shape_computations));
}

TEST(FoldShapeComputations, ShapeWithStartAndEndAndSize) {
  // Graph outputs, so they fold into Constant nodes that keep the names.
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4, 6});
  ir::Value* z = t.input("z", {2, 3});
  t.output(t.node("Shape", {x}, {ir::Attribute::make_int("start", 1)}, "tail"));
  t.output(t.node("Shape", {x}, {ir::Attribute::make_int("end", 1)}, "head"));  // [batch]: stays
  t.output(t.node("Size", {z}, {}, "n"));
  t.output(t.node("Size", {x}, {}, "m"));  // batch * 24: stays
  const Tensor in = random_tensor({2, 4, 6});
  const Tensor in_z = random_tensor({2, 3});
  auto before = t.run({{"x", in}, {"z", in_z}});
  EXPECT_TRUE(run_everywhere(t, passes::fold_shape_computations));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,6], z: float[2,3]) -> (tail: int64[2], head: int64[1], n: int64[], "
            "m: int64[]) {\n"
            "  tail = Constant() {value=int64[2]}\n"
            "  head = Shape(x) {end=1}\n"
            "  n = Constant() {value=int64[]}\n"
            "  m = Size(x)\n"
            "}\n");
  EXPECT_EQ(ints_of(t.graph().find_value("tail")->producer()->attributes()[0].t), (std::vector<int64_t>{4, 6}));
  EXPECT_EQ(ints_of(t.graph().find_value("n")->producer()->attributes()[0].t), (std::vector<int64_t>{6}));
  expect_close(t.run({{"x", in}, {"z", in_z}}), before);
  EXPECT_FALSE(run_everywhere(t, passes::fold_shape_computations));
}

// ---- eliminate_common_subexpressions ---------------------------------------------------------

TEST(EliminateCommonSubexpressions, EqualNodesMergeAndChainsCollapse) {
  PassTest t;
  ir::Value* x = t.input("x", {2, 3});
  ir::Value* a = t.node("Relu", {x}, {}, "a");
  ir::Value* b = t.node("Relu", {x}, {}, "b");
  ir::Value* na = t.node("Neg", {a}, {}, "na");
  ir::Value* nb = t.node("Neg", {b}, {}, "nb");
  ir::Value* s = t.node("Add", {na, nb}, {}, "s");
  // Same attributes given in another order: equal. Another perm: not equal.
  const ir::Attribute trans_b = ir::Attribute::make_int("transB", 1);
  const ir::Attribute alpha = ir::Attribute::make_float("alpha", 2.f);
  ir::Value* g1 = t.node("Gemm", {x, x}, {trans_b.clone(), alpha.clone()}, "g1");
  ir::Value* g2 = t.node("Gemm", {x, x}, {alpha.clone(), trans_b.clone()}, "g2");
  ir::Value* t1 = t.node("Transpose", {s}, {ir::Attribute::make_ints("perm", {1, 0})}, "t1");
  ir::Value* t2 = t.node("Transpose", {s}, {ir::Attribute::make_ints("perm", {0, 1})}, "t2");
  t.output(t.node("Sub", {g1, g2}, {}, "y"));
  t.output(t1);
  t.output(t2);
  const Tensor in = random_tensor({2, 3});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_common_subexpressions));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3]) -> (y: float[2,2], t1: float[3,2], t2: float[2,3]) {\n"
            "  a = Relu(x)\n"
            "  na = Neg(a)\n"
            "  s = Add(na, na)\n"
            "  g1 = Gemm(x, x) {alpha=2, transB=1}\n"
            "  t1 = Transpose(s) {perm=[1,0]}\n"
            "  t2 = Transpose(s) {perm=[0,1]}\n"
            "  y = Sub(g1, g1)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(run_everywhere(t, passes::eliminate_common_subexpressions));
}

TEST(EliminateCommonSubexpressions, AGraphOutputKeepsItsName) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* a = t.node("Relu", {x}, {}, "a");
  t.output(t.node("Relu", {x}, {}, "y"));
  t.output(t.node("Neg", {a}, {}, "z"));
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_common_subexpressions));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2]) -> (y: float[2], z: float[2]) {\n"
            "  y = Relu(x)\n"
            "  z = Neg(y)\n"
            "}\n");
}

TEST(EliminateCommonSubexpressions, DoesNotMerge) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  t.output(t.node("Relu", {x}, {}, "both1"));  // both graph outputs: both names must stay
  t.output(t.node("Relu", {x}, {}, "both2"));
  t.output(t.node("RandomNormalLike", {x}, {}, "r1"));
  t.output(t.node("RandomNormalLike", {x}, {}, "r2"));
  ir::Value* ratio = t.initializer("ratio", f32({}, {0.5f}));
  ir::Value* training = t.initializer("training", Tensor::from_vector<bool>(DataType::kBool, {}, {true}));
  ir::Value* d1 = t.node("Dropout", {x, ratio, training}, {}, "d1");
  ir::Value* d2 = t.node("Dropout", {x, ratio, training}, {}, "d2");
  t.output(t.node("Add", {d1, d2}, {}, "d"));
  ir::Value* p = t.initializer("p", f32({2}, {1, 2}));
  t.graph().add_input(p);  // overridable: not merged with its equal q
  ir::Value* q = t.initializer("q", f32({2}, {1, 2}));
  t.output(t.node("Add", {t.node("Neg", {p}, {}, "np"), t.node("Neg", {q}, {}, "nq")}, {}, "pq"));
  EXPECT_FALSE(run_everywhere(t, passes::eliminate_common_subexpressions));
}

TEST(EliminateCommonSubexpressions, NodesWithSubgraphsAreNotMerged) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* cond = t.input("cond", {}, DataType::kBool);
  for (const char* name : {"y1", "y2"}) {
    ir::Value* y = t.node("If", {cond}, {}, std::string("i") + name);
    ir::Node* iff = t.last_node();
    for (const char* branch : {"then_branch", "else_branch"}) {
      auto g = std::make_shared<ir::Graph>(branch, &t.graph());
      g->add_output(g->add_node("Neg", {x}, {std::string(name) + branch})->output(0));
      iff->set_attribute(ir::Attribute::make_graph(branch, g));
    }
    t.output(t.node("Identity", {y}, {}, name));
  }
  EXPECT_FALSE(run_everywhere(t, passes::eliminate_common_subexpressions));
}

TEST(EliminateCommonSubexpressions, EqualSmallInitializersMerge) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* c1 = t.initializer("c1", f32({2}, {1, 2}));
  ir::Value* c2 = t.initializer("c2", f32({2}, {1, 2}));
  ir::Value* c3 = t.initializer("c3", f32({2}, {1, 3}));
  ir::Value* c4 = t.initializer("c4", f32({1, 2}, {1, 2}));  // another shape
  ir::Value* a1 = t.node("Add", {x, c1}, {}, "a1");
  ir::Value* a2 = t.node("Add", {x, c2}, {}, "a2");
  ir::Value* a3 = t.node("Add", {x, c3}, {}, "a3");
  ir::Value* a4 = t.node("Add", {x, c4}, {}, "a4");
  t.output(t.node("Sum", {a1, a2, a3}, {}, "y"));
  t.output(a4);
  const Tensor in = random_tensor({2});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_common_subexpressions));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], c1: float[2] = initializer, c3: float[2] = initializer, "
            "c4: float[1,2] = initializer) -> (y: float[2], a4: float[1,2]) {\n"
            "  a1 = Add(x, c1)\n"
            "  a3 = Add(x, c3)\n"
            "  a4 = Add(x, c4)\n"
            "  y = Sum(a1, a1, a3)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

// ---- eliminate_dead_code -----------------------------------------------------------------------

TEST(EliminateDeadCode, RemovesUnusedNodesAndInitializers) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* w = t.initializer("w", f32({2}, {1, 2}));
  t.initializer("unused", f32({2}, {3, 4}));
  ir::Value* o = t.initializer("overridable", f32({2}, {5, 6}));
  t.graph().add_input(o);  // unused, but part of the interface
  t.node("Neg", {t.node("Relu", {x}, {}, "a")}, {}, "b");
  t.output(t.node("Mul", {x, w}, {}, "y"));
  const Tensor in = random_tensor({2});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_dead_code));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], overridable: float[2] = initializer, w: float[2] = initializer) -> "
            "(y: float[2]) {\n"
            "  y = Mul(x, w)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_FALSE(run_everywhere(t, passes::eliminate_dead_code));
}

TEST(EliminateDeadCode, KeepsValuesReadInSubgraphsAndGraphOutputs) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* cond = t.input("cond", {}, DataType::kBool);
  ir::Value* r = t.node("Relu", {x}, {}, "r");        // read only inside the branch
  ir::Value* mid = t.node("Neg", {x}, {}, "mid");     // a graph output with a consumer
  ir::Value* y = t.node("If", {cond}, {}, "y");
  ir::Node* iff = t.last_node();
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto g = std::make_shared<ir::Graph>(branch, &t.graph());
    g->add_output(g->add_node("Abs", {r}, {std::string("abs_") + branch})->output(0));
    iff->set_attribute(ir::Attribute::make_graph(branch, g));
  }
  t.output(y);
  t.output(mid);
  t.output(t.node("Abs", {mid}, {}, "z"));
  EXPECT_FALSE(run_everywhere(t, passes::eliminate_dead_code));
}

TEST(EliminateDeadCode, RemovingAnIfDropsItsSubgraphsUsesOfOuterValues) {
  PassTest t;
  ir::Value* x = t.input("x", {2});
  ir::Value* cond = t.input("cond", {}, DataType::kBool);
  ir::Value* r = t.node("Relu", {x}, {}, "r");
  t.node("If", {cond}, {}, "unused");
  ir::Node* iff = t.last_node();
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto g = std::make_shared<ir::Graph>(branch, &t.graph());
    g->add_output(g->add_node("Abs", {r}, {std::string("abs_") + branch})->output(0));
    iff->set_attribute(ir::Attribute::make_graph(branch, g));
  }
  t.output(t.node("Neg", {x}, {}, "y"));
  EXPECT_TRUE(run_everywhere(t, passes::eliminate_dead_code));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2], cond: bool[]) -> (y: float[2]) {\n"
            "  y = Neg(x)\n"
            "}\n");
  EXPECT_EQ(x->uses().size(), 1u);
}

// ---- the basic level end to end -----------------------------------------------------------------

TEST(BasicLevel, FoldsASymbolicReshapeChainAndKeepsParity) {
  // y = Reshape(x, Concat(Shape(x)[0:1], [Shape(x)[1] * Shape(x)[2]])) + (Constant 1 + Constant 1)
  PassTest t;
  ir::Value* x = t.input("x", {"batch", 4, 6});
  ir::Value* s = t.node("Shape", {x}, {}, "s");
  ir::Value* head =
      t.node("Slice", {s, t.initializer("zero", i64({1}, {0})), t.initializer("one", i64({1}, {1}))}, {}, "head");
  ir::Value* d1 = t.node("Gather", {s, t.initializer("i1", i64({1}, {1}))}, {}, "d1");
  ir::Value* d2 = t.node("Gather", {s, t.initializer("i2", i64({1}, {2}))}, {}, "d2");
  ir::Value* prod = t.node("Mul", {d1, d2}, {}, "prod");
  ir::Value* target = t.node("Concat", {head, prod}, {ir::Attribute::make_int("axis", 0)}, "target");
  ir::Value* r = t.node("Reshape", {x, target}, {}, "r");
  ir::Value* one_a = t.node("Constant", {}, {ir::Attribute::make_float("value_float", 1.f)}, "one_a");
  ir::Value* one_b = t.node("Constant", {}, {ir::Attribute::make_float("value_float", 1.f)}, "one_b");
  t.output(t.node("Add", {r, t.node("Add", {one_a, one_b}, {}, "two")}, {}, "y"));
  const Tensor in = random_tensor({3, 4, 6});
  const Tensor in5 = random_tensor({5, 4, 6}, 2);  // folded shapes must hold for every batch
  auto before = t.run({{"x", in}});
  auto before5 = t.run({{"x", in5}});
  // The four folding passes alone (the level's other passes are tested in their own files), run
  // by the driver to a fixed point.
  t.infer();
  OptimizeOptions options;
  options.level = GraphOptimizationLevel::kBasic;
  options.evaluate = runtime::evaluate_node;
  options.verify_each_pass = true;
  const std::vector<std::string> mine = {"fold_constants", "fold_shape_computations",
                                         "eliminate_common_subexpressions", "eliminate_dead_code"};
  for (const Pass& p : pipeline(GraphOptimizationLevel::kBasic))
    if (std::find(mine.begin(), mine.end(), p.name) == mine.end()) options.disabled_passes.push_back(p.name);
  OptimizeReport report = optimize(t.model(), options);
  EXPECT_EQ(report.nodes_before, 11u);
  // The batch dim stays computed: Shape -> Slice -> Concat with the folded 24.
  EXPECT_EQ(report.nodes_after, 5u) << t.print();
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,6], zero: int64[1] = initializer, one: int64[1] = initializer, "
            "two_folded: float[] = initializer, prod_folded: int64[1] = initializer) -> (y: float[batch,24]) {\n"
            "  s = Shape(x)\n"
            "  head = Slice(s, zero, one)\n"
            "  target = Concat(head, prod_folded) {axis=0}\n"
            "  r = Reshape(x, target)\n"
            "  y = Add(r, two_folded)\n"
            "}\n");
  EXPECT_EQ(floats_of(initializer_named(t, "two_folded")), (std::vector<float>{2}));
  EXPECT_EQ(ints_of(initializer_named(t, "prod_folded")), (std::vector<int64_t>{24}));
  expect_close(t.run({{"x", in}}), before);
  expect_close(t.run({{"x", in5}}), before5);
}

}  // namespace
}  // namespace ferry::optimizer
