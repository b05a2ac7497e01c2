// Test-only harness for CPU kernels: builds a one-node graph, picks the kernel through the CPU
// provider's registry, and runs it with a minimal in-memory KernelContext, so kernels can be
// checked without the runtime.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "execution_providers/cpu/cpu_provider.h"
#include "ferry/error.h"
#include "ir/graph.h"
#include "runtime/thread_pool.h"

namespace ferry::ep::testing {

/// A KernelContext over plain tensors. `alias_output0_to` makes allocate_output(0) hand back
/// that input's storage (the planner's in-place reuse) when dtype and element count fit.
class TestKernelContext final : public KernelContext {
 public:
  TestKernelContext(const ir::Node& node, std::vector<Tensor> inputs, size_t outputs,
                    const runtime::ThreadPool& pool)
      : node_(node), inputs_(std::move(inputs)), outputs_(outputs), pool_(pool) {}

  int alias_output0_to = -1;
  std::vector<bool> wanted;  ///< empty: all outputs wanted

  const ir::Node& node() const override { return node_; }
  size_t input_count() const override { return inputs_.size(); }
  const Tensor* input(size_t i) const override {
    return i < inputs_.size() && inputs_[i].defined() ? &inputs_[i] : nullptr;
  }
  size_t output_count() const override { return outputs_.size(); }
  bool output_wanted(size_t i) const override { return wanted.empty() || wanted[i]; }
  Tensor& allocate_output(size_t i, DataType dtype, std::vector<int64_t> shape) override {
    if (i == 0 && alias_output0_to >= 0) {
      const Tensor& src = inputs_[static_cast<size_t>(alias_output0_to)];
      if (src.dtype() == dtype && src.element_count() == shape_element_count(shape))
        return outputs_[i] = src.reshaped(std::move(shape));
    }
    return outputs_[i] = Tensor::empty(dtype, std::move(shape));
  }
  Tensor& alias_output(size_t i, const Tensor& source, std::vector<int64_t> shape) override {
    return outputs_[i] = source.reshaped(std::move(shape));
  }
  void set_output(size_t i, Tensor value) override { outputs_[i] = std::move(value); }
  const runtime::ThreadPool& thread_pool() const override { return pool_; }

  std::vector<Tensor>& outputs() { return outputs_; }

 private:
  const ir::Node& node_;
  std::vector<Tensor> inputs_;
  std::vector<Tensor> outputs_;
  const runtime::ThreadPool& pool_;
};

inline cpu::CpuProvider& test_provider() {
  static cpu::CpuProvider provider;
  return provider;
}

/// One node, run once. Undefined tensors in `inputs` are omitted optional inputs.
struct OpTest {
  std::string op{};
  int64_t opset = 13;
  std::vector<ir::Attribute> attrs{};
  std::vector<Tensor> inputs{};
  size_t outputs = 1;
  std::vector<size_t> constant_inputs{};  ///< these inputs become initializers
  int threads = 1;
  int alias_output0_to = -1;
  std::vector<bool> wanted{};

  std::vector<Tensor> run() const {
    ir::Graph g("test");
    std::vector<ir::Value*> in;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string name = "in" + std::to_string(i);
      if (!inputs[i].defined()) {
        in.push_back(nullptr);
      } else if (std::find(constant_inputs.begin(), constant_inputs.end(), i) != constant_inputs.end()) {
        in.push_back(g.add_initializer(name, inputs[i]));
      } else {
        in.push_back(g.add_value(name, ir::Type::tensor(inputs[i].dtype(), ir::Shape::from_ints(inputs[i].shape()))));
      }
    }
    std::vector<std::string> out_names;
    for (size_t i = 0; i < outputs; ++i) out_names.push_back("out" + std::to_string(i));
    ir::Node* node = g.add_node(op, in, out_names, "", "n0");
    for (const ir::Attribute& a : attrs) node->set_attribute(a);
    const KernelDef* def = test_provider().registry().find(*node, opset);
    if (def == nullptr)
      throw Error(ErrorCode::kNotImplemented, "no CPU kernel for " + op + " at opset " + std::to_string(opset));
    std::unique_ptr<Kernel> kernel = def->factory(KernelInfo(*node, opset, test_provider()));
    runtime::ThreadPool pool(threads);
    TestKernelContext ctx(*node, inputs, outputs, pool);
    ctx.alias_output0_to = alias_output0_to;
    ctx.wanted = wanted;
    kernel->compute(ctx);
    return ctx.outputs();
  }
};

template <typename T>
Tensor make(DataType dt, std::vector<int64_t> shape, std::vector<T> values) {
  return Tensor::from_vector<T>(dt, std::move(shape), values);
}
inline Tensor f32(std::vector<int64_t> shape, std::vector<float> v) { return make(DataType::kFloat, std::move(shape), std::move(v)); }
inline Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> v) { return make(DataType::kInt64, std::move(shape), std::move(v)); }
inline Tensor i32(std::vector<int64_t> shape, std::vector<int32_t> v) { return make(DataType::kInt32, std::move(shape), std::move(v)); }

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.element_count());
}

}  // namespace ferry::ep::testing
