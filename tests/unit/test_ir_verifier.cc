#include <gtest/gtest.h>

#include <thread>
#include <tuple>

#include "ferry/error.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "ir/verifier.h"

namespace ferry::ir {
namespace {

std::string verify_error(const Model& m) {
  try {
    verify(m);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    return e.what();
  }
  return "";
}

Model small_model() {
  Model m;
  m.opset_imports[""] = 13;
  Graph& g = m.graph();
  Value* x = g.add_value("x", Type::tensor(DataType::kFloat, Shape({Dim::symbol("batch"), 3})));
  g.add_input(x);
  Value* w = g.add_initializer("w", Tensor::zeros(DataType::kFloat, {4, 3}));
  Node* fc = g.add_node("Gemm", {x, w}, {"y0"}, "", "fc");
  fc->set_attribute(Attribute::make_int("transB", 1));
  Node* relu = g.add_node("Relu", {fc->output(0)}, {"y"});
  relu->output(0)->set_type(Type::tensor(DataType::kFloat, Shape({Dim::symbol("batch"), 4})));
  g.add_output(relu->output(0));
  return m;
}

TEST(IrSchema, LookupByOpset) {
  const OpSchema* conv = find_schema("", "Conv", 13);
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->since_version, 11);
  EXPECT_EQ(conv->min_inputs, 2);
  EXPECT_EQ(conv->max_inputs, 3);
  const AttributeSpec* pad = conv->find_attribute("auto_pad");
  ASSERT_NE(pad, nullptr);
  ASSERT_TRUE(pad->default_value.has_value());
  EXPECT_EQ(pad->default_value->s, "NOTSET");
  EXPECT_EQ(find_schema("ai.onnx", "Conv", 10)->since_version, 1);
  EXPECT_EQ(find_schema("", "Conv", 0), nullptr);
  EXPECT_EQ(find_schema("", "NoSuchOp", 13), nullptr);
  const OpSchema* concat = find_schema("", "Concat", 13);
  ASSERT_NE(concat, nullptr);
  EXPECT_EQ(concat->inputs[0].option, FormalParameter::Option::kVariadic);
  EXPECT_EQ(concat->max_inputs, INT32_MAX);
  EXPECT_TRUE(concat->find_attribute("axis")->required);
  const OpSchema* bn = find_schema("", "BatchNormalization", 15);
  ASSERT_NE(bn, nullptr);
  EXPECT_FLOAT_EQ(bn->find_attribute("epsilon")->default_value->f, 1e-5f);
  bool has_float = false;
  for (const auto& [name, types] : find_schema("", "Relu", 14)->type_constraints)
    for (const std::string& t : types) has_float |= name == "T" && t == "tensor(float)";
  EXPECT_TRUE(has_float);
  EXPECT_GE(newest_opset(""), 21);
  EXPECT_GE(newest_opset("ai.onnx.ml"), 3);
  EXPECT_EQ(newest_opset("com.example"), 0);
  EXPECT_GT(all_schemas().size(), 500u);
  EXPECT_TRUE(find_schema("", "LayerNormalization", 17)->has_function);
  EXPECT_TRUE(find_schema("", "Upsample", 10)->deprecated);
}

// Schemas are parsed on first lookup: concurrent first lookups agree on one parsed schema, and
// each agrees with its entry in all_schemas().
TEST(IrSchema, LazyLookupIsSharedAndMatchesTheFullTable) {
  const std::vector<std::pair<std::string, int64_t>> ops = {
      {"GridSample", 20}, {"STFT", 17}, {"Col2Im", 18}, {"DFT", 20}, {"RoiAlign", 16}, {"Einsum", 12}};
  constexpr int kThreads = 8;
  std::vector<std::vector<const OpSchema*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (const auto& [op, opset] : ops) seen[t].push_back(find_schema("", op, opset));
    });
  for (std::thread& th : threads) th.join();
  for (size_t i = 0; i < ops.size(); ++i) {
    ASSERT_NE(seen[0][i], nullptr) << ops[i].first;
    for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t][i], seen[0][i]) << ops[i].first;
    EXPECT_EQ(find_schema("", ops[i].first, ops[i].second), seen[0][i]);
  }
  size_t checked = 0;
  for (const OpSchema& full : all_schemas()) {
    const OpSchema* s = find_schema(full.domain, full.name, full.since_version);
    ASSERT_NE(s, nullptr) << full.domain << "." << full.name << "-" << full.since_version;
    EXPECT_EQ(s->since_version, full.since_version);
    EXPECT_EQ(s->deprecated, full.deprecated);
    EXPECT_EQ(s->min_inputs, full.min_inputs);
    EXPECT_EQ(s->max_outputs, full.max_outputs);
    ASSERT_EQ(s->inputs.size(), full.inputs.size());
    for (size_t k = 0; k < s->inputs.size(); ++k) EXPECT_EQ(s->inputs[k].name, full.inputs[k].name);
    ASSERT_EQ(s->attributes.size(), full.attributes.size());
    EXPECT_EQ(s->type_constraints, full.type_constraints);
    ++checked;
  }
  EXPECT_EQ(checked, all_schemas().size());
  // Sorted by (domain, name, since_version), as documented.
  for (size_t i = 1; i < all_schemas().size(); ++i) {
    const OpSchema& a = all_schemas()[i - 1];
    const OpSchema& b = all_schemas()[i];
    EXPECT_LE(std::tie(a.domain, a.name, a.since_version), std::tie(b.domain, b.name, b.since_version));
  }
}

