// MelWeightMatrix (opset 17): [dft_length / 2 + 1, num_mel_bins] triangular filters on the mel
// scale mel(f) = 2595 log10(1 + f / 700), computed as onnx's reference computes it (the band
// edges are num_mel_bins + 2 points spaced (high - low) / (num_mel_bins + 2) apart in mel,
// mapped to bins by floor((dft_length + 1) * f / sample_rate)). The edge frequencies' mel values
// are computed in their input type (float for the half types), the rest in double.
#include <algorithm>
#include <cmath>

#include "execution_providers/cpu/signal/signal.h"

namespace ferry::ep::cpu::signal {
namespace {

using MelOutputTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t,
                             uint32_t, int64_t, uint64_t>;

struct MelAttrs {
  DataType output_datatype = DataType::kFloat;  // output_datatype = 1 (FLOAT)
};

/// 2595 * log1p(hz / 700) in T2's precision, then / ln(10) in double, as numpy promotes it.
double mel_of(const Tensor& t, const std::string& what) {
  if (t.element_count() != 1) throw Error(ErrorCode::kInvalidArgument, what + " must be a scalar, got " + t.describe());
  return visit_dtype(SignalTypes{}, t.dtype(), what, [&](auto tag) -> double {
    using T = typename decltype(tag)::type;
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const C hz = static_cast<C>(load(t.data<T>()[0]));
    const C m = static_cast<C>(2595) * std::log1p(hz / static_cast<C>(700));
    return static_cast<double>(m) / std::log(10.0);
  });
}

class MelWeightMatrix final : public Kernel {
 public:
  explicit MelWeightMatrix(const KernelInfo& info) {
    a_.output_datatype = static_cast<DataType>(info.node().get_int("output_datatype", 1));
    const auto types = MelOutputTypes::dtypes();
    if (std::find(types.begin(), types.end(), a_.output_datatype) == types.end())
      fail_model(info, "attribute 'output_datatype' is " + std::to_string(static_cast<int>(a_.output_datatype)) +
                           ", expected a numeric type");
  }

  void compute(KernelContext& ctx) const override {
    const int64_t mel_bins = scalar_int(ctx.required_input(0), "input 'num_mel_bins'");
    const int64_t dft_length = scalar_int(ctx.required_input(1), "input 'dft_length'");
    const int64_t sample_rate = scalar_int(ctx.required_input(2), "input 'sample_rate'");
    const double low_mel = mel_of(ctx.required_input(3), "input 'lower_edge_hertz'");
    const double high_mel = mel_of(ctx.required_input(4), "input 'upper_edge_hertz'");
    if (mel_bins < 0 || mel_bins > (int64_t{1} << 20))
      fail(ctx, ErrorCode::kInvalidArgument, "num_mel_bins " + std::to_string(mel_bins) + " is out of range [0, 2^20]");
    if (dft_length < 1 || dft_length > (int64_t{1} << 24))
      fail(ctx, ErrorCode::kInvalidArgument, "dft_length " + std::to_string(dft_length) + " is out of range [1, 2^24]");
    if (sample_rate < 1)
      fail(ctx, ErrorCode::kInvalidArgument, "sample_rate must be positive, got " + std::to_string(sample_rate));
    const int64_t spectrogram_bins = dft_length / 2 + 1;
    if (spectrogram_bins * mel_bins > (int64_t{1} << 28))
      fail(ctx, ErrorCode::kInvalidArgument, "output [" + std::to_string(spectrogram_bins) + ", " +
                                                 std::to_string(mel_bins) + "] is over the limit of 2^28 elements");
    const double mel_step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
    std::vector<int64_t> edges(static_cast<size_t>(mel_bins + 2));
    for (int64_t i = 0; i < mel_bins + 2; ++i) {
      const double hz = 700.0 * std::expm1((static_cast<double>(i) * mel_step + low_mel) / 2595.0 * std::log(10.0));
      const double bin = std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate));
      if (!(std::fabs(bin) < 1e15))
        fail(ctx, ErrorCode::kInvalidArgument, "mel band edge " + std::to_string(i) + " maps to DFT bin " +
                                                   std::to_string(bin) + " (lower_edge_hertz / upper_edge_hertz out of range)");
      edges[i] = static_cast<int64_t>(bin);
    }
    std::vector<double> w(static_cast<size_t>(spectrogram_bins * mel_bins), 0.0);
    auto set = [&](int64_t j, int64_t i, double v) {
      if (j < 0 || j >= spectrogram_bins)
        fail(ctx, ErrorCode::kInvalidArgument,
             "mel band " + std::to_string(i) + " reaches DFT bin " + std::to_string(j) + ", outside [0, " +
                 std::to_string(spectrogram_bins) + "): the edge frequencies must lie within [0, sample_rate / 2]");
      w[j * mel_bins + i] = v;
    };
    for (int64_t i = 0; i < mel_bins; ++i) {
      const int64_t lo = edges[i], center = edges[i + 1], hi = edges[i + 2];
      if (center == lo) set(center, i, 1.0);
      else
        for (int64_t j = lo; j <= center; ++j) set(j, i, static_cast<double>(j - lo) / static_cast<double>(center - lo));
      if (hi > center)
        for (int64_t j = center; j < hi; ++j) set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - center));
    }
    visit_dtype(MelOutputTypes{}, a_.output_datatype, "attribute 'output_datatype'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = ctx.allocate_output(0, a_.output_datatype, {spectrogram_bins, mel_bins}).template data<T>();
      for (size_t k = 0; k < w.size(); ++k) out[k] = store<T>(w[k]);
    });
  }

 private:
  MelAttrs a_;
};

}  // namespace

void register_mel_weight_matrix(KernelRegistry& r) {
  r.add("MelWeightMatrix", {17}, make_kernel<MelWeightMatrix>, MelOutputTypes::dtypes());
}

}  // namespace ferry::ep::cpu::signal
