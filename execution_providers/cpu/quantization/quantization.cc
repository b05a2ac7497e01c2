// The quantization family: one call registers every sub-family.
#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/quantization/quant_common.h"

namespace ferry::ep::cpu {

void register_quantization_kernels(KernelRegistry& r) {
  register_quantize_linear_kernels(r);
  register_qlinear_matmul_kernels(r);
  register_conv_integer_kernels(r);
}

}  // namespace ferry::ep::cpu
