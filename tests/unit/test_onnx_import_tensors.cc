// onnx_import: initializer data of every dtype, size checks, sparse initializers, external data.

#include <unistd.h>

#include "test_onnx_import_util.h"

namespace ferry::onnx_import::testing {
namespace {

/// A model whose only content is the initializer `t` (exposed as a graph output).
onnx::ModelProto model_with_initializer(const onnx::TensorProto& t) {
  onnx::ModelProto m = new_model(21, 10);
  auto* g = m.mutable_graph();
  *g->add_initializer() = t;
  add_node(g, "Identity", {t.name()}, {"out"});
  add_vi(g->mutable_output(), "out", t.data_type(), {});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  return m;
}

onnx::TensorProto tensor(const std::string& name, int dtype, std::vector<int64_t> dims) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

Tensor load_initializer(const onnx::TensorProto& t, const std::string& dir = "") {
  auto model = load(model_with_initializer(t), dir);
  const ir::Value* v = model->graph().find_value(t.name());
  EXPECT_NE(v, nullptr);
  EXPECT_TRUE(v->is_initializer());
  return v->initializer();  // shares storage; stays valid after the model goes
}

std::string tensor_bytes(const Tensor& t) {
  return std::string(static_cast<const char*>(t.raw_data()), t.byte_size());
}

TEST(OnnxImportTensors, RawDataOfEveryNonStringDtype) {
  for (int32_t code = 1; code <= kMaxDataTypeCode; ++code) {
    const auto dt = static_cast<DataType>(code);
    if (dt == DataType::kString) continue;
    const std::vector<int64_t> dims{5, 3};  // odd element count exercises sub-byte packing
    const size_t n = dtype_storage_bytes(dt, 15);
    std::string raw(n, '\0');
    for (size_t i = 0; i < n; ++i) raw[i] = static_cast<char>(i * 37 + 11);
    onnx::TensorProto t = tensor("w", code, dims);
    t.set_raw_data(raw);
    Tensor loaded = load_initializer(t);
    EXPECT_EQ(loaded.dtype(), dt) << dtype_name(dt);
    EXPECT_EQ(loaded.shape(), dims) << dtype_name(dt);
    EXPECT_EQ(tensor_bytes(loaded), raw) << dtype_name(dt);
  }
}

TEST(OnnxImportTensors, TypedFieldsOfEveryDtype) {
  {
    onnx::TensorProto t = tensor("f", onnx::TensorProto::FLOAT, {2});
    t.add_float_data(1.5f), t.add_float_data(-2);
    EXPECT_EQ(load_initializer(t).span<float>()[1], -2.0f);
  }
  {
    onnx::TensorProto t = tensor("c64", onnx::TensorProto::COMPLEX64, {1});
    t.add_float_data(1), t.add_float_data(2);
    Tensor l = load_initializer(t);
    EXPECT_EQ(l.byte_size(), 8u);
    EXPECT_EQ(static_cast<const float*>(l.raw_data())[1], 2.0f);
  }
  {
    onnx::TensorProto t = tensor("d", onnx::TensorProto::DOUBLE, {1});
    t.add_double_data(0.25);
    EXPECT_EQ(load_initializer(t).span<double>()[0], 0.25);
  }
  {
    onnx::TensorProto t = tensor("c128", onnx::TensorProto::COMPLEX128, {1});
    t.add_double_data(3), t.add_double_data(4);
    EXPECT_EQ(static_cast<const double*>(load_initializer(t).raw_data())[1], 4.0);
  }
  {
    onnx::TensorProto t = tensor("i64", onnx::TensorProto::INT64, {2});
    t.add_int64_data(-5), t.add_int64_data(int64_t{1} << 40);
    EXPECT_EQ(load_initializer(t).span<int64_t>()[1], int64_t{1} << 40);
  }
  {
    onnx::TensorProto t = tensor("u64", onnx::TensorProto::UINT64, {1});
    t.add_uint64_data(~uint64_t{0});
    EXPECT_EQ(load_initializer(t).span<uint64_t>()[0], ~uint64_t{0});
  }
  {
    onnx::TensorProto t = tensor("u32", onnx::TensorProto::UINT32, {1});
    t.add_uint64_data(4000000000u);
    EXPECT_EQ(load_initializer(t).span<uint32_t>()[0], 4000000000u);
  }
  {
    onnx::TensorProto t = tensor("i32", onnx::TensorProto::INT32, {1});
    t.add_int32_data(-7);
    EXPECT_EQ(load_initializer(t).span<int32_t>()[0], -7);
  }
  {
    onnx::TensorProto t = tensor("i16", onnx::TensorProto::INT16, {1});
    t.add_int32_data(-300);
    EXPECT_EQ(load_initializer(t).span<int16_t>()[0], -300);
  }
  for (int code : {onnx::TensorProto::UINT16, onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16}) {
    onnx::TensorProto t = tensor("h", code, {2});
    t.add_int32_data(0x3C00), t.add_int32_data(0xC000);  // 1.0 and -2.0 in float16
    Tensor l = load_initializer(t);
    EXPECT_EQ(l.byte_size(), 4u) << code;
    EXPECT_EQ(l.span<uint16_t>()[0], 0x3C00) << code;
    EXPECT_EQ(l.span<uint16_t>()[1], 0xC000) << code;
  }
  {
    onnx::TensorProto t = tensor("b", onnx::TensorProto::BOOL, {3});
    t.add_int32_data(1), t.add_int32_data(0), t.add_int32_data(1);
    EXPECT_EQ(tensor_bytes(load_initializer(t)), std::string("\1\0\1", 3));
  }
  for (int code : {onnx::TensorProto::INT8, onnx::TensorProto::UINT8, onnx::TensorProto::FLOAT8E4M3FN,
                   onnx::TensorProto::FLOAT8E4M3FNUZ, onnx::TensorProto::FLOAT8E5M2,
                   onnx::TensorProto::FLOAT8E5M2FNUZ, onnx::TensorProto::FLOAT8E8M0}) {
    onnx::TensorProto t = tensor("b8", code, {2});
    t.add_int32_data(0x7F), t.add_int32_data(0x81);
    EXPECT_EQ(tensor_bytes(load_initializer(t)), "\x7f\x81") << code;
  }
  for (int code : {onnx::TensorProto::INT4, onnx::TensorProto::UINT4, onnx::TensorProto::FLOAT4E2M1}) {
    onnx::TensorProto t = tensor("b4", code, {3});  // 3 elements -> 2 packed bytes
    t.add_int32_data(0x21), t.add_int32_data(0x03);
    Tensor l = load_initializer(t);
    EXPECT_EQ(l.element_count(), 3);
    EXPECT_EQ(tensor_bytes(l), "\x21\x03") << code;
  }
  for (int code : {onnx::TensorProto::INT2, onnx::TensorProto::UINT2}) {
    onnx::TensorProto t = tensor("b2", code, {5});  // 5 elements -> 2 packed bytes
    t.add_int32_data(0xE4), t.add_int32_data(0x01);
    EXPECT_EQ(tensor_bytes(load_initializer(t)), "\xe4\x01") << code;
  }
  {
    onnx::TensorProto t = tensor("s", onnx::TensorProto::STRING, {2});
    t.add_string_data("hello"), t.add_string_data(std::string("\0x", 2));
    Tensor l = load_initializer(t);
    EXPECT_EQ(l.span<std::string>()[0], "hello");
    EXPECT_EQ(l.span<std::string>()[1], std::string("\0x", 2));
  }
  {
    onnx::TensorProto t = tensor("empty", onnx::TensorProto::FLOAT, {0, 3});
    EXPECT_EQ(load_initializer(t).element_count(), 0);
  }
  {
    onnx::TensorProto t = tensor("scalar", onnx::TensorProto::INT64, {});
    t.add_int64_data(42);
    Tensor l = load_initializer(t);
    EXPECT_EQ(l.rank(), 0u);
    EXPECT_EQ(l.span<int64_t>()[0], 42);
  }
}

TEST(OnnxImportTensors, DeclaredSizeDisagreesWithRawData) {
  onnx::TensorProto t = tensor("W", onnx::TensorProto::FLOAT, {2, 3});
  t.set_raw_data(std::string(20, '\0'));
  Error e = load_error(model_with_initializer(t));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "model.onnx: ")) << e.what();
  EXPECT_TRUE(contains(e.what(), "tensor 'W': declared shape [2,3] of float needs 24 bytes but raw_data holds 20"))
      << e.what();
}

