// onnx_import: export, load -> save -> load equality, external data on save, and the real
// onnx.checker (full check) over exported models.

#include "ir/printer.h"
#include "test_onnx_import_util.h"

namespace ferry::onnx_import::testing {
namespace {

onnx::TensorProto* add_init(onnx::GraphProto* g, const std::string& name, int dtype, std::vector<int64_t> dims) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(dtype);
  for (int64_t d : dims) t->add_dims(d);
  return t;
}

onnx::SparseTensorProto* add_sparse_init(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
                                         std::vector<int64_t> linear_idx, std::vector<float> values) {
  auto* sp = g->add_sparse_initializer();
  for (int64_t d : dims) sp->add_dims(d);
  auto* v = sp->mutable_values();
  v->set_name(name);
  v->set_data_type(onnx::TensorProto::FLOAT);
  v->add_dims(static_cast<int64_t>(values.size()));
  for (float f : values) v->add_float_data(f);
  auto* i = sp->mutable_indices();
  i->set_data_type(onnx::TensorProto::INT64);
  i->add_dims(static_cast<int64_t>(linear_idx.size()));
  for (int64_t k : linear_idx) i->add_int64_data(k);
  return sp;
}

/// Conv -> Relu -> MaxPool -> Flatten -> Gemm, with symbolic batch.
onnx::ModelProto cnn_model() {
  onnx::ModelProto m = new_model(17, 8);
  m.set_producer_name("ferry-test");
  m.set_producer_version("0.1");
  m.set_model_version(3);
  m.set_doc_string("a small CNN");
  auto* kv = m.add_metadata_props();
  kv->set_key("license"), kv->set_value("MIT");
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT,
         {std::string("N"), int64_t{3}, int64_t{8}, int64_t{8}});
  std::vector<float> w(4 * 3 * 3 * 3), b(4), fc(64 * 10), fcb(10);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 17) - 0.05f;
  for (size_t i = 0; i < fc.size(); ++i) fc[i] = 0.001f * static_cast<float>(i % 31);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i);
  add_float_init(g, "conv.W", {4, 3, 3, 3}, w);
  add_float_init(g, "conv.B", {4}, b);
  add_float_init(g, "fc.W", {64, 10}, fc);
  add_float_init(g, "fc.B", {10}, fcb);
  auto* conv = add_node(g, "Conv", {"x", "conv.W", "conv.B"}, {"c"}, "conv1");
  auto* pads = conv->add_attribute();
  pads->set_name("pads"), pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  add_node(g, "Relu", {"c"}, {"r"}, "relu1");
  auto* pool = add_node(g, "MaxPool", {"r"}, {"p"}, "pool1");
  auto* ks = pool->add_attribute();
  ks->set_name("kernel_shape"), ks->set_type(onnx::AttributeProto::INTS), ks->add_ints(2), ks->add_ints(2);
  auto* st = pool->add_attribute();
  st->set_name("strides"), st->set_type(onnx::AttributeProto::INTS), st->add_ints(2), st->add_ints(2);
  add_node(g, "Flatten", {"p"}, {"f"}, "flatten1");
  add_node(g, "Gemm", {"f", "fc.W", "fc.B"}, {"y"}, "fc1");
  add_vi(g->mutable_value_info(), "c", onnx::TensorProto::FLOAT,
         {std::string("N"), int64_t{4}, int64_t{8}, int64_t{8}});
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {std::string("N"), int64_t{10}});
  return m;
}

/// If whose branches read outer-scope values; Loop with a body reading an outer initializer.
onnx::ModelProto control_flow_model() {
  onnx::ModelProto m = new_model(16, 8);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "cond", onnx::TensorProto::BOOL, {});
  add_vi(g->mutable_input(), "n", onnx::TensorProto::INT64, {});
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_float_init(g, "step", {2}, {0.5f, 1.5f});
  auto* iff = add_node(g, "If", {"cond"}, {"y"}, "if1");
  auto* then_g = add_graph_attr(iff, "then_branch")->mutable_g();
  then_g->set_name("then");
  add_node(then_g, "Mul", {"sq", "x"}, {"t"}, "uses_outer");
  add_vi(then_g->mutable_output(), "t", onnx::TensorProto::FLOAT, {int64_t{2}});
  auto* else_g = add_graph_attr(iff, "else_branch")->mutable_g();
  else_g->set_name("else");
  add_node(else_g, "Identity", {"sq"}, {"e"});
  add_vi(else_g->mutable_output(), "e", onnx::TensorProto::FLOAT, {int64_t{2}});
  add_node(g, "Mul", {"x", "x"}, {"sq"}, "square");  // after its implicit consumer
  auto* loop = add_node(g, "Loop", {"n", "", "y"}, {"acc_out"}, "loop1");
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
  return m;
}

