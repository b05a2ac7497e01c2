#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/elementwise/elementwise.h"

namespace ferry::ep::cpu {

void register_elementwise_kernels(KernelRegistry& r) {
  register_unary_math_kernels(r);
  register_activation_ext_kernels(r);
  register_binary_ext_kernels(r);
  register_variadic_kernels(r);
  register_softmax_ext_kernels(r);
}

}  // namespace ferry::ep::cpu
