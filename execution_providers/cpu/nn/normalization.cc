// Normalizations: LayerNormalization (17, with its Mean and InvStdDev outputs),
// RMSNormalization (23), GroupNormalization (18: per-group scale/bias; 21: per-channel),
// InstanceNormalization, MeanVarianceNormalization, LpNormalization and LRN. Statistics are
// computed in double; half types load and store through float.
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"
#include "execution_providers/cpu/reduce/axes.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

/// Offsets into a tensor of shape `p` for every flat position of shape `t`, broadcasting `p`
/// right-aligned (numpy rules, unidirectional); empty optional when it does not broadcast.
bool broadcast_offsets(const std::vector<int64_t>& p, const std::vector<int64_t>& t, std::vector<int64_t>& out) {
  if (p.size() > t.size()) {
    for (size_t i = 0; i < p.size() - t.size(); ++i)
      if (p[i] != 1) return false;
  }
  const size_t lead = t.size() >= p.size() ? t.size() - p.size() : 0;
  const size_t skip = p.size() > t.size() ? p.size() - t.size() : 0;
  std::vector<int64_t> stride(t.size(), 0);
  int64_t s = 1;
  for (size_t i = t.size(); i-- > lead;) {
    const int64_t pd = p[i - lead + skip];
    if (pd != 1 && pd != t[i]) return false;
    stride[i] = pd == 1 ? 0 : s;
    s *= pd;
  }
  const int64_t n = product(t);
  out.assign(static_cast<size_t>(n), 0);
  std::vector<int64_t> idx(t.size(), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    out[static_cast<size_t>(k)] = off;
    for (size_t d = t.size(); d-- > 0;) {
      off += stride[d];
      if (++idx[d] < t[d]) break;
      off -= stride[d] * t[d];
      idx[d] = 0;
    }
  }
  return true;
}

template <typename T> std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.element_count()));
  const T* p = t.data<T>();
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(to_compute(p[i]));
  return v;
}

