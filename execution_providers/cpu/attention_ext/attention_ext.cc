#include "execution_providers/cpu/attention_ext/attention_ext.h"

#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

void register_attention_ext_kernels(KernelRegistry& r) {
  register_flex_attention_kernels(r);
  register_linear_attention_kernels(r);
  register_causal_conv_kernels(r);
}

}  // namespace ferry::ep::cpu
