// NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss (12, 13) over inputs
// [N, C] or [N, C, d1..dk] with targets [N] or [N, d1..dk]: optional per-class weights,
// ignore_index, and reduction none / sum / mean (mean divides by the summed weights of the
// elements not ignored, so it is 0/0 = NaN when every target is ignored, as in the spec's
// reference and function body). Sums accumulate in double; half types compute through it too.
#include <cmath>
#include <optional>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/nn/float_compute.h"

namespace ferry::ep::cpu {

namespace {

enum class Reduction { kNone, kSum, kMean };

struct LossAttributes {
  Reduction reduction = Reduction::kMean;  // "reduction": "mean"
  std::optional<int64_t> ignore_index;     // "ignore_index": none
  explicit LossAttributes(const ir::Node& n) {
    const std::string r = n.get_string("reduction", "mean");
    if (r == "none") reduction = Reduction::kNone;
    else if (r == "sum") reduction = Reduction::kSum;
    else if (r == "mean") reduction = Reduction::kMean;
    else throw Error(ErrorCode::kInvalidModel, "attribute 'reduction' is '" + r + "' (valid: none, sum, mean)");
    if (n.find_attribute("ignore_index")) ignore_index = n.get_int("ignore_index", 0);
  }
};

/// Input [N, C, d...] viewed as [N, C, D] with D the product of the trailing dims.
struct LossShape {
  int64_t n = 0, c = 0, d = 1;
};

LossShape check_shapes(const Tensor& x, const Tensor& target, const Tensor* weight) {
  if (x.rank() < 2)
    throw Error(ErrorCode::kInvalidArgument, "input 'input' must have rank >= 2 ([N, C, d1..dk]), got " + x.describe());
  LossShape s{x.dim(0), x.dim(1), product(x.shape(), 2, x.shape().size())};
  bool ok = target.rank() == x.rank() - 1 && target.dim(0) == s.n;
  for (size_t i = 1; ok && i < target.rank(); ++i) ok = target.dim(i) == x.dim(i + 1);
  if (!ok)
    throw Error(ErrorCode::kInvalidArgument, "input 'target' " + target.describe() + " must have input's shape without the class dim; input is " + x.describe());
  if (weight && (weight->rank() != 1 || weight->dim(0) != s.c))
    throw Error(ErrorCode::kInvalidArgument, "input 'weight' must have shape [" + std::to_string(s.c) + "] (one per class), got " + weight->describe());
  if (weight && weight->dtype() != x.dtype())
    throw Error(ErrorCode::kInvalidArgument, "input 'weight' " + weight->describe() + " must have input's element type, got " + x.describe());
  return s;
}

/// Writes output 0 from log-probabilities logp(n, c, d) (already as double).
template <typename T, typename LogP>
void negative_log_likelihood(KernelContext& ctx, const LossAttributes& a, const LossShape& s, const Tensor& x,
                             const Tensor& target, const Tensor* weight, LogP&& logp) {
  const std::vector<int64_t> t = read_ints(target, "input 'target'");
  std::vector<double> w;
  if (weight)
    for (int64_t c = 0; c < s.c; ++c) w.push_back(static_cast<double>(to_compute(weight->data<T>()[c])));
  const size_t count = t.size();
  std::vector<double> loss(count), lw(count);
  for (size_t i = 0; i < count; ++i) {
    const int64_t cls = t[i];
    if (a.ignore_index && cls == *a.ignore_index) continue;  // loss and weight stay 0
    if (cls < 0 || cls >= s.c)
      throw Error(ErrorCode::kInvalidArgument,
                  "input 'target' value " + std::to_string(cls) + " at flat index " + std::to_string(i) +
                      " is outside the " + std::to_string(s.c) + " classes [0, " + std::to_string(s.c) + ")" +
                      (a.ignore_index ? " and is not ignore_index " + std::to_string(*a.ignore_index) : std::string()));
    const int64_t n = static_cast<int64_t>(i) / s.d, d = static_cast<int64_t>(i) % s.d;
    lw[i] = weight ? w[static_cast<size_t>(cls)] : 1.0;
    loss[i] = -logp(n, cls, d) * lw[i];
  }
  if (a.reduction == Reduction::kNone) {
    T* out = ctx.allocate_output(0, x.dtype(), target.shape()).template data<T>();
    for (size_t i = 0; i < count; ++i) out[i] = from_compute<T>(loss[i]);
    return;
  }
  double sum = 0, wsum = 0;
  for (size_t i = 0; i < count; ++i) {
    sum += loss[i];
    wsum += lw[i];
  }
  T* out = ctx.allocate_output(0, x.dtype(), {}).template data<T>();
  out[0] = from_compute<T>(a.reduction == Reduction::kSum ? sum : sum / wsum);
}

class NegativeLogLikelihoodLoss final : public Kernel {
 public:
  explicit NegativeLogLikelihoodLoss(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& target = ctx.required_input(1);
    const Tensor* weight = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const LossShape s = check_shapes(x, target, weight);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'input'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      negative_log_likelihood<T>(ctx, a_, s, x, target, weight, [&](int64_t n, int64_t c, int64_t d) {
        return static_cast<double>(to_compute(px[(n * s.c + c) * s.d + d]));
      });
    });
  }

 private:
  LossAttributes a_;
};

class SoftmaxCrossEntropyLoss final : public Kernel {
 public:
  explicit SoftmaxCrossEntropyLoss(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& target = ctx.required_input(1);
    const Tensor* weight = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const LossShape s = check_shapes(x, target, weight);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'scores'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      // log_softmax over the class dim, for every (n, d).
      std::vector<double> lp(static_cast<size_t>(x.element_count()));
      ctx.thread_pool().parallel_for(s.n * s.d, static_cast<double>(s.c * 20), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t base = (i / s.d) * s.c * s.d + i % s.d;
          double mx = -INFINITY;
          for (int64_t c = 0; c < s.c; ++c) mx = std::max(mx, static_cast<double>(to_compute(px[base + c * s.d])));
          double sum = 0;
          for (int64_t c = 0; c < s.c; ++c) sum += std::exp(static_cast<double>(to_compute(px[base + c * s.d])) - mx);
          const double lse = mx + std::log(sum);
          for (int64_t c = 0; c < s.c; ++c)
            lp[static_cast<size_t>(base + c * s.d)] = static_cast<double>(to_compute(px[base + c * s.d])) - lse;
        }
      });
      negative_log_likelihood<T>(ctx, a_, s, x, target, weight, [&](int64_t n, int64_t c, int64_t d) {
        return lp[static_cast<size_t>((n * s.c + c) * s.d + d)];
      });
      if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
        T* out = ctx.allocate_output(1, x.dtype(), x.shape()).template data<T>();
        for (size_t i = 0; i < lp.size(); ++i) out[i] = from_compute<T>(lp[i]);
      }
    });
  }

 private:
  LossAttributes a_;
};

}  // namespace

void register_loss_kernels(KernelRegistry& r) {
  r.add("NegativeLogLikelihoodLoss", {12, 13, 22}, make_kernel<NegativeLogLikelihoodLoss>, FloatHalfTypes::dtypes());
  r.add("SoftmaxCrossEntropyLoss", {12, 13}, make_kernel<SoftmaxCrossEntropyLoss>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