/// Layer and RMS normalization over the dims from `axis` on.
template <bool kRms>
class AxisNormalization final : public Kernel {
 public:
  explicit AxisNormalization(const KernelInfo& info)
      : axis_(info.node().get_int("axis", -1)),              // "axis": -1
        epsilon_(info.node().get_float("epsilon", 1e-5f)) {}  // "epsilon": 1e-5

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& scale = ctx.required_input(1);
    const Tensor* bias = !kRms && ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    if (bias != nullptr && !bias->defined()) bias = nullptr;
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must have rank >= 1, got " + x.describe());
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    const std::vector<int64_t> norm_shape(x.shape().begin() + static_cast<std::ptrdiff_t>(axis), x.shape().end());
    const int64_t rows = product(x.shape(), 0, axis), len = product(norm_shape);
    std::vector<int64_t> soff, boff;
    if (!broadcast_offsets(scale.shape(), norm_shape, soff))
      fail(ctx, ErrorCode::kInvalidArgument, "'Scale' " + scale.describe() + " does not broadcast to the normalized shape " +
                                                 shape_to_string(norm_shape));
    if (bias != nullptr && !broadcast_offsets(bias->shape(), norm_shape, boff))
      fail(ctx, ErrorCode::kInvalidArgument, "'B' " + bias->describe() + " does not broadcast to the normalized shape " +
                                                 shape_to_string(norm_shape));
    std::vector<int64_t> stat_shape = x.shape();
    for (size_t d = axis; d < stat_shape.size(); ++d) stat_shape[d] = 1;
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (scale.dtype() != x.dtype() || (bias != nullptr && bias->dtype() != x.dtype()))
        fail(ctx, ErrorCode::kInvalidArgument, "'Scale' and 'B' must have X's element type " + x.describe());
      if constexpr (std::is_same_v<T, float>) {
        if (scale.element_count() == len && (bias == nullptr || bias->element_count() == len)) {
          normalize_float(ctx, x, scale, bias, rows, len, stat_shape);
          return;
        }
      }
      const std::vector<double> sv = to_doubles<T>(scale);
      const std::vector<double> bv = bias != nullptr ? to_doubles<T>(*bias) : std::vector<double>{};
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      // Mean / InvStdDev: double for double X, else float (the stash type).
      const DataType stat_type = x.dtype() == DataType::kDouble ? DataType::kDouble : DataType::kFloat;
      void* pmean = !kRms && ctx.output_count() > 1 && ctx.output_wanted(1)
                        ? ctx.allocate_output(1, stat_type, stat_shape).raw_data() : nullptr;
      void* pinv = !kRms && ctx.output_count() > 2 && ctx.output_wanted(2)
                       ? ctx.allocate_output(2, stat_type, stat_shape).raw_data() : nullptr;
      auto put = [&](void* p, int64_t i, double v) {
        if (stat_type == DataType::kDouble) static_cast<double*>(p)[i] = v;
        else static_cast<float*>(p)[i] = static_cast<float>(v);
      };
      const double eps = epsilon_;
      ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 6, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          const T* in = px + r * len;
          T* out = py + r * len;
          double mean = 0, sq = 0;
          if (!kRms) {
            for (int64_t i = 0; i < len; ++i) mean += static_cast<double>(to_compute(in[i]));
            mean /= static_cast<double>(len);
          }
          for (int64_t i = 0; i < len; ++i) {
            const double d = static_cast<double>(to_compute(in[i])) - mean;
            sq += d * d;
          }
          const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
          for (int64_t i = 0; i < len; ++i) {
            double v = (static_cast<double>(to_compute(in[i])) - mean) * inv * sv[static_cast<size_t>(soff[static_cast<size_t>(i)])];
            if (!bv.empty()) v += bv[static_cast<size_t>(boff[static_cast<size_t>(i)])];
            out[i] = from_compute<T>(v);
          }
          if (pmean != nullptr) put(pmean, r, mean);
          if (pinv != nullptr) put(pinv, r, inv);
        }
      });
    });
  }

 private:
  /// Float X with Scale and B covering the normalized shape: the vectorised row kernels
  /// (statistics still accumulate in double).
  void normalize_float(KernelContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* bias, int64_t rows,
                       int64_t len, const std::vector<int64_t>& stat_shape) const {
    const float* px = x.data<float>();
    const float* ps = scale.data<float>();
    const float* pb = bias != nullptr ? bias->data<float>() : nullptr;
    float* py = ctx.allocate_output(0, x.dtype(), x.shape()).data<float>();
    float* pmean = !kRms && ctx.output_count() > 1 && ctx.output_wanted(1)
                       ? ctx.allocate_output(1, DataType::kFloat, stat_shape).data<float>() : nullptr;
    float* pinv = !kRms && ctx.output_count() > 2 && ctx.output_wanted(2)
                      ? ctx.allocate_output(2, DataType::kFloat, stat_shape).data<float>() : nullptr;
    const double eps = epsilon_;
    ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 2, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        double mean, inv;
        simd::moments(px + r * len, len, kRms, eps, &mean, &inv);
        simd::normalize(px + r * len, py + r * len, len, mean, inv, ps, pb);
        if (pmean != nullptr) pmean[r] = static_cast<float>(mean);
        if (pinv != nullptr) pinv[r] = static_cast<float>(inv);
      }
    });
  }

  int64_t axis_;
  float epsilon_;
};

/// Normalizes rows of `len` contiguous elements of x; row r's element i is then scaled by
/// scale[channel] and shifted by bias[channel], channel = channel_of(r, i).
template <typename T, typename ChannelOf>
void normalize_rows(KernelContext& ctx, const T* px, T* py, int64_t rows, int64_t len, double eps,
                    const std::vector<double>& scale, const std::vector<double>& bias, ChannelOf channel_of) {
  ctx.thread_pool().parallel_for(rows, static_cast<double>(len) * 6, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* in = px + r * len;
      T* out = py + r * len;
      double mean = 0, sq = 0;
      for (int64_t i = 0; i < len; ++i) mean += static_cast<double>(to_compute(in[i]));
      mean /= static_cast<double>(len);
      for (int64_t i = 0; i < len; ++i) {
        const double d = static_cast<double>(to_compute(in[i])) - mean;
        sq += d * d;
      }
      const double inv = 1.0 / std::sqrt(sq / static_cast<double>(len) + eps);
      for (int64_t i = 0; i < len; ++i) {
        const size_t c = static_cast<size_t>(channel_of(r, i));
        out[i] = from_compute<T>((static_cast<double>(to_compute(in[i])) - mean) * inv * scale[c] + bias[c]);
      }
    }
  });
}

