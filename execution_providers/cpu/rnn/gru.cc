// GRU (default f=Sigmoid, g=Tanh), gates ordered z, r, h:
//   zt = f(Xt*(Wz^T) + Ht-1*(Rz^T) + Wbz + Rbz)
//   rt = f(Xt*(Wr^T) + Ht-1*(Rr^T) + Wbr + Rbr)
//   ht = g(Xt*(Wh^T) + (rt (.) Ht-1)*(Rh^T) + Rbh + Wbh)      linear_before_reset = 0
//   ht = g(Xt*(Wh^T) + (rt (.) (Ht-1*(Rh^T) + Rbh)) + Wbh)    linear_before_reset != 0
//   Ht = (1 - zt) (.) ht + zt (.) Ht-1
#include "execution_providers/cpu/rnn/rnn_common.h"

namespace ferry::ep::cpu {
namespace {

using namespace rnn;

class Gru final : public Kernel {
 public:
  explicit Gru(const KernelInfo& info)
      : attrs_(info, {"Sigmoid", "Tanh"}), linear_before_reset_(info.node().get_int("linear_before_reset", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Geometry g = make_geometry(ctx, attrs_, 3);
    dispatch(ctx, g, 6, 2, [&](auto tag, const Inputs& in, const auto& out) {
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
        for (int64_t bi = 0; bi < g.batch; ++bi) std::copy_n(&h(bi, 0), H, y_h + g.state_offset(d, bi));
    }
  }

  RecurrentAttributes attrs_;
  bool linear_before_reset_;  // "linear_before_reset": 0
};

}  // namespace

void register_gru_kernels(KernelRegistry& r) {
  r.add("GRU", {7, 14, 22}, make_kernel<Gru>, RecurrentTypes::dtypes());
}

}  // namespace ferry::ep::cpu
