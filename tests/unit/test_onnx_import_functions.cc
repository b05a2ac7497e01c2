// onnx_import: model-local function inlining and control-flow subgraphs with outer scope.

#include <set>

#include "test_onnx_import_util.h"

namespace ferry::onnx_import::testing {
namespace {

onnx::FunctionProto* add_function(onnx::ModelProto& m, const std::string& name, std::vector<std::string> inputs,
                                  std::vector<std::string> outputs, int64_t opset = 13) {
  auto* f = m.add_functions();
  f->set_name(name);
  f->set_domain("local");
  for (auto& s : inputs) f->add_input(s);
  for (auto& s : outputs) f->add_output(s);
  auto* op = f->add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return f;
}

onnx::NodeProto* add_fnode(onnx::FunctionProto* f, const std::string& op, std::vector<std::string> in,
                           std::vector<std::string> out, const std::string& domain = "") {
  auto* n = f->add_node();
  n->set_op_type(op);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  if (!domain.empty()) n->set_domain(domain);
  return n;
}

onnx::AttributeProto* add_ref(onnx::NodeProto* n, const std::string& name, const std::string& ref, int type) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_ref_attr_name(ref);
  a->set_type(static_cast<onnx::AttributeProto::AttributeType>(type));
  return a;
}

/// Model: y = local.Outer(x) {alpha=0.5}
///   Outer(X) -> (Y) { T = LeakyRelu(X) {alpha=@alpha}; Y = local.Inner(T) {k=@alpha_missing} }
///   Inner(A) -> (B) { C = Constant() {value_float=@k (default 3.0)}; B = Mul(A, C) }
onnx::ModelProto nested_function_model() {
  onnx::ModelProto m = new_model();
  auto* op = m.add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{3}});
  auto* call = add_node(g, "Outer", {"x"}, {"y"}, "outer_call", "local");
  add_float_attr(call, "alpha", 0.5f);
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{3}});

  auto* outer = add_function(m, "Outer", {"X"}, {"Y"});
  outer->add_attribute("alpha");
  add_ref(add_fnode(outer, "LeakyRelu", {"X"}, {"T"}), "alpha", "alpha", onnx::AttributeProto::FLOAT);
  auto* inner_call = add_fnode(outer, "Inner", {"T"}, {"Y"}, "local");
  add_ref(inner_call, "k", "alpha_missing", onnx::AttributeProto::FLOAT);
  auto* oop = outer->add_opset_import();
  oop->set_domain("local");
  oop->set_version(1);

  auto* inner = add_function(m, "Inner", {"A"}, {"B"});
  auto* dflt = inner->add_attribute_proto();
  dflt->set_name("k");
  dflt->set_type(onnx::AttributeProto::FLOAT);
  dflt->set_f(3.0f);
  add_ref(add_fnode(inner, "Constant", {}, {"C"}), "value_float", "k", onnx::AttributeProto::FLOAT);
  add_fnode(inner, "Mul", {"A", "C"}, {"B"});
  return m;
}

TEST(OnnxImportFunctions, NestedCallsAreInlinedWithAttributeReferences) {
  auto model = load(nested_function_model());
  const ir::Graph& g = model->graph();
  auto nodes = g.nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->op_type(), "LeakyRelu");
  EXPECT_EQ(nodes[0]->domain(), "");
  EXPECT_EQ(nodes[0]->input(0)->name(), "x");
  ASSERT_NE(nodes[0]->find_attribute("alpha"), nullptr);
  EXPECT_EQ(nodes[0]->find_attribute("alpha")->f, 0.5f);
  EXPECT_TRUE(nodes[0]->find_attribute("alpha")->ref_attr_name.empty());

  EXPECT_EQ(nodes[1]->op_type(), "Constant");
  ASSERT_NE(nodes[1]->find_attribute("value_float"), nullptr);
  EXPECT_EQ(nodes[1]->find_attribute("value_float")->f, 3.0f);  // the function's default
  EXPECT_EQ(nodes[2]->op_type(), "Mul");
  EXPECT_EQ(nodes[2]->input(0), nodes[0]->output(0));
  EXPECT_EQ(nodes[2]->input(1), nodes[1]->output(0));
  EXPECT_EQ(nodes[2]->output(0)->name(), "y");
  EXPECT_EQ(g.outputs()[0], nodes[2]->output(0));
  // The function-only domain is gone; internal names are unique and not the formal ones.
  EXPECT_EQ(model->opset_imports.count("local"), 0u);
  EXPECT_NE(nodes[0]->output(0)->name(), "T");
  EXPECT_EQ(g.find_value("T"), nullptr);
}

TEST(OnnxImportFunctions, CallerAttributeOverridesDefault) {
  onnx::ModelProto m = nested_function_model();
  // Outer passes its own 'alpha' on as Inner's 'k'.
  m.mutable_functions(0)->mutable_node(1)->mutable_attribute(0)->set_ref_attr_name("alpha");
  auto model = load(m);
  EXPECT_EQ(model->graph().nodes()[1]->find_attribute("value_float")->f, 0.5f);
}

