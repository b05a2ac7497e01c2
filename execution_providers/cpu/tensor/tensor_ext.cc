// The data-movement kernels beyond the foundation's (see tensor_ext.h), registered with one call.
#include "execution_providers/cpu/tensor/tensor_ext.h"

#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {

void register_tensor_ext_kernels(KernelRegistry& r) {
  register_slice_kernels(r);
  register_tile_kernels(r);
  register_pad_kernels(r);
  register_generator_kernels(r);
  register_select_kernels(r);
  register_scatter_kernels(r);
  register_layout_kernels(r);
  register_col2im_kernels(r);
}

}  // namespace ferry::ep::cpu
