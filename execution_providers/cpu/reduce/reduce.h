// Sub-family registrations of the reduce family; register_reduce_kernels (cpu_provider.h) calls
// each once.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_reduce_ops(KernelRegistry& r);     // reduce/reduce.cc: Reduce*, ArgMax, ArgMin
void register_cumsum_kernels(KernelRegistry& r); // reduce/cumsum.cc: CumSum, CumProd
void register_topk_kernels(KernelRegistry& r);   // reduce/topk.cc

}  // namespace ferry::ep::cpu
