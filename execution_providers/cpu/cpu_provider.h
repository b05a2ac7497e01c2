// The CPU execution provider: every kernel family registers here with one call.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

// One call per family, each defined in its family file.
void register_math_kernels(KernelRegistry& r);        // Add Sub Mul Div MatMul Gemm, unary math
void register_activation_kernels(KernelRegistry& r);  // Relu Sigmoid Tanh Softmax ...
void register_nn_kernels(KernelRegistry& r);          // Conv Pool BatchNormalization
void register_tensor_kernels(KernelRegistry& r);      // Reshape Transpose Concat Gather Cast ...

class CpuProvider final : public ExecutionProvider {
 public:
  CpuProvider();
  std::string name() const override { return "CPUExecutionProvider"; }
  const KernelRegistry& registry() const override { return registry_; }

 private:
  KernelRegistry registry_;
};

}  // namespace ferry::ep::cpu
