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
void register_attention_kernels(KernelRegistry& r);    // Attention RotaryEmbedding (attention/)
void register_loss_kernels(KernelRegistry& r);        // NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss (loss/)
void register_attention_ext_kernels(KernelRegistry& r);  // FlexAttention LinearAttention CausalConvWithState (attention_ext/)
void register_text_kernels(KernelRegistry& r);  // StringNormalizer StringConcat StringSplit RegexFullMatch TfIdfVectorizer (text/)
void register_ml_kernels(KernelRegistry& r);  // ai.onnx.ml: LabelEncoder TreeEnsemble Binarizer ArrayFeatureExtractor (ml/)
void register_training_kernels(KernelRegistry& r);  // ai.onnx.preview.training: Adagrad Adam Momentum (training/)
void register_random_kernels(KernelRegistry& r);  // RandomNormal RandomUniform *Like Bernoulli Multinomial (random/)
void register_image_kernels(KernelRegistry& r);       // ImageDecoder (image/)
void register_signal_kernels(KernelRegistry& r);      // DFT STFT MelWeightMatrix (signal/)
void register_fused_kernels(KernelRegistry& r);       // the ferry domain's fused ops (fused/)

class CpuProvider final : public ExecutionProvider {
 public:
  CpuProvider();
  std::string name() const override { return "CPUExecutionProvider"; }
  const KernelRegistry& registry() const override { return registry_; }

 private:
  KernelRegistry registry_;
};

}  // namespace ferry::ep::cpu
