// Float ConvTranspose as onnxruntime computes it, on oneDNN's sgemm: per (image, group)
//   col [M/g * k, in] = W_g^T [M/g * k, C/g] * X_g [C/g, in]
// then a col2im that adds col into Y (pre-filled with the bias), with whole-row loops for 1-D and
// 2-D kernels (the common case; output rows that no kernel tap reaches keep the bias).
#pragma once

#include <cstdint>

#include "execution_providers/cpu/dnnl/deconv_dnnl.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// y [n, groups * mg, out...] = ConvTranspose(x [n, c, in...], w [c, mg, k...]) + b (b may be
/// null) for geometry `g`. Threads: the products run threaded one after another when there are
/// few (image, group) pairs, else the pairs are spread over the pool.
void conv_transpose_gemm(const KernelContext& ctx, const float* x, const float* w, const float* b, float* y, int64_t n,
                         int64_t c, int64_t groups, int64_t mg, const DeconvGeometry& g);

}  // namespace ferry::ep::cpu
