// ferry.FusedConv (ir/ferry_schemas_fusion.cc): Y = activation(Conv(X, W, B) + Z).
//
// Runs as one oneDNN convolution (dnnl/conv_dnnl.h) with the bias in the primitive, the
// residual as a `sum` post-op (Y first holds Z; the registration lets the runtime hand Z's
// buffer over as Y) and the activation as eltwise post-ops, in that order, as the op defines;
// SiLU, Sigmoid and Tanh, which oneDNN's post-ops compute slowly, instead as one more pass over
// Y after the primitive (FusedActivation::own_pass_faster).
// channels_last = 1: X [N, d1..dk, C], Z and Y [N, d1..dk, M] (W and B as in Conv).
// Without oneDNN (shapes it does not take) it runs conv_forward and finishes the output in one
// more pass; channels_last needs oneDNN.

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/conv_dnnl.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"
#include "execution_providers/cpu/fused/fused.h"
#include "execution_providers/cpu/fused/fused_activation.h"

namespace ferry::ep::cpu {
namespace {

class FusedConv final : public Kernel {
 public:
  explicit FusedConv(const KernelInfo& info)
      : attrs_(info.node()), act_(info.node()), channels_last_(info.node().get_int("channels_last", 0) != 0) {
    const auto post_ops = act_.own_pass_faster(FusedActivation::Producer::kConv)
                              ? std::nullopt
                              : dnnl_activation(act_.name(), act_.params());
    act_fused_ = post_ops.has_value();
    dnnl_ = DnnlConv::create(info, attrs_, post_ops.value_or(std::vector<DnnlEltwise>{}), channels_last_);
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() != DataType::kFloat)
      fail(ctx, ErrorCode::kInvalidArgument, "input X must be float, got " + x.describe());
    const Tensor& w = ctx.required_input(1);
    const Tensor* b = optional_input(ctx, 2);
    const Tensor* z = optional_input(ctx, 3);
    if (dnnl_ != nullptr) {
      if (Tensor* y = dnnl_->run(ctx, x, w, b, z)) {
        if (!act_fused_) finish_fused_output(ctx, *y, nullptr, &act_);
        return;
      }
    }
    if (channels_last_)
      fail(ctx, ErrorCode::kNotImplemented,
           "channels_last = 1 runs on oneDNN only, which does not take X " + x.describe() + ", W " + w.describe());
    // Y may be Z's buffer (in-place registration): keep Z aside before conv_forward writes Y.
    Tensor z_copy;
    if (z != nullptr) {
      z_copy = Tensor::empty(DataType::kFloat, z->shape());
      std::copy(z->data<float>(), z->data<float>() + z->element_count(), z_copy.data<float>());
    }
    Tensor& y = conv_forward(ctx, attrs_, x, w, b);
    finish_fused_output(ctx, y, z != nullptr ? &z_copy : nullptr, &act_);
  }

 private:
  ConvPoolAttributes attrs_;
  FusedActivation act_;
  bool channels_last_;
  bool act_fused_ = false;
  std::unique_ptr<DnnlConv> dnnl_;
};

}  // namespace

void register_fused_conv_kernels(KernelRegistry& r) {
  // Y may take Z's buffer: the residual is accumulated into it.
  r.add("FusedConv", {1}, make_kernel<FusedConv>, {DataType::kFloat}, "ferry").in_place_inputs = {3};
}

}  // namespace ferry::ep::cpu
