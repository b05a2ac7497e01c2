// ferry::Session end to end on tiny models serialized with the onnx protobuf classes: results,
// model facts, feed checking with exact messages, inputs never modified, outputs never aliasing
// caller memory, partition errors, the plan cache bound, and many threads on one session.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "ferry/ferry.h"
#include "onnx/onnx-ml.pb.h"

namespace ferry {
namespace {

using DimSpec = std::variant<int64_t, std::string>;

struct ModelBuilder {
  onnx::ModelProto m;
  onnx::GraphProto* g;

  explicit ModelBuilder(int64_t opset = 13) {
    m.set_ir_version(8);
    m.set_producer_name("ferry-tests");
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    g = m.mutable_graph();
    g->set_name("test_graph");
  }
  static void set_type(onnx::ValueInfoProto* vi, int elem, const std::vector<DimSpec>& dims) {
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* shape = tt->mutable_shape();
    for (const DimSpec& d : dims) {
      auto* dp = shape->add_dim();
      if (std::holds_alternative<int64_t>(d)) dp->set_dim_value(std::get<int64_t>(d));
      else dp->set_dim_param(std::get<std::string>(d));
    }
  }
  void input(const std::string& name, const std::vector<DimSpec>& dims, int elem = onnx::TensorProto::FLOAT) {
    auto* vi = g->add_input();
    vi->set_name(name);
    set_type(vi, elem, dims);
  }
  void output(const std::string& name, const std::vector<DimSpec>& dims, int elem = onnx::TensorProto::FLOAT) {
    auto* vi = g->add_output();
    vi->set_name(name);
    set_type(vi, elem, dims);
  }
  void init(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }
  void init_i64(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    for (int64_t v : values) t->add_int64_data(v);
  }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::string& name) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return n;
  }
  Session session(const SessionOptions& options = {}) const {
    std::string bytes = m.SerializeAsString();
    return Session::from_bytes(bytes.data(), bytes.size(), options);
  }
};

// y = Relu(x + b), x: float[batch,4]
ModelBuilder add_relu_model() {
  ModelBuilder b;
  b.input("x", {std::string("batch"), int64_t{4}});
  b.output("y", {std::string("batch"), int64_t{4}});
  b.init("b", {4}, {1.0f, -2.0f, 0.5f, 0.0f});
  b.node("Add", {"x", "b"}, {"s"}, "add");
  b.node("Relu", {"s"}, {"y"}, "relu");
  return b;
}

std::vector<float> iota_floats(size_t n, float start, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<float>(i);
  return v;
}

std::string error_of(const std::function<void()>& fn, ErrorCode* code = nullptr) {
  try {
    fn();
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "<no error>";
}

TEST(RuntimeSession, AddReluComputesAndDescribesTheModel) {
  Session s = add_relu_model().session();
  ASSERT_EQ(s.inputs().size(), 1u);
  EXPECT_EQ(s.inputs()[0].name, "x");
  EXPECT_EQ(s.inputs()[0].type, "tensor(float)");
  EXPECT_EQ(s.inputs()[0].dtype, DataType::kFloat);
  ASSERT_EQ(s.inputs()[0].shape.size(), 2u);
  EXPECT_EQ(s.inputs()[0].shape[0].symbol, "batch");
  EXPECT_FALSE(s.inputs()[0].shape[0].is_fixed());
  EXPECT_EQ(s.inputs()[0].shape[1].value, 4);
  ASSERT_EQ(s.outputs().size(), 1u);
  EXPECT_EQ(s.outputs()[0].name, "y");
  EXPECT_EQ(s.providers(), std::vector<std::string>{"CPUExecutionProvider"});

  const ModelInfo& info = s.model_info();
  EXPECT_EQ(info.path, "<bytes>");
  EXPECT_EQ(info.ir_version, 8);
  EXPECT_EQ(info.opset_imports.at(""), 13);
  EXPECT_EQ(info.producer_name, "ferry-tests");
  EXPECT_EQ(info.graph_name, "test_graph");
  EXPECT_EQ(info.node_count, 2);
  EXPECT_EQ(info.op_histogram.at("Add"), 1);
  EXPECT_EQ(info.op_histogram.at("Relu"), 1);
  EXPECT_EQ(info.parameter_count, 4);
  EXPECT_EQ(info.parameter_bytes, 16);
  EXPECT_GE(s.timings().total_ms, s.timings().load_ms);

  std::vector<float> x = iota_floats(8, -3.0f, 0.75f);
  std::vector<float> before = x;
  auto out = s.run({{"x", Tensor::view(DataType::kFloat, {2, 4}, x.data())}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].describe(), "float[2,4]");
  const float bias[4] = {1.0f, -2.0f, 0.5f, 0.0f};
  for (int i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], std::max(0.0f, x[i] + bias[i % 4]));
  EXPECT_EQ(x, before) << "the caller's input was modified";
  EXPECT_FALSE(out[0].is_borrowed());
}