class InstanceNormalization final : public Kernel {
 public:
  explicit InstanceNormalization(const KernelInfo& info) : epsilon_(info.node().get_float("epsilon", 1e-5f)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& scale = ctx.required_input(1);
    const Tensor& bias = ctx.required_input(2);
    if (x.rank() < 2) fail(ctx, ErrorCode::kInvalidArgument, "input must have rank >= 2, got " + x.describe());
    const int64_t c = x.dim(1), len = product(x.shape(), 2, x.rank());
    if (scale.element_count() != c || bias.element_count() != c)
      fail(ctx, ErrorCode::kInvalidArgument, "scale " + scale.describe() + " and B " + bias.describe() + " must have " +
                                                 std::to_string(c) + " elements (channels of " + x.describe() + ")");
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      if (x.element_count() == 0) return;
      normalize_rows<T>(ctx, x.data<T>(), py, x.dim(0) * c, len, epsilon_, to_doubles<T>(scale), to_doubles<T>(bias),
                        [c](int64_t r, int64_t) { return r % c; });
    });
  }

 private:
  float epsilon_;  // "epsilon": 1e-5
};

class GroupNormalization final : public Kernel {
 public:
  explicit GroupNormalization(const KernelInfo& info)
      : epsilon_(info.node().get_float("epsilon", 1e-5f)),
        groups_(info.node().get_int("num_groups", 0)),
        per_channel_(info.opset() >= 21) {
    if (groups_ < 1) fail_model(info, "attribute 'num_groups' must be >= 1, got " + std::to_string(groups_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& scale = ctx.required_input(1);
    const Tensor& bias = ctx.required_input(2);
    if (x.rank() < 2) fail(ctx, ErrorCode::kInvalidArgument, "input must have rank >= 2, got " + x.describe());
    const int64_t c = x.dim(1), g = groups_, spatial = product(x.shape(), 2, x.rank());
    if (c % g != 0)
      fail(ctx, ErrorCode::kInvalidArgument, "channels " + std::to_string(c) + " of " + x.describe() +
                                                 " are not divisible by num_groups " + std::to_string(g));
    const int64_t want = per_channel_ ? c : g;
    if (scale.element_count() != want || bias.element_count() != want)
      fail(ctx, ErrorCode::kInvalidArgument, "scale " + scale.describe() + " and bias " + bias.describe() + " must have " +
                                                 std::to_string(want) + " elements");
    const int64_t cg = c / g, len = cg * spatial;
    const bool per_channel = per_channel_;
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      if (x.element_count() == 0) return;
      normalize_rows<T>(ctx, x.data<T>(), py, x.dim(0) * g, len, epsilon_, to_doubles<T>(scale), to_doubles<T>(bias),
                        [=](int64_t r, int64_t i) { return per_channel ? (r % g) * cg + i / spatial : r % g; });
    });
  }

 private:
  float epsilon_;   // "epsilon": 1e-5
  int64_t groups_;  // "num_groups": required
  bool per_channel_;  // scale/bias per channel from opset 21, per group before
};

class MeanVarianceNormalization final : public Kernel {
 public:
  explicit MeanVarianceNormalization(const KernelInfo& info)
      : axes_(info.node().get_ints("axes", {0, 2, 3})) {}  // "axes": [0, 2, 3]

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<bool> reduced(x.rank(), false);
    for (int64_t a : axes_) reduced[static_cast<size_t>(normalize_axis(a, rank, ctx.node()))] = true;
    std::vector<bool> kept(reduced.size());
    for (size_t d = 0; d < reduced.size(); ++d) kept[d] = !reduced[d];
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      if (x.element_count() == 0) return;
      const std::vector<int64_t> red = combination_offsets(x.shape(), reduced);
      const std::vector<int64_t> base = combination_offsets(x.shape(), kept);
      const T* px = x.data<T>();
      const double n = static_cast<double>(red.size());
      ctx.thread_pool().parallel_for(static_cast<int64_t>(base.size()), n * 6, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const int64_t s = base[static_cast<size_t>(o)];
          double sum = 0, sq = 0;
          for (int64_t r : red) {
            const double v = static_cast<double>(to_compute(px[s + r]));
            sum += v;
            sq += v * v;
          }
          const double mean = sum / n;
          // As the spec's function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9).
          const double sd = std::sqrt(std::max(0.0, sq / n - mean * mean)) + 1e-9;
          for (int64_t r : red) py[s + r] = from_compute<T>((static_cast<double>(to_compute(px[s + r])) - mean) / sd);
        }
      });
    });
  }

 private:
  std::vector<int64_t> axes_;
};

