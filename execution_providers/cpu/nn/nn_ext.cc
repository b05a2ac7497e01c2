#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {

void register_nn_ext_kernels(KernelRegistry& r) {
  register_resize_kernels(r);
  register_normalization_kernels(r);
  register_conv_transpose_kernels(r);
  register_einsum_kernels(r);
  register_grid_sample_kernels(r);
  register_pool_ext_kernels(r);
  register_roi_kernels(r);
  register_nms_kernels(r);
  register_channels_last_conv_transpose_kernels(r);
}

}  // namespace ferry::ep::cpu
