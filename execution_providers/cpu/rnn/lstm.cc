// LSTM (default f=Sigmoid, g=Tanh, h=Tanh), gates ordered i, o, f, c, peepholes P ordered i, o, f:
//   it = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Pi (.) Ct-1 + Wbi + Rbi)
//   ft = f(Xt*(Wf^T) + Ht-1*(Rf^T) + Pf (.) Ct-1 + Wbf + Rbf)     (1 - it with input_forget)
//   ct = g(Xt*(Wc^T) + Ht-1*(Rc^T) + Wbc + Rbc)
//   Ct = ft (.) Ct-1 + it (.) ct
//   ot = f(Xt*(Wo^T) + Ht-1*(Ro^T) + Po (.) Ct + Wbo + Rbo)
//   Ht = ot (.) h(Ct)
// `clip` bounds the gate pre-activations.
#include "execution_providers/cpu/rnn/rnn_common.h"
#include "execution_providers/cpu/rnn/rnn_fast.h"

namespace ferry::ep::cpu {
namespace {

using namespace rnn;

class Lstm final : public Kernel {
 public:
  explicit Lstm(const KernelInfo& info)
      : attrs_(info, {"Sigmoid", "Tanh", "Tanh"}), input_forget_(info.node().get_int("input_forget", 0) != 0) {
    prepack_inputs(info, attrs_, 4, {4}, {4}, packed_w_, packed_r_);
  }

  void compute(KernelContext& ctx) const override {
    const Geometry g = make_geometry(ctx, attrs_, 4);
    const std::vector<int64_t> state = g.batch_major ? std::vector<int64_t>{g.batch, g.dirs, g.hidden}
                                                     : std::vector<int64_t>{g.dirs, g.batch, g.hidden};
    if (const Tensor* c0 = ctx.input(6); c0 && c0->shape() != state)
      throw Error(ErrorCode::kInvalidArgument, "input 'initial_c' has shape " + shape_to_string(c0->shape()) +
                                                   ", expected " + shape_to_string(state));
    if (const Tensor* p = ctx.input(7); p && p->shape() != std::vector<int64_t>{g.dirs, 3 * g.hidden})
      throw Error(ErrorCode::kInvalidArgument, "input 'P' has shape " + shape_to_string(p->shape()) + ", expected " +
                                                   shape_to_string(std::vector<int64_t>{g.dirs, 3 * g.hidden}));
    dispatch(ctx, g, 8, 3, [&](auto tag, const Inputs& in, const auto& out) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, float>) run_fast(ctx, g, in, out);
      else run<T>(g, in, out);
    });
  }

