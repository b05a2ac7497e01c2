// ferry::Value handles, and subgraph execution through the runtime: an If whose branches read
// outer-scope values, a Loop growing a sequence, Session::run_values with sequence / optional
// inputs and outputs, and Session::run refusing a non-tensor output with a pointer to
// run_values.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ferry/ferry.h"
#include "onnx/onnx-ml.pb.h"

namespace ferry {
namespace {

void tensor_type(onnx::TypeProto* t, int elem, const std::vector<int64_t>& dims, bool ranked = true) {
  auto* tt = t->mutable_tensor_type();
  tt->set_elem_type(elem);
  if (!ranked) return;
  auto* s = tt->mutable_shape();
  for (int64_t d : dims) s->add_dim()->set_dim_value(d);
}

onnx::ValueInfoProto* add_vi(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name) {
  auto* vi = list->Add();
  vi->set_name(name);
  return vi;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                          const std::vector<std::string>& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

std::string serialize(onnx::ModelProto& m, int64_t opset) {
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  return m.SerializeAsString();
}

Session load(const std::string& bytes) { return Session::from_bytes(bytes.data(), bytes.size()); }

constexpr int F = onnx::TensorProto::FLOAT;

TEST(Value, KindsAndDescriptions) {
  Tensor a = Tensor::from_vector<float>(DataType::kFloat, {2}, {1, 2});
  Value t = a;
  EXPECT_TRUE(t.is_tensor());
  Value s = Value::sequence(DataType::kFloat, {a, a});
  EXPECT_EQ(s.items().size(), 2u);
  EXPECT_EQ(s.describe(), "seq(float)[2]");
  Value o = Value::optional(s);
  EXPECT_TRUE(o.has_element());
  EXPECT_EQ(o.element().items().size(), 2u);
  EXPECT_EQ(Value::none().describe(), "optional(none)");
  EXPECT_FALSE(Value::none().has_element());
  EXPECT_FALSE(Value().defined());
  EXPECT_THROW(t.items(), Error);
  EXPECT_THROW(Value::none().element(), Error);
  EXPECT_EQ(s.byte_size(), 16u);
}

// If(c): then = x + y (outer scope), else = x - y; c, x, y are graph inputs.
std::string if_model() {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  g->set_name("main");
  tensor_type(add_vi(g->mutable_input(), "c")->mutable_type(), onnx::TensorProto::BOOL, {});
  tensor_type(add_vi(g->mutable_input(), "x")->mutable_type(), F, {2});
  tensor_type(add_vi(g->mutable_input(), "y")->mutable_type(), F, {2});
  tensor_type(add_vi(g->mutable_output(), "out")->mutable_type(), F, {2});
  auto* node = add_node(g, "If", {"c"}, {"out"});
  for (auto [name, op] : {std::pair{"then_branch", "Add"}, std::pair{"else_branch", "Sub"}}) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* b = a->mutable_g();
    b->set_name(name);
    add_node(b, op, {"x", "y"}, {std::string(name) + "_out"});
    tensor_type(add_vi(b->mutable_output(), std::string(name) + "_out")->mutable_type(), F, {2});
  }
  return serialize(m, 13);
}

TEST(Subgraph, IfBranchesReadOuterScopeValues) {
  Session s = load(if_model());
  Tensor x = Tensor::from_vector<float>(DataType::kFloat, {2}, {5, 7});
  Tensor y = Tensor::from_vector<float>(DataType::kFloat, {2}, {1, 2});
  for (bool c : {true, false}) {
    Tensor cond = Tensor::from_vector<bool>(DataType::kBool, {}, {c});
    for (int rep = 0; rep < 3; ++rep) {  // repeated runs reuse pooled arenas
      auto out = s.run({{"c", cond}, {"x", x}, {"y", y}});
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].data<float>()[0], c ? 6.f : 4.f);
      EXPECT_EQ(out[0].data<float>()[1], c ? 9.f : 5.f);
    }
  }
}

// SplitToSequence(x) -> seq; SequenceLength(seq) -> n.
std::string sequence_model() {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  g->set_name("main");
  tensor_type(add_vi(g->mutable_input(), "x")->mutable_type(), F, {3, 2});
  auto* s_in = add_vi(g->mutable_input(), "s_in");
  tensor_type(s_in->mutable_type()->mutable_optional_type()->mutable_elem_type()->mutable_sequence_type()->mutable_elem_type(), F,
              {}, false);
  auto* seq = add_vi(g->mutable_output(), "seq");
  tensor_type(seq->mutable_type()->mutable_sequence_type()->mutable_elem_type(), F, {}, false);
  tensor_type(add_vi(g->mutable_output(), "n")->mutable_type(), onnx::TensorProto::BOOL, {});
  add_node(g, "SplitToSequence", {"x"}, {"seq"});
  add_node(g, "OptionalHasElement", {"s_in"}, {"n"});
  return serialize(m, 18);
}

TEST(Subgraph, RunValuesTakesAndReturnsSequencesAndOptionals) {
  Session s = load(sequence_model());
  Tensor x = Tensor::from_vector<float>(DataType::kFloat, {3, 2}, {1, 2, 3, 4, 5, 6});
  auto out = s.run_values({{"x", x}, {"s_in", Value::sequence(DataType::kFloat, {x})}});
  ASSERT_EQ(out.size(), 2u);
  ASSERT_TRUE(out[0].is_sequence());
  ASSERT_EQ(out[0].items().size(), 3u);
  EXPECT_EQ(out[0].items()[2].tensor().shape(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(out[0].items()[2].tensor().data<float>()[1], 6.f);
  EXPECT_TRUE(*out[1].tensor().data<bool>());
  out = s.run_values({{"x", x}, {"s_in", Value::none()}});
  EXPECT_FALSE(*out[1].tensor().data<bool>());

  try {
    s.run({{"x", x}});
    FAIL() << "run returned a sequence output";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("output 'seq' is seq(tensor(float)), not a tensor; use Session::run_values"),
              std::string::npos)
        << e.what();
  }
  // The tensor output alone is fine through run() too... only when no input is a sequence.
  try {
    s.run_values({{"x", x}, {"s_in", x}});
    FAIL() << "a tensor was accepted for optional(seq)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("input 's_in'"), std::string::npos) << e.what();
  }
}

TEST(Subgraph, KernelErrorsNameTheNodeOnce) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  g->set_name("main");
  auto* seq = add_vi(g->mutable_input(), "s");
  tensor_type(seq->mutable_type()->mutable_sequence_type()->mutable_elem_type(), F, {}, false);
  tensor_type(add_vi(g->mutable_input(), "p")->mutable_type(), onnx::TensorProto::INT64, {});
  tensor_type(add_vi(g->mutable_output(), "y")->mutable_type(), F, {}, false);
  add_node(g, "SequenceAt", {"s", "p"}, {"y"})->set_name("at");
  Session s = load(serialize(m, 13));
  Tensor x = Tensor::from_vector<float>(DataType::kFloat, {1}, {1});
  try {
    s.run_values({{"s", Value::sequence(DataType::kFloat, {x})}, {"p", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {3})}});
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("node 'at' (SequenceAt, opset 13): position 3 is out of range for a sequence of 1"),
              std::string::npos) << msg;
    EXPECT_EQ(msg.find("node 'at'"), msg.rfind("node 'at'")) << msg;
  }
}

}  // namespace
}  // namespace ferry
