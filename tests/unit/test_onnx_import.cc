// onnx_import: graphs, nodes, attributes, types, versions, and malformed input.

#include <random>

#include "test_onnx_import_util.h"

namespace ferry::onnx_import::testing {
namespace {

TEST(OnnxImport, SmallModelStructure) {
  onnx::ModelProto m = small_model();
  m.set_producer_name("unit");
  m.set_producer_version("1.0");
  m.set_domain("org.example");
  m.set_model_version(7);
  m.set_doc_string("model doc");
  auto* kv = m.add_metadata_props();
  kv->set_key("author");
  kv->set_value("ferry");
  m.mutable_graph()->set_doc_string("graph doc");
  m.mutable_graph()->mutable_node(0)->set_doc_string("relu doc");

  auto model = load(m);
  EXPECT_EQ(model->ir_version, 8);
  EXPECT_EQ(model->opset(""), 13);
  EXPECT_EQ(model->producer_name, "unit");
  EXPECT_EQ(model->producer_version, "1.0");
  EXPECT_EQ(model->domain, "org.example");
  EXPECT_EQ(model->model_version, 7);
  EXPECT_EQ(model->doc_string, "model doc");
  EXPECT_EQ(model->source, "model.onnx");
  ASSERT_EQ(model->metadata.size(), 1u);
  EXPECT_EQ(model->metadata[0].first, "author");
  EXPECT_EQ(model->metadata[0].second, "ferry");

  ir::Graph& g = model->graph();
  EXPECT_EQ(g.name(), "main");
  EXPECT_EQ(g.doc_string, "graph doc");
  ASSERT_EQ(g.inputs().size(), 1u);
  ASSERT_EQ(g.outputs().size(), 1u);
  const ir::Value* x = g.inputs()[0];
  EXPECT_EQ(x->name(), "x");
  EXPECT_EQ(x->dtype(), DataType::kFloat);
  ASSERT_EQ(x->shape().rank(), 2u);
  EXPECT_EQ(x->shape().dims[0].symbol_name(), "N");
  EXPECT_EQ(x->shape().dims[1], ir::Dim(4));

  auto nodes = g.nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0]->op_type(), "Relu");
  EXPECT_EQ(nodes[0]->name(), "relu1");
  EXPECT_EQ(nodes[0]->doc_string, "relu doc");
  EXPECT_EQ(nodes[1]->op_type(), "Add");
  EXPECT_EQ(nodes[1]->input(0), nodes[0]->output(0));
  const ir::Value* w = nodes[1]->input(1);
  ASSERT_TRUE(w->is_initializer());
  EXPECT_EQ(w->initializer().span<float>()[3], 4.0f);
  EXPECT_EQ(g.outputs()[0], nodes[1]->output(0));
}

TEST(OnnxImport, AiOnnxDomainIsNormalised) {
  onnx::ModelProto m = small_model();
  m.mutable_opset_import(0)->set_domain("ai.onnx");
  m.mutable_graph()->mutable_node(0)->set_domain("ai.onnx");
  auto model = load(m);
  EXPECT_EQ(model->opset(""), 13);
  EXPECT_EQ(model->opset_imports.count("ai.onnx"), 0u);
  EXPECT_EQ(model->graph().nodes()[0]->domain(), "");
}

TEST(OnnxImport, UnnamedDimsGetFreshSymbolsThatDoNotCollide) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {std::string("unk__0"), std::string(""), int64_t{3}});
  add_node(g, "Relu", {"x"}, {"y"});
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {std::string(""), std::string(""), int64_t{3}});
  auto model = load(m);
  const auto& xs = model->graph().inputs()[0]->shape();
  const auto& ys = model->graph().outputs()[0]->shape();
  EXPECT_EQ(xs.dims[0].symbol_name(), "unk__0");
  EXPECT_TRUE(xs.dims[1].is_symbolic());
  EXPECT_NE(xs.dims[1].symbol_name(), "unk__0");
  EXPECT_TRUE(ys.dims[0].is_symbolic());
  EXPECT_NE(ys.dims[0], ys.dims[1]);
  EXPECT_NE(ys.dims[0], xs.dims[1]);
}