/// float16 initializer (int32_data bits), sparse initializer, string and int8 initializers.
onnx::ModelProto mixed_initializers_model() {
  onnx::ModelProto m = new_model(17, 8);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT16, {int64_t{2}, int64_t{3}});
  auto* h = add_init(g, "H", onnx::TensorProto::FLOAT16, {2, 3});
  for (int v : {0x3C00, 0x4000, 0x4200, 0xBC00, 0x0000, 0x3800}) h->add_int32_data(v);
  add_sparse_init(g, "S", {2, 3}, {1, 5}, {2.5f, -1.0f});
  auto* q = add_init(g, "Q", onnx::TensorProto::INT8, {3});
  for (int v : {-1, 0, 7}) q->add_int32_data(v);
  auto* labels = add_init(g, "labels", onnx::TensorProto::STRING, {2});
  labels->add_string_data("cat"), labels->add_string_data("dog");
  add_node(g, "Add", {"x", "H"}, {"a"});
  auto* cast = add_node(g, "Cast", {"a"}, {"af"});
  add_int_attr(cast, "to", onnx::TensorProto::FLOAT);
  // S stays unused: onnx shape inference types a sparse initializer as sparse_tensor, which no
  // standard op accepts, so a model consuming it would fail the checker before Ferry touches it.
  add_node(g, "Relu", {"af"}, {"y"});
  add_node(g, "Identity", {"Q"}, {"q_out"});
  add_node(g, "Identity", {"labels"}, {"labels_out"});
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{2}, int64_t{3}});
  add_vi(g->mutable_output(), "q_out", onnx::TensorProto::INT8, {int64_t{3}});
  add_vi(g->mutable_output(), "labels_out", onnx::TensorProto::STRING, {int64_t{2}});
  return m;
}

/// y = local.Scale(x) {factor=2}, with Scale's body using an attribute reference.
onnx::ModelProto function_model() {
  onnx::ModelProto m = new_model(17, 8);
  auto* op = m.add_opset_import();
  op->set_domain("local"), op->set_version(1);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {int64_t{4}});
  auto* call = add_node(g, "Scale", {"x"}, {"y"}, "scale1", "local");
  add_float_attr(call, "factor", 2.0f);
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {int64_t{4}});
  auto* f = m.add_functions();
  f->set_name("Scale"), f->set_domain("local");
  f->add_input("X"), f->add_output("Y"), f->add_attribute("factor");
  auto* fop = f->add_opset_import();
  fop->set_domain(""), fop->set_version(17);
  auto* c = f->add_node();
  c->set_op_type("Constant"), c->add_output("F");
  auto* a = c->add_attribute();
  a->set_name("value_float"), a->set_ref_attr_name("factor"), a->set_type(onnx::AttributeProto::FLOAT);
  auto* mul = f->add_node();
  mul->set_op_type("Mul"), mul->add_input("X"), mul->add_input("F"), mul->add_output("Y");
  return m;
}