TEST(OnnxImportTensors, DeclaredSizeDisagreesWithTypedField) {
  onnx::TensorProto t = tensor("B", onnx::TensorProto::INT64, {3});
  t.add_int64_data(1), t.add_int64_data(2);
  Error e = load_error(model_with_initializer(t));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "tensor 'B': declared shape [3] of int64 needs 3 entries in int64_data but it holds 2"))
      << e.what();
  onnx::TensorProto nodata = tensor("C", onnx::TensorProto::FLOAT, {4});
  e = load_error(model_with_initializer(nodata));
  EXPECT_TRUE(contains(e.what(), "tensor 'C'")) << e.what();
}

TEST(OnnxImportTensors, HugeDimIsRejectedBeforeAllocating) {
  onnx::TensorProto t = tensor("big", onnx::TensorProto::FLOAT, {int64_t{1} << 62});
  t.set_raw_data(std::string(4, '\0'));
  Error e = load_error(model_with_initializer(t));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "tensor 'big'")) << e.what();
  EXPECT_TRUE(contains(e.what(), "[4611686018427387904]")) << e.what();

  onnx::TensorProto t2 = tensor("big2", onnx::TensorProto::FLOAT, {int64_t{1} << 40, int64_t{1} << 40});
  e = load_error(model_with_initializer(t2));
  EXPECT_TRUE(contains(e.what(), "more elements than fit in int64")) << e.what();

  onnx::TensorProto t3 = tensor("big3", onnx::TensorProto::DOUBLE, {int64_t{1} << 61});
  e = load_error(model_with_initializer(t3));
  EXPECT_TRUE(contains(e.what(), "tensor 'big3'")) << e.what();
}

