// GRU (default f=Sigmoid, g=Tanh), gates ordered z, r, h:
//   zt = f(Xt*(Wz^T) + Ht-1*(Rz^T) + Wbz + Rbz)
//   rt = f(Xt*(Wr^T) + Ht-1*(Rr^T) + Wbr + Rbr)
//   ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)      linear_before_reset = 0
//   ht = g(Xt*(Wh^T) + (rt (.) (Ht-1*(Rh^T) + Rbh)) + Wbh)    linear_before_reset != 0
//   Ht = (1 - zt) (.) ht + zt (.) Ht-1
#include "execution_providers/cpu/rnn/rnn_common.h"
#include "execution_providers/cpu/rnn/rnn_fast.h"

namespace ferry::ep::cpu {
namespace {

using namespace rnn;

class Gru final : public Kernel {
 public:
  explicit Gru(const KernelInfo& info)
      : attrs_(info, {"Sigmoid", "Tanh"}), linear_before_reset_(info.node().get_int("linear_before_reset", 0) != 0) {
    prepack_inputs(info, attrs_, 3, {3}, r_splits(), packed_w_, packed_r_);
  }

  void compute(KernelContext& ctx) const override {
    const Geometry g = make_geometry(ctx, attrs_, 3);
    dispatch(ctx, g, 6, 2, [&](auto tag, const Inputs& in, const auto& out) {
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
    const int64_t H = g.hidden;
    const bool lbr = linear_before_reset_;
    T* y = out.y;
    T* y_h = out.y_h;
    for (int64_t d = 0; d < g.dirs; ++d) {
      const bool reverse = attrs_.direction == "reverse" || d == 1;
      const auto& act = attrs_.activations[d];
      // Input-side bias: Wb for every gate, plus Rb where it is not inside the reset product.
      std::vector<T> bias(static_cast<size_t>(3 * H), T(0)), rbh(static_cast<size_t>(H), T(0));
      if (b) {
        const T* pb = b->data<T>() + d * 6 * H;
        for (int64_t i = 0; i < 3 * H; ++i) bias[i] = pb[i] + (i < 2 * H || !lbr ? pb[3 * H + i] : T(0));
        for (int64_t i = 0; i < H; ++i) rbh[i] = pb[5 * H + i];
      }
      const RowMatrix<T> xw = project_inputs<T>(x, w, d, g, 3, bias.data());
      const T* rd = r.data<T>() + d * 3 * H * H;
      Eigen::Map<const RowMatrix<T>> r_all(rd, 3 * H, H);
      Eigen::Map<const RowMatrix<T>> r_zr(rd, 2 * H, H);
      Eigen::Map<const RowMatrix<T>> r_h(rd + 2 * H * H, H, H);
      RowMatrix<T> h(g.batch, H);
      for (int64_t bi = 0; bi < g.batch; ++bi)
        for (int64_t i = 0; i < H; ++i) h(bi, i) = h0 ? h0->data<T>()[g.state_offset(d, bi) + i] : T(0);
      RowMatrix<T> hr(g.batch, 3 * H), zr(g.batch, 2 * H), hh(g.batch, H);
      RowMatrix<T> rh = RowMatrix<T>::Zero(g.batch, H);
      for (int64_t s = 0; s < g.seq; ++s) {
        if (lbr) hr.noalias() = h * r_all.transpose();
        else hr.leftCols(2 * H).noalias() = h * r_zr.transpose();
        for (int64_t bi = 0; bi < g.batch; ++bi) {
          if (s >= g.lengths[bi]) continue;
          const T* in = &xw(g.x_row(g.time(s, bi, reverse), bi), 0);
          T* zrow = &zr(bi, 0);
          for (int64_t i = 0; i < 2 * H; ++i) zrow[i] = in[i] + hr(bi, i);
          clip_values(zrow, 2 * H, attrs_);
          act[0].apply(zrow, 2 * H);
          for (int64_t i = 0; i < H; ++i) rh(bi, i) = zrow[H + i] * h(bi, i);
        }
        if (!lbr) hh.noalias() = rh * r_h.transpose();
        for (int64_t bi = 0; bi < g.batch; ++bi) {
          if (s >= g.lengths[bi]) continue;
          const int64_t t = g.time(s, bi, reverse);
          const T* in = &xw(g.x_row(t, bi), 0);
          T* cand = &hh(bi, 0);
          for (int64_t i = 0; i < H; ++i)
            cand[i] = in[2 * H + i] + (lbr ? zr(bi, H + i) * (hr(bi, 2 * H + i) + rbh[i]) : cand[i]);
          clip_values(cand, H, attrs_);
          act[1].apply(cand, H);
          for (int64_t i = 0; i < H; ++i) {
            const T z = zr(bi, i);
            h(bi, i) = (T(1) - z) * cand[i] + z * h(bi, i);
          }
          if (y) std::copy_n(&h(bi, 0), H, y + g.y_offset(t, d, bi));
        }
      }
      if (y_h)
        for (int64_t bi = 0; bi < g.batch; ++bi) write_final_state(y_h + g.state_offset(d, bi), &h(bi, 0), H, g, bi);
    }
  }

  /// R's gate groups: all three at once with linear_before_reset (the reset gate scales the
  /// product), else z,r first and h after the reset gate is known.
  std::vector<int64_t> r_splits() const { return linear_before_reset_ ? std::vector<int64_t>{3} : std::vector<int64_t>{2, 1}; }

  /// Float path: packed weights, all-steps input projection, then the recurrence with every
  /// direction in lockstep, split over blocks of hidden units: one phase per time step with
  /// linear_before_reset, two without (r (.) H needs every unit before the candidate's GEMM).
  void run_fast(const KernelContext& ctx, const Geometry& g, const Inputs& in, const Outputs<float>& out) const {
    const runtime::ThreadPool& pool = ctx.thread_pool();
    const int64_t H = g.hidden, B = g.batch;
    const bool lbr = linear_before_reset_;
    const Tensor* b = in.t[3];
    const Tensor* h0 = in.t[5];
    PackedWeights local_w, local_r;
    const PackedWeights& pw = packed_w_.empty() ? (local_w = pack_weights(*in.t[1], H, {3})) : packed_w_;
    const PackedWeights& pr = packed_r_.empty() ? (local_r = pack_weights(*in.t[2], H, r_splits())) : packed_r_;
    constexpr int64_t kB = PackedGates::kBlock;
    const int64_t hp = pw.dirs[0][0].padded_hidden(), blocks = pw.dirs[0][0].blocks, ldx = 3 * hp;
    const int64_t rows = g.seq * B;
    struct Direction {
      bool reverse;
      float *xw, *hr, *rbh, *rh, *h[2];  // h[s % 2]: the state time step s reads
    };
    std::vector<Direction> dirs(static_cast<size_t>(g.dirs));
    const int64_t per_dir = RunBuffers::padded(rows * ldx) + RunBuffers::padded(B * ldx) + RunBuffers::padded(H) +
                            3 * RunBuffers::padded(B * H);
    RunBuffers buffers(g.dirs * per_dir);
    std::vector<float> bias(static_cast<size_t>(ldx));
    for (int64_t d = 0; d < g.dirs; ++d) {
      Direction& dir = dirs[static_cast<size_t>(d)];
      dir.reverse = attrs_.direction == "reverse" || d == 1;
      dir.xw = buffers.take(rows * ldx, false);  // every element written by the projection
      dir.hr = buffers.take(B * ldx);
      dir.rbh = buffers.take(H);
      dir.rh = buffers.take(B * H);
      dir.h[0] = buffers.take(B * H);
      dir.h[1] = buffers.take(B * H);
      // Input-side bias: Wb for every gate, plus Rb where it is not inside the reset product.
      std::fill(bias.begin(), bias.end(), 0.0f);
      if (b) {
        const float* pb = b->data<float>() + d * 6 * H;
        for (int64_t i = 0; i < 3 * H; ++i)
          bias[(i / H) * hp + i % H] = pb[i] + (i < 2 * H || !lbr ? pb[3 * H + i] : 0.0f);
        for (int64_t i = 0; i < H; ++i) dir.rbh[i] = pb[5 * H + i];
      }
      gate_gemm_parallel(pool, in.t[0]->data<float>(), g.input, rows, pw.dirs[d][0], dir.xw, ldx, bias.data());
      for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t i = 0; i < H; ++i) dir.h[0][bi * H + i] = h0 ? h0->data<float>()[g.state_offset(d, bi) + i] : 0.0f;
    }
    // z and r for units [a, a+n) of active rows, in hr's z and r columns (ld 3*hp).
    auto zr_gates = [&](Direction& dir, const auto& act, int64_t s, int64_t bi, int64_t a, int64_t n) {
      const float* xr = dir.xw + g.x_row(g.time(s, bi, dir.reverse), bi) * ldx + a;
      float* z = dir.hr + bi * ldx + a;
      float* r = z + hp;
      for (int64_t i = 0; i < n; ++i) {
        z[i] += xr[i];
        r[i] += xr[hp + i];
      }
      clip_values(z, n, attrs_);
      clip_values(r, n, attrs_);
      apply_fast(act[0], z, n);
      apply_fast(act[0], r, n);
    };
    // Candidate (in cand, already holding its recurrent part) and the new state.
    auto finish = [&](Direction& dir, int64_t d, int64_t s, int64_t bi, int64_t a, int64_t n, float* cand) {
      const int64_t t = g.time(s, bi, dir.reverse);
      const float* xh = dir.xw + g.x_row(t, bi) * ldx + 2 * hp + a;
      const float* z = dir.hr + bi * ldx + a;
      const float* hp_row = dir.h[s % 2] + bi * H + a;
      float* hn = dir.h[(s + 1) % 2] + bi * H + a;
      for (int64_t i = 0; i < n; ++i) cand[i] += xh[i];
      clip_values(cand, n, attrs_);
      apply_fast(attrs_.activations[d][1], cand, n);
      for (int64_t i = 0; i < n; ++i) hn[i] = (1.0f - z[i]) * cand[i] + z[i] * hp_row[i];
      if (out.y) std::copy_n(hn, n, out.y + g.y_offset(t, d, bi) + a);
    };
    if (lbr) {
      run_recurrence(pool, g.seq, g.dirs, blocks, block_cost_ns(pr.dirs[0][0], B),
                     [&](int64_t s, int64_t d, int64_t u0, int64_t u1) {
        Direction& dir = dirs[static_cast<size_t>(d)];
        const float* h_prev = dir.h[s % 2];
        gate_gemm(h_prev, H, B, pr.dirs[d][0], u0, u1, dir.hr, ldx, nullptr);
        const int64_t a = u0 * kB, n = std::min(u1 * kB, H) - a;
        for (int64_t bi = 0; bi < B && n > 0; ++bi) {
          if (s >= g.lengths[bi]) {
            std::copy_n(h_prev + bi * H + a, n, dir.h[(s + 1) % 2] + bi * H + a);
            continue;
          }
          zr_gates(dir, attrs_.activations[d], s, bi, a, n);
          float* r = dir.hr + bi * ldx + hp + a;
          float* cand = r + hp;
          for (int64_t i = 0; i < n; ++i) cand[i] = r[i] * (cand[i] + dir.rbh[a + i]);
          finish(dir, d, s, bi, a, n, cand);
        }
      });
    } else {
      // Steps 2s and 2s + 1 are time step s's two phases.
      const double cost = (block_cost_ns(pr.dirs[0][0], B) + block_cost_ns(pr.dirs[0][1], B)) / 2;
      run_recurrence(pool, 2 * g.seq, g.dirs, blocks, cost, [&](int64_t step, int64_t d, int64_t u0, int64_t u1) {
        Direction& dir = dirs[static_cast<size_t>(d)];
        const int64_t s = step / 2;
        const float* h_prev = dir.h[s % 2];
        const int64_t a = u0 * kB, n = std::min(u1 * kB, H) - a;
        if (step % 2 == 0) {
          gate_gemm(h_prev, H, B, pr.dirs[d][0], u0, u1, dir.hr, ldx, nullptr);
          for (int64_t bi = 0; bi < B && n > 0; ++bi) {
            float* rhr = dir.rh + bi * H + a;
            if (s >= g.lengths[bi]) {
              std::fill_n(rhr, n, 0.0f);
              continue;
            }
            zr_gates(dir, attrs_.activations[d], s, bi, a, n);
            const float* r = dir.hr + bi * ldx + hp + a;
            for (int64_t i = 0; i < n; ++i) rhr[i] = r[i] * h_prev[bi * H + a + i];
          }
          return;
        }
        gate_gemm(dir.rh, H, B, pr.dirs[d][1], u0, u1, dir.hr + 2 * hp, ldx, nullptr);
        for (int64_t bi = 0; bi < B && n > 0; ++bi) {
          if (s >= g.lengths[bi]) {
            std::copy_n(h_prev + bi * H + a, n, dir.h[(s + 1) % 2] + bi * H + a);
            continue;
          }
          finish(dir, d, s, bi, a, n, dir.hr + bi * ldx + 2 * hp + a);
        }
      });
    }
    if (out.y_h)
      for (int64_t d = 0; d < g.dirs; ++d)
        for (int64_t bi = 0; bi < B; ++bi)
          write_final_state(out.y_h + g.state_offset(d, bi), dirs[static_cast<size_t>(d)].h[g.seq % 2] + bi * H,
                            H, g, bi);
  }

  RecurrentAttributes attrs_;
  bool linear_before_reset_;  // "linear_before_reset": 0
  PackedWeights packed_w_, packed_r_;  // constant float W / R, packed at creation
};

}  // namespace

void register_gru_kernels(KernelRegistry& r) {
  r.add("GRU", {7, 14, 22}, make_kernel<Gru>, RecurrentTypes::dtypes());
}

}  // namespace ferry::ep::cpu
