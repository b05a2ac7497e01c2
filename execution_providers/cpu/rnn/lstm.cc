// LSTM (default f=Sigmoid, g=Tanh, h=Tanh), gates ordered i, o, f, c, peepholes P ordered i, o, f:
//   it = f(Xt*(Wi^T) + Ht-1*(Ri^T) + Pi (.) Ct-1 + Wbi + Rbi)
//   ft = f(Xt*(Wf^T) + Ht-1*(Rf^T) + Pf (.) Ct-1 + Wbf + Rbf)     (1 - it with input_forget)
//   ct = g(Xt*(Wc^T) + Ht-1*(Rc^T) + Wbc + Rbc)
//   Ct = ft (.) Ct-1 + it (.) ct
//   ot = f(Xt*(Wo^T) + Ht-1*(Ro^T) + Po (.) Ct + Wbo + Rbo)
//   Ht = ot (.) h(Ct)
// `clip` bounds the gate pre-activations.
#include "execution_providers/cpu/rnn/rnn_common.h"

namespace ferry::ep::cpu {
namespace {

using namespace rnn;

class Lstm final : public Kernel {
 public:
  explicit Lstm(const KernelInfo& info)
      : attrs_(info, {"Sigmoid", "Tanh", "Tanh"}), input_forget_(info.node().get_int("input_forget", 0) != 0) {}

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
      run<typename decltype(tag)::type>(g, in, out);
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
        if (y_h) std::copy_n(&h(bi, 0), H, y_h + g.state_offset(d, bi));
        if (y_c) std::copy_n(&c(bi, 0), H, y_c + g.state_offset(d, bi));
      }
    }
  }

  RecurrentAttributes attrs_;
  bool input_forget_;  // "input_forget": 0
};

}  // namespace

void register_lstm_kernels(KernelRegistry& r) {
  r.add("LSTM", {7, 14, 22}, make_kernel<Lstm>, RecurrentTypes::dtypes());
}

}  // namespace ferry::ep::cpu
