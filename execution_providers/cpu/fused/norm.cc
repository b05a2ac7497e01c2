// CPU kernels of the ferry domain's normalisations and activations (ir/ferry_schemas_norm.cc):
// Gelu (optional bias, exact or tanh), LayerNormalization and RMSNormalization (the ai.onnx
// kernels of nn/normalization.cc), SkipLayerNormalization and Silu. Statistics accumulate in
// double, as the ai.onnx normalisations do; half types load and store through float.
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/fused/fused.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {

// nn/normalization.cc: ai.onnx LayerNormalization-17 / RMSNormalization-23.
std::unique_ptr<Kernel> make_layer_norm_kernel(const KernelInfo& info);
std::unique_ptr<Kernel> make_rms_norm_kernel(const KernelInfo& info);

namespace {

/// A rank-1 input of `len` elements (X's last dimension), as doubles; empty when omitted.
template <typename T>
std::vector<double> last_axis_vector(const KernelContext& ctx, size_t i, const char* name, const Tensor& x) {
  const Tensor* t = i < ctx.input_count() ? ctx.input(i) : nullptr;
  if (t == nullptr || !t->defined()) return {};
  const int64_t len = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
  if (t->rank() != 1 || t->dim(0) != len || t->dtype() != x.dtype())
    fail(ctx, ErrorCode::kInvalidArgument, std::string("input '") + name + "' " + t->describe() +
                                               " must be 1-D with X's element type and last dimension, X is " +
                                               x.describe());
  std::vector<double> v(static_cast<size_t>(len));
  const T* p = t->data<T>();
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<double>(to_compute(p[k]));
  return v;
}

class Gelu final : public Kernel {
 public:
  explicit Gelu(const KernelInfo& info) {
    const std::string a = info.node().get_string("approximate", "none");  // "approximate": "none"
    if (a != "none" && a != "tanh") fail_model(info, "attribute 'approximate' must be \"none\" or \"tanh\", got \"" + a + "\"");
    tanh_ = a == "tanh";
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() == DataType::kFloat) return compute_float(ctx, x);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      const std::vector<double> bias = last_axis_vector<T>(ctx, 1, "Bias", x);
      const int64_t n = x.element_count(), len = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const bool tanh_form = tanh_;
      ctx.thread_pool().parallel_for(n, 20.0, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          C v = to_compute(px[i]);
          if (!bias.empty()) v += static_cast<C>(bias[static_cast<size_t>(i % len)]);
          C g;
          if (tanh_form) {
            const C k = static_cast<C>(0.7978845608028654);  // sqrt(2 / pi)
            g = static_cast<C>(0.5) * v * (1 + std::tanh(k * (v + static_cast<C>(0.044715) * v * v * v)));
          } else {
            g = static_cast<C>(0.5) * v * (1 + std::erf(v * static_cast<C>(0.7071067811865476)));
          }
          py[i] = from_compute<T>(g);
        }
      });
    });
  }

 private:
  /// Float: the vectorised Gelu, row by row after adding the bias when there is one.
  void compute_float(KernelContext& ctx, const Tensor& x) const {
    const Tensor* bt = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
    const bool has_bias = bt != nullptr && bt->defined();
    if (has_bias) (void)last_axis_vector<float>(ctx, 1, "Bias", x);  // validates the shape
    const int64_t n = x.element_count(), len = x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
    const float* px = x.data<float>();
    float* py = ctx.allocate_output(0, x.dtype(), x.shape()).data<float>();  // may alias x
    auto gelu = tanh_ ? simd::gelu_tanh : simd::gelu_erf;
    if (!has_bias || len == 0) {
      ctx.thread_pool().parallel_for(n, 2.0, [&](int64_t b, int64_t e) { gelu(px + b, py + b, e - b); });
      return;
    }
    const float* pb = bt->data<float>();
    ctx.thread_pool().parallel_for(n / len, static_cast<double>(len) * 2.5, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        simd::binary(simd::BinaryOp::kAdd, px + r * len, 1, pb, 1, py + r * len, len);
        gelu(py + r * len, py + r * len, len);
      }
    });
  }

  bool tanh_ = false;
};

class Silu final : public Kernel {
 public:
  explicit Silu(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() == DataType::kFloat) {
      const float* px = x.data<float>();
      float* py = ctx.allocate_output(0, x.dtype(), x.shape()).data<float>();  // may alias x
      ctx.thread_pool().parallel_for(x.element_count(), 1.5, [&](int64_t b, int64_t e) {
        simd::silu(px + b, py + b, e - b);
      });
      return;
    }
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = compute_t<T>;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      ctx.thread_pool().parallel_for(x.element_count(), 10.0, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const C v = to_compute(px[i]);
          py[i] = from_compute<T>(v / (1 + std::exp(-v)));
        }
      });
    });
  }
};