class LpNormalization final : public Kernel {
 public:
  explicit LpNormalization(const KernelInfo& info)
      : axis_(info.node().get_int("axis", -1)), p_(info.node().get_int("p", 2)) {  // "axis": -1, "p": 2
    if (p_ != 1 && p_ != 2) fail_model(info, "attribute 'p' must be 1 or 2, got " + std::to_string(p_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(x.rank()));
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    std::vector<int64_t> s = x.shape();
    if (s.empty()) s.push_back(1);
    const int64_t outer = product(s, 0, axis), len = s[axis], inner = product(s, axis + 1, s.size());
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const bool l1 = p_ == 1;
      ctx.thread_pool().parallel_for(outer * inner, static_cast<double>(len) * 3, [&](int64_t b, int64_t e) {
        for (int64_t g = b; g < e; ++g) {
          const int64_t base = (g / inner) * len * inner + g % inner;
          double norm = 0;
          for (int64_t i = 0; i < len; ++i) {
            const double v = static_cast<double>(to_compute(px[base + i * inner]));
            norm += l1 ? std::abs(v) : v * v;
          }
          if (!l1) norm = std::sqrt(norm);
          // A zero vector stays zero (onnxruntime's behaviour) instead of becoming NaN.
          for (int64_t i = 0; i < len; ++i) {
            const double v = static_cast<double>(to_compute(px[base + i * inner]));
            py[base + i * inner] = from_compute<T>(norm == 0 ? 0.0 : v / norm);
          }
        }
      });
    });
  }

 private:
  int64_t axis_, p_;
};

class Lrn final : public Kernel {
 public:
  explicit Lrn(const KernelInfo& info)
      : alpha_(info.node().get_float("alpha", 1e-4f)),  // "alpha": 0.0001
        beta_(info.node().get_float("beta", 0.75f)),    // "beta": 0.75
        bias_(info.node().get_float("bias", 1.0f)),     // "bias": 1
        size_(info.node().get_int("size", 0)) {         // "size": required
    if (size_ < 1) fail_model(info, "attribute 'size' must be >= 1, got " + std::to_string(size_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 2) fail(ctx, ErrorCode::kInvalidArgument, "input must have rank >= 2, got " + x.describe());
    const int64_t n = x.dim(0), c = x.dim(1), inner = product(x.shape(), 2, x.rank());
    const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const double a = static_cast<double>(alpha_) / static_cast<double>(size_);
      ctx.thread_pool().parallel_for(n * c, static_cast<double>(inner * size_), [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          const int64_t img = p / c, ch = p % c;
          for (int64_t i = 0; i < inner; ++i) {
            double sq = 0;
            for (int64_t k = std::max<int64_t>(0, ch - lo); k <= std::min(c - 1, ch + hi); ++k) {
              const double v = static_cast<double>(to_compute(px[(img * c + k) * inner + i]));
              sq += v * v;
            }
            const double v = static_cast<double>(to_compute(px[p * inner + i]));
            py[p * inner + i] = from_compute<T>(v / std::pow(static_cast<double>(bias_) + a * sq, static_cast<double>(beta_)));
          }
        }
      });
    });
  }

 private:
  float alpha_, beta_, bias_;
  int64_t size_;
};

}  // namespace

// The same computation under the ferry domain's LayerNormalization / RMSNormalization (fused/norm.cc).
std::unique_ptr<Kernel> make_layer_norm_kernel(const KernelInfo& info) {
  return make_kernel<AxisNormalization<false>>(info);
}
std::unique_ptr<Kernel> make_rms_norm_kernel(const KernelInfo& info) {
  return make_kernel<AxisNormalization<true>>(info);
}

void register_normalization_kernels(KernelRegistry& r) {
  const auto types = FloatHalfTypes::dtypes();
  r.add("LayerNormalization", {17}, make_kernel<AxisNormalization<false>>, types);
  r.add("RMSNormalization", {23}, make_kernel<AxisNormalization<true>>, types);
  r.add("InstanceNormalization", {6, 22}, make_kernel<InstanceNormalization>, types);
  r.add("GroupNormalization", {18, 21}, make_kernel<GroupNormalization>, types);
  r.add("MeanVarianceNormalization", {9, 13}, make_kernel<MeanVarianceNormalization>, types);
  r.add("LpNormalization", {1, 22}, make_kernel<LpNormalization>, types);
  r.add("LRN", {1, 13}, make_kernel<Lrn>, types);
}

}  // namespace ferry::ep::cpu
