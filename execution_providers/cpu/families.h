// Sub-family registration functions. Each family's register_*_kernels (cpu_provider.h) calls
// its sub-families once; each sub-family file registers its kernels one line each.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_binary_kernels(KernelRegistry& r);  // math/binary.cc
void register_matmul_kernels(KernelRegistry& r);  // math/matmul.cc
void register_gemm_kernels(KernelRegistry& r);    // math/gemm.cc
void register_det_kernels(KernelRegistry& r);     // math/det.cc

void register_conv_kernels(KernelRegistry& r);        // nn/conv.cc
void register_pool_kernels(KernelRegistry& r);        // nn/pool.cc
void register_batch_norm_kernels(KernelRegistry& r);  // nn/batch_norm.cc
void register_deform_conv_kernels(KernelRegistry& r);  // nn/deform_conv.cc
void register_max_roi_pool_kernels(KernelRegistry& r);  // nn/max_roi_pool.cc

void register_view_kernels(KernelRegistry& r);       // tensor/views.cc
void register_transpose_kernels(KernelRegistry& r);  // tensor/transpose.cc
void register_concat_kernels(KernelRegistry& r);     // tensor/concat.cc
void register_gather_kernels(KernelRegistry& r);     // tensor/gather.cc
void register_constant_kernels(KernelRegistry& r);   // tensor/constant.cc
void register_cast_kernels(KernelRegistry& r);       // tensor/cast.cc
void register_bitcast_kernels(KernelRegistry& r);    // tensor/bitcast.cc
void register_tensor_scatter_kernels(KernelRegistry& r);  // tensor/tensor_scatter.cc

}  // namespace ferry::ep::cpu