/// Every attribute type on a custom-domain node (round-trip only; no schema to check against).
onnx::ModelProto all_attributes_model() {
  onnx::ModelProto m = new_model(17, 8);
  auto* op = m.add_opset_import();
  op->set_domain("com.example"), op->set_version(1);
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {std::string("B"), std::string("")});
  auto* n = add_node(g, "Custom", {"x"}, {"y", "z"}, "custom", "com.example");
  add_float_attr(n, "f", 0.125f);
  add_int_attr(n, "i", 1 << 20);
  auto* a = n->add_attribute();
  a->set_name("s"), a->set_type(onnx::AttributeProto::STRING), a->set_s("text");
  a = n->add_attribute();
  a->set_name("t"), a->set_type(onnx::AttributeProto::TENSOR);
  a->mutable_t()->set_data_type(onnx::TensorProto::BFLOAT16), a->mutable_t()->add_dims(2);
  a->mutable_t()->add_int32_data(0x3F80), a->mutable_t()->add_int32_data(0xC000);
  a = add_graph_attr(n, "g");
  a->mutable_g()->set_name("sub");
  add_node(a->mutable_g(), "Neg", {"x"}, {"gy"});
  add_vi(a->mutable_g()->mutable_output(), "gy", onnx::TensorProto::FLOAT, {std::string("B"), std::string("")});
  a = n->add_attribute();
  a->set_name("fs"), a->set_type(onnx::AttributeProto::FLOATS), a->add_floats(1.5f);
  a = n->add_attribute();
  a->set_name("is"), a->set_type(onnx::AttributeProto::INTS), a->add_ints(-1), a->add_ints(2);
  a = n->add_attribute();
  a->set_name("ss"), a->set_type(onnx::AttributeProto::STRINGS), a->add_strings("a"), a->add_strings("");
  a = n->add_attribute();
  a->set_name("ts"), a->set_type(onnx::AttributeProto::TENSORS);
  auto* t0 = a->add_tensors();
  t0->set_data_type(onnx::TensorProto::INT4), t0->add_dims(3), t0->set_raw_data("\x12\x03");
  a = n->add_attribute();
  a->set_name("gs"), a->set_type(onnx::AttributeProto::GRAPHS);
  auto* g0 = a->add_graphs();
  g0->set_name("g0");
  add_node(g0, "Abs", {"x"}, {"g0y"});
  add_vi(g0->mutable_output(), "g0y", onnx::TensorProto::FLOAT, {});
  a = n->add_attribute();
  a->set_name("sp"), a->set_type(onnx::AttributeProto::SPARSE_TENSOR);
  auto* sp = a->mutable_sparse_tensor();
  sp->add_dims(3);
  sp->mutable_values()->set_data_type(onnx::TensorProto::FLOAT), sp->mutable_values()->add_dims(1);
  sp->mutable_values()->add_float_data(4);
  sp->mutable_indices()->set_data_type(onnx::TensorProto::INT64), sp->mutable_indices()->add_dims(1);
  sp->mutable_indices()->add_int64_data(1);
  a = n->add_attribute();
  a->set_name("sps"), a->set_type(onnx::AttributeProto::SPARSE_TENSORS);
  *a->add_sparse_tensors() = *sp;
  a = n->add_attribute();
  a->set_name("tp"), a->set_type(onnx::AttributeProto::TYPE_PROTO);
  set_tensor_type(a->mutable_tp()->mutable_sequence_type()->mutable_elem_type(), onnx::TensorProto::INT64,
                  {std::string("K")});
  a = n->add_attribute();
  a->set_name("tps"), a->set_type(onnx::AttributeProto::TYPE_PROTOS);
  set_tensor_type(a->add_type_protos(), onnx::TensorProto::DOUBLE, {int64_t{1}});
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {std::string("B"), std::string("")});
  add_vi(g->mutable_output(), "z", onnx::TensorProto::INT64, {});
  return m;
}

/// IR version 3: initializers are listed among the graph inputs.
onnx::ModelProto ir3_model() {
  onnx::ModelProto m = small_model();
  m.set_ir_version(3);
  m.mutable_opset_import(0)->set_version(8);
  add_vi(m.mutable_graph()->mutable_input(), "W", onnx::TensorProto::FLOAT, {int64_t{4}});
  return m;
}

std::vector<std::pair<std::string, onnx::ModelProto>> all_models() {
  return {{"cnn", cnn_model()},
          {"control_flow", control_flow_model()},
          {"mixed_initializers", mixed_initializers_model()},
          {"function", function_model()},
          {"all_attributes", all_attributes_model()},
          {"ir3", ir3_model()}};
}

std::string tensor_bytes(const Tensor& t) {
  if (t.dtype() == DataType::kString) {
    std::string s;
    for (const std::string& e : t.span<std::string>()) s += std::to_string(e.size()) + ":" + e + ";";
    return s;
  }
  return std::string(static_cast<const char*>(t.raw_data()), t.byte_size());
}