TEST(OnnxImportFunctions, TwoCallsGetDistinctNames) {
  onnx::ModelProto m = nested_function_model();
  auto* g = m.mutable_graph();
  auto* call2 = add_node(g, "Outer", {"y"}, {"y2"}, "", "local");
  add_float_attr(call2, "alpha", 0.25f);
  g->mutable_output(0)->set_name("y2");
  auto model = load(m);
  auto nodes = model->graph().nodes();
  ASSERT_EQ(nodes.size(), 6u);
  std::set<std::string> names;
  for (const ir::Value* v : model->graph().values()) EXPECT_TRUE(names.insert(v->name()).second) << v->name();
  EXPECT_EQ(nodes[3]->find_attribute("alpha")->f, 0.25f);
}

TEST(OnnxImportFunctions, InsideSubgraphsAndWithSubgraphsInTheBody) {
  onnx::ModelProto m = new_model();
  auto* op = m.add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "cond", onnx::TensorProto::BOOL, {});
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* iff = add_node(g, "If", {"cond"}, {"y"}, "if1");
  auto* then_g = add_graph_attr(iff, "then_branch")->mutable_g();
  then_g->set_name("then");
  add_node(then_g, "Twice", {"x"}, {"t"}, "call_in_then", "local");  // outer-scope x
  add_vi(then_g->mutable_output(), "t", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* else_g = add_graph_attr(iff, "else_branch")->mutable_g();
  else_g->set_name("else");
  add_node(else_g, "Identity", {"x"}, {"e"});
  add_vi(else_g->mutable_output(), "e", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{2}});

  // Twice(X) -> (Y) { Y = If(true) then { Z = Add(X, X) } else { Z2 = Identity(X) } }
  auto* f = add_function(m, "Twice", {"X"}, {"Y"});
  add_fnode(f, "Constant", {}, {"True"})->add_attribute();
  auto* cattr = f->mutable_node(0)->mutable_attribute(0);
  cattr->set_name("value");
  cattr->set_type(onnx::AttributeProto::TENSOR);
  cattr->mutable_t()->set_data_type(onnx::TensorProto::BOOL);
  cattr->mutable_t()->add_int32_data(1);
  auto* fif = add_fnode(f, "If", {"True"}, {"Y"});
  auto* ft = add_graph_attr(fif, "then_branch")->mutable_g();
  ft->set_name("ft");
  add_node(ft, "Add", {"X", "X"}, {"Z"});
  add_vi(ft->mutable_output(), "Z", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* fe = add_graph_attr(fif, "else_branch")->mutable_g();
  fe->set_name("fe");
  add_node(fe, "Identity", {"X"}, {"Z2"});
  add_vi(fe->mutable_output(), "Z2", onnx::TensorProto::FLOAT, {int64_t{2}});

  auto model = load(m);
  const ir::Node* outer_if = model->graph().nodes()[0];
  const ir::Graph& then_ir = outer_if->require_graph("then_branch");
  auto tn = then_ir.nodes();
  ASSERT_EQ(tn.size(), 2u);
  EXPECT_EQ(tn[0]->op_type(), "Constant");
  EXPECT_EQ(tn[1]->op_type(), "If");
  const ir::Graph& inner_then = tn[1]->require_graph("then_branch");
  EXPECT_EQ(inner_then.parent(), &then_ir);
  const ir::Node* add = inner_then.nodes()[0];
  EXPECT_EQ(add->op_type(), "Add");
  // X was renamed to the call's actual input: the main graph's x, two scopes out.
  EXPECT_EQ(add->input(0), model->graph().find_value("x"));
  EXPECT_EQ(then_ir.outputs()[0]->name(), "t");
}

TEST(OnnxImportFunctions, RecursionIsRejected) {
  onnx::ModelProto m = nested_function_model();
  // Inner calls Outer.
  add_fnode(m.mutable_functions(1), "Outer", {"B"}, {"B2"}, "local");
  m.mutable_functions(1)->set_output(0, "B2");
  auto* op = m.mutable_functions(1)->add_opset_import();
  op->set_domain("local");
  op->set_version(1);
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "calls itself")) << e.what();
  EXPECT_TRUE(contains(e.what(), "node 'outer_call' (local.Outer)")) << e.what();
}

TEST(OnnxImportFunctions, CompatibleOpsetDifferenceIsAccepted) {
  onnx::ModelProto m = nested_function_model();
  // LeakyRelu (6), Constant (13) and Mul (14) are the same operators at opsets 14 and 15.
  m.mutable_opset_import(0)->set_version(15);
  m.mutable_functions(0)->mutable_opset_import(0)->set_version(14);
  m.mutable_functions(1)->mutable_opset_import(0)->set_version(14);
  for (const char* op : {"LeakyRelu", "Constant", "Mul"}) {
    const ir::OpSchema* a = ir::find_schema("", op, 14);
    const ir::OpSchema* b = ir::find_schema("", op, 15);
    ASSERT_TRUE(a && b) << op;
    ASSERT_EQ(a->since_version, b->since_version) << op;
  }
  auto model = load(m);
  EXPECT_EQ(model->opset(""), 15);
}

