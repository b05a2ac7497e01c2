// Test-only helpers for optimizer passes (STYLE.md 13): build a graph in code, run one pass (or a
// level) the way the driver would, compare the printed IR with an inline golden string, and check
// numeric parity by running the model before and after through a session.
//
//   PassTest t;                                   // ai.onnx opset 17
//   ir::Value* x = t.input("x", {"batch", 3});
//   ir::Value* y = t.node("Relu", {t.node("Identity", {x})});
//   t.output(y, "y");
//   auto before = t.run({{"x", random_tensor({2, 3})}});
//   EXPECT_TRUE(t.run_pass(passes::eliminate_identity_ops));
//   EXPECT_EQ(t.print(), "graph main (x: float[batch,3]) -> (y: float[batch,3]) {\n"
//                        "  y = Relu(x)\n"
//                        "}\n");
//   expect_close(t.run({{"x", ...}}), before);
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ferry/session.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "onnx_import/onnx_import.h"
#include "optimizer/optimizer.h"
#include "optimizer/pass.h"
#include "runtime/node_evaluator.h"
#include "runtime/session_impl.h"
#include "runtime/session_state.h"

namespace ferry::optimizer::testing {

/// Deterministic N(0,1) float tensor.
inline Tensor random_tensor(std::vector<int64_t> shape, uint32_t seed = 1) {
  Tensor t = Tensor::empty(DataType::kFloat, std::move(shape));
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (float& v : t.span<float>()) v = dist(gen);
  return t;
}

/// A shape of fixed sizes and named symbols: {"batch", 3}.
struct DimSpec {
  DimSpec(int64_t v) : value(v) {}  // NOLINT(google-explicit-constructor)
  DimSpec(const char* s) : symbol(s) {}  // NOLINT(google-explicit-constructor)
  int64_t value = -1;
  std::string symbol;
};

class PassTest {
 public:
  explicit PassTest(int64_t opset = 17) : model_(std::make_unique<ir::Model>()) {
    model_->opset_imports[""] = opset;
    model_->graph().set_name("main");
  }

  ir::Model& model() { return *model_; }
  ir::Graph& graph() { return model_->graph(); }

  ir::Value* input(const std::string& name, std::vector<DimSpec> dims, DataType dtype = DataType::kFloat) {
    std::vector<ir::Dim> d;
    for (const DimSpec& s : dims) d.push_back(s.symbol.empty() ? ir::Dim(s.value) : ir::Dim::symbol(s.symbol));
    ir::Value* v = graph().add_value(name, ir::Type::tensor(dtype, ir::Shape(std::move(d))));
    graph().add_input(v);
    return v;
  }
  ir::Value* initializer(const std::string& name, Tensor t) { return graph().add_initializer(name, std::move(t)); }
  /// A new node; returns its first output (outputs are named "<op>_<n>" unless `out` names them).
  ir::Value* node(const std::string& op, const std::vector<ir::Value*>& inputs, std::vector<ir::Attribute> attrs = {},
                  const std::string& out = "", const std::string& domain = "", size_t output_count = 1) {
    std::vector<std::string> names;
    for (size_t k = 0; k < output_count; ++k)
      names.push_back(k == 0 && !out.empty() ? out : graph().unique_name(op + "_" + std::to_string(++counter_)));
    last_ = graph().add_node(op, inputs, names, domain);
    for (ir::Attribute& a : attrs) last_->set_attribute(std::move(a));
    return last_->output(0);
  }
  ir::Node* last_node() const { return last_; }
  void output(ir::Value* v) { graph().add_output(v); }

  /// Infers types (call once the graph is built; run_pass does it too).
  void infer() { ir::infer_shapes(*model_); }

  /// Runs one pass on every graph as the driver does (types inferred before and after; the IR is
  /// verified after). Returns what the pass returned.
  bool run_pass(const PassFunction& pass) {
    infer();
    PassContext ctx(*model_);
    ctx.evaluate = runtime::evaluate_node;
    bool changed = pass(graph(), ctx);
    ir::infer_shapes(*model_);
    ir::verify(*model_);
    return changed;
  }
  /// Runs a whole level's pipeline.
  OptimizeReport run_level(GraphOptimizationLevel level) {
    infer();
    OptimizeOptions o;
    o.level = level;
    o.evaluate = runtime::evaluate_node;
    o.verify_each_pass = true;
    return optimize(*model_, o);
  }

  std::string print() const { return ir::print_graph(model_->graph()); }

  /// Runs the model as it is now (through ONNX bytes, with optimization disabled).
  std::vector<Tensor> run(const std::vector<NamedTensor>& feeds) {
    infer();
    const std::string bytes = onnx_import::serialize_model(*model_);
    SessionOptions options;
    options.graph_optimization_level = GraphOptimizationLevel::kDisabled;
    Session s = Session::from_bytes(bytes.data(), bytes.size(), options);
    return s.run(feeds);
  }

 private:
  std::unique_ptr<ir::Model> model_;
  ir::Node* last_ = nullptr;
  int counter_ = 0;
};

/// Same shapes and dtypes, float values within rtol/atol (integers exactly).
inline void expect_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double rtol = 1e-5,
                         double atol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].dtype(), want[i].dtype()) << "output " << i;
    ASSERT_EQ(got[i].shape(), want[i].shape()) << "output " << i;
    if (got[i].dtype() == DataType::kFloat) {
      const float* a = got[i].data<float>();
      const float* b = want[i].data<float>();
      for (int64_t k = 0; k < got[i].element_count(); ++k)
        ASSERT_LE(std::fabs(a[k] - b[k]), atol + rtol * std::fabs(b[k])) << "output " << i << " element " << k;
    } else {
      ASSERT_EQ(0, std::memcmp(got[i].raw_data(), want[i].raw_data(), got[i].byte_size())) << "output " << i;
    }
  }
}

}  // namespace ferry::optimizer::testing
