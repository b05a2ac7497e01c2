// Sub-family registrations of the extended nn ops; register_nn_ext_kernels (cpu_provider.h)
// calls each once.
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_resize_kernels(KernelRegistry& r);         // nn/resize.cc: Resize, Upsample
void register_normalization_kernels(KernelRegistry& r);  // nn/normalization.cc
void register_conv_transpose_kernels(KernelRegistry& r); // nn/conv_transpose.cc
void register_einsum_kernels(KernelRegistry& r);         // nn/einsum.cc
void register_grid_sample_kernels(KernelRegistry& r);    // nn/grid_sample.cc: GridSample, AffineGrid
void register_pool_ext_kernels(KernelRegistry& r);       // nn/lp_pool.cc: LpPool GlobalLpPool GlobalMaxPool MaxUnpool
void register_roi_kernels(KernelRegistry& r);            // nn/roi_align.cc: RoiAlign
void register_nms_kernels(KernelRegistry& r);            // nn/nms.cc: NonMaxSuppression
void register_channels_last_conv_transpose_kernels(KernelRegistry& r);  // nn/conv_transpose_channels_last.cc

}  // namespace ferry::ep::cpu