TEST(OnnxImport, TypesOfEveryKind) {
  onnx::ModelProto m = new_model(18);
  auto* g = m.mutable_graph();
  auto* seq = g->add_input();
  seq->set_name("s");
  set_tensor_type(seq->mutable_type()->mutable_sequence_type()->mutable_elem_type(), onnx::TensorProto::INT64, {});
  auto* opt = g->add_input();
  opt->set_name("o");
  set_tensor_type(opt->mutable_type()->mutable_optional_type()->mutable_elem_type(), onnx::TensorProto::FLOAT,
                  {int64_t{2}});
  auto* unranked = g->add_input();
  unranked->set_name("u");
  set_tensor_type(unranked->mutable_type(), onnx::TensorProto::FLOAT, {}, /*ranked=*/false);
  auto* sp = g->add_input();
  sp->set_name("sp");
  sp->mutable_type()->mutable_sparse_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  add_node(g, "SequenceLength", {"s"}, {"n"});
  add_vi(g->mutable_output(), "n", onnx::TensorProto::INT64, {});
  auto model = load(m);
  const auto& in = model->graph().inputs();
  ASSERT_EQ(in.size(), 4u);
  EXPECT_EQ(in[0]->type().to_string(), "seq(tensor(int64))");
  EXPECT_EQ(in[1]->type().to_string(), "optional(tensor(float))");
  EXPECT_EQ(in[1]->type().inner->shape.dims[0], ir::Dim(2));
  EXPECT_FALSE(in[2]->shape().has_rank);
  EXPECT_EQ(in[3]->type().kind, ir::Type::Kind::kSparseTensor);
  EXPECT_TRUE(model->graph().outputs()[0]->shape().has_rank);
  EXPECT_EQ(model->graph().outputs()[0]->shape().rank(), 0u);
}

TEST(OnnxImport, ValueInfoTypesIntermediates) {
  onnx::ModelProto m = small_model();
  add_vi(m.mutable_graph()->mutable_value_info(), "r", onnx::TensorProto::FLOAT, {std::string("N"), int64_t{4}});
  add_vi(m.mutable_graph()->mutable_value_info(), "stale", onnx::TensorProto::FLOAT, {});
  auto model = load(m);
  const ir::Value* r = model->graph().find_value("r");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->dtype(), DataType::kFloat);
  EXPECT_EQ(r->shape().dims[0].symbol_name(), "N");
}