 private:
  template <typename T> void run(const Geometry& g, const Inputs& in, const Outputs<T>& out) const {
    const Tensor& x = *in.t[0];
    const Tensor& w = *in.t[1];
    const Tensor& r = *in.t[2];
    const Tensor* b = in.t[3];
    const Tensor* h0 = in.t[5];
    const Tensor* c0 = in.t[6];
    const Tensor* p = in.t[7];
    const int64_t H = g.hidden;
    T* y = out.y;
    T* y_h = out.y_h;
    T* y_c = out.y_c;
    std::vector<T> peep(static_cast<size_t>(3 * H), T(0));
    for (int64_t d = 0; d < g.dirs; ++d) {
      const bool reverse = attrs_.direction == "reverse" || d == 1;
      const auto& act = attrs_.activations[d];
      std::vector<T> bias(static_cast<size_t>(4 * H), T(0));
      if (b)
        for (int64_t i = 0; i < 4 * H; ++i) bias[i] = b->data<T>()[d * 8 * H + i] + b->data<T>()[d * 8 * H + 4 * H + i];
      if (p) std::copy_n(p->data<T>() + d * 3 * H, 3 * H, peep.begin());
      const T* pi = peep.data();
      const T* po = pi + H;
      const T* pf = pi + 2 * H;
      const RowMatrix<T> xw = project_inputs<T>(x, w, d, g, 4, bias.data());
      Eigen::Map<const RowMatrix<T>> rm(r.data<T>() + d * 4 * H * H, 4 * H, H);
      RowMatrix<T> h(g.batch, H), c(g.batch, H);
      for (int64_t bi = 0; bi < g.batch; ++bi)
        for (int64_t i = 0; i < H; ++i) {
          h(bi, i) = h0 ? h0->data<T>()[g.state_offset(d, bi) + i] : T(0);
          c(bi, i) = c0 ? c0->data<T>()[g.state_offset(d, bi) + i] : T(0);
        }
      RowMatrix<T> gates(g.batch, 4 * H);
      std::vector<T> hc(static_cast<size_t>(H));
      for (int64_t s = 0; s < g.seq; ++s) {
        gates.noalias() = h * rm.transpose();
        for (int64_t bi = 0; bi < g.batch; ++bi) {
          if (s >= g.lengths[bi]) continue;
          const int64_t t = g.time(s, bi, reverse);
          const T* in = &xw(g.x_row(t, bi), 0);
          T* gi = &gates(bi, 0);
          T* go = gi + H;
          T* gf = gi + 2 * H;
          T* gc = gi + 3 * H;
          T* cs = &c(bi, 0);
          for (int64_t i = 0; i < 4 * H; ++i) gi[i] += in[i];
          for (int64_t i = 0; i < H; ++i) {
            gi[i] += pi[i] * cs[i];
            gf[i] += pf[i] * cs[i];
          }
          clip_values(gi, H, attrs_);
          clip_values(gf, H, attrs_);
          clip_values(gc, H, attrs_);
          act[0].apply(gi, H);
          if (input_forget_) {
            for (int64_t i = 0; i < H; ++i) gf[i] = T(1) - gi[i];
          } else {
            act[0].apply(gf, H);
          }
          act[1].apply(gc, H);
          for (int64_t i = 0; i < H; ++i) cs[i] = gf[i] * cs[i] + gi[i] * gc[i];
          for (int64_t i = 0; i < H; ++i) go[i] += po[i] * cs[i];
          clip_values(go, H, attrs_);
          act[0].apply(go, H);
          std::copy_n(cs, H, hc.begin());
          act[2].apply(hc.data(), H);
          for (int64_t i = 0; i < H; ++i) h(bi, i) = go[i] * hc[i];
          if (y) std::copy_n(&h(bi, 0), H, y + g.y_offset(t, d, bi));
        }
      }
      for (int64_t bi = 0; bi < g.batch; ++bi) {
        if (y_h) write_final_state(y_h + g.state_offset(d, bi), &h(bi, 0), H, g, bi);
        if (y_c) write_final_state(y_c + g.state_offset(d, bi), &c(bi, 0), H, g, bi);
      }
    }
  }

