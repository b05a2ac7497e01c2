// Every optimizer pass, one file each in optimizer/passes/ (the file's top comment has the
// pass's before/after diagram and contract). pipeline.cc orders them per level.
#pragma once

#include "ir/graph.h"
#include "optimizer/pass.h"

namespace ferry::optimizer::passes {

// ---- basic: portable ONNX in, portable ONNX out ------------------------------------------------

// Folding and clean-up.
bool fold_constants(ir::Graph& graph, const PassContext& ctx);
bool fold_shape_computations(ir::Graph& graph, const PassContext& ctx);
bool eliminate_common_subexpressions(ir::Graph& graph, const PassContext& ctx);
bool eliminate_dead_code(ir::Graph& graph, const PassContext& ctx);
/// Ops whose outputs may differ between two runs on the same inputs (random generators, Dropout
/// in training mode): never folded or merged. Defined in fold_constants.cc.
bool is_nondeterministic(const ir::Node& node, const PassContext& ctx);

// Eliminations: no-op nodes, reshape chains, transpose pairs.
bool eliminate_identity_ops(ir::Graph& graph, const PassContext& ctx);
bool fold_reshape_chains(ir::Graph& graph, const PassContext& ctx);
bool cancel_transposes(ir::Graph& graph, const PassContext& ctx);
bool fold_transpose_into_reduce(ir::Graph& graph, const PassContext& ctx);

// Arithmetic fusions that stay plain ONNX.
bool fold_batch_norm_into_conv(ir::Graph& graph, const PassContext& ctx);
bool fold_mul_add_into_conv(ir::Graph& graph, const PassContext& ctx);
bool fuse_matmul_add_into_gemm(ir::Graph& graph, const PassContext& ctx);
bool fold_quantize_dequantize(ir::Graph& graph, const PassContext& ctx);

// ---- extended: fusions into the ferry domain ---------------------------------------------------

// Normalisations and GELU / SiLU: written-out formulas -> LayerNormalization,
// RMSNormalization, Gelu (ai.onnx where the opset has them, else ferry), ferry.Silu, and the
// residual Add before a norm -> ferry.SkipLayerNormalization.
bool fuse_layer_norm(ir::Graph& graph, const PassContext& ctx);
bool fuse_rms_norm(ir::Graph& graph, const PassContext& ctx);
bool fuse_gelu(ir::Graph& graph, const PassContext& ctx);
bool fuse_silu(ir::Graph& graph, const PassContext& ctx);
bool fuse_skip_layer_norm(ir::Graph& graph, const PassContext& ctx);

// Attention: the scaled dot-product core -> ferry.MultiHeadAttention.
bool fuse_attention(ir::Graph& graph, const PassContext& ctx);
// x * cos + rotate_half(x) * sin -> RotaryEmbedding (ai.onnx at opset >= 23, else ferry).
bool fuse_rotary_embedding(ir::Graph& graph, const PassContext& ctx);

// Conv / Gemm / MatMul fusions and element-wise chains: Conv [+ residual Add]
// [+ activation] -> ferry.FusedConv; Gemm / MatMul + activation -> ferry.FusedGemm /
// ferry.FusedMatMul; last-two-axes Transposes and scalar scales around a MatMul ->
// ferry.FusedMatMul; chains of scalar element-wise ops -> ferry.ElementwiseChain.
bool fuse_conv_activation(ir::Graph& graph, const PassContext& ctx);
bool fuse_matmul_transpose_scale(ir::Graph& graph, const PassContext& ctx);
bool fuse_gemm_activation(ir::Graph& graph, const PassContext& ctx);
bool fuse_elementwise_chains(ir::Graph& graph, const PassContext& ctx);

// ---- all: provider-specific layout and packing -------------------------------------------------

// Layout: float Conv / FusedConv with constant W -> FusedConv{channels_last=1} between
// Transposes, which cancel_transposes then cancels along conv chains. Weight prepacking is done
// by the kernels at session creation, not by a pass.
bool convert_conv_to_channels_last(ir::Graph& graph, const PassContext& ctx);

}  // namespace ferry::optimizer::passes
