// Shared parts of the recurrent kernels (RNN, GRU, LSTM): the attributes every one of them has,
// the activation functions the spec lists, and the geometry of inputs and outputs under both
// layouts (0: [seq, batch, ...], 1 from opset 14: [batch, seq, ...]).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

void register_rnn_cell_kernels(KernelRegistry& r);  // rnn/rnn.cc
void register_gru_kernels(KernelRegistry& r);       // rnn/gru.cc
void register_lstm_kernels(KernelRegistry& r);      // rnn/lstm.cc

namespace rnn {

/// One activation function with its alpha and beta.
struct Activation {
  enum Kind { kRelu, kTanh, kSigmoid, kAffine, kLeakyRelu, kThresholdedRelu, kScaledTanh, kHardSigmoid, kElu,
              kSoftsign, kSoftplus } kind = kTanh;
  float alpha = 0, beta = 0;

  /// Applies the function in place to n values.
  template <typename T> void apply(T* v, int64_t n) const {
    const T a = static_cast<T>(alpha), b = static_cast<T>(beta);
    switch (kind) {
      case kRelu: for (int64_t i = 0; i < n; ++i) v[i] = std::max(v[i], T(0)); break;
      case kTanh: Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(v, n) = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(v, n).tanh(); break;
      case kSigmoid: for (int64_t i = 0; i < n; ++i) v[i] = T(1) / (T(1) + std::exp(-v[i])); break;
      case kAffine: for (int64_t i = 0; i < n; ++i) v[i] = a * v[i] + b; break;
      case kLeakyRelu: for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0 ? v[i] : a * v[i]; break;
      case kThresholdedRelu: for (int64_t i = 0; i < n; ++i) v[i] = v[i] > a ? v[i] : T(0); break;
      case kScaledTanh: for (int64_t i = 0; i < n; ++i) v[i] = a * std::tanh(b * v[i]); break;
      case kHardSigmoid: for (int64_t i = 0; i < n; ++i) v[i] = std::clamp(a * v[i] + b, T(0), T(1)); break;
      case kElu: for (int64_t i = 0; i < n; ++i) v[i] = v[i] >= 0 ? v[i] : a * (std::exp(v[i]) - T(1)); break;
      case kSoftsign: for (int64_t i = 0; i < n; ++i) v[i] = v[i] / (T(1) + std::abs(v[i])); break;
      case kSoftplus: for (int64_t i = 0; i < n; ++i) v[i] = std::log1p(std::exp(v[i])); break;
    }
  }
};

/// Attributes every recurrent op has, with the spec's defaults.
struct RecurrentAttributes {
  std::string direction;            // "direction": "forward" | "reverse" | "bidirectional"
  int64_t num_directions = 1;
  int64_t hidden_size = 0;          // "hidden_size": 0 = from R's shape
  bool has_clip = false;            // "clip": none
  float clip = 0;
  bool batch_major = false;         // "layout": 0 (opset 14+)
  /// `gates` activations per direction (activations / activation_alpha / activation_beta);
  /// the defaults when the attribute is absent.
  std::vector<std::vector<Activation>> activations;

  RecurrentAttributes(const KernelInfo& info, const std::vector<std::string>& default_activations);
};

/// Geometry of one run: dims, sequence lengths, and element offsets into the layout-dependent
/// tensors.
struct Geometry {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool batch_major = false;
  std::vector<int64_t> lengths;  ///< per batch entry, in [0, seq]

