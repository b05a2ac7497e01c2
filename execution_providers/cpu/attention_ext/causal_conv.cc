// CausalConvWithState (opset 27): a causal depthwise 1-D convolution that carries its left
// context between calls.
//   padded        = concat(past_state or zeros [B, C, k-1], input [B, C, L])   along length
//   output[b,c,l] = bias[c] + sum_j weight[c, 0, j] * padded[b, c, l + j]      (then SiLU)
//   present_state = padded[:, :, L:]                                            [B, C, k-1]
// The convolution result is rounded to the element type before the fused SiLU, as the
// reference (Conv, then the activation) does.
#include <cmath>
#include <vector>

#include "execution_providers/cpu/attention_ext/attention_ext.h"
#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {
namespace {

struct CausalConvAttributes {
  bool silu;  // "activation": "none" (default), "silu" or its alias "swish"
  explicit CausalConvAttributes(const ir::Node& n) {
    const std::string a = n.get_string("activation", "none");
    if (a != "none" && a != "silu" && a != "swish")
      throw Error(ErrorCode::kInvalidModel,
                  "attribute 'activation' is '" + a + "', expected 'none', 'silu' or 'swish'");
    silu = a != "none";
  }
};

class CausalConvWithState final : public Kernel {
 public:
  explicit CausalConvWithState(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& w = ctx.required_input(1);
    const Tensor* bias = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const Tensor* past = ctx.input_count() > 3 ? ctx.input(3) : nullptr;
    if (x.rank() != 3)
      fail(ctx, ErrorCode::kInvalidArgument, "input must be rank 3 (batch, channels, length), got " + x.describe());
    const int64_t batch = x.dim(0), channels = x.dim(1), length = x.dim(2);
    if (w.rank() != 3 || w.dim(0) != channels || w.dim(1) != 1 || w.dim(2) < 1)
      fail(ctx, ErrorCode::kInvalidArgument, "weight must have shape [" + std::to_string(channels) +
                                                 ", 1, k] with k >= 1 for input " + x.describe() + ", got " +
                                                 w.describe());
    const int64_t k = w.dim(2), ctx_len = k - 1;
    const std::vector<int64_t> state_shape = {batch, channels, ctx_len};
    for (const Tensor* t : {&w, bias, past})
      if (t != nullptr && t->dtype() != x.dtype())
        fail(ctx, ErrorCode::kInvalidArgument, "all inputs must share input's element type " + x.describe() +
                                                   ", got " + t->describe());
    if (bias != nullptr && (bias->rank() != 1 || bias->dim(0) != channels))
      fail(ctx, ErrorCode::kInvalidArgument,
           "bias must have shape [" + std::to_string(channels) + "], got " + bias->describe());
    if (past != nullptr && past->shape() != state_shape)
      fail(ctx, ErrorCode::kInvalidArgument, "past_state must have shape " + shape_to_string(state_shape) +
                                                 " (batch, channels, k - 1), got " + past->describe());

    visit_dtype(FloatAndHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* y = ctx.allocate_output(0, x.dtype(), {batch, channels, length}).template data<T>();
      T* state = ctx.output_count() > 1 && ctx.output_wanted(1)
                     ? ctx.allocate_output(1, x.dtype(), state_shape).template data<T>()
                     : nullptr;
      const T* px = x.data<T>();
      const T* pw = w.data<T>();
      const T* pb = bias != nullptr ? bias->data<T>() : nullptr;
      const T* pp = past != nullptr ? past->data<T>() : nullptr;
      const int64_t padded_len = length + ctx_len;
      ctx.thread_pool().parallel_for(batch * channels, static_cast<double>(padded_len * (k + 2)),
                                     [&](int64_t r0, int64_t r1) {
        std::vector<float> padded(static_cast<size_t>(padded_len)), wf(static_cast<size_t>(k));
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t c = r % channels;
          if (pp != nullptr) load_span(pp + r * ctx_len, padded.data(), ctx_len);
          else std::fill(padded.begin(), padded.begin() + ctx_len, 0.0f);
          load_span(px + r * length, padded.data() + ctx_len, length);
          load_span(pw + c * k, wf.data(), k);
          const float b = pb != nullptr ? to_compute(pb[c]) : 0.0f;
          T* yr = y + r * length;
          for (int64_t l = 0; l < length; ++l) {
            float sum = 0.0f;
            for (int64_t j = 0; j < k; ++j) sum += wf[j] * padded[l + j];
            const T conv = from_compute<T>(sum + b);
            if (attrs_.silu) {
              const float v = to_compute(conv);
              yr[l] = from_compute<T>(v / (1.0f + std::exp(-v)));
            } else {
              yr[l] = conv;
            }
          }
          if (state != nullptr)
            for (int64_t j = 0; j < ctx_len; ++j) state[r * ctx_len + j] = from_compute<T>(padded[length + j]);
        }
      });
    });
  }

 private:
  CausalConvAttributes attrs_;
};

}  // namespace

void register_causal_conv_kernels(KernelRegistry& r) {
  r.add("CausalConvWithState", {27}, make_kernel<CausalConvWithState>, FloatAndHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
