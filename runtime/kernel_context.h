// The KernelContext a kernel sees during one run: inputs from the run's value table, outputs
// placed as the memory plan says (arena slot, in-place slot, view, owned output or dynamic).
#pragma once

#include <vector>

#include "execution_providers/kernel.h"
#include "runtime/executor.h"

namespace ferry::runtime {

class RunKernelContext final : public ep::KernelContext {
 public:
  RunKernelContext(RunState& state, const ExecNode& node, const ThreadPool& pool)
      : state_(state), node_(node), pool_(pool) {}

  const ir::Node& node() const override { return *node_.node; }
  size_t input_count() const override { return node_.inputs.size(); }
  const Tensor* input(size_t i) const override;
  size_t output_count() const override { return node_.outputs.size(); }
  bool output_wanted(size_t i) const override {
    return i < node_.outputs.size() && node_.outputs[i] != kNoValue;
  }
  /// The planned arena slot when the plan knows this exact dtype and shape; dynamic values and
  /// graph outputs from the session's recycled buffer pool (blocks of 64 KiB and more); else owned storage.
  Tensor& allocate_output(size_t i, DataType dtype, std::vector<int64_t> shape) override;
  /// Shares `source` only where the plan accounted for it (a planned view of input 0, or a
  /// graph output over a dynamically allocated input); otherwise copies.
  Tensor& alias_output(size_t i, const Tensor& source, std::vector<int64_t> shape) override;
  void set_output(size_t i, Tensor value) override;
  const ThreadPool& thread_pool() const override { return pool_; }
  Value input_value(size_t i) const override;
  /// Tensors inside a sequence / optional that lie in the arena are copied out first (the
  /// arena block is reused once the tensor's own value dies).
  void set_output_value(size_t i, Value value) override;
  Value outer_value(const ir::Value& v) const override;

 private:
  Tensor& slot(size_t i);
  Value* other_slot(size_t i);
  RunState& state_;
  const ExecNode& node_;
  const ThreadPool& pool_;
  std::vector<Tensor> scratch_;  // outputs the model omits but a kernel writes anyway
};

}  // namespace ferry::runtime