  int64_t x_row(int64_t t, int64_t b) const { return batch_major ? b * seq + t : t * batch + b; }
  int64_t y_offset(int64_t t, int64_t d, int64_t b) const {
    return (batch_major ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  int64_t state_offset(int64_t d, int64_t b) const {
    return (batch_major ? b * dirs + d : d * batch + b) * hidden;
  }
  /// Time index of step s for batch entry b in direction `reverse` (within its length).
  int64_t time(int64_t s, int64_t b, bool reverse) const { return reverse ? lengths[b] - 1 - s : s; }
};

/// Reads and checks X, W, R, B, sequence_lens and initial_h (inputs 0-5) for `gates` gates.
/// Throws kInvalidArgument naming the input and the shapes involved.
Geometry make_geometry(const KernelContext& ctx, const RecurrentAttributes& attrs, int64_t gates);

/// Clamps n values to [-clip, clip] when clip is set.
template <typename T> void clip_values(T* v, int64_t n, const RecurrentAttributes& a) {
  if (!a.has_clip) return;
  const T c = static_cast<T>(a.clip);
  for (int64_t i = 0; i < n; ++i) v[i] = std::clamp(v[i], -c, c);
}

/// Writes a final state (Y_h / Y_c) row of batch entry b: the state, or zeros when the entry's
/// sequence is empty (as onnxruntime does).
template <typename T> void write_final_state(T* dst, const T* state, int64_t n, const Geometry& g, int64_t b) {
  if (g.lengths[b] == 0) std::fill_n(dst, n, T(0));
  else std::copy_n(state, n, dst);
}

/// Y's shape: [seq, dirs, batch, hidden] ([batch, seq, dirs, hidden] batch-major).
inline std::vector<int64_t> y_shape(const Geometry& g) {
  return g.batch_major ? std::vector<int64_t>{g.batch, g.seq, g.dirs, g.hidden}
                       : std::vector<int64_t>{g.seq, g.dirs, g.batch, g.hidden};
}
/// Y_h's and Y_c's shape (and initial_h's, initial_c's).
inline std::vector<int64_t> state_shape(const Geometry& g) {
  return g.batch_major ? std::vector<int64_t>{g.batch, g.dirs, g.hidden} : std::vector<int64_t>{g.dirs, g.batch, g.hidden};
}

/// The node's inputs (null when omitted), all of one float or double type except sequence_lens.
struct Inputs {
  const Tensor* t[8] = {};
};
/// Output buffers, null when the model omits the output. Y arrives zero-filled.
template <typename T> struct Outputs {
  T* y = nullptr;
  T* y_h = nullptr;
  T* y_c = nullptr;
};

/// Calls body(std::type_identity<T>{}, const Inputs&, const Outputs<T>&) with T = float or double
/// on the node's own tensors, or, for float16 and bfloat16, with T = float on float copies of the
/// inputs whose results are rounded back into the outputs.
template <typename Body>
void dispatch(KernelContext& ctx, const Geometry& g, size_t n_inputs, size_t n_outputs, Body&& body) {
  const DataType dt = ctx.required_input(0).dtype();
  const std::vector<int64_t> shapes[3] = {y_shape(g), state_shape(g), state_shape(g)};
  Inputs in;
  for (size_t i = 0; i < n_inputs && i < ctx.input_count(); ++i) {
    in.t[i] = ctx.input(i);
    if (in.t[i] && i != 4 && in.t[i]->dtype() != dt)
      throw Error(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " " + in.t[i]->describe() +
                                                   " must have X's type " + std::string(dtype_name(dt)));
  }
  auto wanted = [&](size_t k) { return k < n_outputs && k < ctx.output_count() && ctx.output_wanted(k); };
  auto finish = [&](auto tag, const Inputs& ins, Outputs<typename decltype(tag)::type> out) {
    using T = typename decltype(tag)::type;
    if (out.y) std::fill_n(out.y, product(shapes[0]), T(0));
    body(tag, ins, out);
  };
  if (dt == DataType::kFloat || dt == DataType::kDouble) {
    visit_dtype(FloatTypes{}, dt, "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Outputs<T> out;
      T** slots[3] = {&out.y, &out.y_h, &out.y_c};
      for (size_t k = 0; k < 3; ++k)
        if (wanted(k)) *slots[k] = ctx.allocate_output(k, dt, shapes[k]).template data<T>();
      finish(tag, in, out);
    });
    return;
  }
  visit_dtype(Types<Float16, BFloat16>{}, dt, "input 'X'", [&](auto tag) {
    using H = typename decltype(tag)::type;
    std::vector<Tensor> owned;
    owned.reserve(n_inputs + 3);
    for (size_t i = 0; i < n_inputs; ++i) {
      if (!in.t[i] || i == 4) continue;  // sequence_lens stays int32
      const Tensor& src = *in.t[i];
      Tensor f = Tensor::empty(DataType::kFloat, src.shape());
      for (int64_t e = 0; e < src.element_count(); ++e) f.data<float>()[e] = to_float(src.data<H>()[e]);
      owned.push_back(f);
      in.t[i] = &owned.back();
    }
    Outputs<float> out;
    float** slots[3] = {&out.y, &out.y_h, &out.y_c};
    for (size_t k = 0; k < 3; ++k)
      if (wanted(k)) {
        owned.push_back(Tensor::empty(DataType::kFloat, shapes[k]));
        *slots[k] = owned.back().data<float>();
      }
    finish(std::type_identity<float>{}, in, out);
    for (size_t k = 0; k < 3; ++k) {
      if (!*slots[k]) continue;
      H* dst = ctx.allocate_output(k, dt, shapes[k]).template data<H>();
      const int64_t count = product(shapes[k]);
      for (int64_t e = 0; e < count; ++e) {
        if constexpr (std::is_same_v<H, Float16>) dst[e] = to_float16((*slots[k])[e]);
        else dst[e] = to_bfloat16((*slots[k])[e]);
      }
    }
  });
}

/// float, double, float16, bfloat16 (the half types compute in float).
using RecurrentTypes = Types<float, double, Float16, BFloat16>;

template <typename T> using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Input projection of every time step for direction d: rows x_row(t, b) of X times W[d]^T,
/// plus the bias `bias` (gates*hidden values, may be null): [seq*batch, gates*hidden].
template <typename T>
RowMatrix<T> project_inputs(const Tensor& x, const Tensor& w, int64_t d, const Geometry& g, int64_t gates,
                            const T* bias) {
  const int64_t gh = gates * g.hidden;
  Eigen::Map<const RowMatrix<T>> xm(x.data<T>(), g.seq * g.batch, g.input);
  Eigen::Map<const RowMatrix<T>> wm(w.data<T>() + d * gh * g.input, gh, g.input);
  RowMatrix<T> out = xm * wm.transpose();
  if (bias) out.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, gh);
  return out;
}

}  // namespace rnn
}  // namespace ferry::ep::cpu
