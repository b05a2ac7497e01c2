#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/reduce/reduce.h"

namespace ferry::ep::cpu {

void register_reduce_kernels(KernelRegistry& r) {
  register_reduce_ops(r);
  register_cumsum_kernels(r);
  register_topk_kernels(r);
}

}  // namespace ferry::ep::cpu
