// optimizer/expand_functions: nodes without a kernel become the spec's function body.

#include <gtest/gtest.h>

#include <set>

#include "ferry/error.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "optimizer/expand_functions.h"

namespace ferry::optimizer {
namespace {

using ir::Attribute;
using ir::Dim;
using ir::Model;
using ir::Node;
using ir::Type;

Type f32(std::vector<Dim> dims) { return Type::tensor(DataType::kFloat, ir::Shape(std::move(dims))); }

/// x: float[2,3] -> op -> y, at ai.onnx `opset`.
std::unique_ptr<Model> unary_model(const std::string& op, int64_t opset, std::vector<Attribute> attrs = {},
                                   const std::string& node_name = "") {
  auto m = std::make_unique<Model>();
  m->opset_imports[""] = opset;
  ir::Graph& g = m->graph();
  g.set_name("main");
  ir::Value* x = g.add_value("x", f32({2, 3}));
  g.add_input(x);
  Node* n = g.add_node(op, {x}, {"y"}, "", node_name);
  for (Attribute& a : attrs) n->set_attribute(std::move(a));
  g.add_output(n->output(0));
  ir::infer_shapes(*m);
  return m;
}

/// Every op has a kernel except those named.
HasKernel all_but(std::set<std::string> missing) {
  return [missing = std::move(missing)](const Node& n, int64_t) { return !missing.count(n.op_type()); };
}

TEST(ExpandFunctions, BodyReplacesNodeWithoutKernel) {
  auto m = unary_model("HardSigmoid", 22, {}, "hs");
  EXPECT_TRUE(expand_functions(*m, all_but({"HardSigmoid"})));
  ir::verify(*m);
  EXPECT_EQ(ir::print_graph(m->graph()),
            "graph main (x: float[2,3]) -> (y: float[2,3]) {\n"
            "  hs__Alpha = Constant() {value_float=0.200000003}  # node 'hs/Alpha'\n"
            "  hs__AlphaCast = CastLike(hs__Alpha, x)  # node 'hs/AlphaCast'\n"
            "  hs__Beta = Constant() {value_float=0.5}  # node 'hs/Beta'\n"
            "  hs__BetaCast = CastLike(hs__Beta, x)  # node 'hs/BetaCast'\n"
            "  hs__Zero = Constant() {value=float[]}  # node 'hs/Zero'\n"
            "  hs__ZeroCast = CastLike(hs__Zero, x)  # node 'hs/ZeroCast'\n"
            "  hs__One = Constant() {value=float[]}  # node 'hs/One'\n"
            "  hs__OneCast = CastLike(hs__One, x)  # node 'hs/OneCast'\n"
            "  hs__AlphaMulX = Mul(x, hs__AlphaCast)  # node 'hs/AlphaMulX'\n"
            "  hs__AlphaMulXAddBeta = Add(hs__AlphaMulX, hs__BetaCast)  # node 'hs/AlphaMulXAddBeta'\n"
            "  hs__MinOneOrAlphaMulXAddBeta = Min(hs__AlphaMulXAddBeta, hs__OneCast)  # node "
            "'hs/MinOneOrAlphaMulXAddBeta'\n"
            "  y = Max(hs__MinOneOrAlphaMulXAddBeta, hs__ZeroCast)  # node 'hs/Y'\n"
            "}\n");
  // The constants keep the spec's values, and the new values got types.
  for (const Node* n : m->graph().nodes()) {
    if (n->op_type() == "Constant" && n->find_attribute("value")) {
      const Tensor& t = n->find_attribute("value")->t;
      ASSERT_EQ(t.dtype(), DataType::kFloat);
      EXPECT_TRUE(t.data<float>()[0] == 0.0f || t.data<float>()[0] == 1.0f);
    }
    for (const ir::Value* v : n->outputs()) EXPECT_EQ(v->dtype(), DataType::kFloat) << v->name();
  }
}

TEST(ExpandFunctions, NodeWithKernelIsLeftAlone) {
  auto m = unary_model("HardSigmoid", 22, {Attribute::make_float("alpha", 0.25f)}, "hs");
  const std::string before = ir::print_graph(m->graph());
  EXPECT_FALSE(expand_functions(*m, all_but({})));
  EXPECT_EQ(ir::print_graph(m->graph()), before);
}

TEST(ExpandFunctions, OpWithoutStaticBodyIsLeftAlone) {
  // LayerNormalization's body is context-dependent (built per input types): not expanded.
  auto m = unary_model("LayerNormalization", 17);
  const std::string before = ir::print_graph(m->graph());
  EXPECT_FALSE(expand_functions(*m, all_but({"LayerNormalization"})));
  EXPECT_EQ(ir::print_graph(m->graph()), before);
}

TEST(ExpandFunctions, AttributeReferencesTakeTheNodesValueElseTheDefault) {
  // alpha given, beta from the schema's default; an unnamed node prefixes with its op type.
  auto m = unary_model("HardSigmoid", 22, {Attribute::make_float("alpha", 0.25f)});
  EXPECT_TRUE(expand_functions(*m, all_but({"HardSigmoid"})));
  ir::verify(*m);
  const auto nodes = m->graph().nodes();
  ASSERT_GE(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->output(0)->name(), "HardSigmoid__Alpha");
  EXPECT_FLOAT_EQ(nodes[0]->get_float("value_float", 0), 0.25f);
  EXPECT_FLOAT_EQ(nodes[2]->get_float("value_float", 0), 0.5f);
  EXPECT_TRUE(nodes[0]->find_attribute("value_float")->ref_attr_name.empty());
}

TEST(ExpandFunctions, NestedBodiesExpandUntilEveryNodeHasAKernel) {
  // Celu-28's body calls Elu, whose body (written for opset 18) runs at opset 28.
  auto m = unary_model("Celu", 28, {Attribute::make_float("alpha", 2.0f)}, "c");
  EXPECT_TRUE(expand_functions(*m, all_but({"Celu", "Elu"})));
  ir::verify(*m);
  EXPECT_EQ(ir::print_graph(m->graph()),
            "graph main (x: float[2,3]) -> (y: float[2,3]) {\n"
            "  c__Alpha = Constant() {value_float=2}  # node 'c/Alpha'\n"
            "  c__AlphaCast = CastLike(c__Alpha, x)  # node 'c/AlphaCast'\n"
            "  c__XScaled = Div(x, c__AlphaCast)  # node 'c/XScaled'\n"
            "  c__EluResult__Alpha = Constant() {value_float=1}  # node 'c/EluResult/Alpha'\n"
            "  c__EluResult__AlphaCast = CastLike(c__EluResult__Alpha, c__XScaled)  # node 'c/EluResult/AlphaCast'\n"
            "  c__EluResult__Zero = Constant() {value=float[]}  # node 'c/EluResult/Zero'\n"
            "  c__EluResult__ZeroCast = CastLike(c__EluResult__Zero, c__XScaled)  # node 'c/EluResult/ZeroCast'\n"
            "  c__EluResult__One = Constant() {value=float[]}  # node 'c/EluResult/One'\n"
            "  c__EluResult__OneCast = CastLike(c__EluResult__One, c__XScaled)  # node 'c/EluResult/OneCast'\n"
            "  c__EluResult__XLessThanZero = Less(c__XScaled, c__EluResult__ZeroCast)  # node "
            "'c/EluResult/XLessThanZero'\n"
            "  c__EluResult__ExpX = Exp(c__XScaled)  # node 'c/EluResult/ExpX'\n"
            "  c__EluResult__ExpXSubOne = Sub(c__EluResult__ExpX, c__EluResult__OneCast)  # node "
            "'c/EluResult/ExpXSubOne'\n"
            "  c__EluResult__AlphaMulExpXSubOne = Mul(c__EluResult__AlphaCast, c__EluResult__ExpXSubOne)  # node "
            "'c/EluResult/AlphaMulExpXSubOne'\n"
            "  c__EluResult = Where(c__EluResult__XLessThanZero, c__EluResult__AlphaMulExpXSubOne, c__XScaled)  # "
            "node 'c/EluResult/Y'\n"
            "  y = Mul(c__AlphaCast, c__EluResult)  # node 'c/Y'\n"
            "}\n");
}

TEST(ExpandFunctions, OmittedOptionalInputStaysOmitted) {
  auto m = unary_model("ReduceL1", 18, {Attribute::make_int("keepdims", 0)}, "r");
  EXPECT_TRUE(expand_functions(*m, all_but({"ReduceL1"})));
  ir::verify(*m);
  EXPECT_EQ(ir::print_graph(m->graph()),
            "graph main (x: float[2,3]) -> (y: float[]) {\n"
            "  r__data_abs = Abs(x)  # node 'r/data_abs'\n"
            "  y = ReduceSum(r__data_abs) {keepdims=0, noop_with_empty_axes=0}  # node 'r/reduced'\n"
            "}\n");
}

TEST(ExpandFunctions, NodesInSubgraphsAreExpanded) {
  Model m;
  m.opset_imports[""] = 22;
  ir::Graph& g = m.graph();
  g.set_name("main");
  ir::Value* c = g.add_value("c", Type::tensor(DataType::kBool, ir::Shape(std::vector<Dim>{})));
  ir::Value* x = g.add_value("x", f32({2}));
  g.add_input(c);
  g.add_input(x);
  Node* iff = g.add_node("If", {c}, {"y"}, "", "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto sub = std::make_shared<ir::Graph>(branch, &g);
    Node* s = sub->add_node(std::string(branch) == "then_branch" ? "Softsign" : "Neg", {x},
                            {std::string(branch) + "_out"}, "", branch);
    sub->add_output(s->output(0));
    iff->set_attribute(Attribute::make_graph(branch, sub));
  }
  g.add_output(iff->output(0));
  ir::infer_shapes(m);
  EXPECT_TRUE(expand_functions(m, all_but({"Softsign"})));
  ir::verify(m);
  EXPECT_EQ(ir::print_graph(m.graph()),
            "graph main (c: bool[], x: float[2]) -> (y: float[2]) {\n"
            "  y = If(c) {else_branch=graph else_branch () -> (else_branch_out: float[2]) {\n"
            "    else_branch_out = Neg(x)  # node 'else_branch'\n"
            "  }, then_branch=graph then_branch () -> (then_branch_out: float[2]) {\n"
            "    then_branch__One = Constant() {value=float[]}  # node 'then_branch/One'\n"
            "    then_branch__OneCast = CastLike(then_branch__One, x)  # node 'then_branch/OneCast'\n"
            "    then_branch__AbsInput = Abs(x)  # node 'then_branch/AbsInput'\n"
            "    then_branch__OneAddAbsInput = Add(then_branch__OneCast, then_branch__AbsInput)  # node "
            "'then_branch/OneAddAbsInput'\n"
            "    then_branch_out = Div(x, then_branch__OneAddAbsInput)  # node 'then_branch/output'\n"
            "  }}  # node 'if'\n"
            "}\n");
}

TEST(ExpandFunctions, BodyForANewerOpsetThatDoesNotFitIsAnError) {
  // Softplus's body is written for opset 18 and uses CastLike, which opset 13 does not have.
  auto m = unary_model("Softplus", 13, {}, "sp");
  try {
    expand_functions(*m, all_but({"Softplus"}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
    EXPECT_EQ(std::string(e.what()),
              "node 'sp' (Softplus) (opset 13, no kernel; expanding its ONNX function body): the body is written "
              "for ai.onnx opset 18 and uses CastLike (since 15), which does not exist at the model's opset 13");
  }
}

TEST(ExpandFunctions, AttributeOfTheWrongTypeIsAnError) {
  auto m = unary_model("HardSigmoid", 22, {Attribute::make_int("alpha", 1)}, "hs");
  try {
    expand_functions(*m, all_but({"HardSigmoid"}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(e.what()).find("attribute 'alpha' is INT, the body uses it as FLOAT"), std::string::npos)
        << e.what();
  }
}

TEST(FunctionBodies, EveryStaticBodyParsesAndMatchesItsSchema) {
  const auto bodies = ir::all_function_bodies();
  EXPECT_GE(bodies.size(), 40u);
  for (const ir::FunctionBody* b : bodies) {
    const ir::OpSchema* s = ir::find_schema(b->domain, b->name, b->since_version);
    ASSERT_NE(s, nullptr) << b->name;
    EXPECT_EQ(s->since_version, b->since_version) << b->name;
    EXPECT_TRUE(s->has_function) << b->name;
    EXPECT_EQ(b->graph->inputs().size(), s->inputs.size()) << b->name;
    EXPECT_EQ(b->graph->outputs().size(), s->outputs.size()) << b->name;
    EXPECT_GT(b->graph->node_count(), 0u) << b->name;
    EXPECT_EQ(b->opset_imports.at(""), b->function_opset) << b->name;
  }
  // onnx's rule: the body for the highest opset <= the requested one.
  const ir::FunctionBody* mvn13 = ir::find_function_body("", "MeanVarianceNormalization", 17);
  ASSERT_NE(mvn13, nullptr);
  EXPECT_EQ(mvn13->function_opset, 13);
  EXPECT_EQ(ir::find_function_body("", "MeanVarianceNormalization", 18)->function_opset, 18);
  EXPECT_EQ(ir::find_function_body("", "LayerNormalization", 17), nullptr);  // context-dependent
  EXPECT_EQ(ir::find_function_body("", "Relu", 13), nullptr);               // Relu-13 has no body
}

}  // namespace
}  // namespace ferry::optimizer
