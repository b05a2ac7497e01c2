#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {

void register_tensor_kernels(KernelRegistry& r) {
  register_view_kernels(r);
  register_transpose_kernels(r);
  register_concat_kernels(r);
  register_gather_kernels(r);
  register_constant_kernels(r);
  register_cast_kernels(r);
  register_bitcast_kernels(r);
  register_tensor_scatter_kernels(r);
}

}  // namespace ferry::ep::cpu
