// ai.onnx.ml: Binarizer and ArrayFeatureExtractor, and the family's registration.
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/ml/ml.h"

namespace ferry::ep::cpu {
namespace {

using BinarizerTypes = Types<float, double, int64_t, int32_t>;

/// Y = 1 where X > threshold, else 0 (NaN gives 0), in X's element type.
class Binarizer final : public Kernel {
 public:
  explicit Binarizer(const KernelInfo& info) : threshold_(info.node().get_float("threshold", 0.0f)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    visit_dtype(BinarizerTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      T* out = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const double t = threshold_;
      ctx.thread_pool().parallel_for(x.element_count(), 1.0, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = static_cast<double>(in[i]) > t ? T(1) : T(0);
      });
    });
  }

 private:
  float threshold_;  // "threshold": 0
};

/// Selects elements of X's last axis: Y[..., j] = X[..., indices[j]] with the indices flattened.
/// A 1-D X gives a [1, n] Y (as onnxruntime and the reference evaluator do).
class ArrayFeatureExtractor final : public Kernel {
 public:
  explicit ArrayFeatureExtractor(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& y = ctx.required_input(1);
    if (x.rank() == 0) fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must have rank >= 1, got " + x.describe());
    const std::vector<int64_t> idx = read_ints(y, "input 'Y'");
    const int64_t last = x.shape().back();
    for (int64_t v : idx)
      if (v < 0 || v >= last)
        fail(ctx, ErrorCode::kInvalidArgument,
             "input 'Y' holds index " + std::to_string(v) + ", out of range for the last axis of X " +
                 x.describe() + " (valid: [0, " + std::to_string(last - 1) + "])");
    const int64_t n = static_cast<int64_t>(idx.size());
    std::vector<int64_t> shape = x.rank() == 1 ? std::vector<int64_t>{1, n} : x.shape();
    shape.back() = n;
    const int64_t rows = last == 0 ? 0 : x.element_count() / last;
    Tensor& out = ctx.allocate_output(0, x.dtype(), shape);
    visit_by_size(x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      T* o = out.template data<T>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < n; ++j) o[r * n + j] = in[r * last + idx[static_cast<size_t>(j)]];
    });
  }
};

const std::vector<DataType> kFeatureTypes = {DataType::kFloat, DataType::kDouble, DataType::kInt64,
                                             DataType::kInt32, DataType::kString};

}  // namespace

void register_ml_kernels(KernelRegistry& r) {
  r.add("Binarizer", {1}, make_kernel<Binarizer>, BinarizerTypes::dtypes(), kMlDomain);
  r.add("ArrayFeatureExtractor", {1}, make_kernel<ArrayFeatureExtractor>, kFeatureTypes, kMlDomain);
  register_label_encoder_kernels(r);
  register_tree_ensemble_kernels(r);
}

}  // namespace ferry::ep::cpu