TEST(OnnxImportTensors, NegativeDimIsRejected) {
  onnx::TensorProto t = tensor("neg", onnx::TensorProto::FLOAT, {2, -1});
  Error e = load_error(model_with_initializer(t));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "tensor 'neg': negative dim -1 in shape [2,-1]")) << e.what();
}

TEST(OnnxImportTensors, UnknownDataTypeIsRejected) {
  for (int code : {0, 27, 99, -1}) {
    onnx::TensorProto t = tensor("odd", code, {1});
    t.set_raw_data(std::string(4, '\0'));
    Error e = load_error(model_with_initializer(t));
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << code;
    EXPECT_TRUE(contains(e.what(), "tensor 'odd': unknown data_type " + std::to_string(code))) << e.what();
  }
}

TEST(OnnxImportTensors, StringsInRawDataAreRejected) {
  onnx::TensorProto t = tensor("s", onnx::TensorProto::STRING, {1});
  t.set_raw_data("abc");
  Error e = load_error(model_with_initializer(t));
  EXPECT_TRUE(contains(e.what(), "string_data")) << e.what();
}

onnx::ModelProto model_with_sparse(const onnx::SparseTensorProto& sp) {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  *g->add_sparse_initializer() = sp;
  add_node(g, "Identity", {sp.values().name()}, {"out"});
  add_vi(g->mutable_output(), "out", sp.values().data_type(), {});
  return m;
}

TEST(OnnxImportTensors, SparseInitializerIsDensified) {
  onnx::SparseTensorProto sp;
  sp.add_dims(2), sp.add_dims(3);
  *sp.mutable_values() = tensor("S", onnx::TensorProto::FLOAT, {2});
  sp.mutable_values()->add_float_data(5), sp.mutable_values()->add_float_data(7);
  *sp.mutable_indices() = tensor("", onnx::TensorProto::INT64, {2, 2});
  for (int64_t i : {0, 1, 1, 2}) sp.mutable_indices()->add_int64_data(i);  // (0,1) and (1,2)
  auto model = load(model_with_sparse(sp));
  const ir::Value* s = model->graph().find_value("S");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->sparse_origin);
  EXPECT_EQ(s->initializer().shape(), (std::vector<int64_t>{2, 3}));
  std::vector<float> dense(s->initializer().span<float>().begin(), s->initializer().span<float>().end());
  EXPECT_EQ(dense, (std::vector<float>{0, 5, 0, 0, 0, 7}));

  // Linearised indices.
  *sp.mutable_indices() = tensor("", onnx::TensorProto::INT64, {2});
  sp.mutable_indices()->add_int64_data(0), sp.mutable_indices()->add_int64_data(5);
  model = load(model_with_sparse(sp));
  EXPECT_EQ(model->graph().find_value("S")->initializer().span<float>()[5], 7.0f);
}

