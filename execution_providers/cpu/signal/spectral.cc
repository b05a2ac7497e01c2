// DFT (opsets 17 and 20) and STFT (opset 17) over FftPlan. Signals carry a last dimension of
// 1 (real) or 2 (real, imaginary); outputs are complex (last dimension 2) except the inverse
// one-sided DFT (IRFFT), whose output is real (last dimension 1), as in onnx's reference.
#include <algorithm>
#include <cmath>

#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/signal/fft.h"
#include "execution_providers/cpu/signal/signal.h"

namespace ferry::ep::cpu {
namespace {

using signal::Complex;
using signal::FftPlan;
using signal::SignalTypes;

/// Largest output (elements) a data-dependent length may ask for.
constexpr int64_t kMaxOutputElements = int64_t{1} << 30;
/// Longest transform: a Bluestein plan of this length holds about 50 * 4 * n bytes.
constexpr int64_t kMaxLength = int64_t{1} << 22;

void check_length(int64_t n, const std::string& what) {
  if (n > kMaxLength)
    throw Error(ErrorCode::kInvalidArgument,
                what + " " + std::to_string(n) + " is over the limit of " + std::to_string(kMaxLength));
}

void check_output_size(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t total = 1;
  for (int64_t d : shape) {
    if (d != 0 && total > kMaxOutputElements / d)
      throw Error(ErrorCode::kInvalidArgument, what + " gives an output of shape " + shape_to_string(shape) +
                                                    ", over the limit of " + std::to_string(kMaxOutputElements) +
                                                    " elements");
    total *= d;
  }
}

void check_complex_dim(const Tensor& x, const std::string& name) {
  if (x.shape().empty() || (x.shape().back() != 1 && x.shape().back() != 2))
    throw Error(ErrorCode::kInvalidArgument, "input '" + name + "' must end in a dimension of 1 (real) or 2 (complex), got " +
                                                 x.describe());
}

struct DftAttrs {
  int64_t axis = 1;       // opset 17 attribute "axis" = 1; from 20 an input (default -2)
  bool inverse = false;   // inverse = 0
  bool onesided = false;  // onesided = 0
  bool axis_input = false;
};

class Dft final : public Kernel {
 public:
  explicit Dft(const KernelInfo& info) {
    const ir::Node& n = info.node();
    a_.axis_input = info.opset() >= 20;
    a_.axis = a_.axis_input ? -2 : n.get_int("axis", 1);
    a_.inverse = n.get_int("inverse", 0) != 0;
    a_.onesided = n.get_int("onesided", 0) != 0;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    check_complex_dim(x, "input");
    const auto& dims = x.shape();
    const int64_t rank = static_cast<int64_t>(dims.size());
    int64_t axis = a_.axis;
    if (a_.axis_input && ctx.input_count() > 2 && ctx.input(2)) axis = signal::scalar_int(*ctx.input(2), "input 'axis'");
    if (rank < 2 || axis < -rank || axis > rank - 2 || axis == -1)
      fail(ctx, ErrorCode::kInvalidArgument,
           "axis " + std::to_string(axis) + " is out of range for input " + x.describe() + " (valid: [" +
               std::to_string(-rank) + ", -2] or [0, " + std::to_string(rank - 2) + "])");
    if (axis < 0) axis += rank;
    const int64_t len = dims[axis];
    const bool irfft = a_.inverse && a_.onesided;
    int64_t n = irfft ? 2 * (len - 1) : len;
    if (ctx.input_count() > 1 && ctx.input(1)) n = signal::scalar_int(*ctx.input(1), "input 'dft_length'");
    if (n < 1)
      fail(ctx, ErrorCode::kInvalidArgument, "dft_length must be positive, got " + std::to_string(n) +
                                                 (ctx.input(1) ? "" : " (from axis length " + std::to_string(len) + ")"));
    check_length(n, "dft_length");
    const int64_t out_len = a_.onesided && !a_.inverse ? n / 2 + 1 : n;
    std::vector<int64_t> out_shape(dims.begin(), dims.end());
    out_shape[axis] = out_len;
    out_shape.back() = irfft ? 1 : 2;
    check_output_size(out_shape, "dft_length " + std::to_string(n));
    const int64_t outer = product(dims, 0, static_cast<size_t>(axis));
    const int64_t inner = product(dims, static_cast<size_t>(axis) + 1, dims.size() - 1);
    const int64_t channels = dims.back(), out_channels = out_shape.back();
    const FftPlan plan(n);
    visit_dtype(SignalTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      T* out = ctx.allocate_output(0, x.dtype(), out_shape).template data<T>();
      const double cost = 20.0 * static_cast<double>(n) * std::log2(static_cast<double>(n) + 1);
      ctx.thread_pool().parallel_for(outer * inner, cost, [&](int64_t begin, int64_t end) {
        std::vector<Complex> buf, scratch;
        auto load = [&](int64_t o, int64_t k, int64_t i) {
          const T* p = in + ((o * len + k) * inner + i) * channels;
          return Complex(signal::load(p[0]), channels == 2 ? signal::load(p[1]) : 0.0);
        };
        for (int64_t line = begin; line < end; ++line) {
          const int64_t o = line / inner, i = line % inner;
          buf.assign(static_cast<size_t>(n), Complex{});
          if (irfft) {  // rebuild the Hermitian spectrum from bins [0, n/2]
            const int64_t bins = std::min(len, n / 2 + 1);
            for (int64_t k = 0; k < bins; ++k) buf[k] = load(o, k, i);
            for (int64_t k = n / 2 + 1; k < n; ++k) buf[k] = std::conj(buf[n - k]);
          } else {
            for (int64_t k = 0; k < std::min(len, n); ++k) buf[k] = load(o, k, i);
          }
          plan.run(buf.data(), a_.inverse, scratch);
          const double scale = a_.inverse ? 1.0 / static_cast<double>(n) : 1.0;
          for (int64_t k = 0; k < out_len; ++k) {
            T* q = out + ((o * out_len + k) * inner + i) * out_channels;
            q[0] = signal::store<T>(buf[k].real() * scale);
            if (out_channels == 2) q[1] = signal::store<T>(buf[k].imag() * scale);
          }
        }
      });
    });
  }

