// The `activation` / `activation_params` attributes of FusedConv, FusedGemm and FusedMatMul
// (ir/ferry_schemas_fusion.cc, optimizer/passes/fusable_activation.h), parsed once at kernel
// creation, and the one pass over an output that finishes a fused op when oneDNN could not apply
// the activation as a post-op: y = activation(y + z).
#pragma once

#include <string>
#include <vector>

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

class FusedActivation {
 public:
  /// Throws kInvalidModel naming the node for an unknown name or a wrong parameter count.
  explicit FusedActivation(const ir::Node& node);

  bool is_none() const { return kind_ == Kind::kNone; }
  const std::string& name() const { return name_; }
  const std::vector<float>& params() const { return params_; }

  /// Applies the activation in place to n floats (Relu, Sigmoid, Tanh, SiLU and the Gelus with the
  /// vectorised kernels of simd/vmath.h).
  void apply(float* v, int64_t n) const;

  /// Rough time of apply() per element, in ns (how finely finish_fused_output splits a pass).
  double cost_ns_per_element() const;

  /// The oneDNN primitive an activation would be a post-op of.
  enum class Producer { kConv, kMatMul };
  /// True when finish_fused_output (the vectorised kernels of simd/vmath.h over the finished
  /// output) computes this activation faster than oneDNN 2.6's eltwise post-op on `producer`:
  /// the caller then creates the primitive without it and finishes the output itself. Decided per
  /// activation by measurement (the figures are at the definition).
  bool own_pass_faster(Producer producer) const;

 private:
  enum class Kind { kNone, kRelu, kLeakyRelu, kClip, kSigmoid, kTanh, kHardSigmoid, kSiLU, kGelu, kGeluTanh };
  Kind kind_ = Kind::kNone;
  std::string name_;
  std::vector<float> params_;
  float a_ = 0, b_ = 0;
};

/// y = act(y + z) in one pass over float y, on the thread pool (z null: no residual, else it must
/// have y's shape and type; act null or none: only the residual).
void finish_fused_output(KernelContext& ctx, Tensor& y, const Tensor* z, const FusedActivation* act);

/// Input i when the node has it and it is not omitted; else null.
inline const Tensor* optional_input(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input_count() > i ? ctx.input(i) : nullptr;
  return t != nullptr && t->defined() ? t : nullptr;
}

}  // namespace ferry::ep::cpu