void expect_same_initializers(const ir::Graph& a, const ir::Graph& b, const std::string& label) {
  auto ia = a.initializers(), ib = b.initializers();
  ASSERT_EQ(ia.size(), ib.size()) << label;
  for (const ir::Value* va : ia) {
    const ir::Value* vb = b.find_value(va->name());
    ASSERT_NE(vb, nullptr) << label << " " << va->name();
    ASSERT_TRUE(vb->is_initializer()) << label << " " << va->name();
    EXPECT_EQ(va->initializer().dtype(), vb->initializer().dtype()) << label << " " << va->name();
    EXPECT_EQ(va->initializer().shape(), vb->initializer().shape()) << label << " " << va->name();
    EXPECT_EQ(tensor_bytes(va->initializer()), tensor_bytes(vb->initializer())) << label << " " << va->name();
    EXPECT_EQ(va->sparse_origin, vb->sparse_origin) << label << " " << va->name();
  }
}

void expect_equivalent(const ir::Model& a, const ir::Model& b, const std::string& label) {
  EXPECT_EQ(ir::print_model(a), ir::print_model(b)) << label;
  EXPECT_EQ(a.ir_version, b.ir_version) << label;
  EXPECT_EQ(a.opset_imports, b.opset_imports) << label;
  EXPECT_EQ(a.metadata, b.metadata) << label;
  EXPECT_EQ(a.producer_name, b.producer_name) << label;
  EXPECT_EQ(a.producer_version, b.producer_version) << label;
  EXPECT_EQ(a.model_version, b.model_version) << label;
  EXPECT_EQ(a.doc_string, b.doc_string) << label;
  expect_same_initializers(a.graph(), b.graph(), label);
  auto na = a.graph().nodes(), nb = b.graph().nodes();
  ASSERT_EQ(na.size(), nb.size()) << label;
  for (size_t i = 0; i < na.size(); ++i) {
    EXPECT_EQ(na[i]->op_type(), nb[i]->op_type()) << label;
    EXPECT_EQ(na[i]->name(), nb[i]->name()) << label;
    ASSERT_EQ(na[i]->attributes().size(), nb[i]->attributes().size()) << label;
    for (size_t k = 0; k < na[i]->attributes().size(); ++k) {
      const ir::Attribute& x = na[i]->attributes()[k];
      const ir::Attribute& y = nb[i]->attributes()[k];
      EXPECT_EQ(x.name, y.name) << label;
      EXPECT_EQ(x.type, y.type) << label << " " << x.name;
      EXPECT_EQ(x.value_to_string(), y.value_to_string()) << label << " " << x.name;
      if (x.t.defined()) {
        EXPECT_EQ(tensor_bytes(x.t), tensor_bytes(y.t)) << label << " " << x.name;
      }
      if (x.g) {
        EXPECT_EQ(ir::print_graph(*x.g), ir::print_graph(*y.g)) << label << " " << x.name;
        expect_same_initializers(*x.g, *y.g, label + "/" + x.name);
      }
      if (x.sparse.values.defined()) {
        EXPECT_EQ(tensor_bytes(x.sparse.to_dense()), tensor_bytes(y.sparse.to_dense())) << label;
      }
      EXPECT_EQ(x.tp, y.tp) << label << " " << x.name;
    }
  }
}

TEST(OnnxRoundTrip, LoadSerializeLoadIsEquivalent) {
  for (const auto& [label, proto] : all_models()) {
    auto first = load(proto);
    std::string bytes = serialize_model(*first);
    auto second = load_model_from_bytes(bytes.data(), bytes.size(), "model.onnx");
    expect_equivalent(*first, *second, label);
    // And a third pass is byte-identical to the second: export is deterministic.
    EXPECT_EQ(serialize_model(*second), bytes) << label;
  }
}