TEST(OnnxImportTensors, SparseIndexOutOfRangeIsRejected) {
  onnx::SparseTensorProto sp;
  sp.add_dims(4);
  *sp.mutable_values() = tensor("S", onnx::TensorProto::FLOAT, {1});
  sp.mutable_values()->add_float_data(1);
  *sp.mutable_indices() = tensor("", onnx::TensorProto::INT64, {1});
  sp.mutable_indices()->add_int64_data(9);
  Error e = load_error(model_with_sparse(sp));
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "sparse initializer 'S'")) << e.what();
}

// ---- external data ----

struct ExternalCase {
  TempDir dir;
  std::string model_path;

  /// Writes `data_bytes` to dir/data_name and a model with initializer "W" (float[dims]) at
  /// location/offset/length (length omitted when < 0).
  void write(const std::string& location, int64_t offset, int64_t length, std::vector<int64_t> dims,
             const std::string& data_name = "", const std::string& data_bytes = "") {
    if (!data_name.empty()) write_file(dir.file(data_name), data_bytes);
    onnx::TensorProto t = tensor("W", onnx::TensorProto::FLOAT, dims);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* kv = t.add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    };
    add("location", location);
    add("offset", std::to_string(offset));
    if (length >= 0) add("length", std::to_string(length));
    model_path = dir.file("model.onnx");
    write_file(model_path, bytes_of(model_with_initializer(t)));
  }

  Error error() {
    try {
      load_model(model_path);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "expected a ferry::Error";
    return Error(ErrorCode::kRuntime, "none");
  }
};

std::string floats_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

TEST(OnnxImportExternal, HappyPathIsMappedAndShared) {
  TempDir dir;
  std::string data = floats_bytes({1, 2, 3, 4}) + std::string(48, '\0') + floats_bytes({5, 6});
  write_file(dir.file("weights.bin"), data);
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  auto add_ext = [&](const std::string& name, int64_t n, int64_t offset) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(n);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"location", "weights.bin"}, {"offset", std::to_string(offset)}, {"length", std::to_string(n * 4)},
             {"checksum", "ignored"}}) {
      auto* kv = t->add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    }
  };
  add_ext("A", 4, 0);
  add_ext("B", 2, 64);
  add_node(g, "Identity", {"A"}, {"a"});
  add_node(g, "Identity", {"B"}, {"b"});
  add_vi(g->mutable_output(), "a", onnx::TensorProto::FLOAT, {int64_t{4}});
  add_vi(g->mutable_output(), "b", onnx::TensorProto::FLOAT, {int64_t{2}});
  write_file(dir.file("model.onnx"), bytes_of(m));

  Tensor a, b;
  {
    auto model = load_model(dir.file("model.onnx"));
    a = model->graph().find_value("A")->initializer();
    b = model->graph().find_value("B")->initializer();
    EXPECT_EQ(model->directory, dir.path());
  }
  // The mapping outlives the model through the tensors.
  EXPECT_EQ(a.span<float>()[3], 4.0f);
  EXPECT_EQ(b.span<float>()[1], 6.0f);
  EXPECT_FALSE(a.is_borrowed());
  const char* base = static_cast<const char*>(a.raw_data());
  EXPECT_EQ(static_cast<const char*>(b.raw_data()) - base, 64);  // same mapping, not copies

  // From bytes: only with a directory.
  std::string bytes = bytes_of(m);
  auto model = load_model_from_bytes(bytes.data(), bytes.size(), "<bytes>", dir.path());
  EXPECT_EQ(model->graph().find_value("B")->initializer().span<float>()[0], 5.0f);
  try {
    load_model_from_bytes(bytes.data(), bytes.size());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_TRUE(contains(e.what(), "<bytes>: ")) << e.what();
    EXPECT_TRUE(contains(e.what(), "without a directory")) << e.what();
  }
}

TEST(OnnxImportExternal, LengthMayBeOmitted) {
  ExternalCase c;
  c.write("w.bin", 4, -1, {2}, "w.bin", floats_bytes({9, 1, 2}));
  auto model = load_model(c.model_path);
  EXPECT_EQ(model->graph().find_value("W")->initializer().span<float>()[1], 2.0f);
}

