// Kernels of the ferry domain's matrix-product fusions (ir/ferry_schemas_fusion.cc): FusedGemm
// and FusedMatMul run on oneDNN's matmul (dnnl/matmul_dnnl.h) with the activation as post-ops
// where oneDNN computes it, else finish the output in one more pass (fused/fused_activation.h).
// FusedConv: fused/fused_conv.cc. ElementwiseChain: fused/elementwise_chain.cc.
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/matmul_dnnl.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"
#include "execution_providers/cpu/fused/fused.h"
#include "execution_providers/cpu/fused/fused_activation.h"

namespace ferry::ep::cpu {
namespace {

void require_float(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DataType::kFloat)
    fail(ctx, ErrorCode::kInvalidArgument, std::string("input ") + what + " must be float, got " + t.describe());
}

// FusedConv: fused/fused_conv.cc.

/// The node's oneDNN matmul (dnnl/matmul_dnnl.h): B prepacked when constant, the activation as
/// post-ops when oneDNN computes it and is not slower at it (else finish_fused_output() applies it).
std::unique_ptr<DnnlMatMul> fused_matmul_plan(const KernelInfo& info, DnnlMatMulSpec spec, int c_input,
                                              const FusedActivation& act) {
  const auto post_ops = act.own_pass_faster(FusedActivation::Producer::kMatMul)
                            ? std::nullopt
                            : dnnl_activation(act.name(), act.params());
  if (post_ops) spec.post_ops = *post_ops;
  spec.compute_type = dnnl_rt::compute_type(info);
  const Tensor* b = info.constant_input(1);
  auto plan = std::make_unique<DnnlMatMul>(std::move(spec), b, dnnl_shape_hint(info, c_input));
  if (!post_ops && !plan->prepacked()) return nullptr;  // the shared plan serves
  if (plan->prepacked()) info.mark_prepacked(1);
  return plan;
}

class FusedGemm final : public Kernel {
 public:
  explicit FusedGemm(const KernelInfo& info) : attrs_(info.node()), act_(info.node()) {
    DnnlMatMulSpec spec;
    spec.trans_a = attrs_.trans_a, spec.trans_b = attrs_.trans_b, spec.alpha = attrs_.alpha, spec.beta = attrs_.beta;
    plan_ = fused_matmul_plan(info, spec, 2, act_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    require_float(ctx, a, "A");
    bool fused = false;
    Tensor& y = gemm_forward(ctx, attrs_, a, ctx.required_input(1), optional_input(ctx, 2), plan_.get(), &fused);
    if (!fused || plan_ == nullptr || plan_->spec().post_ops.empty()) finish_fused_output(ctx, y, nullptr, &act_);
  }

 private:
  GemmAttributes attrs_;
  FusedActivation act_;
  std::unique_ptr<DnnlMatMul> plan_;  // null: the shared one (no post-ops) serves
};

class FusedMatMul final : public Kernel {
 public:
  explicit FusedMatMul(const KernelInfo& info)
      : trans_a_(info.node().get_int("transA", 0) != 0),
        trans_b_(info.node().get_int("transB", 0) != 0),
        alpha_(info.node().get_float("alpha", 1.0f)),
        act_(info.node()) {
    DnnlMatMulSpec spec;
    spec.trans_a = trans_a_, spec.trans_b = trans_b_, spec.alpha = alpha_;
    plan_ = fused_matmul_plan(info, spec, -1, act_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    require_float(ctx, a, "A");
    bool fused = false;
    Tensor& y = matmul_forward(ctx, a, ctx.required_input(1), trans_a_, trans_b_, alpha_, plan_.get(), &fused);
    if (!fused || plan_ == nullptr || plan_->spec().post_ops.empty()) finish_fused_output(ctx, y, nullptr, &act_);
  }

 private:
  bool trans_a_, trans_b_;
  float alpha_;
  FusedActivation act_;
  std::unique_ptr<DnnlMatMul> plan_;  // null: the shared one (no post-ops) serves
};

const std::vector<DataType> kFloatOnly = {DataType::kFloat};

}  // namespace

void register_fused_conv_gemm_kernels(KernelRegistry& r) {
  r.add("FusedGemm", {1}, make_kernel<FusedGemm>, kFloatOnly, "ferry");
  r.add("FusedMatMul", {1}, make_kernel<FusedMatMul>, kFloatOnly, "ferry");
}

}  // namespace ferry::ep::cpu
