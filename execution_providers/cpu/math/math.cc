#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {

void register_math_kernels(KernelRegistry& r) {
  register_binary_kernels(r);
  register_matmul_kernels(r);
  register_gemm_kernels(r);
  register_det_kernels(r);
}

}  // namespace ferry::ep::cpu