TEST(OnnxImport, EveryAttributeType) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{1}});
  auto* n = add_node(g, "CustomOp", {"x"}, {"y"}, "custom", "com.example");
  auto* op = m.add_opset_import();
  op->set_domain("com.example");
  op->set_version(1);
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{1}});

  add_float_attr(n, "f", 1.5f);
  add_int_attr(n, "i", -3);
  auto* a = n->add_attribute();
  a->set_name("s"), a->set_type(onnx::AttributeProto::STRING), a->set_s(std::string("a\0b", 3));
  a = n->add_attribute();
  a->set_name("t"), a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  a->mutable_t()->add_dims(2);
  a->mutable_t()->add_int64_data(5), a->mutable_t()->add_int64_data(6);
  a = add_graph_attr(n, "g");
  a->mutable_g()->set_name("body");
  add_node(a->mutable_g(), "Identity", {"x"}, {"gy"});
  add_vi(a->mutable_g()->mutable_output(), "gy", onnx::TensorProto::FLOAT, {int64_t{1}});
  a = n->add_attribute();
  a->set_name("fs"), a->set_type(onnx::AttributeProto::FLOATS), a->add_floats(1), a->add_floats(2);
  a = n->add_attribute();
  a->set_name("is"), a->set_type(onnx::AttributeProto::INTS), a->add_ints(7), a->add_ints(-8);
  a = n->add_attribute();
  a->set_name("ss"), a->set_type(onnx::AttributeProto::STRINGS), a->add_strings("p"), a->add_strings("q");
  a = n->add_attribute();
  a->set_name("ts"), a->set_type(onnx::AttributeProto::TENSORS);
  auto* t0 = a->add_tensors();
  t0->set_data_type(onnx::TensorProto::FLOAT), t0->add_float_data(9);
  a = n->add_attribute();
  a->set_name("gs"), a->set_type(onnx::AttributeProto::GRAPHS);
  a->add_graphs()->set_name("g0");
  a->add_graphs()->set_name("g1");
  a = n->add_attribute();
  a->set_name("sp"), a->set_type(onnx::AttributeProto::SPARSE_TENSOR);
  auto* sp = a->mutable_sparse_tensor();
  sp->add_dims(4);
  sp->mutable_values()->set_data_type(onnx::TensorProto::FLOAT);
  sp->mutable_values()->add_dims(1);
  sp->mutable_values()->add_float_data(3.5f);
  sp->mutable_indices()->set_data_type(onnx::TensorProto::INT64);
  sp->mutable_indices()->add_dims(1);
  sp->mutable_indices()->add_int64_data(2);
  a = n->add_attribute();
  a->set_name("sps"), a->set_type(onnx::AttributeProto::SPARSE_TENSORS);
  *a->add_sparse_tensors() = *sp;
  a = n->add_attribute();
  a->set_name("tp"), a->set_type(onnx::AttributeProto::TYPE_PROTO);
  set_tensor_type(a->mutable_tp(), onnx::TensorProto::INT8, {int64_t{3}});
  a = n->add_attribute();
  a->set_name("tps"), a->set_type(onnx::AttributeProto::TYPE_PROTOS);
  set_tensor_type(a->add_type_protos(), onnx::TensorProto::BOOL, {});
  set_tensor_type(a->add_type_protos(), onnx::TensorProto::UINT8, {});

  auto model = load(m);
  const ir::Node* node = model->graph().nodes()[0];
  EXPECT_EQ(node->domain(), "com.example");
  auto find = [&](const char* name) {
    const ir::Attribute* a = node->find_attribute(name);
    EXPECT_NE(a, nullptr) << name;
    return a;
  };
  EXPECT_EQ(find("f")->type, ir::AttributeType::kFloat);
  EXPECT_EQ(find("f")->f, 1.5f);
  EXPECT_EQ(find("i")->i, -3);
  EXPECT_EQ(find("s")->s, std::string("a\0b", 3));
  EXPECT_EQ(find("t")->t.span<int64_t>()[1], 6);
  ASSERT_TRUE(find("g")->g);
  EXPECT_EQ(find("g")->g->parent(), &model->graph());
  EXPECT_EQ(find("g")->g->nodes()[0]->input(0), model->graph().inputs()[0]);  // outer scope
  EXPECT_EQ(find("fs")->floats, (std::vector<float>{1, 2}));
  EXPECT_EQ(find("is")->ints, (std::vector<int64_t>{7, -8}));
  EXPECT_EQ(find("ss")->strings, (std::vector<std::string>{"p", "q"}));
  ASSERT_EQ(find("ts")->tensors.size(), 1u);
  EXPECT_EQ(find("ts")->tensors[0].span<float>()[0], 9.0f);
  ASSERT_EQ(find("gs")->graphs.size(), 2u);
  EXPECT_EQ(find("gs")->graphs[1]->name(), "g1");
  EXPECT_EQ(find("sp")->sparse.to_dense().span<float>()[2], 3.5f);
  EXPECT_EQ(find("sps")->sparse_tensors.size(), 1u);
  EXPECT_EQ(find("tp")->tp.to_string(), "tensor(int8)");
  ASSERT_EQ(find("tps")->tps.size(), 2u);
  EXPECT_EQ(find("tps")->tps[1].elem, DataType::kUInt8);
}

TEST(OnnxImport, NodesOutOfOrderAreSorted) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_node(g, "Neg", {"b"}, {"y"}, "last");
  add_node(g, "Relu", {"a"}, {"b"}, "middle");
  add_node(g, "Abs", {"x"}, {"a"}, "first");
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto model = load(m);
  auto nodes = model->graph().nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0]->name(), "first");
  EXPECT_EQ(nodes[1]->name(), "middle");
  EXPECT_EQ(nodes[2]->name(), "last");
}

TEST(OnnxImport, OptionalInputsAndOutputsStayEmpty) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  add_node(g, "Clip", {"x", "", "hi"}, {"y"});
  auto* hi = g->add_initializer();
  hi->set_name("hi"), hi->set_data_type(onnx::TensorProto::FLOAT), hi->add_float_data(6);
  add_node(g, "Dropout", {"y"}, {"z", ""});
  add_vi(g->mutable_output(), "z", onnx::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  auto model = load(m);
  auto nodes = model->graph().nodes();
  EXPECT_EQ(nodes[0]->inputs().size(), 3u);
  EXPECT_EQ(nodes[0]->input(1), nullptr);
  EXPECT_EQ(nodes[0]->input(2)->name(), "hi");
  EXPECT_EQ(nodes[1]->outputs().size(), 2u);
  EXPECT_EQ(nodes[1]->output(1), nullptr);
}