TEST(OnnxRoundTrip, ExportWritesEveryPart) {
  auto model = load(mixed_initializers_model());
  onnx::ModelProto out;
  ASSERT_TRUE(out.ParseFromString(serialize_model(*model)));
  EXPECT_EQ(out.ir_version(), 8);
  ASSERT_EQ(out.graph().sparse_initializer_size(), 1);
  EXPECT_EQ(out.graph().sparse_initializer(0).values().name(), "S");
  EXPECT_EQ(out.graph().sparse_initializer(0).values().dims(0), 2);  // only the non-zeros
  EXPECT_EQ(out.graph().initializer_size(), 3);
  EXPECT_EQ(out.functions_size(), 0);
  // value_info for intermediates whose type is known (a and af are untyped here).
  for (const auto& vi : out.graph().value_info()) EXPECT_TRUE(vi.has_type()) << vi.name();

  // IR 3 needs every initializer among the graph inputs.
  auto small = load(small_model());
  small->ir_version = 3;
  small->opset_imports[""] = 8;
  ASSERT_TRUE(out.ParseFromString(serialize_model(*small)));
  ASSERT_EQ(out.graph().input_size(), 2);
  EXPECT_EQ(out.graph().input(1).name(), "W");
  EXPECT_EQ(out.graph().input(1).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  auto small3 = load(out);
  EXPECT_TRUE(small3->graph().find_value("W")->is_graph_input());

  auto fm = load(function_model());
  ASSERT_TRUE(out.ParseFromString(serialize_model(*fm)));
  EXPECT_EQ(out.functions_size(), 0);
  for (const auto& op : out.opset_import()) EXPECT_NE(op.domain(), "local");
  ASSERT_EQ(out.graph().node_size(), 2);
  EXPECT_EQ(out.graph().node(0).op_type(), "Constant");
  EXPECT_EQ(out.graph().node(0).attribute(0).f(), 2.0f);
}

TEST(OnnxRoundTrip, SaveWithExternalDataAndReload) {
  TempDir dir;
  auto model = load(cnn_model());
  SaveOptions opts;
  opts.external_data_threshold = 100;  // conv.W (432 B) and fc.W (2560 B) go external
  const std::string path = dir.file("cnn.onnx");
  save_model(*model, path, opts);
  ASSERT_TRUE(std::filesystem::exists(path + ".data"));
  onnx::ModelProto out;
  ASSERT_TRUE(out.ParseFromString(read_file(path)));
  int external = 0;
  for (const auto& t : out.graph().initializer()) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
    ++external;
    EXPECT_FALSE(t.has_raw_data());
    EXPECT_EQ(t.external_data(0).key(), "location");
    EXPECT_EQ(t.external_data(0).value(), "cnn.onnx.data");
  }
  EXPECT_EQ(external, 2);
  auto reloaded = load_model(path);
  expect_equivalent(*model, *reloaded, "external");

  // Without a threshold everything stays inline.
  save_model(*model, dir.file("inline.onnx"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("inline.onnx.data")));
  expect_equivalent(*model, *load_model(dir.file("inline.onnx")), "inline");
}

#ifdef FERRY_PYTHON
/// Runs the real onnx.checker with full_check on a saved model; returns the exit status.
int run_checker(const std::string& path) {
  const std::string cmd = std::string("\"") + FERRY_PYTHON +
                          "\" -c \"import onnx,sys; onnx.checker.check_model(sys.argv[1], full_check=True)\" \"" +
                          path + "\"";
  return std::system(cmd.c_str());
}

bool python_has_onnx() {
  const std::string cmd = std::string("\"") + FERRY_PYTHON + "\" -c \"import onnx\" >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}
#endif

TEST(OnnxRoundTrip, ExportedModelsPassOnnxCheckerFullCheck) {
#ifndef FERRY_PYTHON
  GTEST_SKIP() << "FERRY_PYTHON is not defined for this build, so onnx.checker cannot be run";
#else
  if (!python_has_onnx()) GTEST_SKIP() << FERRY_PYTHON << " cannot import onnx";
  TempDir dir;
  // The check itself can fail: a node reading an undefined value is refused.
  onnx::ModelProto broken = small_model();
  broken.mutable_graph()->mutable_node(1)->set_input(1, "undefined");
  write_file(dir.file("broken.onnx"), bytes_of(broken));
  ASSERT_NE(run_checker(dir.file("broken.onnx")), 0);

  for (const auto& [label, proto] : all_models()) {
    if (label == "all_attributes") continue;  // custom domain: nothing for the checker to check against
    // The originals are valid, so a failure below is the exporter's.
    const std::string original = dir.file(label + ".orig.onnx");
    write_file(original, bytes_of(proto));
    // control_flow lists a node after its consumer on purpose (import sorts; the checker would not).
    if (label != "control_flow") {
      ASSERT_EQ(run_checker(original), 0) << "test model " << label << " is itself invalid";
    }

    auto model = load(proto);
    const std::string path = dir.file(label + ".onnx");
    save_model(*model, path);
    EXPECT_EQ(run_checker(path), 0) << label;

    SaveOptions opts;
    opts.external_data_threshold = 16;
    const std::string ext = dir.file(label + ".ext.onnx");
    save_model(*model, ext, opts);
    EXPECT_EQ(run_checker(ext), 0) << label << " with external data";
  }
#endif
}

}  // namespace
}  // namespace ferry::onnx_import::testing
