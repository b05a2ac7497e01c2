// The CPU execution provider: every kernel family registers here with one call.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

// One call per family, each defined in its family file.
void register_math_kernels(KernelRegistry& r);        // Add Sub Mul Div MatMul Gemm, unary math
void register_activation_kernels(KernelRegistry& r);  // Relu Sigmoid Tanh Softmax ...
void register_nn_kernels(KernelRegistry& r);          // Conv Pool BatchNormalization
void register_tensor_kernels(KernelRegistry& r);      // Reshape Transpose Concat Gather Cast ...
void register_elementwise_kernels(KernelRegistry& r);  // unary math, logic, comparisons, activations ...
void register_reduce_kernels(KernelRegistry& r);      // Reduce* ArgMax ArgMin CumSum CumProd TopK
void register_nn_ext_kernels(KernelRegistry& r);      // Resize ConvTranspose normalizations ...
void register_rnn_kernels(KernelRegistry& r);         // RNN GRU LSTM
void register_quantization_kernels(KernelRegistry& r);  // QuantizeLinear DequantizeLinear QLinear* *Integer
void register_tensor_ext_kernels(KernelRegistry& r);  // Slice Split Pad Tile Expand Scatter* Unique ... (tensor/tensor_ext.cc)
void register_control_flow_kernels(KernelRegistry& r);  // If Loop Scan (control_flow/)
void register_sequence_kernels(KernelRegistry& r);      // Sequence* SplitToSequence ConcatFromSequence Optional* (sequence/)

class CpuProvider final : public ExecutionProvider {
 public:
  CpuProvider();
  std::string name() const override { return "CPUExecutionProvider"; }
  const KernelRegistry& registry() const override { return registry_; }

 private:
  KernelRegistry registry_;
};

}  // namespace ferry::ep::cpu