TEST(IrVerifier, AcceptsAWellFormedModel) {
  Model m = small_model();
  EXPECT_EQ(verify_error(m), "");
}

TEST(IrVerifier, MissingRequiredAttribute) {
  Model m = small_model();
  Graph& g = m.graph();
  g.add_node("Concat", {g.find_value("x"), g.find_value("x")}, {"c"}, "", "cat");
  EXPECT_EQ(verify_error(m), "graph 'main': node 'cat' (Concat, opset 13): missing required attribute 'axis'");
}

TEST(IrVerifier, ArityAndAttributeTypes) {
  Model m = small_model();
  Graph& g = m.graph();
  g.add_node("Relu", {g.find_value("x"), g.find_value("x")}, {"r"}, "", "two");
  EXPECT_EQ(verify_error(m), "graph 'main': node 'two' (Relu, opset 13): has 2 inputs, expected 1");

  Model m2 = small_model();
  Node* n = m2.graph().add_node("Softmax", {m2.graph().find_value("x")}, {"s"}, "", "sm");
  n->set_attribute(Attribute::make_float("axis", 1.0f));
  EXPECT_EQ(verify_error(m2), "graph 'main': node 'sm' (Softmax, opset 13): attribute 'axis' is FLOAT, expected INT");

  Model m3 = small_model();
  Node* n3 = m3.graph().add_node("Relu", {m3.graph().find_value("x")}, {"s"}, "", "r");
  n3->set_attribute(Attribute::make_int("alpha", 1));
  EXPECT_NE(verify_error(m3).find("unknown attribute 'alpha'"), std::string::npos);

  Model m4 = small_model();
  m4.graph().add_node("Gelu", {m4.graph().find_value("x")}, {"s"}, "", "gelu");  // Gelu is opset 20
  EXPECT_EQ(verify_error(m4), "graph 'main': node 'gelu' (Gelu, opset 13): Gelu does not exist before opset 20");

  Model m5 = small_model();
  m5.graph().add_node("MyOp", {m5.graph().find_value("x")}, {"s"}, "com.example", "custom");
  EXPECT_EQ(verify_error(m5), "");  // unknown ops are not the verifier's business
}