TEST(RuntimeSession, FeedErrorsNameTheInputAndBothTypes) {
  ModelBuilder b;
  b.input("x", {std::string("batch"), int64_t{4}});
  b.input("x2", {std::string("batch"), int64_t{4}});
  b.output("y", {std::string("batch"), int64_t{4}});
  b.node("Add", {"x", "x2"}, {"y"}, "add");
  Session s = b.session();
  std::vector<float> buf(64, 1.0f);
  auto f = [&](std::vector<int64_t> shape) { return Tensor::view(DataType::kFloat, std::move(shape), buf.data()); };
  std::vector<int64_t> i64(8, 1);
  ErrorCode code = ErrorCode::kRuntime;

  std::string msg = error_of([&] {
    s.run({{"x", Tensor::view(DataType::kInt64, {2, 4}, i64.data())}, {"x2", f({2, 4})}});
  }, &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(msg.find("input 'x': expected float[batch,4], given int64[2,4] (wrong element type)"), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("<bytes>: ", 0), 0u) << msg;

  msg = error_of([&] { s.run({{"x", f({8})}, {"x2", f({2, 4})}}); });
  EXPECT_NE(msg.find("input 'x': expected float[batch,4], given float[8] (rank 1, expected rank 2)"), std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", f({2, 5})}, {"x2", f({2, 4})}}); });
  EXPECT_NE(msg.find("input 'x': expected float[batch,4], given float[2,5] (dim 1 is 5, the model requires 4)"),
            std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", f({2, 4})}, {"x2", f({3, 4})}}); });
  EXPECT_NE(msg.find("input 'x2': expected float[batch,4], given float[3,4] (dim 0 binds 'batch' to 3, but input 'x' "
                     "bound it to 2 in the same run)"),
            std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", f({2, 4})}, {"x2", f({2, 4})}, {"z", f({1})}}); }, &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(msg.find("unknown input 'z'; the model's inputs are 'x' float[batch,4], 'x2' float[batch,4]"),
            std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", f({2, 4})}}); });
  EXPECT_NE(msg.find("missing input 'x2' (float[batch,4])"), std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", f({2, 4})}, {"x2", f({2, 4})}}, {"nope"}); });
  EXPECT_NE(msg.find("unknown output 'nope'; the model's outputs are 'y'"), std::string::npos) << msg;

  msg = error_of([&] { s.run({{"x", Tensor()}, {"x2", f({2, 4})}}); });
  EXPECT_NE(msg.find("input 'x' is an empty tensor handle"), std::string::npos) << msg;

  // Nothing broke: a correct run still works.
  auto out = s.run({{"x", f({2, 4})}, {"x2", f({2, 4})}});
  EXPECT_FLOAT_EQ(out[0].data<float>()[7], 2.0f);
}

TEST(RuntimeSession, InPlaceNeverTouchesInputsAndPlanReportsIt) {
  ModelBuilder b;
  b.input("x", {std::string("n")});
  b.output("y", {std::string("n")});
  b.node("Relu", {"x"}, {"a"}, "r0");       // cannot run in place: x is the caller's
  b.node("Sigmoid", {"a"}, {"c"}, "s1");     // in place over a
  b.node("Tanh", {"c"}, {"d"}, "t2");        // in place over c
  b.node("Relu", {"d"}, {"y"}, "r3");        // graph output: owned
  SessionOptions unfused;  // the planner is under test: keep the four nodes (extended fuses them)
  unfused.graph_optimization_level = GraphOptimizationLevel::kDisabled;
  Session s = b.session(unfused);
  std::vector<float> x = iota_floats(1000, -5.0f, 0.01f);
  std::vector<float> before = x;
  auto out = s.run({{"x", Tensor::view(DataType::kFloat, {1000}, x.data())}});
  EXPECT_EQ(x, before);
  for (int i = 0; i < 1000; ++i) {
    float ref = std::max(0.0f, std::tanh(1.0f / (1.0f + std::exp(-std::max(0.0f, x[i])))));
    ASSERT_NEAR(out[0].data<float>()[i], ref, 1e-5f) << i;
  }
  MemoryPlanReport r = s.memory_plan({{"x", {1000}}});
  EXPECT_EQ(r.in_place_values, 2u);
  EXPECT_EQ(r.planned_values, 3u);
  EXPECT_EQ(r.peak_bytes, 4032u);  // one 4000-byte buffer, 64-aligned
  EXPECT_EQ(r.total_bytes, 4032u);
}

TEST(RuntimeSession, ViewOutputsNeverAliasCallerInputs) {
  ModelBuilder b;
  b.input("x", {int64_t{2}, int64_t{6}});
  b.output("flat", {int64_t{12}});
  b.output("z", {int64_t{3}, int64_t{4}});
  b.init_i64("shape12", {1}, {12});
  b.init_i64("shape34", {2}, {3, 4});
  b.node("Reshape", {"x", "shape12"}, {"flat"}, "view_out");  // a view of x that is an output
  b.node("Reshape", {"x", "shape34"}, {"v"}, "view_mid");
  b.node("Relu", {"v"}, {"z"}, "relu");
  Session s = b.session();
  std::vector<float> x = iota_floats(12, -6.0f, 1.0f);
  std::vector<float> before = x;
  auto out = s.run({{"x", Tensor::view(DataType::kFloat, {2, 6}, x.data())}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].describe(), "float[12]");
  EXPECT_NE(out[0].raw_data(), static_cast<void*>(x.data()));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(out[0].data<float>()[i], x[i]);
  out[0].data<float>()[0] = 99.0f;
  EXPECT_EQ(x, before);
  EXPECT_EQ(out[1].describe(), "float[3,4]");
  for (int i = 0; i < 12; ++i) EXPECT_EQ(out[1].data<float>()[i], std::max(0.0f, x[i]));
  EXPECT_GE(s.memory_plan({{"x", {2, 6}}}).view_values, 1u);
}

// y = Relu(x W1 + b1) W2 + b2
ModelBuilder mlp_model() {
  ModelBuilder b;
  b.input("x", {std::string("batch"), int64_t{8}});
  b.output("y", {std::string("batch"), int64_t{4}});
  b.init("W1", {8, 16}, iota_floats(128, -1.0f, 1.0f / 64));
  b.init("b1", {16}, iota_floats(16, -0.5f, 0.0625f));
  b.init("W2", {16, 4}, iota_floats(64, 0.5f, -1.0f / 64));
  b.init("b2", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
  b.node("MatMul", {"x", "W1"}, {"h0"}, "mm1");
  b.node("Add", {"h0", "b1"}, {"h1"}, "add1");
  b.node("Relu", {"h1"}, {"h2"}, "relu");
  b.node("MatMul", {"h2", "W2"}, {"h3"}, "mm2");
  b.node("Add", {"h3", "b2"}, {"y"}, "add2");
  return b;
}

std::vector<double> mlp_reference(const std::vector<float>& x, int64_t batch) {
  auto w1 = iota_floats(128, -1.0f, 1.0f / 64), b1 = iota_floats(16, -0.5f, 0.0625f);
  auto w2 = iota_floats(64, 0.5f, -1.0f / 64);
  const double b2[4] = {0.1, 0.2, 0.3, 0.4};
  std::vector<double> y(static_cast<size_t>(batch) * 4);
  for (int64_t n = 0; n < batch; ++n) {
    double h[16];
    for (int j = 0; j < 16; ++j) {
      double acc = b1[j];
      for (int k = 0; k < 8; ++k) acc += double(x[n * 8 + k]) * w1[k * 16 + j];
      h[j] = std::max(0.0, acc);
    }
    for (int o = 0; o < 4; ++o) {
      double acc = b2[o];
      for (int j = 0; j < 16; ++j) acc += h[j] * w2[j * 4 + o];
      y[n * 4 + o] = acc;
    }
  }
  return y;
}

TEST(RuntimeSession, EightThreadsHundredRunsEachOnOneSession) {
  SessionOptions opts;
  opts.intra_op_num_threads = 2;
  Session s = mlp_model().session(opts);
  std::atomic<int> mismatches{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 100; ++rep) {
        int64_t batch = 1 + (t + rep) % 5;  // several shapes: plans are built and shared concurrently
        std::vector<float> x(static_cast<size_t>(batch) * 8);
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((int(i) * 7 + t * 3 + rep) % 11) * 0.1f - 0.5f;
        try {
          auto out = s.run({{"x", Tensor::view(DataType::kFloat, {batch, 8}, x.data())}});
          auto ref = mlp_reference(x, batch);
          if (out[0].element_count() != static_cast<int64_t>(ref.size())) {
            mismatches++;
            continue;
          }
          for (size_t i = 0; i < ref.size(); ++i)
            if (std::fabs(out[0].data<float>()[i] - ref[i]) > 1e-4 * (1 + std::fabs(ref[i]))) mismatches++;
        } catch (const std::exception& e) {
          if (errors++ == 0) ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(s.cached_plan_count(), 5u);
}

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// oneDNN fixes a primitive's thread split at creation: a 1-thread session must make its conv
// primitive for one thread, or the "1-thread" conv runs on every core of the process default.
TEST(RuntimeSession, OneThreadSessionComputesOnTheCallingThreadOnly) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "needs 2 or more cores to tell 1 thread from several";
  ModelBuilder b;
  const int64_t c = 32, m = 64, hw = 56;
  b.input("x", {int64_t{1}, c, hw, hw});
  b.output("y", {int64_t{1}, m, hw, hw});
  b.init("w", {m, c, 3, 3}, iota_floats(static_cast<size_t>(m * c * 9), -1.0f, 1.0f / (m * c * 9)));
  auto* conv = b.node("Conv", {"x", "w"}, {"y"}, "conv");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  SessionOptions opts;
  opts.intra_op_num_threads = 1;
  Session s = b.session(opts);
  std::vector<float> x = iota_floats(static_cast<size_t>(c * hw * hw), -0.5f, 1e-5f);
  s.run({{"x", Tensor::view(DataType::kFloat, {1, c, hw, hw}, x.data())}});
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // earlier tests' idle OpenMP threads stop spinning
  const double thread0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID), process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < 20; ++i) s.run({{"x", Tensor::view(DataType::kFloat, {1, c, hw, hw}, x.data())}});
  const double caller = cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread0;
  const double others = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0 - caller;
  EXPECT_LT(others, 0.25 * caller) << "other threads used " << others << " s of CPU while the caller used " << caller
                                   << " s";
}

TEST(RuntimeSession, PlanCacheIsBoundedLeastRecentlyUsed) {
  SessionOptions opts;
  opts.max_cached_plans = 2;
  opts.graph_optimization_level = GraphOptimizationLevel::kDisabled;  // plan of the unfused MLP
  Session s = mlp_model().session(opts);
  for (int64_t batch = 1; batch <= 6; ++batch) {
    std::vector<float> x(static_cast<size_t>(batch) * 8, 0.25f);
    auto out = s.run({{"x", Tensor::view(DataType::kFloat, {batch, 8}, x.data())}});
    auto ref = mlp_reference(x, batch);
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(out[0].data<float>()[i], ref[i], 1e-4);
    EXPECT_LE(s.cached_plan_count(), 2u);
  }
  EXPECT_EQ(s.cached_plan_count(), 2u);
  MemoryPlanReport small = s.memory_plan({{"x", {1, 8}}});
  MemoryPlanReport big = s.memory_plan({{"x", {64, 8}}});
  EXPECT_EQ(s.cached_plan_count(), 2u);
  EXPECT_GT(big.peak_bytes, small.peak_bytes);
  // h1 = h0 + b1 and h2 = Relu(h1) run in place over h0: one 4 KiB block, then h3's 1 KiB.
  EXPECT_EQ(big.in_place_values, 2u);
  EXPECT_EQ(big.planned_values, 4u);
  EXPECT_EQ(big.peak_bytes, 64u * 16 * 4 + 64 * 4 * 4);
  std::string msg = error_of([&] { s.memory_plan({{"x", {2, 9}}}); });
  EXPECT_NE(msg.find("dim 1 is 9, the model requires 8"), std::string::npos) << msg;
}

TEST(RuntimeSession, KernelErrorsCarryModelNodeAndInputShapes) {
  ModelBuilder b;
  b.input("x", {std::string("n"), std::string("k")});
  b.output("y", {std::string("n"), int64_t{3}});
  b.init("W", {4, 3}, iota_floats(12, 0.0f, 1.0f));
  b.node("MatMul", {"x", "W"}, {"y"}, "mm");
  Session s = b.session();
  std::vector<float> x(10, 1.0f);
  ErrorCode code = ErrorCode::kIO;
  std::string msg = error_of([&] { s.run({{"x", Tensor::view(DataType::kFloat, {2, 5}, x.data())}}); }, &code);
  EXPECT_EQ(msg.rfind("<bytes>: node 'mm' (MatMul, opset 13): ", 0), 0u) << msg;
  EXPECT_NE(msg.find("(inputs: 'x' float[2,5], 'W' float[4,3])"), std::string::npos) << msg;
}

TEST(RuntimeSession, PartitionErrors) {
  ModelBuilder b;
  b.input("x", {int64_t{2}});
  b.output("y", {int64_t{2}});
  // An op of a domain no provider implements (and the spec defines no body for).
  auto* n = b.node("Frobnicate", {"x"}, {"y"}, "weird");
  n->set_domain("com.example.nowhere");
  auto* domain = b.m.add_opset_import();
  domain->set_domain("com.example.nowhere");
  domain->set_version(1);
  ErrorCode code = ErrorCode::kIO;
  std::string msg = error_of([&] { b.session(); }, &code);
  EXPECT_EQ(code, ErrorCode::kNotImplemented);
  EXPECT_EQ(msg, "<bytes>: node 'weird' (com.example.nowhere:Frobnicate, opset 1): no kernel for this op/opset/types in "
            "CPUExecutionProvider");

  SessionOptions opts;
  opts.providers = {"CUDAExecutionProvider"};
  msg = error_of([&] { add_relu_model().session(opts); }, &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(msg.find("unknown execution provider 'CUDAExecutionProvider'; this build has: CPUExecutionProvider"),
            std::string::npos) << msg;

  opts.providers = {"CPUExecutionProvider"};
  opts.allow_cpu_fallback = false;
  EXPECT_EQ(add_relu_model().session(opts).providers(), std::vector<std::string>{"CPUExecutionProvider"});
  EXPECT_EQ(available_providers(), std::vector<std::string>{"CPUExecutionProvider"});
  EXPECT_STREQ(version(), "0.1.0");
}

TEST(RuntimeSession, LoadsFromAPathAndReportsMissingFiles) {
  auto dir = std::filesystem::temp_directory_path() / ("ferry_rt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "add_relu.onnx").string();
  {
    std::ofstream f(path, std::ios::binary);
    f << add_relu_model().m.SerializeAsString();
  }
  Session s(path);
  EXPECT_EQ(s.model_info().path, path);
  std::vector<float> x(4, 1.0f);
  auto out = s.run({{"x", Tensor::view(DataType::kFloat, {1, 4}, x.data())}}, {"y"});
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], 2.0f);
  std::filesystem::remove_all(dir);
  ErrorCode code = ErrorCode::kRuntime;
  std::string msg = error_of([&] { Session missing(path); }, &code);
  EXPECT_EQ(code, ErrorCode::kIO);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

}  // namespace
}  // namespace ferry
