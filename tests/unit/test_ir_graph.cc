#include <gtest/gtest.h>

#include "ferry/error.h"
#include "ir/graph.h"

namespace ferry::ir {
namespace {

Type f32(std::vector<Dim> dims) { return Type::tensor(DataType::kFloat, Shape(std::move(dims))); }

bool has_use(const Value* v, const Node* n, int index) {
  for (const Use& u : v->uses())
    if (u.node == n && u.input_index == index) return true;
  return false;
}

TEST(IrGraph, BuildAndUseLists) {
  Graph g("main");
  Value* x = g.add_value("x", f32({Dim::symbol("batch"), 3}));
  g.add_input(x);
  Value* w = g.add_initializer("w", Tensor::zeros(DataType::kFloat, {4, 3}));
  EXPECT_TRUE(w->is_initializer());
  EXPECT_EQ(w->type(), f32({4, 3}));
  Node* gemm = g.add_node("Gemm", {x, w}, {"y0"}, "", "fc");
  Node* relu = g.add_node("Relu", {gemm->output(0)}, {"y"});
  g.add_output(relu->output(0));
  EXPECT_EQ(gemm->output(0)->producer(), gemm);
  EXPECT_TRUE(has_use(x, gemm, 0));
  EXPECT_TRUE(has_use(w, gemm, 1));
  EXPECT_TRUE(x->is_graph_input());
  EXPECT_TRUE(relu->output(0)->is_graph_output());
  EXPECT_EQ(gemm->describe(), "node 'fc' (Gemm)");
  EXPECT_EQ(relu->describe(), "node #1 (Relu)");
  EXPECT_THROW(g.add_value("x"), Error);
  EXPECT_EQ(g.unique_name("x"), "x_1");
  EXPECT_EQ(g.unique_name("fresh"), "fresh");

  gemm->set_input(1, x);
  EXPECT_FALSE(has_use(w, gemm, 1));
  EXPECT_TRUE(has_use(x, gemm, 1));
  EXPECT_EQ(x->uses().size(), 2u);
  gemm->truncate_inputs(1);
  EXPECT_EQ(x->uses().size(), 1u);
  gemm->set_input(3, w);
  EXPECT_EQ(gemm->inputs().size(), 4u);
  EXPECT_EQ(gemm->input(2), nullptr);
  EXPECT_TRUE(has_use(w, gemm, 3));
}

TEST(IrGraph, RemoveNodeAndReplaceUses) {
  Graph g("main");
  Value* x = g.add_value("x");
  g.add_input(x);
  Node* id = g.add_node("Identity", {x}, {"a"});
  Node* relu = g.add_node("Relu", {id->output(0)}, {"b"});
  g.add_output(relu->output(0));
  EXPECT_THROW(g.remove_node(id), Error);  // output still used
  EXPECT_THROW(g.remove_node(relu), Error);  // output is a graph output
  g.replace_all_uses(id->output(0), x);
  EXPECT_EQ(relu->input(0), x);
  EXPECT_TRUE(id->output(0)->uses().empty());
  g.remove_node(id);
  EXPECT_EQ(g.node_count(), 1u);
  EXPECT_EQ(g.find_value("a"), nullptr);
  EXPECT_EQ(x->uses().size(), 1u);
  // Graph outputs follow replace_all_uses too.
  Value* c = g.add_initializer("c", Tensor::zeros(DataType::kFloat, {1}));
  g.replace_all_uses(relu->output(0), c);
  EXPECT_EQ(g.outputs()[0], c);
  g.remove_node(relu);
  EXPECT_EQ(g.node_count(), 0u);
  EXPECT_TRUE(x->uses().empty());
  Value* loose = g.add_value("loose");
  g.remove_value(loose);
  EXPECT_EQ(g.find_value("loose"), nullptr);
  EXPECT_THROW(g.remove_value(x), Error);
}

TEST(IrGraph, SubgraphsSeeOuterScopeAndShareUseLists) {
  Model m;
  Graph& g = m.graph();
  Value* cond = g.add_value("cond", Type::tensor(DataType::kBool, Shape::from_ints({})));
  Value* x = g.add_value("x");
  g.add_input(cond);
  g.add_input(x);
  Node* iff = g.add_node("If", {cond}, {"y"});
  auto then_g = std::make_shared<Graph>("then", &g);
  Node* inner = then_g->add_node("Relu", {then_g->lookup("x")}, {"t"});
  then_g->add_output(inner->output(0));
  auto else_g = std::make_shared<Graph>("else", &g);
  else_g->add_output(x);  // returns the outer value directly
  iff->set_attribute(Attribute::make_graph("then_branch", then_g));
  iff->set_attribute(Attribute::make_graph("else_branch", else_g));
  g.add_output(iff->output(0));
  EXPECT_EQ(then_g->lookup("x"), x);
  EXPECT_EQ(then_g->find_value("x"), nullptr);
  EXPECT_TRUE(has_use(x, inner, 0));
  EXPECT_EQ(g.direct_subgraphs().size(), 2u);

  Value* x2 = g.add_value("x2");
  g.add_input(x2);
  g.replace_all_uses(x, x2);
  EXPECT_EQ(inner->input(0), x2);
  EXPECT_EQ(else_g->outputs()[0], x2);
  EXPECT_TRUE(x->uses().empty());

  // Removing the subgraph drops its uses of outer values.
  iff->remove_attribute("then_branch");
  then_g.reset();
  EXPECT_TRUE(x2->uses().empty());
}

TEST(IrGraph, CloneRemapsEverything) {
  Model m;
  Graph& g = m.graph();
  Value* x = g.add_value("x", f32({2}));
  g.add_input(x);
  Node* loop = g.add_node("Loop", {}, {"out"}, "", "loop");
  auto body = std::make_shared<Graph>("body", &g);
  Node* add = body->add_node("Add", {x, x}, {"s"});
  body->add_output(add->output(0));
  loop->set_attribute(Attribute::make_graph("body", body));
  loop->set_attribute(Attribute::make_int("k", 3));
  g.add_output(loop->output(0));

  std::unique_ptr<Graph> c = g.clone();
  Value* cx = c->find_value("x");
  ASSERT_NE(cx, nullptr);
  EXPECT_NE(cx, x);
  EXPECT_EQ(c->inputs()[0], cx);
  Node* cloop = c->nodes()[0];
  EXPECT_EQ(cloop->name(), "loop");
  EXPECT_EQ(c->outputs()[0], cloop->output(0));
  EXPECT_EQ(cloop->output(0)->producer(), cloop);
  const Graph& cbody = cloop->require_graph("body");
  EXPECT_NE(&cbody, body.get());
  EXPECT_EQ(cbody.parent(), c.get());
  Node* cadd = cbody.nodes()[0];
  EXPECT_EQ(cadd->input(0), cx);
  EXPECT_EQ(cx->uses().size(), 2u);
  EXPECT_EQ(x->uses().size(), 2u);  // the original is untouched
  EXPECT_EQ(cloop->get_int("k", 0), 3);
  c.reset();
  EXPECT_EQ(x->uses().size(), 2u);
}

TEST(IrGraph, TopologicalSortIsStableAndReportsCycles) {
  Graph g("main");
  Value* x = g.add_value("x");
  g.add_input(x);
  // Consumers added before producers via forward references.
  Value* a = g.add_value("a");
  Node* use_a = g.add_node("Relu", {a}, {"b"}, "", "use_a");
  Node* make_a = g.add_node("Neg", {x}, {"a"}, "", "make_a");
  Node* other = g.add_node("Abs", {x}, {"c"}, "", "other");
  EXPECT_EQ(make_a->output(0), a);
  g.sort_topologically();
  std::vector<Node*> order = g.nodes();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], make_a);
  EXPECT_EQ(order[1], use_a);
  EXPECT_EQ(order[2], other);
  g.sort_topologically();  // already sorted: unchanged
  EXPECT_EQ(g.nodes(), order);

