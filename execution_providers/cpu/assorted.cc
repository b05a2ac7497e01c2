// Registers the assorted kernels that live in their families' folders but are not part of those
// families' own registration calls: Det (math/det.cc), DeformConv (nn/deform_conv.cc),
// MaxRoiPool (nn/max_roi_pool.cc), BitCast (tensor/bitcast.cc), TensorScatter
// (tensor/tensor_scatter.cc).
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

void register_det_kernels(KernelRegistry& r);             // math/det.cc
void register_deform_conv_kernels(KernelRegistry& r);     // nn/deform_conv.cc
void register_max_roi_pool_kernels(KernelRegistry& r);    // nn/max_roi_pool.cc
void register_bitcast_kernels(KernelRegistry& r);         // tensor/bitcast.cc
void register_tensor_scatter_kernels(KernelRegistry& r);  // tensor/tensor_scatter.cc

void register_assorted_kernels(KernelRegistry& r) {
  register_det_kernels(r);
  register_deform_conv_kernels(r);
  register_max_roi_pool_kernels(r);
  register_bitcast_kernels(r);
  register_tensor_scatter_kernels(r);
}

}  // namespace ferry::ep::cpu
