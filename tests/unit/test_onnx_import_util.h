// Helpers for the onnx_import tests: build ONNX protobuf models in C++ and load them.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <variant>
#include <vector>

#include "ferry/error.h"
#include "ir/schema.h"
#include "onnx/onnx-ml.pb.h"
#include "onnx_import/onnx_import.h"

namespace ferry::onnx_import::testing {

using DimSpec = std::variant<int64_t, std::string>;

inline void set_tensor_type(onnx::TypeProto* tp, int elem, const std::vector<DimSpec>& dims, bool ranked = true) {
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(elem);
  if (!ranked) return;
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    auto* dp = shape->add_dim();
    if (std::holds_alternative<int64_t>(d)) {
      dp->set_dim_value(std::get<int64_t>(d));
    } else if (!std::get<std::string>(d).empty()) {
      dp->set_dim_param(std::get<std::string>(d));
    }  // "" -> a dim with neither value nor param
  }
}

inline onnx::ValueInfoProto* add_vi(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list,
                                    const std::string& name, int elem, const std::vector<DimSpec>& dims) {
  auto* vi = list->Add();
  vi->set_name(name);
  set_tensor_type(vi->mutable_type(), elem, dims);
  return vi;
}

inline onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> inputs,
                                 std::vector<std::string> outputs, const std::string& name = "",
                                 const std::string& domain = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  for (auto& s : inputs) n->add_input(s);
  for (auto& s : outputs) n->add_output(s);
  if (!name.empty()) n->set_name(name);
  if (!domain.empty()) n->set_domain(domain);
  return n;
}

inline onnx::AttributeProto* add_int_attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
  return a;
}

inline onnx::AttributeProto* add_float_attr(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
  return a;
}

inline onnx::AttributeProto* add_graph_attr(onnx::NodeProto* n, const std::string& name) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  return a;
}

template <typename T>
void set_raw(onnx::TensorProto* t, const std::vector<T>& v) {
  t->set_raw_data(v.data(), v.size() * sizeof(T));
}

inline onnx::TensorProto* add_float_init(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
                                         const std::vector<float>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  set_raw(t, values);
  return t;
}

/// An empty model: ir_version 8, ai.onnx opset 13 (override as needed), graph "main".
inline onnx::ModelProto new_model(int64_t opset = 13, int64_t ir_version = 8) {
  onnx::ModelProto m;
  m.set_ir_version(ir_version);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("main");
  return m;
}

/// x:float[N,4] -> Relu -> Add(W) -> y
inline onnx::ModelProto small_model() {
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  add_vi(g->mutable_input(), "x", onnx::TensorProto::FLOAT, {std::string("N"), int64_t{4}});
  add_float_init(g, "W", {4}, {1, 2, 3, 4});
  add_node(g, "Relu", {"x"}, {"r"}, "relu1");
  add_node(g, "Add", {"r", "W"}, {"y"}, "add1");
  add_vi(g->mutable_output(), "y", onnx::TensorProto::FLOAT, {std::string("N"), int64_t{4}});
  return m;
}

inline std::string bytes_of(const onnx::ModelProto& m) {
  std::string s;
  EXPECT_TRUE(m.SerializeToString(&s));
  return s;
}

inline std::unique_ptr<ir::Model> load(const onnx::ModelProto& m, const std::string& dir = "") {
  std::string s = bytes_of(m);
  return load_model_from_bytes(s.data(), s.size(), "model.onnx", dir);
}

/// The ferry::Error load throws (fails the test when none is thrown).
inline Error load_error(const onnx::ModelProto& m, const std::string& dir = "") {
  try {
    load(m, dir);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ferry::Error";
  return Error(ErrorCode::kRuntime, "no error");
}

inline Error load_bytes_error(const std::string& bytes) {
  try {
    load_model_from_bytes(bytes.data(), bytes.size(), "model.onnx");
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a ferry::Error";
  return Error(ErrorCode::kRuntime, "no error");
}

/// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry_onnx_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace ferry::onnx_import::testing
