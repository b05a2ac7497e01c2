#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

CpuProvider::CpuProvider() {
  register_math_kernels(registry_);
  register_activation_kernels(registry_);
  register_nn_kernels(registry_);
  register_tensor_kernels(registry_);
  register_elementwise_kernels(registry_);
  register_reduce_kernels(registry_);
  register_nn_ext_kernels(registry_);
  register_rnn_kernels(registry_);
  register_quantization_kernels(registry_);
  register_tensor_ext_kernels(registry_);
  register_control_flow_kernels(registry_);
  register_sequence_kernels(registry_);
  register_attention_kernels(registry_);
  register_loss_kernels(registry_);
  register_attention_ext_kernels(registry_);
  register_text_kernels(registry_);
  register_ml_kernels(registry_);
  register_training_kernels(registry_);
  register_random_kernels(registry_);
  register_image_kernels(registry_);
  register_signal_kernels(registry_);
  register_fused_kernels(registry_);
}

}  // namespace ferry::ep::cpu