TEST(OnnxImport, IrVersion3InitializersListedAsInputs) {
  onnx::ModelProto m = small_model();
  m.set_ir_version(3);
  m.mutable_opset_import(0)->set_version(8);
  add_vi(m.mutable_graph()->mutable_input(), "W", onnx::TensorProto::FLOAT, {int64_t{4}});
  auto model = load(m);
  const ir::Value* w = model->graph().find_value("W");
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->is_initializer());
  EXPECT_TRUE(w->is_graph_input());
  EXPECT_EQ(model->graph().inputs().size(), 2u);
}

TEST(OnnxImport, EveryOpsetFrom7ToNewestLoads) {
  const int64_t newest = ir::newest_opset("");
  ASSERT_GE(newest, 7);
  for (int64_t v = 7; v <= newest; ++v) {
    onnx::ModelProto m = small_model();
    m.mutable_opset_import(0)->set_version(v);
    EXPECT_NO_THROW(load(m)) << "opset " << v;
  }
}

TEST(OnnxImport, OpsetOutOfRangeIsRejected) {
  onnx::ModelProto m = small_model();
  m.mutable_opset_import(0)->set_version(ir::newest_opset("") + 1);
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_TRUE(contains(e.what(), "model.onnx: ai.onnx opset " + std::to_string(ir::newest_opset("") + 1)))
      << e.what();
}

TEST(OnnxImport, OldOpsetWhoseOpChangedBefore7IsRejectedNamingNodeOpAndVersions) {
  onnx::ModelProto m = small_model();  // Add: version 6 at opset 6, version 7 at opset 7
  m.mutable_opset_import(0)->set_version(6);
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_TRUE(contains(e.what(), "(Add): ai.onnx opset 6 is older than Ferry reads")) << e.what();
  EXPECT_TRUE(contains(e.what(), "version 6 is in force at opset 6, version 7 at opset 7")) << e.what();
}

TEST(OnnxImport, OldOpsetWhoseOpsAreUnchangedAt7IsReadAsOpset7) {
  onnx::ModelProto m = new_model(1);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::BOOL, {int64_t{3}});
  add_node(g, "Not", {"x"}, {"y"});  // version 1 at opsets 1 and 7
  add_vi(g->mutable_output(), "y", onnx::TensorProto::BOOL, {int64_t{3}});
  auto model = load(m);
  EXPECT_EQ(model->opset(""), 7);
}

TEST(OnnxImport, IrVersionOutOfRangeIsRejected) {
  onnx::ModelProto m = small_model();
  m.set_ir_version(2);
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_TRUE(contains(e.what(), "ir_version 2 is not supported")) << e.what();
  m.set_ir_version(onnx::Version::IR_VERSION + 1);
  e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kNotImplemented);
  EXPECT_TRUE(contains(e.what(), "newer than this build knows")) << e.what();
  m.set_ir_version(onnx::Version::IR_VERSION);
  EXPECT_NO_THROW(load(m));
}

TEST(OnnxImport, UndefinedInputNamesNodeIndexAndName) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{1}, int64_t{3}, int64_t{8}, int64_t{8}});
  add_node(g, "Conv", {"x", "W"}, {"y"}, "conv1");
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {});
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_EQ(std::string(e.what()),
            "model.onnx: node 'conv1' (Conv): input 1 'W' is not defined by any graph input, initializer or "
            "earlier node");
}

TEST(OnnxImport, CycleIsAnErrorNamingTheNodes) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_node(g, "Add", {"x", "b"}, {"a"}, "first");
  add_node(g, "Relu", {"a"}, {"b"}, "second");
  add_vi(g->mutable_output(), "b", onnx::TensorProto::FLOAT, {int64_t{2}});
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "model.onnx: ")) << e.what();
  EXPECT_TRUE(contains(e.what(), "cycle")) << e.what();
  EXPECT_TRUE(contains(e.what(), "first")) << e.what();
  EXPECT_TRUE(contains(e.what(), "second")) << e.what();
}

