// Element rearrangements with a fixed pattern: DepthToSpace and SpaceToDepth (DCR and CRD), Trilu
// and ReverseSequence. Any element type.
#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

void check_nchw(const Tensor& x) {
  if (x.rank() != 4) invalid("input must be 4-D [N, C, H, W], got " + x.describe());
}

class DepthToSpace final : public Kernel {
 public:
  explicit DepthToSpace(const KernelInfo& info)
      : block_(info.node().require_int("blocksize")), crd_(info.node().get_string("mode", "DCR") == "CRD") {
    if (block_ < 1) throw Error(ErrorCode::kInvalidModel, "attribute 'blocksize' must be positive, got " + std::to_string(block_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    check_nchw(x);
    const int64_t b = block_, n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    const int64_t bb = checked_mul(b, b, "blocksize^2");
    if (c % bb != 0)
      invalid("channels of input " + x.describe() + " are not divisible by blocksize^2 = " + std::to_string(bb));
    const int64_t oc = c / bb, oh = checked_mul(h, b, "output height"), ow = checked_mul(w, b, "output width");
    Tensor& y = ctx.allocate_output(0, x.dtype(), {n, oc, oh, ow});
    if (y.element_count() == 0) return;
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(n * oc * oh, static_cast<double>(ow), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t yy = r % oh, cc = r / oh % oc, nn = r / (oh * oc);
          const int64_t hh = yy / b, bh = yy % b;
          for (int64_t xx = 0; xx < ow; ++xx) {
            const int64_t ww = xx / b, bw = xx % b;
            const int64_t ch = crd_ ? cc * b * b + bh * b + bw : (bh * b + bw) * oc + cc;
            dst[r * ow + xx] = src[((nn * c + ch) * h + hh) * w + ww];
          }
        }
      });
    });
  }

 private:
  int64_t block_;  // "blocksize": required
  bool crd_;       // "mode": "DCR"
};

class SpaceToDepth final : public Kernel {
 public:
  explicit SpaceToDepth(const KernelInfo& info)
      : block_(info.node().require_int("blocksize")),
        crd_(info.opset() >= 28 && info.node().get_string("mode", "DCR") == "CRD") {
    if (block_ < 1) throw Error(ErrorCode::kInvalidModel, "attribute 'blocksize' must be positive, got " + std::to_string(block_));
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    check_nchw(x);
    const int64_t b = block_, n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    if (h % b != 0 || w % b != 0)
      invalid("height and width of input " + x.describe() + " must be divisible by blocksize " + std::to_string(b));
    const int64_t oc = checked_mul(c, checked_mul(b, b, "blocksize^2"), "output channels"), oh = h / b, ow = w / b;
    Tensor& y = ctx.allocate_output(0, x.dtype(), {n, oc, oh, ow});
    if (y.element_count() == 0) return;
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(n * oc * oh, static_cast<double>(ow), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t hh = r % oh, cc = r / oh % oc, nn = r / (oh * oc);
          // DCR: out channel = (bh * b + bw) * C + c; CRD: c * b^2 + bh * b + bw.
          const int64_t ch = crd_ ? cc / (b * b) : cc % c, blk = crd_ ? cc % (b * b) : cc / c;
          const int64_t bh = blk / b, bw = blk % b;
          for (int64_t ww = 0; ww < ow; ++ww)
            dst[r * ow + ww] = src[((nn * c + ch) * h + hh * b + bh) * w + ww * b + bw];
        }
      });
    });
  }

 private:
  int64_t block_;  // "blocksize": required
  bool crd_;       // "mode" (opset 28): "DCR"
};

class Trilu final : public Kernel {
 public:
  explicit Trilu(const KernelInfo& info) : upper_(info.node().get_int("upper", 1) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 2) invalid("input must have rank >= 2, got " + x.describe());
    int64_t k = 0;
    if (ctx.input_count() > 1 && ctx.input(1)) {
      const auto kv = ints_of(*ctx.input(1), "input 'k'");
      if (kv.size() != 1) invalid("input 'k' must be a scalar, got " + ctx.input(1)->describe());
      k = kv[0];
    }
    Tensor& y = ctx.allocate_output(0, x.dtype(), x.shape());
    if (y.element_count() == 0) return;
    const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    const int64_t mats = product(x.shape(), 0, x.rank() - 2);
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(mats * rows, static_cast<double>(cols), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t i = r % rows;
          for (int64_t j = 0; j < cols; ++j) {
            const bool keep = upper_ ? j - i >= k : j - i <= k;
            dst[r * cols + j] = keep ? src[r * cols + j] : T{};
          }
        }
      });
    });
  }

 private:
  bool upper_;  // "upper": 1
};

class ReverseSequence final : public Kernel {
 public:
  explicit ReverseSequence(const KernelInfo& info)
      : time_axis_(info.node().get_int("time_axis", 0)), batch_axis_(info.node().get_int("batch_axis", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 2) invalid("input must have rank >= 2, got " + x.describe());
    const int64_t rank = static_cast<int64_t>(x.rank());
    const size_t ta = static_cast<size_t>(axis_in(time_axis_, rank, "time_axis"));
    const size_t ba = static_cast<size_t>(axis_in(batch_axis_, rank, "batch_axis"));
    if (ta == ba || ta > 1 || ba > 1) invalid("'time_axis' and 'batch_axis' must be 0 and 1 in some order");
    const auto lens = ints_of(ctx.required_input(1), "input 'sequence_lens'");
    const int64_t batch = x.dim(ba), time = x.dim(ta);
    if (static_cast<int64_t>(lens.size()) != batch)
      invalid("input 'sequence_lens' has " + std::to_string(lens.size()) + " values for batch size " + std::to_string(batch));
    for (int64_t l : lens)
      if (l < 0 || l > time) invalid("sequence length " + std::to_string(l) + " is out of range [0, " + std::to_string(time) + "]");
    Tensor& y = ctx.allocate_output(0, x.dtype(), x.shape());
    if (y.element_count() == 0) return;
    const std::vector<int64_t> st = strides_of(x.shape());
    const int64_t inner = st[1];  // elements per (dim0, dim1) pair
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(x.dim(0) * x.dim(1), static_cast<double>(inner), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t c0 = r / x.dim(1), c1 = r % x.dim(1);
          const int64_t t = ta == 0 ? c0 : c1, bb = ta == 0 ? c1 : c0;
          const int64_t len = lens[static_cast<size_t>(bb)];
          const int64_t st_ = t < len ? len - 1 - t : t;
          const int64_t src_row = ta == 0 ? st_ * x.dim(1) + c1 : c0 * x.dim(1) + st_;
          std::copy(src + src_row * inner, src + (src_row + 1) * inner, dst + r * inner);
        }
      });
    });
  }

 private:
  int64_t time_axis_;   // "time_axis": 0
  int64_t batch_axis_;  // "batch_axis": 1
};

}  // namespace

void register_layout_kernels(KernelRegistry& r) {
  r.add("DepthToSpace", {1, 11, 13, 28}, make_kernel<DepthToSpace>).supports = input0_byte_addressable;
  r.add("SpaceToDepth", {1, 13, 28}, make_kernel<SpaceToDepth>).supports = input0_byte_addressable;
  r.add("Trilu", {14}, make_kernel<Trilu>).supports = input0_byte_addressable;
  r.add("ReverseSequence", {10, 28}, make_kernel<ReverseSequence>).supports = input0_byte_addressable;
}

}  // namespace ferry::ep::cpu
