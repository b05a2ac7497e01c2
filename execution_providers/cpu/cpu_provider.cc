#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

CpuProvider::CpuProvider() {
  register_math_kernels(registry_);
  register_activation_kernels(registry_);
  register_nn_kernels(registry_);
  register_tensor_kernels(registry_);
}

}  // namespace ferry::ep::cpu