TEST(OnnxImportExternal, SubdirectoryIsAllowed) {
  ExternalCase c;
  std::filesystem::create_directory(c.dir.file("sub"));
  c.write("sub/w.bin", 0, 8, {2}, "sub/w.bin", floats_bytes({1, 2}));
  EXPECT_NO_THROW(load_model(c.model_path));
}

TEST(OnnxImportExternal, AbsolutePathIsRejected) {
  ExternalCase c;
  write_file(c.dir.file("w.bin"), floats_bytes({1, 2}));
  c.write(c.dir.file("w.bin"), 0, 8, {2});
  Error e = c.error();
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), c.model_path + ": ")) << e.what();
  EXPECT_TRUE(contains(e.what(), "tensor 'W'")) << e.what();
  EXPECT_TRUE(contains(e.what(), "absolute path")) << e.what();
}

TEST(OnnxImportExternal, DotDotIsRejected) {
  ExternalCase c;
  for (const char* loc : {"../x", "sub/../../x", "..", "sub/.."}) {
    c.write(loc, 0, 8, {2});
    Error e = c.error();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << loc;
    EXPECT_TRUE(contains(e.what(), "contains '..'")) << e.what();
  }
}

TEST(OnnxImportExternal, SymlinkEscapingIsRejected) {
  TempDir outside;
  write_file(outside.file("secret.bin"), floats_bytes({1, 2}));
  ExternalCase c;
  std::filesystem::create_symlink(outside.file("secret.bin"), c.dir.file("link.bin"));
  c.write("link.bin", 0, 8, {2});
  Error e = c.error();
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "outside the model's directory")) << e.what();

  std::filesystem::create_directory_symlink(outside.path(), c.dir.file("linkdir"));
  c.write("linkdir/secret.bin", 0, 8, {2});
  e = c.error();
  EXPECT_TRUE(contains(e.what(), "outside the model's directory")) << e.what();

  // A symlink that stays inside is fine.
  write_file(c.dir.file("real.bin"), floats_bytes({3, 4}));
  std::filesystem::create_symlink("real.bin", c.dir.file("inside.bin"));
  c.write("inside.bin", 0, 8, {2});
  EXPECT_NO_THROW(load_model(c.model_path));
}

TEST(OnnxImportExternal, OffsetOrLengthOutsideTheFileIsRejected) {
  ExternalCase c;
  c.write("w.bin", 100, 8, {2}, "w.bin", floats_bytes({1, 2, 3}));
  Error e = c.error();
  EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
  EXPECT_TRUE(contains(e.what(), "offset 100 is past the end")) << e.what();

  c.write("w.bin", 8, 8, {2});
  e = c.error();
  EXPECT_TRUE(contains(e.what(), "offset 8 + length 8 lies outside 'w.bin' (12 bytes)")) << e.what();

  c.write("w.bin", 0, 12, {2});
  e = c.error();
  EXPECT_TRUE(contains(e.what(), "needs 8 bytes but the external data holds 12")) << e.what();

  c.write("w.bin", 8, -1, {2});  // no length: the rest of the file (4 bytes) is too short
  e = c.error();
  EXPECT_TRUE(contains(e.what(), "needs 8 bytes but the external data holds 4")) << e.what();
}

TEST(OnnxImportExternal, MissingFileIsAnIOError) {
  ExternalCase c;
  c.write("nothere.bin", 0, 8, {2});
  Error e = c.error();
  EXPECT_EQ(e.code(), ErrorCode::kIO);
  EXPECT_TRUE(contains(e.what(), "tensor 'W'")) << e.what();
}

TEST(OnnxImportExternal, MalformedOffsetIsRejected) {
  ExternalCase c;
  write_file(c.dir.file("w.bin"), floats_bytes({1, 2}));
  c.write("w.bin", 0, 8, {2});
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_file(c.model_path)));
  m.mutable_graph()->mutable_initializer(0)->mutable_external_data(1)->set_value("-4");
  write_file(c.model_path, bytes_of(m));
  Error e = c.error();
  EXPECT_TRUE(contains(e.what(), "offset '-4' is not a non-negative integer")) << e.what();
}

}  // namespace
}  // namespace ferry::onnx_import::testing