TEST(IrVerifier, UseBeforeDefinitionAndUndefinedOutputs) {
  Model m;
  m.opset_imports[""] = 13;
  Graph& g = m.graph();
  Value* x = g.add_value("x");
  g.add_input(x);
  Value* a = g.add_value("a");
  g.add_node("Relu", {a}, {"b"}, "", "early");
  g.add_node("Relu", {x}, {"a"}, "", "late");
  g.add_output(g.find_value("b"));
  EXPECT_EQ(verify_error(m),
            "graph 'main': node 'early' (Relu, opset 13): input 'a' is used before node 'late' (Relu) produces it "
            "(nodes are not in topological order)");
  g.sort_topologically();
  EXPECT_EQ(verify_error(m), "");
  Value* dangling = g.add_value("dangling");
  g.add_output(dangling);
  EXPECT_EQ(verify_error(m), "graph 'main': graph output 'dangling' is never defined");
}

TEST(IrVerifier, SubgraphsSeeOuterScopeButNotLaterValues) {
  Model m;
  m.opset_imports[""] = 13;
  Graph& g = m.graph();
  Value* c = g.add_value("c", Type::tensor(DataType::kBool, Shape::from_ints({})));
  Value* x = g.add_value("x");
  g.add_input(c);
  g.add_input(x);
  Node* iff = g.add_node("If", {c}, {"y"}, "", "branch");
  auto then_g = std::make_shared<Graph>("then", &g);
  then_g->add_output(then_g->add_node("Relu", {x}, {"t"})->output(0));
  auto else_g = std::make_shared<Graph>("else", &g);
  Value* later = g.add_value("later");
  else_g->add_output(else_g->add_node("Relu", {later}, {"e"}, "", "uses_later")->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", then_g));
  iff->set_attribute(Attribute::make_graph("else_branch", else_g));
  g.add_output(iff->output(0));
  EXPECT_EQ(verify_error(m),
            "graph 'else': node 'uses_later' (Relu, opset 13): input 'later' is not defined in this graph or an "
            "enclosing one");
  else_g->nodes()[0]->set_input(0, x);
  EXPECT_EQ(verify_error(m), "");
}

TEST(IrPrinter, GoldenText) {
  Model m = small_model();
  EXPECT_EQ(print_graph(m.graph()),
            "graph main (x: float[batch,3], w: float[4,3] = initializer) -> (y: float[batch,4]) {\n"
            "  y0 = Gemm(x, w) {transB=1}  # node 'fc'\n"
            "  y = Relu(y0)\n"
            "}\n");
  Graph& g = m.graph();
  Node* clip = g.add_node("Clip", {g.find_value("y"), nullptr, g.find_value("w")}, {"z"});
  clip->set_attribute(Attribute::make_ints("b", {1, 2}));
  clip->set_attribute(Attribute::make_string("a", "q\"x"));
  clip->set_attribute(Attribute::make_float("c", 0.5f));
  Node* iff = g.add_node("If", {g.find_value("x")}, {"o1", ""}, "", "cond");
  auto body = std::make_shared<Graph>("then", &g);
  body->add_output(body->add_node("Neg", {g.find_value("z")}, {"n"})->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", body));
  m.opset_imports["com.microsoft"] = 1;
  EXPECT_EQ(print_model(m),
            "model (ir_version 8, opsets ai.onnx=13 com.microsoft=1)\n"
            "graph main (x: float[batch,3], w: float[4,3] = initializer) -> (y: float[batch,4]) {\n"
            "  y0 = Gemm(x, w) {transB=1}  # node 'fc'\n"
            "  y = Relu(y0)\n"
            "  z = Clip(y, , w) {a=\"q\\\"x\", b=[1,2], c=0.5}\n"
            "  o1,  = If(x) {then_branch=graph then () -> (n: ?) {\n"
            "    n = Neg(z)\n"
            "  }}  # node 'cond'\n"
            "}\n");
}

}  // namespace
}  // namespace ferry::ir
