// Kernels of the ferry domain's fused ops (ir/ferry_schemas.h), one file per family.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_fused_conv_gemm_kernels(KernelRegistry& r);  // fused/fusion.cc
void register_fused_conv_kernels(KernelRegistry& r);       // fused/fused_conv.cc
void register_fused_norm_kernels(KernelRegistry& r);       // fused/norm.cc
void register_fused_attention_kernels(KernelRegistry& r);  // fused/attention.cc
void register_elementwise_chain_kernels(KernelRegistry& r);  // fused/elementwise_chain.cc

}  // namespace ferry::ep::cpu
