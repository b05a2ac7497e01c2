#include "execution_providers/cpu/fused/fused.h"

#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

void register_fused_kernels(KernelRegistry& r) {
  register_fused_conv_gemm_kernels(r);
  register_fused_conv_kernels(r);
  register_fused_norm_kernels(r);
  register_fused_attention_kernels(r);
  register_elementwise_chain_kernels(r);
}

}  // namespace ferry::ep::cpu
