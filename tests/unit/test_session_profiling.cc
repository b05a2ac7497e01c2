// SessionOptions::enable_profiling / Session::end_profiling from C++: the file is a JSON array
// with the session phases and one "Node" event per node run, each with a non-negative duration.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ferry/ferry.h"
#include "onnx/onnx-ml.pb.h"

namespace ferry {
namespace {

// y = Relu(Neg(x) + x)
std::string model_bytes() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("profiled");
  g->add_input()->set_name("x");
  g->add_output()->set_name("y");
  for (auto* vi : {g->mutable_input(0), g->mutable_output(0)}) {
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(4);
  }
  auto node = [&](const char* type, std::vector<std::string> in, std::string out) {
    auto* n = g->add_node();
    n->set_op_type(type);
    n->set_name("n_" + out);
    for (const auto& s : in) n->add_input(s);
    n->add_output(out);
  };
  node("Neg", {"x"}, "nx");
  node("Add", {"nx", "x"}, "s");
  node("Relu", {"s"}, "y");
  return m.SerializeAsString();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(SessionProfiling, WritesAnEventPerNodeRunAndTheSessionPhases) {
  SessionOptions o;
  o.graph_optimization_level = GraphOptimizationLevel::kDisabled;
  o.enable_profiling = true;
  o.profile_file_prefix = (std::filesystem::temp_directory_path() / "ferry_unit_profile").string();
  std::string bytes = model_bytes();
  Session s = Session::from_bytes(bytes.data(), bytes.size(), o);
  EXPECT_GT(s.profiling_start_time_ns(), 0);
  std::vector<float> x = {1, -2, 3, -4};
  for (int r = 0; r < 3; ++r) s.run({{"x", Tensor::view(DataType::kFloat, {4}, x.data())}});
  std::string file = s.end_profiling();
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(s.end_profiling(), file);
  std::ifstream in(file);
  ASSERT_TRUE(in.good()) << file;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::remove(file.c_str());
  EXPECT_EQ(text.front(), '[');
  EXPECT_EQ(count(text, "\"cat\" : \"Node\""), 9u);
  for (const char* n : {"n_nx_kernel_time", "n_s_kernel_time", "n_y_kernel_time"})
    EXPECT_EQ(count(text, std::string("\"") + n + "\""), 3u) << n;
  EXPECT_EQ(count(text, "\"model_run\""), 3u);
  EXPECT_EQ(count(text, "\"session_initialization\""), 1u);
  EXPECT_EQ(count(text, "\"dur\" :-"), 0u);  // no negative durations
  EXPECT_NE(text.find("\"input_type_shape\" : [{\"float\":[4]},{\"float\":[4]}]"), std::string::npos);
}

TEST(SessionProfiling, OffByDefault) {
  std::string bytes = model_bytes();
  Session s = Session::from_bytes(bytes.data(), bytes.size());
  EXPECT_EQ(s.end_profiling(), "");
  EXPECT_EQ(s.profiling_start_time_ns(), 0);
}

}  // namespace
}  // namespace ferry