  /// Float path: packed weights, all-steps input projection, then the recurrence with every
  /// direction in lockstep, split over blocks of hidden units (each task: recurrent GEMM of its
  /// units' four gates, then their update).
  void run_fast(const KernelContext& ctx, const Geometry& g, const Inputs& in, const Outputs<float>& out) const {
    const runtime::ThreadPool& pool = ctx.thread_pool();
    const int64_t H = g.hidden, B = g.batch;
    const Tensor* b = in.t[3];
    const Tensor* h0 = in.t[5];
    const Tensor* c0 = in.t[6];
    const Tensor* p = in.t[7];
    PackedWeights local_w, local_r;
    const PackedWeights& pw = packed_w_.empty() ? (local_w = pack_weights(*in.t[1], H, {4})) : packed_w_;
    const PackedWeights& pr = packed_r_.empty() ? (local_r = pack_weights(*in.t[2], H, {4})) : packed_r_;
    const int64_t hp = pw.dirs[0][0].padded_hidden(), blocks = pw.dirs[0][0].blocks, ldg = 4 * hp;
    const int64_t rows = g.seq * B;
    struct Direction {
      bool reverse;
      float *xw, *gates, *peep, *c, *h[2];  // h[s % 2]: the state step s reads
    };
    std::vector<Direction> dirs(static_cast<size_t>(g.dirs));
    const int64_t per_dir = RunBuffers::padded(rows * ldg) + RunBuffers::padded(B * ldg) + RunBuffers::padded(3 * H) +
                            3 * RunBuffers::padded(B * H);
    RunBuffers buffers(g.dirs * per_dir);
    std::vector<float> bias(static_cast<size_t>(ldg));
    for (int64_t d = 0; d < g.dirs; ++d) {
      Direction& dir = dirs[static_cast<size_t>(d)];
      dir.reverse = attrs_.direction == "reverse" || d == 1;
      dir.xw = buffers.take(rows * ldg, false);  // every element written by the projection
      dir.gates = buffers.take(B * ldg);
      dir.peep = buffers.take(3 * H);
      dir.c = buffers.take(B * H);
      dir.h[0] = buffers.take(B * H);
      dir.h[1] = buffers.take(B * H);
      std::fill(bias.begin(), bias.end(), 0.0f);
      if (b)
        for (int64_t gi = 0; gi < 4; ++gi)
          for (int64_t i = 0; i < H; ++i)
            bias[gi * hp + i] = b->data<float>()[d * 8 * H + gi * H + i] + b->data<float>()[d * 8 * H + 4 * H + gi * H + i];
      if (p) std::copy_n(p->data<float>() + d * 3 * H, 3 * H, dir.peep);
      gate_gemm_parallel(pool, in.t[0]->data<float>(), g.input, rows, pw.dirs[d][0], dir.xw, ldg, bias.data());
      for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t i = 0; i < H; ++i) {
          dir.h[0][bi * H + i] = h0 ? h0->data<float>()[g.state_offset(d, bi) + i] : 0.0f;
          dir.c[bi * H + i] = c0 ? c0->data<float>()[g.state_offset(d, bi) + i] : 0.0f;
        }
    }
    const double cost = block_cost_ns(pr.dirs[0][0], B);
    run_recurrence(pool, g.seq, g.dirs, blocks, cost, [&](int64_t s, int64_t d, int64_t u0, int64_t u1) {
      Direction& dir = dirs[static_cast<size_t>(d)];
      const float* h_prev = dir.h[s % 2];
      float* h_next = dir.h[(s + 1) % 2];
      const auto& act = attrs_.activations[d];
      gate_gemm(h_prev, H, B, pr.dirs[d][0], u0, u1, dir.gates, ldg, nullptr);
      const int64_t a = u0 * PackedGates::kBlock, n = std::min(u1 * PackedGates::kBlock, H) - a;
      if (n <= 0) return;
      for (int64_t bi = 0; bi < B; ++bi) {
        float* hn = h_next + bi * H + a;
        if (s >= g.lengths[bi]) {
          std::copy_n(h_prev + bi * H + a, n, hn);
          continue;
        }
        const int64_t t = g.time(s, bi, dir.reverse);
        const float* xr = dir.xw + g.x_row(t, bi) * ldg + a;
        float* gi = dir.gates + bi * ldg + a;
        float* go = gi + hp;
        float* gf = gi + 2 * hp;
        float* gc = gi + 3 * hp;
        float* cs = dir.c + bi * H + a;
        const float* pi = dir.peep + a;
        const float* po = pi + H;
        const float* pf = pi + 2 * H;
        for (int64_t i = 0; i < n; ++i) {
          gi[i] += xr[i] + pi[i] * cs[i];
          gf[i] += xr[2 * hp + i] + pf[i] * cs[i];
          gc[i] += xr[3 * hp + i];
          go[i] += xr[hp + i];
        }
        clip_values(gi, n, attrs_);
        clip_values(gf, n, attrs_);
        clip_values(gc, n, attrs_);
        apply_fast(act[0], gi, n);
        if (input_forget_) {
          for (int64_t i = 0; i < n; ++i) gf[i] = 1.0f - gi[i];
        } else {
          apply_fast(act[0], gf, n);
        }
        apply_fast(act[1], gc, n);
        for (int64_t i = 0; i < n; ++i) cs[i] = gf[i] * cs[i] + gi[i] * gc[i];
        for (int64_t i = 0; i < n; ++i) go[i] += po[i] * cs[i];
        clip_values(go, n, attrs_);
        apply_fast(act[0], go, n);
        std::copy_n(cs, n, hn);
        apply_fast(act[2], hn, n);
        for (int64_t i = 0; i < n; ++i) hn[i] *= go[i];
        if (out.y) std::copy_n(hn, n, out.y + g.y_offset(t, d, bi) + a);
      }
    });
    for (int64_t d = 0; d < g.dirs; ++d) {
      const Direction& dir = dirs[static_cast<size_t>(d)];
      for (int64_t bi = 0; bi < B; ++bi) {
        if (out.y_h) write_final_state(out.y_h + g.state_offset(d, bi), dir.h[g.seq % 2] + bi * H, H, g, bi);
        if (out.y_c) write_final_state(out.y_c + g.state_offset(d, bi), dir.c + bi * H, H, g, bi);
      }
    }
  }

  RecurrentAttributes attrs_;
  bool input_forget_;  // "input_forget": 0
  PackedWeights packed_w_, packed_r_;  // constant float W / R, packed at creation
};

}  // namespace

void register_lstm_kernels(KernelRegistry& r) {
  r.add("LSTM", {7, 14, 22}, make_kernel<Lstm>, RecurrentTypes::dtypes());
}

}  // namespace ferry::ep::cpu