TEST(OnnxImport, DuplicateDefinitionIsRejected) {
  onnx::ModelProto m = small_model();
  add_node(m.mutable_graph(), "Neg", {"x"}, {"r"}, "again");
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "'r'")) << e.what();
}

TEST(OnnxImport, DuplicateAttributeIsRejected) {
  onnx::ModelProto m = small_model();
  add_int_attr(m.mutable_graph()->mutable_node(0), "k", 1);
  add_int_attr(m.mutable_graph()->mutable_node(0), "k", 2);
  Error e = load_error(m);
  EXPECT_TRUE(contains(e.what(), "node 'relu1' (Relu): attribute 'k' is given more than once")) << e.what();
}

TEST(OnnxImport, UnknownGraphOutputIsRejected) {
  onnx::ModelProto m = small_model();
  add_vi(m.mutable_graph()->mutable_output(), "nowhere", onnx::TensorProto::FLOAT, {});
  Error e = load_error(m);
  EXPECT_TRUE(contains(e.what(), "graph output 'nowhere'")) << e.what();
}

TEST(OnnxImport, UndeclaredDomainIsRejected) {
  onnx::ModelProto m = small_model();
  m.mutable_graph()->mutable_node(0)->set_domain("com.unknown");
  Error e = load_error(m);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "node 'relu1' (com.unknown.Relu): uses domain 'com.unknown'")) << e.what();
}

TEST(OnnxImport, UnknownElementTypeInValueInfoIsRejected) {
  onnx::ModelProto m = small_model();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(99);
  Error e = load_error(m);
  EXPECT_TRUE(contains(e.what(), "graph input 'x': unknown element type 99")) << e.what();
}

TEST(OnnxImport, EmptyBytesAreOneClearError) {
  Error e = load_bytes_error("");
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "model.onnx: not a valid ONNX model")) << e.what();
}

TEST(OnnxImport, TruncatedModelIsOneClearError) {
  std::string bytes = bytes_of(small_model());
  for (size_t keep : {bytes.size() - 1, bytes.size() / 2, size_t{3}, size_t{1}}) {
    Error e = load_bytes_error(bytes.substr(0, keep));
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << keep;
    EXPECT_TRUE(contains(e.what(), "model.onnx: ")) << e.what();
  }
}

TEST(OnnxImport, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes(1 + rng() % 2000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    try {
      load_model_from_bytes(bytes.data(), bytes.size(), "model.onnx");
      ADD_FAILURE() << "random bytes loaded as a model (trial " << trial << ")";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
      EXPECT_TRUE(contains(e.what(), "model.onnx: ")) << e.what();
    }
  }
}

TEST(OnnxImport, RandomlyCorruptedModelNeverCrashes) {
  const std::string good = bytes_of(small_model());
  std::mt19937 rng(99);
  for (int trial = 0; trial < 500; ++trial) {
    std::string bytes = good;
    for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    try {
      load_model_from_bytes(bytes.data(), bytes.size(), "model.onnx");
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "model.onnx: ")) << e.what();
    }
  }
}

TEST(OnnxImport, FileErrors) {
  TempDir dir;
  write_file(dir.file("empty.onnx"), "");
  try {
    load_model(dir.file("empty.onnx"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_TRUE(contains(e.what(), dir.file("empty.onnx") + ": not a valid ONNX model")) << e.what();
  }
  try {
    load_model(dir.file("missing.onnx"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIO);
    EXPECT_TRUE(contains(e.what(), "missing.onnx")) << e.what();
  }
  std::string bytes = bytes_of(small_model());
  write_file(dir.file("trunc.onnx"), bytes.substr(0, bytes.size() - 5));
  try {
    load_model(dir.file("trunc.onnx"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_TRUE(contains(e.what(), "trunc.onnx: not a valid ONNX model (protobuf parse failed")) << e.what();
  }
  write_file(dir.file("good.onnx"), bytes);
  auto model = load_model(dir.file("good.onnx"));
  EXPECT_EQ(model->source, dir.file("good.onnx"));
  EXPECT_EQ(model->graph().node_count(), 2u);
}

}  // namespace
}  // namespace ferry::onnx_import::testing
