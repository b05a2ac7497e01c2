// ferry.ChannelsLastConvTranspose (ir/ferry_schemas_layout.cc): a group-1 ConvTranspose whose
// kernel equals its strides, on float X [N, H, W, C] (or [N, W, C]). Each input pixel becomes a
// kh x kw block of output pixels, so output row h*kh + i is, for all w at once, one GEMM
//   Y[n, h*kh + i, :, :] as [W, kw*M] = X[n, h, :, :] as [W, C] * Wp_i [C, kw*M]  (+ B per pixel)
// with Wp_i[c, j*M + m] = W[c, m, i, j], packed once at kernel creation when W is constant (and
// marked prepacked). The GEMMs (oneDNN sgemm) are the tasks on the thread pool.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

/// W [C, M, kh, kw] (kh = 1 for rank 3) as kh matrices [C, kw*M].
std::vector<float> pack_weights(const Tensor& w) {
  const int64_t c = w.dim(0), m = w.dim(1), kh = w.rank() == 4 ? w.dim(2) : 1, kw = w.dim(w.rank() - 1);
  std::vector<float> p(static_cast<size_t>(w.element_count()));
  const float* src = w.data<float>();
  for (int64_t ci = 0; ci < c; ++ci)
    for (int64_t mi = 0; mi < m; ++mi)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          p[static_cast<size_t>(((i * c + ci) * kw + j) * m + mi)] = src[((ci * m + mi) * kh + i) * kw + j];
  return p;
}

class ChannelsLastConvTranspose final : public Kernel {
 public:
  explicit ChannelsLastConvTranspose(const KernelInfo& info) {
    const Tensor* w = info.constant_input(1);
    if (w != nullptr && w->dtype() == DataType::kFloat && (w->rank() == 3 || w->rank() == 4)) {
      packed_ = pack_weights(*w);
      w_shape_ = w->shape();
      info.mark_prepacked(1);
    }
    const Tensor* b = info.constant_input(2);
    if (b != nullptr && b->dtype() == DataType::kFloat) {
      bias_.assign(b->data<float>(), b->data<float>() + b->element_count());
      has_const_bias_ = true;
      info.mark_prepacked(2);
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    std::vector<float> fed_w;
    const std::vector<float>* wp = &packed_;
    std::vector<int64_t> w_shape = w_shape_;
    if (w_shape.empty()) {
      const Tensor& w = ctx.required_input(1);
      if (w.dtype() != DataType::kFloat || (w.rank() != 3 && w.rank() != 4))
        fail(ctx, ErrorCode::kInvalidArgument, "W must be float of rank 3 or 4, got " + w.describe());
      fed_w = pack_weights(w);
      wp = &fed_w;
      w_shape = w.shape();
    }
    const size_t r = x.rank();
    if (x.dtype() != DataType::kFloat || r != w_shape.size() || x.dim(r - 1) != w_shape[0])
      fail(ctx, ErrorCode::kInvalidArgument, "X must be float [N, (H,) W, C] with C = W's first dim " +
                                                 std::to_string(w_shape[0]) + " and W's rank, got X " + x.describe());
    const int64_t n = x.dim(0), h = r == 4 ? x.dim(1) : 1, wd = x.dim(r - 2), c = x.dim(r - 1);
    const int64_t m = w_shape[1], kh = r == 4 ? w_shape[2] : 1, kw = w_shape[r - 1];
    std::vector<float> fed_b;
    const float* bias = has_const_bias_ ? bias_.data() : nullptr;
    if (!has_const_bias_ && ctx.input_count() > 2 && ctx.input(2) != nullptr && ctx.input(2)->defined()) {
      const Tensor& b = *ctx.input(2);
      if (b.dtype() != DataType::kFloat || b.element_count() != m)
        fail(ctx, ErrorCode::kInvalidArgument, "B must be float with " + std::to_string(m) + " elements, got " + b.describe());
      bias = b.data<float>();
    }
    std::vector<int64_t> y_shape = {n};
    if (r == 4) y_shape.push_back(h * kh);
    y_shape.push_back(wd * kw);
    y_shape.push_back(m);
    Tensor& y = ctx.allocate_output(0, DataType::kFloat, y_shape);
    if (y.element_count() == 0) return;
    const int64_t cols = kw * m, out_row = wd * cols;
    const float* px = x.data<float>();
    const float* pw = wp->data();
    float* py = y.data<float>();
    ctx.thread_pool().parallel_for(n * h * kh, static_cast<double>(wd * c * cols), [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t i = t % kh, row = t / kh;  // row = n * h + input row
        float* yr = py + (row * kh + i) * out_row;
        if (c == 0) {
          std::fill(yr, yr + out_row, 0.f);
        }
        if (bias != nullptr)
          for (int64_t p = 0; p < wd * kw; ++p) std::copy(bias, bias + m, yr + p * m);
        if (c == 0) continue;
        const dnnl_status_t st = dnnl_sgemm('N', 'N', wd, cols, c, 1.f, px + row * wd * c, c, pw + i * c * cols, cols,
                                            bias != nullptr ? 1.f : 0.f, yr, cols);
        if (st != dnnl_success)
          fail(ctx, ErrorCode::kRuntime, "oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
      }
    });
  }

 private:
  std::vector<float> packed_;    // constant W packed (pack_weights); empty when W is fed
  std::vector<int64_t> w_shape_;  // constant W's shape
  std::vector<float> bias_;
  bool has_const_bias_ = false;
};

}  // namespace

void register_channels_last_conv_transpose_kernels(KernelRegistry& r) {
  r.add("ChannelsLastConvTranspose", {1}, make_kernel<ChannelsLastConvTranspose>, {DataType::kFloat}, "ferry");
}

}  // namespace ferry::ep::cpu
