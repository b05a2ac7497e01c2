// The recurrent family: shared attribute parsing and input checks, the simple RNN cell
//   Ht = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Wbi + Rbi)
// and the family registration. GRU and LSTM live in gru.cc and lstm.cc.
#include "execution_providers/cpu/rnn/rnn_common.h"

#include <cctype>

#include "execution_providers/cpu/cpu_provider.h"
#include "execution_providers/cpu/rnn/rnn_fast.h"

namespace ferry::ep::cpu {
namespace rnn {

namespace {

Activation parse_activation(const std::string& name, const std::vector<float>& alphas, size_t& ai,
                            const std::vector<float>& betas, size_t& bi) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  struct Spec { const char* name; Activation::Kind kind; bool uses_alpha, uses_beta; float alpha, beta; };
  static const Spec specs[] = {
      {"relu", Activation::kRelu, false, false, 0, 0},
      {"tanh", Activation::kTanh, false, false, 0, 0},
      {"sigmoid", Activation::kSigmoid, false, false, 0, 0},
      {"affine", Activation::kAffine, true, true, 1.0f, 0.0f},
      {"leakyrelu", Activation::kLeakyRelu, true, false, 0.01f, 0},
      {"thresholdedrelu", Activation::kThresholdedRelu, true, false, 1.0f, 0},
      {"scaledtanh", Activation::kScaledTanh, true, true, 1.0f, 1.0f},
      {"hardsigmoid", Activation::kHardSigmoid, true, true, 0.2f, 0.5f},
      {"elu", Activation::kElu, true, false, 1.0f, 0},
      {"softsign", Activation::kSoftsign, false, false, 0, 0},
      {"softplus", Activation::kSoftplus, false, false, 0, 0},
  };
  for (const Spec& s : specs) {
    if (n != s.name) continue;
    Activation a{s.kind, s.alpha, s.beta};
    if (s.uses_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (s.uses_beta && bi < betas.size()) a.beta = betas[bi++];
    return a;
  }
  throw Error(ErrorCode::kInvalidModel,
              "attribute 'activations' names unknown function \"" + name +
                  "\"; valid: Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, "
                  "Softsign, Softplus");
}

std::string dims_text(const Tensor& t) { return shape_to_string(t.shape()); }

[[noreturn]] void bad_shape(const char* name, const Tensor& t, const std::string& expected) {
  throw Error(ErrorCode::kInvalidArgument,
              std::string("input '") + name + "' has shape " + dims_text(t) + ", expected " + expected);
}

std::string dims(std::initializer_list<int64_t> d) { return shape_to_string(std::vector<int64_t>(d)); }

}  // namespace

RecurrentAttributes::RecurrentAttributes(const KernelInfo& info, const std::vector<std::string>& default_activations) {
  const ir::Node& n = info.node();
  direction = n.get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    fail_model(info, "attribute 'direction' is \"" + direction + "\"; valid: forward, reverse, bidirectional");
  num_directions = direction == "bidirectional" ? 2 : 1;
  hidden_size = n.get_int("hidden_size", 0);
  if (hidden_size < 0) fail_model(info, "attribute 'hidden_size' must be positive, got " + std::to_string(hidden_size));
  if (n.find_attribute("clip")) {
    has_clip = true;
    clip = n.get_float("clip", 0);
  }
  batch_major = info.opset() >= 14 && n.get_int("layout", 0) != 0;
  std::vector<std::string> names = n.get_strings("activations", {});
  const size_t per_dir = default_activations.size();
  if (names.empty()) {
    for (int64_t d = 0; d < num_directions; ++d) names.insert(names.end(), default_activations.begin(), default_activations.end());
  } else if (names.size() == per_dir && num_directions == 2) {
    std::vector<std::string> twice = names;
    twice.insert(twice.end(), names.begin(), names.end());
    names = twice;
  }
  if (names.size() != per_dir * static_cast<size_t>(num_directions))
    fail_model(info, "attribute 'activations' has " + std::to_string(names.size()) + " functions, expected " +
                         std::to_string(per_dir * static_cast<size_t>(num_directions)) + " (" + std::to_string(per_dir) +
                         " per direction)");
  const std::vector<float> alphas = n.get_floats("activation_alpha", {});
  const std::vector<float> betas = n.get_floats("activation_beta", {});
  size_t ai = 0, bi = 0;
  activations.resize(static_cast<size_t>(num_directions));
  for (size_t i = 0; i < names.size(); ++i)
    activations[i / per_dir].push_back(parse_activation(names[i], alphas, ai, betas, bi));
}

Geometry make_geometry(const KernelContext& ctx, const RecurrentAttributes& attrs, int64_t gates) {
  const Tensor& x = ctx.required_input(0);
  const Tensor& w = ctx.required_input(1);
  const Tensor& r = ctx.required_input(2);
  Geometry g;
  g.batch_major = attrs.batch_major;
  g.dirs = attrs.num_directions;
  if (x.rank() != 3) bad_shape("X", x, attrs.batch_major ? "[batch, seq, input]" : "[seq, batch, input]");
  g.seq = x.dim(attrs.batch_major ? 1 : 0);
  g.batch = x.dim(attrs.batch_major ? 0 : 1);
  g.input = x.dim(2);
  if (r.rank() != 3) bad_shape("R", r, "rank 3 [num_directions, gates*hidden, hidden]");
  g.hidden = attrs.hidden_size > 0 ? attrs.hidden_size : r.dim(2);
  const int64_t gh = gates * g.hidden;
  if (w.shape() != std::vector<int64_t>{g.dirs, gh, g.input}) bad_shape("W", w, dims({g.dirs, gh, g.input}));
  if (r.shape() != std::vector<int64_t>{g.dirs, gh, g.hidden}) bad_shape("R", r, dims({g.dirs, gh, g.hidden}));
  for (const Tensor* t : {&x, &w, &r})
    if (t->dtype() != x.dtype())
      throw Error(ErrorCode::kInvalidArgument, "inputs X, W and R must have the same type, got " + x.describe() +
                                                   ", " + w.describe() + ", " + r.describe());
  if (const Tensor* b = ctx.input(3); b && b->shape() != std::vector<int64_t>{g.dirs, 2 * gh})
    bad_shape("B", *b, dims({g.dirs, 2 * gh}));
  g.lengths.assign(static_cast<size_t>(g.batch), g.seq);
  if (const Tensor* sl = ctx.input(4)) {
    if (sl->shape() != std::vector<int64_t>{g.batch}) bad_shape("sequence_lens", *sl, dims({g.batch}));
    const std::vector<int64_t> lens = read_int_list(*sl, ctx, "sequence_lens");
    for (int64_t b = 0; b < g.batch; ++b) {
      if (lens[b] < 0 || lens[b] > g.seq)
        throw Error(ErrorCode::kInvalidArgument, "sequence_lens[" + std::to_string(b) + "] is " +
                                                     std::to_string(lens[b]) + ", valid: [0, " + std::to_string(g.seq) + "]");
      g.lengths[b] = lens[b];
    }
  }
  const std::vector<int64_t> state = attrs.batch_major ? std::vector<int64_t>{g.batch, g.dirs, g.hidden}
                                                       : std::vector<int64_t>{g.dirs, g.batch, g.hidden};
  if (const Tensor* h0 = ctx.input(5); h0 && h0->shape() != state) bad_shape("initial_h", *h0, shape_to_string(state));
  return g;
}

}  // namespace rnn

namespace {

using namespace rnn;

class Rnn final : public Kernel {
 public:
  explicit Rnn(const KernelInfo& info) : attrs_(info, {"Tanh"}) {
    prepack_inputs(info, attrs_, 1, {1}, {1}, packed_w_, packed_r_);
  }

