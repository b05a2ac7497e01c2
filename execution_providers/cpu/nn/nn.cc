#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {

void register_nn_kernels(KernelRegistry& r) {
  register_conv_kernels(r);
  register_pool_kernels(r);
  register_batch_norm_kernels(r);
  register_deform_conv_kernels(r);
  register_max_roi_pool_kernels(r);
}

}  // namespace ferry::ep::cpu