  Graph cyc("cyc");
  Value* p = cyc.add_value("p");
  cyc.add_node("Relu", {p}, {"q"}, "", "first");
  cyc.add_node("Relu", {cyc.find_value("q")}, {"p"}, "", "second");
  try {
    cyc.sort_topologically();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
    EXPECT_NE(msg.find("node 'first' (Relu)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("node 'second' (Relu)"), std::string::npos) << msg;
  }
}

TEST(IrNode, TypedAttributes) {
  Graph g;
  Node* n = g.add_node("Conv", {}, {"y"}, "", "c");
  n->set_attribute(Attribute::make_ints("kernel_shape", {3, 3}));
  n->set_attribute(Attribute::make_int("group", 2));
  n->set_attribute(Attribute::make_int("group", 4));
  EXPECT_EQ(n->attributes().size(), 2u);
  EXPECT_EQ(n->get_int("group", 1), 4);
  EXPECT_EQ(n->get_int("missing", 7), 7);
  EXPECT_EQ(n->get_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
  EXPECT_THROW(n->get_float("group", 0.0f), Error);
  try {
    n->require_int("strides");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "node 'c' (Conv): missing required attribute 'strides'");
  }
  EXPECT_TRUE(n->remove_attribute("group"));
  EXPECT_FALSE(n->remove_attribute("group"));
  Node* ms = g.add_node("FusedConv", {}, {}, "com.microsoft");
  EXPECT_EQ(ms->describe(), "node #1 (com.microsoft:FusedConv)");
  Node* std_dom = g.add_node("Relu", {}, {}, "ai.onnx");
  EXPECT_EQ(std_dom->domain(), "");
}

TEST(IrModel, OpsetLookup) {
  Model m;
  m.opset_imports[""] = 17;
  m.opset_imports["com.microsoft"] = 1;
  EXPECT_EQ(m.opset("ai.onnx"), 17);
  EXPECT_EQ(m.opset(""), 17);
  EXPECT_EQ(m.opset("com.microsoft"), 1);
  EXPECT_EQ(m.opset("ai.onnx.ml"), 0);
}

}  // namespace
}  // namespace ferry::ir
