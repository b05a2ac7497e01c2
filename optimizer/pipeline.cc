#include "optimizer/pipeline.h"

#include "optimizer/passes.h"

namespace ferry::optimizer {

namespace {

// basic: rewrites that keep the model plain ONNX (a model saved at this level runs anywhere).
// Order: cheap clean-ups first so that later patterns see canonical graphs; constant and shape
// folding before the algebraic fusions, since folding exposes constants they need (a BatchNorm
// whose scale was computed, a Reshape whose target came from Shape); dead code last, to sweep
// what the others left. The driver repeats the list until a round changes nothing.
std::vector<Pass> basic_passes() {
  return {
      // Folding first: it turns Constant nodes into initializers and computes what the inputs do
      // not affect, which later patterns match on; CSE after folding so that equal folded
      // constants merge too.
      {"fold_constants", passes::fold_constants},
      {"fold_shape_computations", passes::fold_shape_computations},
      {"eliminate_common_subexpressions", passes::eliminate_common_subexpressions},
      // Eliminations: no-op nodes go first so that the reshapes and transposes they
      // separated become adjacent; chains of reshapes, then of transposes, collapse. Before the
      // fusions, which then match canonical graphs (no Identity, Mul by 1 or Reshape pairs between).
      {"eliminate_identity_ops", passes::eliminate_identity_ops},
      {"fold_reshape_chains", passes::fold_reshape_chains},
      {"cancel_transposes", passes::cancel_transposes},
      {"fold_transpose_into_reduce", passes::fold_transpose_into_reduce},
      // Arithmetic fusions (after folding and elimination, before eliminate_dead_code). A DQ -> Q
      // identity goes first so that the float ops between pairs are seen; Mul/Add into Conv before
      // BatchNorm so that Conv -> Add -> BatchNorm folds in one round; Gemm last (independent).
      {"fold_quantize_dequantize", passes::fold_quantize_dequantize},
      {"fold_mul_add_into_conv", passes::fold_mul_add_into_conv},
      {"fold_batch_norm_into_conv", passes::fold_batch_norm_into_conv},
      {"fuse_matmul_add_into_gemm", passes::fuse_matmul_add_into_gemm},
      // Last: sweeps nodes and initializers the passes above left unused.
      {"eliminate_dead_code", passes::eliminate_dead_code},
  };
}

// extended: fusions into ferry-domain ops (docs/ferry_ops.md). Normalisations and GELU run before
// attention (the attention patterns end in their outputs) and before the activation fusions
// (which would otherwise take Gelu's inner Mul/Add apart).
std::vector<Pass> extended_passes() {
  return {
      // Normalisations and activations. Layer norm before RMS norm: a layer norm's
      // tail (x - mean) / sqrt(mean((x - mean)^2) + eps) is also an RMS norm of x - mean, and
      // the whole layer norm is the better fusion. Skip layer norm after both, since it reads
      // the norm nodes they make. GELU before SiLU and the element-wise fusions (they share Mul).
      {"fuse_layer_norm", passes::fuse_layer_norm},
      {"fuse_rms_norm", passes::fuse_rms_norm},
      {"fuse_skip_layer_norm", passes::fuse_skip_layer_norm},
      {"fuse_gelu", passes::fuse_gelu},
      {"fuse_silu", passes::fuse_silu},
      // Attention after the normalisation/GELU fusions and before the MatMul fusions, which
      // would otherwise take MatMul(Q, Transpose(K)) and its scale apart.
      {"fuse_attention", passes::fuse_attention},
      // Rotary before the element-wise chain fusions, which would take its Mul/Add apart.
      {"fuse_rotary_embedding", passes::fuse_rotary_embedding},
      // Conv / matrix-product fusions, after the patterns above that contain Convs,
      // MatMuls and activations. Transposes and scales into FusedMatMul before the activation
      // fusion, which then adds the activation to the FusedMatMul.
      {"fuse_conv_activation", passes::fuse_conv_activation},
      {"fuse_matmul_transpose_scale", passes::fuse_matmul_transpose_scale},
      {"fuse_gemm_activation", passes::fuse_gemm_activation},
      // Element-wise chains last: any other fusion that needs one of these nodes has had it.
      {"fuse_elementwise_chains", passes::fuse_elementwise_chains},
  };
}

// all: choices for the CPU provider's kernels.
std::vector<Pass> all_passes() {
  return {
      // Layout: after the extended fusions, so that each FusedConv already holds its
      // residual and activation (their Adds and Relus would otherwise sit between the Transposes
      // this pass adds); the driver's next round runs cancel_transposes (basic), which cancels
      // the Transpose pairs between consecutive convs and carries the rest through the
      // element-wise ops between them. Weight prepacking needs no pass: kernels pack constant
      // weights when the session creates them.
      {"convert_conv_to_channels_last", passes::convert_conv_to_channels_last},
  };
}

}  // namespace

std::vector<Pass> pipeline(GraphOptimizationLevel level) {
  std::vector<Pass> out;
  auto append = [&](std::vector<Pass> more) { out.insert(out.end(), more.begin(), more.end()); };
  if (level == GraphOptimizationLevel::kDisabled) return out;
  append(basic_passes());
  if (level == GraphOptimizationLevel::kBasic) return out;
  append(extended_passes());
  if (level == GraphOptimizationLevel::kExtended) return out;
  append(all_passes());
  return out;
}

std::vector<std::string> all_pass_names() {
  std::vector<std::string> names;
  for (const Pass& p : pipeline(GraphOptimizationLevel::kAll)) names.push_back(p.name);
  return names;
}

}  // namespace ferry::optimizer
