// The computations behind Conv, Gemm and MatMul, shared by those kernels and by the ferry-domain
// fusions built on them (fused/fusion.cc: FusedConv, FusedGemm, FusedMatMul). Each allocates the
// node's output 0 with the product's shape, computes the product into it and returns it; the
// fused kernels then finish the output (residual, activation) in one more pass over it.
#pragma once

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// Y = Conv(X, W, B) (nn/conv.cc); float, double, float16, bfloat16. `b` null: no bias.
Tensor& conv_forward(KernelContext& ctx, const ConvPoolAttributes& attrs, const Tensor& x, const Tensor& w,
                     const Tensor* b);

/// Gemm's attributes with the spec's defaults.
struct GemmAttributes {
  float alpha = 1.0f;    // "alpha"
  float beta = 1.0f;     // "beta"
  bool trans_a = false;  // "transA"
  bool trans_b = false;  // "transB"

  explicit GemmAttributes(const ir::Node& n)
      : alpha(n.get_float("alpha", 1.0f)),
        beta(n.get_float("beta", 1.0f)),
        trans_a(n.get_int("transA", 0) != 0),
        trans_b(n.get_int("transB", 0) != 0) {}
};

class DnnlMatMul;  // dnnl/matmul_dnnl.h

// Float operands go to oneDNN's matmul primitive: through `plan`, the node's own DnnlMatMul
// (its B possibly prepacked, its post-ops fused) when given, else a process-wide one; other
// types, and shapes oneDNN has no primitive for, take the Eigen path. `plan` must have been made
// with the same transposes, alpha (and beta). When it ran, its post-ops were applied to Y, and
// `*post_ops_applied` (when given) says so; otherwise the caller applies its activation itself.

/// Y = alpha * op(A) * op(B) + beta * C (math/gemm.cc); float, double. `c` null: no C.
Tensor& gemm_forward(KernelContext& ctx, const GemmAttributes& attrs, const Tensor& a, const Tensor& b,
                     const Tensor* c, const DnnlMatMul* plan = nullptr, bool* post_ops_applied = nullptr);

/// Y = alpha * op(A) @ op(B) with numpy matmul semantics (math/matmul.cc), op() swapping the last
/// two axes when the flag is set (a transposed operand needs rank >= 2). Every MatMul type; alpha
/// != 1 only for float and double.
Tensor& matmul_forward(KernelContext& ctx, const Tensor& a, const Tensor& b, bool trans_a = false,
                       bool trans_b = false, float alpha = 1.0f, const DnnlMatMul* plan = nullptr,
                       bool* post_ops_applied = nullptr);

}  // namespace ferry::ep::cpu