  void compute(KernelContext& ctx) const override {
    const Geometry g = make_geometry(ctx, attrs_, 1);
    dispatch(ctx, g, 6, 2, [&](auto tag, const Inputs& in, const auto& out) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float>) run_fast(ctx, g, in, out);
      else run<T>(g, in, out);
    });
  }

 private:
  /// Float path: packed weights, all-steps input projection, then the recurrence with every
  /// direction in lockstep, split over blocks of hidden units.
  void run_fast(const KernelContext& ctx, const Geometry& g, const Inputs& in, const Outputs<float>& out) const {
    const runtime::ThreadPool& pool = ctx.thread_pool();
    const int64_t H = g.hidden, B = g.batch;
    const Tensor* b = in.t[3];
    const Tensor* h0 = in.t[5];
    PackedWeights local_w, local_r;
    const PackedWeights& pw = packed_w_.empty() ? (local_w = pack_weights(*in.t[1], H, {1})) : packed_w_;
    const PackedWeights& pr = packed_r_.empty() ? (local_r = pack_weights(*in.t[2], H, {1})) : packed_r_;
    constexpr int64_t kB = PackedGates::kBlock;
    const int64_t hp = pw.dirs[0][0].padded_hidden(), blocks = pw.dirs[0][0].blocks;
    const int64_t rows = g.seq * B;
    struct Direction {
      bool reverse;
      float *xw, *gates, *h[2];  // h[s % 2]: the state step s reads
    };
    std::vector<Direction> dirs(static_cast<size_t>(g.dirs));
    const int64_t per_dir = RunBuffers::padded(rows * hp) + RunBuffers::padded(B * hp) + 2 * RunBuffers::padded(B * H);
    RunBuffers buffers(g.dirs * per_dir);
    std::vector<float> bias(static_cast<size_t>(hp));
    for (int64_t d = 0; d < g.dirs; ++d) {
      Direction& dir = dirs[static_cast<size_t>(d)];
      dir.reverse = attrs_.direction == "reverse" || d == 1;
      dir.xw = buffers.take(rows * hp, false);  // every element written by the projection
      dir.gates = buffers.take(B * hp);
      dir.h[0] = buffers.take(B * H);
      dir.h[1] = buffers.take(B * H);
      std::fill(bias.begin(), bias.end(), 0.0f);
      if (b)
        for (int64_t i = 0; i < H; ++i) bias[i] = b->data<float>()[d * 2 * H + i] + b->data<float>()[d * 2 * H + H + i];
      gate_gemm_parallel(pool, in.t[0]->data<float>(), g.input, rows, pw.dirs[d][0], dir.xw, hp, bias.data());
      for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t i = 0; i < H; ++i) dir.h[0][bi * H + i] = h0 ? h0->data<float>()[g.state_offset(d, bi) + i] : 0.0f;
    }
    run_recurrence(pool, g.seq, g.dirs, blocks, block_cost_ns(pr.dirs[0][0], B),
                   [&](int64_t s, int64_t d, int64_t u0, int64_t u1) {
      Direction& dir = dirs[static_cast<size_t>(d)];
      const float* h_prev = dir.h[s % 2];
      float* h_next = dir.h[(s + 1) % 2];
      gate_gemm(h_prev, H, B, pr.dirs[d][0], u0, u1, dir.gates, hp, nullptr);
      const int64_t a = u0 * kB, n = std::min(u1 * kB, H) - a;
      for (int64_t bi = 0; bi < B && n > 0; ++bi) {
        float* hn = h_next + bi * H + a;
        if (s >= g.lengths[bi]) {
          std::copy_n(h_prev + bi * H + a, n, hn);
          continue;
        }
        const int64_t t = g.time(s, bi, dir.reverse);
        const float* xr = dir.xw + g.x_row(t, bi) * hp + a;
        const float* gr = dir.gates + bi * hp + a;
        for (int64_t i = 0; i < n; ++i) hn[i] = gr[i] + xr[i];
        clip_values(hn, n, attrs_);
        apply_fast(attrs_.activations[d][0], hn, n);
        if (out.y) std::copy_n(hn, n, out.y + g.y_offset(t, d, bi) + a);
      }
    });
    if (out.y_h)
      for (int64_t d = 0; d < g.dirs; ++d)
        for (int64_t bi = 0; bi < B; ++bi)
          write_final_state(out.y_h + g.state_offset(d, bi), dirs[static_cast<size_t>(d)].h[g.seq % 2] + bi * H,
                            H, g, bi);
  }

  template <typename T> void run(const Geometry& g, const Inputs& in, const Outputs<T>& out) const {
    const Tensor& x = *in.t[0];
    const Tensor& w = *in.t[1];
    const Tensor& r = *in.t[2];
    const Tensor* b = in.t[3];
    const Tensor* h0 = in.t[5];
    const int64_t H = g.hidden;
    T* y = out.y;
    T* y_h = out.y_h;
    for (int64_t d = 0; d < g.dirs; ++d) {
      const bool reverse = attrs_.direction == "reverse" || d == 1;
      std::vector<T> bias(static_cast<size_t>(H), T(0));
      if (b)
        for (int64_t i = 0; i < H; ++i) bias[i] = b->data<T>()[d * 2 * H + i] + b->data<T>()[d * 2 * H + H + i];
      const RowMatrix<T> xw = project_inputs<T>(x, w, d, g, 1, bias.data());
      Eigen::Map<const RowMatrix<T>> rm(r.data<T>() + d * H * H, H, H);
      RowMatrix<T> h(g.batch, H);
      for (int64_t bi = 0; bi < g.batch; ++bi)
        for (int64_t i = 0; i < H; ++i) h(bi, i) = h0 ? h0->data<T>()[g.state_offset(d, bi) + i] : T(0);
      RowMatrix<T> gates(g.batch, H);
      for (int64_t s = 0; s < g.seq; ++s) {
        gates.noalias() = h * rm.transpose();
        for (int64_t bi = 0; bi < g.batch; ++bi) {
          if (s >= g.lengths[bi]) continue;
          const int64_t t = g.time(s, bi, reverse);
          T* row = &gates(bi, 0);
          const T* in = &xw(g.x_row(t, bi), 0);
          for (int64_t i = 0; i < H; ++i) row[i] += in[i];
          clip_values(row, H, attrs_);
          attrs_.activations[d][0].apply(row, H);
          for (int64_t i = 0; i < H; ++i) h(bi, i) = row[i];
          if (y) std::copy_n(row, H, y + g.y_offset(t, d, bi));
        }
      }
      if (y_h)
        for (int64_t bi = 0; bi < g.batch; ++bi) write_final_state(y_h + g.state_offset(d, bi), &h(bi, 0), H, g, bi);
    }
  }

  RecurrentAttributes attrs_;
  PackedWeights packed_w_, packed_r_;  // constant float W / R, packed at creation
};

}  // namespace

void register_rnn_cell_kernels(KernelRegistry& r) {
  r.add("RNN", {7, 14, 22}, make_kernel<Rnn>, RecurrentTypes::dtypes());
}

void register_rnn_kernels(KernelRegistry& r) {
  register_rnn_cell_kernels(r);
  register_gru_kernels(r);
  register_lstm_kernels(r);
}

}  // namespace ferry::ep::cpu
