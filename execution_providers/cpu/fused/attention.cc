#include "execution_providers/cpu/fused/fused.h"

namespace ferry::ep::cpu {

void register_fused_attention_kernels(KernelRegistry& r) {
  (void)r;
}

}  // namespace ferry::ep::cpu
