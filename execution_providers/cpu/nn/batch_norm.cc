// BatchNormalization, opsets 7..15.
//  Inference (all opsets):  Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel.
//  Training (opset 14+ with training_mode=1; opsets 7-13 when more than one output is asked
//  for): statistics of the batch normalise X (biased variance), and
//    running_mean = mean * momentum + batch_mean * (1 - momentum)
//    running_var  = var  * momentum + batch_var  * (1 - momentum)
//  are outputs 1 and 2. Opsets 7-13 also have saved_mean (the batch mean) and saved_var
//  (the batch variance) as outputs 3 and 4.
//  Opset 7-8 `spatial=0` takes per-activation parameters of shape [C, D1, ...].
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

struct BatchNormAttributes {
  float epsilon = 1e-5f;   // "epsilon"
  float momentum = 0.9f;   // "momentum"
  bool spatial = true;     // "spatial" (opset 7-8): 1
  bool training_mode = false;  // "training_mode" (opset 14+): 0

  BatchNormAttributes(const ir::Node& n, int64_t opset)
      : epsilon(n.get_float("epsilon", 1e-5f)),
        momentum(n.get_float("momentum", 0.9f)),
        spatial(opset >= 9 || n.get_int("spatial", 1) != 0),
        training_mode(opset >= 14 ? n.get_int("training_mode", 0) != 0
                                  : n.outputs().size() > 1 && n.output(1) != nullptr) {}
};

class BatchNorm final : public Kernel {
 public:
  explicit BatchNorm(const KernelInfo& info) : attrs_(info.node(), info.opset()), opset_(info.opset()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor* params[4] = {&ctx.required_input(1), &ctx.required_input(2), &ctx.required_input(3),
                               &ctx.required_input(4)};
    if (x.rank() < 2) fail(ctx, ErrorCode::kInvalidArgument, "X must have rank >= 2, got " + x.describe());
    const int64_t n = x.dim(0), c = x.dim(1), spatial = product(x.shape(), 2, x.rank());
    // Parameters per channel, or per activation (spatial=0): `per` elements each.
    const int64_t per = attrs_.spatial ? 1 : spatial;
    for (const Tensor* p : params)
      if (p->element_count() != c * per)
        fail(ctx, ErrorCode::kInvalidArgument,
             "scale, B, mean and var must have " + std::to_string(c * per) + " elements for X " +
                 x.describe() + ", got " + p->describe());
    if (attrs_.training_mode && !attrs_.spatial)
      fail(ctx, ErrorCode::kNotImplemented, "training mode with spatial=0 is not supported");

    visit_dtype(FloatTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      // Reads parameter i, element j, whatever its float type (scale/B and mean/var may
      // differ from T from opset 15).
      auto param = [&](int i, int64_t j) -> T {
        const Tensor& p = *params[i];
        return p.dtype() == DataType::kDouble ? static_cast<T>(p.data<double>()[j])
                                              : static_cast<T>(p.data<float>()[j]);
      };
      for (const Tensor* p : params)
        if (p->dtype() != DataType::kFloat && p->dtype() != DataType::kDouble)
          fail(ctx, ErrorCode::kNotImplemented, "parameter type " + p->describe() + " is not supported");
      const T* px = x.data<T>();
      const int64_t count = c * per;
      std::vector<T> mean(static_cast<size_t>(count)), var(static_cast<size_t>(count));
      if (attrs_.training_mode) {
        ctx.thread_pool().parallel_for(c, static_cast<double>(n * spatial * 2), [&](int64_t c0, int64_t c1) {
          for (int64_t ch = c0; ch < c1; ++ch) {
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < n; ++i) {
              const T* p = px + (i * c + ch) * spatial;
              for (int64_t s = 0; s < spatial; ++s) sum += p[s];
            }
            const double cnt = static_cast<double>(n * spatial);
            const double mu = cnt > 0 ? sum / cnt : 0.0;
            for (int64_t i = 0; i < n; ++i) {
              const T* p = px + (i * c + ch) * spatial;
              for (int64_t s = 0; s < spatial; ++s) sq += (p[s] - mu) * (p[s] - mu);
            }
            mean[static_cast<size_t>(ch)] = static_cast<T>(mu);
            var[static_cast<size_t>(ch)] = static_cast<T>(cnt > 0 ? sq / cnt : 0.0);
          }
        });
      } else {
        for (int64_t j = 0; j < count; ++j) {
          mean[static_cast<size_t>(j)] = param(2, j);
          var[static_cast<size_t>(j)] = param(3, j);
        }
      }
      // Folded per-parameter scale and shift: y = x * a + b.
      std::vector<T> fa(static_cast<size_t>(count)), fb(static_cast<size_t>(count));
      for (int64_t j = 0; j < count; ++j) {
        const size_t u = static_cast<size_t>(j);
        fa[u] = param(0, j) / std::sqrt(var[u] + static_cast<T>(attrs_.epsilon));
        fb[u] = param(1, j) - mean[u] * fa[u];
      }
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();  // may alias X
      ctx.thread_pool().parallel_for(n * c, static_cast<double>(spatial), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t ch = r % c;
          const T* in = px + r * spatial;
          T* out = py + r * spatial;
          if (per == 1) {
            const T a = fa[static_cast<size_t>(ch)], b = fb[static_cast<size_t>(ch)];
            for (int64_t s = 0; s < spatial; ++s) out[s] = in[s] * a + b;
          } else {
            const T* a = fa.data() + ch * per;
            const T* b = fb.data() + ch * per;
            for (int64_t s = 0; s < spatial; ++s) out[s] = in[s] * a[s] + b[s];
          }
        }
      });
      if (!attrs_.training_mode) return;
      const T mom = static_cast<T>(attrs_.momentum);
      auto write_stat = [&](size_t out, int src_param, const std::vector<T>& batch, bool running) {
        if (ctx.output_count() <= out || !ctx.output_wanted(out)) return;
        const Tensor& like = *params[src_param];
        Tensor& t = ctx.allocate_output(out, like.dtype(), like.shape());
        for (int64_t j = 0; j < count; ++j) {
          const T v = running ? param(src_param, j) * mom + batch[static_cast<size_t>(j)] * (T(1) - mom)
                              : batch[static_cast<size_t>(j)];
          if (t.dtype() == DataType::kDouble) t.data<double>()[j] = static_cast<double>(v);
          else t.data<float>()[j] = static_cast<float>(v);
        }
      };
      write_stat(1, 2, mean, true);
      write_stat(2, 3, var, true);
      if (opset_ < 14) {
        write_stat(3, 2, mean, false);
        write_stat(4, 3, var, false);
      }
    });
  }

 private:
  BatchNormAttributes attrs_;
  int64_t opset_;
};

}  // namespace

void register_batch_norm_kernels(KernelRegistry& r) {
  r.add("BatchNormalization", {7, 9, 14, 15}, make_kernel<BatchNorm>, FloatTypes::dtypes()).in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
