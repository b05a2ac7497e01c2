#include "execution_providers/cpu/nn/conv_transpose_gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {
namespace {

/// Adds the col rows of output channels [oc0, oc1) into y_group ([mg, out...], bias already there).
void col2im(const float* col, float* y_group, int64_t oc0, int64_t oc1, const DeconvGeometry& g) {
  const size_t nd = g.in.size();
  const int64_t in_size = product(g.in), out_size = product(g.out), ksize = product(g.kernel);
  // Per spatial dim and kernel tap: the input range [lo, hi) whose output index is inside.
  auto range = [&](size_t d, int64_t k, int64_t& lo, int64_t& hi) {
    const int64_t base = k * g.dilation[d] - g.pad_begin[d];  // output index of input 0
    lo = base >= 0 ? 0 : (-base + g.stride[d] - 1) / g.stride[d];
    hi = base >= g.out[d] ? 0 : std::min(g.in[d], (g.out[d] - 1 - base) / g.stride[d] + 1);
    return base;
  };
  for (int64_t oc = oc0; oc < oc1; ++oc) {
    float* yc = y_group + oc * out_size;
    for (int64_t k = 0; k < ksize; ++k) {
      const float* src = col + (oc * ksize + k) * in_size;
      if (nd <= 2) {
        const int64_t kh = nd == 2 ? k / g.kernel[1] : 0, kw = nd == 2 ? k % g.kernel[1] : k;
        const size_t dh = 0, dw = nd - 1;
        int64_t h_lo = 0, h_hi = 1, h_base = 0, w_lo, w_hi;
        if (nd == 2) h_base = range(dh, kh, h_lo, h_hi);
        const int64_t w_base = range(dw, kw, w_lo, w_hi);
        const int64_t in_w = g.in[dw], out_w = g.out[dw], sw = g.stride[dw];
        for (int64_t ih = h_lo; ih < h_hi; ++ih) {
          const int64_t oh = nd == 2 ? ih * g.stride[dh] + h_base : 0;
          const float* s = src + ih * in_w;
          float* o = yc + oh * out_w + w_base;
          for (int64_t iw = w_lo; iw < w_hi; ++iw) o[iw * sw] += s[iw];
        }
        continue;
      }
      // 3-D: per input position (rare).
      std::vector<int64_t> kidx(nd), iidx(nd, 0);
      int64_t rem = k;
      for (size_t d = nd; d-- > 0;) {
        kidx[d] = rem % g.kernel[d];
        rem /= g.kernel[d];
      }
      for (int64_t i = 0; i < in_size; ++i) {
        int64_t off = 0;
        bool inside = true;
        for (size_t d = 0; d < nd && inside; ++d) {
          const int64_t o = iidx[d] * g.stride[d] + kidx[d] * g.dilation[d] - g.pad_begin[d];
          inside = o >= 0 && o < g.out[d];
          off = off * g.out[d] + o;
        }
        if (inside) yc[off] += src[i];
        for (size_t d = nd; d-- > 0;) {
          if (++iidx[d] < g.in[d]) break;
          iidx[d] = 0;
        }
      }
    }
  }
}

}  // namespace

void conv_transpose_gemm(const KernelContext& ctx, const float* x, const float* w, const float* b, float* y, int64_t n,
                         int64_t c, int64_t groups, int64_t mg, const DeconvGeometry& g) {
  const int64_t cg = c / groups, m = mg * groups;
  const int64_t in_size = product(g.in), out_size = product(g.out), ksize = product(g.kernel);
  const int64_t rows = mg * ksize;
  const runtime::ThreadPool& pool = ctx.thread_pool();
  const int threads = pool.num_threads();
  omp_set_num_threads(std::max(1, threads));  // sgemm called outside the pool's team uses this many
  auto fill_bias = [&](float* yg, int64_t grp, int64_t oc0, int64_t oc1) {
    for (int64_t oc = oc0; oc < oc1; ++oc)
      std::fill(yg + oc * out_size, yg + (oc + 1) * out_size, b != nullptr ? b[grp * mg + oc] : 0.f);
  };
  auto gemm = [&](int64_t img, int64_t grp, float* col) {
    const dnnl_status_t st = dnnl_sgemm('T', 'N', rows, in_size, cg, 1.f, w + grp * cg * rows, rows,
                                        x + (img * c + grp * cg) * in_size, in_size, 0.f, col, in_size);
    if (st != dnnl_success)
      fail(ctx, ErrorCode::kRuntime, "oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
  };
  const int64_t tasks = n * groups;
  if (in_size == 0 || cg == 0) {  // nothing to multiply: Y is the bias
    for (int64_t t = 0; t < tasks; ++t) fill_bias(y + (t / groups * m + t % groups * mg) * out_size, t % groups, 0, mg);
    return;
  }
  const double flops = 2.0 * static_cast<double>(rows) * static_cast<double>(in_size) * static_cast<double>(cg);
  if (tasks >= threads || threads == 1) {
    pool.parallel_for(tasks, flops / 10.0, [&](int64_t t0, int64_t t1) {
      std::vector<float> col(static_cast<size_t>(rows * in_size));
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t img = t / groups, grp = t % groups;
        float* yg = y + (img * m + grp * mg) * out_size;
        gemm(img, grp, col.data());
        fill_bias(yg, grp, 0, mg);
        col2im(col.data(), yg, 0, mg, g);
      }
    });
    return;
  }
  std::vector<float> col(static_cast<size_t>(rows * in_size));
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t img = t / groups, grp = t % groups;
    float* yg = y + (img * m + grp * mg) * out_size;
    gemm(img, grp, col.data());
    pool.parallel_for(mg, static_cast<double>((ksize + 1) * in_size), [&](int64_t oc0, int64_t oc1) {
      fill_bias(yg, grp, oc0, oc1);
      col2im(col.data(), yg, oc0, oc1, g);
    });
  }
}

}  // namespace ferry::ep::cpu