TEST(OnnxImportFunctions, IncompatibleOpsetIsRejected) {
  onnx::ModelProto m = nested_function_model();
  m.mutable_opset_import(0)->set_version(17);
  m.mutable_functions(0)->mutable_opset_import(0)->set_version(7);  // LeakyRelu 6 vs 16
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_TRUE(contains(e.what(), "function 'Outer' imports ai.onnx opset 7 but the model imports opset 17"))
      << e.what();
  EXPECT_TRUE(contains(e.what(), "LeakyRelu")) << e.what();
}

TEST(OnnxImportFunctions, UndefinedNameInBodyIsRejected) {
  onnx::ModelProto m = nested_function_model();
  m.mutable_functions(1)->mutable_node(1)->set_input(1, "nowhere");
  Error e = load_error(m);
  EXPECT_TRUE(contains(e.what(), "function 'Inner': 'nowhere' is used")) << e.what();
}

// ---- control flow with outer scope ----

TEST(OnnxImportSubgraphs, IfReadsOuterValueProducedLaterInTheFile) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "cond", onnx::TensorProto::BOOL, {});
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* iff = add_node(g, "If", {"cond"}, {"y"}, "if1");
  auto* then_g = add_graph_attr(iff, "then_branch")->mutable_g();
  then_g->set_name("then");
  add_node(then_g, "Mul", {"sq", "x"}, {"t"}, "uses_outer");
  add_vi(then_g->mutable_output(), "t", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* else_g = add_graph_attr(iff, "else_branch")->mutable_g();
  else_g->set_name("else");
  add_vi(else_g->mutable_output(), "sq", onnx::TensorProto::FLOAT, {int64_t{2}});  // outer value as output
  add_node(g, "Mul", {"x", "x"}, {"sq"}, "square");  // listed after the If
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{2}});

  auto model = load(m);
  auto nodes = model->graph().nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0]->name(), "square");  // sorted before the If that reads it implicitly
  EXPECT_EQ(nodes[1]->name(), "if1");
  const ir::Graph& then_ir = nodes[1]->require_graph("then_branch");
  EXPECT_EQ(then_ir.parent(), &model->graph());
  EXPECT_EQ(then_ir.nodes()[0]->input(0), nodes[0]->output(0));
  EXPECT_EQ(then_ir.lookup("x"), model->graph().find_value("x"));
  EXPECT_EQ(nodes[1]->require_graph("else_branch").outputs()[0], nodes[0]->output(0));
}

TEST(OnnxImportSubgraphs, LoopBodyWithOuterScopeAndLocalNames) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "n", onnx::TensorProto::INT64, {});
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_float_init(g, "step", {2}, {1, 1});
  auto* loop = add_node(g, "Loop", {"n", "", "x"}, {"acc_out"}, "loop1");
  auto* body = add_graph_attr(loop, "body")->mutable_g();
  body->set_name("body");
  add_vi(body->mutable_input(), "i", onnx::TensorProto::INT64, {});
  add_vi(body->mutable_input(), "c", onnx::TensorProto::BOOL, {});
  add_vi(body->mutable_input(), "acc", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_node(body, "Add", {"acc", "step"}, {"acc2"});
  add_node(body, "Identity", {"c"}, {"c2"});
  add_vi(body->mutable_output(), "c2", onnx::TensorProto::BOOL, {});
  add_vi(body->mutable_output(), "acc2", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_vi(g->mutable_output(), "acc_out", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto model = load(m);
  const ir::Node* l = model->graph().nodes()[0];
  EXPECT_EQ(l->input(1), nullptr);
  const ir::Graph& b = l->require_graph("body");
  EXPECT_EQ(b.inputs().size(), 3u);
  EXPECT_EQ(b.nodes()[0]->input(1), model->graph().find_value("step"));
  EXPECT_EQ(b.find_value("step"), nullptr);  // not copied into the body
}

TEST(OnnxImportSubgraphs, UndefinedNameInSubgraphNamesTheScopes) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "cond", onnx::TensorProto::BOOL, {});
  auto* iff = add_node(g, "If", {"cond"}, {"y"}, "if1");
  auto* then_g = add_graph_attr(iff, "then_branch")->mutable_g();
  then_g->set_name("then");
  add_node(then_g, "Neg", {"ghost"}, {"t"}, "neg");
  add_vi(then_g->mutable_output(), "t", onnx::TensorProto::FLOAT, {});
  add_graph_attr(iff, "else_branch")->mutable_g()->set_name("else");
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {});
  Error e = load_error(m);
  EXPECT_TRUE(contains(e.what(), "model.onnx: node 'if1' (If): attribute 'then_branch': graph 'then': "
                                 "node 'neg' (Neg): input 0 'ghost' is not defined"))
      << e.what();
}

}  // namespace
}  // namespace ferry::onnx_import::testing
