// ferry.ChannelsLastPool (ir/ferry_schemas_layout.cc): MaxPool / AveragePool / GlobalAveragePool /
// GlobalMaxPool on float X laid out [N, d1..dk, C] (k = 1..3). Each output position reduces the
// C-long rows of its in-bounds window positions with vector max / add over C, so the work is
// contiguous whatever the window; output positions are the tasks on the thread pool.
#include <algorithm>
#include <limits>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/pool_rows.h"
#include "execution_providers/cpu/nn/window.h"

namespace ferry::ep::cpu {
namespace {

enum class Mode { kMax, kAverage, kGlobalMax, kGlobalAverage };

class ChannelsLastPool final : public Kernel {
 public:
  explicit ChannelsLastPool(const KernelInfo& info) : attrs_(info.node()) {
    const std::string mode = info.node().get_string("mode", "");
    if (mode == "MaxPool") mode_ = Mode::kMax;
    else if (mode == "AveragePool") mode_ = Mode::kAverage;
    else if (mode == "GlobalMaxPool") mode_ = Mode::kGlobalMax;
    else if (mode == "GlobalAveragePool") mode_ = Mode::kGlobalAverage;
    else fail_model(info, "attribute 'mode' is \"" + mode + "\"; valid: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool");
    if ((mode_ == Mode::kMax || mode_ == Mode::kAverage) && attrs_.kernel_shape.empty())
      fail_model(info, "missing required attribute 'kernel_shape'");
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() != DataType::kFloat || x.rank() < 3 || x.rank() > 5)
      fail(ctx, ErrorCode::kInvalidArgument, "X must be float of rank 3..5 [N, d1..dk, C], got " + x.describe());
    const size_t r = x.rank();
    const int64_t n = x.dim(0), c = x.dim(r - 1);
    const std::vector<int64_t> in(x.shape().begin() + 1, x.shape().end() - 1);
    if (mode_ == Mode::kGlobalMax || mode_ == Mode::kGlobalAverage) return global(ctx, x, n, c, SpatialGeometry::prod(in));
    const SpatialGeometry g = resolve_geometry(attrs_, in, attrs_.kernel_shape, attrs_.ceil_mode, ctx.node());
    std::vector<int64_t> y_shape = {n};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    y_shape.push_back(c);
    float* py = ctx.allocate_output(0, DataType::kFloat, y_shape).data<float>();
    const float* px = x.data<float>();
    const size_t nd = in.size();
    std::vector<std::vector<WindowRange>> ranges(nd);
    for (size_t d = 0; d < nd; ++d) ranges[d] = window_ranges(g, d);
    const int64_t out_size = g.out_size(), in_size = g.in_size();
    const bool is_max = mode_ == Mode::kMax, include_pad = attrs_.count_include_pad;
    ctx.thread_pool().parallel_for(n * out_size, static_cast<double>(g.kernel_size() * c), [&](int64_t b, int64_t e) {
      std::vector<float> acc(static_cast<size_t>(c));
      std::vector<const WindowRange*> w(nd);
      std::vector<int64_t> k(nd);
      for (int64_t t = b; t < e; ++t) {
        // The output position's window range in every spatial dim.
        int64_t rest = t % out_size, count = 1, pad_count = 1;
        for (size_t d = nd; d-- > 0;) {
          w[d] = &ranges[d][static_cast<size_t>(rest % g.out[d])];
          rest /= g.out[d];
          count *= w[d]->hi - w[d]->lo;
          pad_count *= w[d]->pad_hi;
        }
        std::fill(acc.begin(), acc.end(), is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        const float* image = px + (t / out_size) * in_size * c;
        if (count > 0) {
          for (size_t d = 0; d < nd; ++d) k[d] = w[d]->lo;
          while (true) {
            int64_t idx = 0;
            for (size_t d = 0; d < nd; ++d) idx = idx * g.in[d] + w[d]->start + k[d] * g.dilation[d];
            if (is_max)
              pool_max_row(acc.data(), image + idx * c, c, 1);
            else
              pool_add_row(acc.data(), image + idx * c, c, 1);
            size_t d = nd;
            while (d-- > 0 && ++k[d] == w[d]->hi) k[d] = w[d]->lo;
            if (d == static_cast<size_t>(-1)) break;
          }
        }
        float* y = py + t * c;
        if (is_max) {
          if (count > 0)
            std::copy(acc.begin(), acc.end(), y);
          else
            std::fill(y, y + c, std::numeric_limits<float>::lowest());
        } else {
          const int64_t divisor = include_pad ? pad_count : count;
          if (divisor > 0)
            pool_scale_row(y, acc.data(), 1.0f / static_cast<float>(divisor), c);
          else
            std::fill(y, y + c, 0.0f);
        }
      }
    });
  }

 private:
  void global(KernelContext& ctx, const Tensor& x, int64_t n, int64_t c, int64_t size) const {
    std::vector<int64_t> y_shape(x.rank(), 1);
    y_shape[0] = n;
    y_shape.back() = c;
    float* py = ctx.allocate_output(0, DataType::kFloat, y_shape).data<float>();
    const float* px = x.data<float>();
    const bool is_max = mode_ == Mode::kGlobalMax;
    // Tasks: (image, block of channels), so one image still splits across threads.
    constexpr int64_t kBlock = 256;
    const int64_t blocks = (c + kBlock - 1) / kBlock;
    ctx.thread_pool().parallel_for(n * blocks, static_cast<double>(size * std::min(c, kBlock)), [&](int64_t b, int64_t e) {
      std::vector<float> acc(static_cast<size_t>(std::min(c, kBlock)));
      for (int64_t t = b; t < e; ++t) {
        const int64_t img = t / blocks, c0 = (t % blocks) * kBlock, len = std::min(kBlock, c - c0);
        std::fill(acc.begin(), acc.begin() + len, is_max ? -std::numeric_limits<float>::infinity() : 0.0f);
        const float* base = px + img * size * c + c0;
        for (int64_t p = 0; p < size; ++p) {
          if (is_max)
            pool_max_row(acc.data(), base + p * c, len, 1);
          else
            pool_add_row(acc.data(), base + p * c, len, 1);
        }
        float* y = py + img * c + c0;
        if (is_max)
          std::copy(acc.begin(), acc.begin() + len, y);
        else
          pool_scale_row(y, acc.data(), size > 0 ? 1.0f / static_cast<float>(size) : 0.0f, len);
      }
    });
  }

  ConvPoolAttributes attrs_;
  Mode mode_ = Mode::kMax;
};

}  // namespace

void register_channels_last_pool_kernels(KernelRegistry& r) {
  r.add("ChannelsLastPool", {1}, make_kernel<ChannelsLastPool>, {DataType::kFloat}, "ferry");
}

}  // namespace ferry::ep::cpu