 private:
  DftAttrs a_;
};

struct StftAttrs {
  bool onesided = true;  // onesided = 1
};

class Stft final : public Kernel {
 public:
  explicit Stft(const KernelInfo& info) { a_.onesided = info.node().get_int("onesided", 1) != 0; }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    check_complex_dim(x, "signal");
    if (x.shape().size() != 3)
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'signal' must have shape [batch, signal_length, 1 or 2], got " + x.describe());
    const int64_t batch = x.shape()[0], length = x.shape()[1], channels = x.shape()[2];
    const int64_t step = signal::scalar_int(ctx.required_input(1), "input 'frame_step'");
    const Tensor* window = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const Tensor* frame_length = ctx.input_count() > 3 ? ctx.input(3) : nullptr;
    if (window && (window->shape().size() != 1 || window->dtype() != x.dtype()))
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'window' must be 1-D with the signal's element type, got " + window->describe());
    int64_t fl = frame_length ? signal::scalar_int(*frame_length, "input 'frame_length'")
                              : window ? window->shape()[0] : length;
    if (window && window->shape()[0] != fl)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'window' has " + std::to_string(window->shape()[0]) +
                                                 " elements, frame_length is " + std::to_string(fl));
    if (step < 1) fail(ctx, ErrorCode::kInvalidArgument, "frame_step must be positive, got " + std::to_string(step));
    if (fl < 1 || fl > length)
      fail(ctx, ErrorCode::kInvalidArgument, "frame_length " + std::to_string(fl) + " is out of range [1, " +
                                                 std::to_string(length) + "] (signal length)");
    check_length(fl, "frame_length");
    const int64_t frames = (length - fl) / step + 1;
    const int64_t bins = a_.onesided ? fl / 2 + 1 : fl;
    const std::vector<int64_t> out_shape{batch, frames, bins, 2};
    check_output_size(out_shape, "frame_length " + std::to_string(fl));
    const FftPlan plan(fl);
    visit_dtype(SignalTypes{}, x.dtype(), "input 'signal'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      const T* w = window ? window->data<T>() : nullptr;
      T* out = ctx.allocate_output(0, x.dtype(), out_shape).template data<T>();
      const double cost = 20.0 * static_cast<double>(fl) * std::log2(static_cast<double>(fl) + 1);
      ctx.thread_pool().parallel_for(batch * frames, cost, [&](int64_t begin, int64_t end) {
        std::vector<Complex> buf(static_cast<size_t>(fl)), scratch;
        for (int64_t line = begin; line < end; ++line) {
          const int64_t b = line / frames, f = line % frames;
          const T* p = in + (b * length + f * step) * channels;
          for (int64_t j = 0; j < fl; ++j) {
            const double wj = w ? signal::load(w[j]) : 1.0;
            buf[j] = Complex(signal::load(p[j * channels]) * wj,
                             channels == 2 ? signal::load(p[j * channels + 1]) * wj : 0.0);
          }
          plan.run(buf.data(), false, scratch);
          T* q = out + line * bins * 2;
          for (int64_t k = 0; k < bins; ++k) {
            q[2 * k] = signal::store<T>(buf[k].real());
            q[2 * k + 1] = signal::store<T>(buf[k].imag());
          }
        }
      });
    });
  }

 private:
  StftAttrs a_;
};

}  // namespace

void register_signal_kernels(KernelRegistry& r) {
  r.add("DFT", {17, 20}, make_kernel<Dft>, SignalTypes::dtypes());
  r.add("STFT", {17}, make_kernel<Stft>, SignalTypes::dtypes());
  signal::register_mel_weight_matrix(r);
}

}  // namespace ferry::ep::cpu