class SkipLayerNormalization final : public Kernel {
 public:
  explicit SkipLayerNormalization(const KernelInfo& info)
      : epsilon_(info.node().get_float("epsilon", 1e-5f)),         // "epsilon": 1e-5
        simplified_(info.node().get_int("simplified", 0) != 0) {}  // "simplified": 0

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& skip = ctx.required_input(1);
    if (x.rank() == 0) fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must have rank >= 1, got " + x.describe());
    if (skip.shape() != x.shape() || skip.dtype() != x.dtype())
      fail(ctx, ErrorCode::kInvalidArgument, "input 'Skip' " + skip.describe() + " must have X's type and shape " + x.describe());
    if (x.dtype() == DataType::kFloat) return compute_float(ctx, x, skip);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const std::vector<double> scale = last_axis_vector<T>(ctx, 2, "Scale", x);
      const std::vector<double> beta = last_axis_vector<T>(ctx, 3, "B", x);
      const std::vector<double> bias = last_axis_vector<T>(ctx, 4, "Bias", x);
      if (scale.empty()) fail(ctx, ErrorCode::kInvalidArgument, "input 'Scale' is required");
      if (simplified_ && !beta.empty()) fail(ctx, ErrorCode::kInvalidArgument, "input 'B' must be omitted when simplified = 1");
      const int64_t len = x.dim(x.rank() - 1), rows = len == 0 ? 0 : x.element_count() / len;
      const T* px = x.data<T>();
      const T* ps = skip.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      T* psum = ctx.output_count() > 1 && ctx.output_wanted(1)
                    ? ctx.allocate_output(1, x.dtype(), x.shape()).template data<T>() : nullptr;
      const double eps = epsilon_;
      const bool rms = simplified_;
      ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 8, [&](int64_t b, int64_t e) {
        std::vector<double> s(static_cast<size_t>(len));
        for (int64_t r = b; r < e; ++r) {
          const int64_t off = r * len;
          double mean = 0, sq = 0;
          for (int64_t i = 0; i < len; ++i) {
            // The sum rounds to T first, as the unfused Add nodes would store it.
            double v = static_cast<double>(to_compute(px[off + i])) + static_cast<double>(to_compute(ps[off + i]));
            if (!bias.empty()) v += bias[static_cast<size_t>(i)];
            const T stored = from_compute<T>(v);
            if (psum != nullptr) psum[off + i] = stored;
            s[static_cast<size_t>(i)] = static_cast<double>(to_compute(stored));
            mean += s[static_cast<size_t>(i)];
          }
          mean = rms ? 0.0 : mean / static_cast<double>(len);
          for (int64_t i = 0; i < len; ++i) {
            const double d = s[static_cast<size_t>(i)] - mean;
            sq += d * d;
          }
          const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
          for (int64_t i = 0; i < len; ++i) {
            double v = (s[static_cast<size_t>(i)] - mean) * inv * scale[static_cast<size_t>(i)];
            if (!beta.empty()) v += beta[static_cast<size_t>(i)];
            py[off + i] = from_compute<T>(v);
          }
        }
      });
    });
  }

 private:
  /// Float: per row, s = x + skip (+ bias) with the vectorised kernels, then its moments in
  /// double and the normalisation.
  void compute_float(KernelContext& ctx, const Tensor& x, const Tensor& skip) const {
    auto input = [&](size_t i) -> const Tensor* {
      const Tensor* t = i < ctx.input_count() ? ctx.input(i) : nullptr;
      if (t == nullptr || !t->defined()) return nullptr;
      (void)last_axis_vector<float>(ctx, i, i == 2 ? "Scale" : i == 3 ? "B" : "Bias", x);  // validates
      return t;
    };
    const Tensor* scale = input(2);
    const Tensor* beta = input(3);
    const Tensor* bias = input(4);
    if (scale == nullptr) fail(ctx, ErrorCode::kInvalidArgument, "input 'Scale' is required");
    if (simplified_ && beta != nullptr) fail(ctx, ErrorCode::kInvalidArgument, "input 'B' must be omitted when simplified = 1");
    const int64_t len = x.dim(x.rank() - 1), rows = len == 0 ? 0 : x.element_count() / len;
    const float* px = x.data<float>();
    const float* pk = skip.data<float>();
    const float* ps = scale->data<float>();
    const float* pbeta = beta != nullptr ? beta->data<float>() : nullptr;
    const float* pbias = bias != nullptr ? bias->data<float>() : nullptr;
    float* py = ctx.allocate_output(0, x.dtype(), x.shape()).data<float>();
    float* psum = ctx.output_count() > 1 && ctx.output_wanted(1)
                      ? ctx.allocate_output(1, x.dtype(), x.shape()).data<float>() : nullptr;
    const double eps = epsilon_;
    const bool rms = simplified_;
    ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 3, [&](int64_t b, int64_t e) {
      std::vector<float> tmp(psum == nullptr ? static_cast<size_t>(len) : 0);
      for (int64_t r = b; r < e; ++r) {
        const int64_t off = r * len;
        float* s = psum != nullptr ? psum + off : tmp.data();
        simd::binary(simd::BinaryOp::kAdd, px + off, 1, pk + off, 1, s, len);
        if (pbias != nullptr) simd::binary(simd::BinaryOp::kAdd, s, 1, pbias, 1, s, len);
        double mean, inv;
        simd::moments(s, len, rms, eps, &mean, &inv);
        simd::normalize(s, py + off, len, mean, inv, ps, pbeta);
      }
    });
  }

  float epsilon_;
  bool simplified_;
};

}  // namespace

void register_fused_norm_kernels(KernelRegistry& r) {
  const auto types = FloatHalfTypes::dtypes();
  r.add("Gelu", {1}, make_kernel<Gelu>, types, "ferry").in_place_inputs = {0};
  r.add("LayerNormalization", {1}, make_layer_norm_kernel, types, "ferry");
  r.add("RMSNormalization", {1}, make_rms_norm_kernel, types, "ferry");
  r.add("SkipLayerNormalization", {1}, make_kernel<SkipLayerNormalization>, types, "ferry");
  r.add("Silu", {1}, make_kernel<Silu>, types, "ferry").in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
