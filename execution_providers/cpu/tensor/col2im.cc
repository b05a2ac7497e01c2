// Col2Im: sums sliding blocks [N, C * prod(block), L] back into an image [N, C, *image_shape],
// any number of spatial dims, with strides, dilations and pads.
#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

class Col2Im final : public Kernel {
 public:
  explicit Col2Im(const KernelInfo& info)
      : dilations_(info.node().get_ints("dilations")), pads_(info.node().get_ints("pads")),
        strides_(info.node().get_ints("strides")) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const auto image = ints_of(ctx.required_input(1), "input 'image_shape'");
    const auto block = ints_of(ctx.required_input(2), "input 'block_shape'");
    const size_t s = image.size();
    if (block.size() != s || s == 0) invalid("'image_shape' and 'block_shape' must have the same non-zero length");
    if (x.rank() != 3) invalid("input must be 3-D [N, C * prod(block_shape), L], got " + x.describe());
    auto or_default = [&](const std::vector<int64_t>& v, size_t n, int64_t d, const char* name) {
      if (v.empty()) return std::vector<int64_t>(n, d);
      if (v.size() != n) invalid(std::string("attribute '") + name + "' must have " + std::to_string(n) + " values");
      return v;
    };
    const auto dil = or_default(dilations_, s, 1, "dilations"), str = or_default(strides_, s, 1, "strides");
    const auto pads = or_default(pads_, 2 * s, 0, "pads");
    int64_t block_size = 1, locations = 1;
    std::vector<int64_t> out_locs(s);
    for (size_t d = 0; d < s; ++d) {
      if (block[d] < 1 || image[d] < 0 || dil[d] < 1 || str[d] < 1)
        invalid("image, block, dilation and stride sizes must be positive");
      block_size = checked_mul(block_size, block[d], "block_shape");
      const int64_t span = checked_mul(dil[d], block[d] - 1, "dilated block") + 1;
      out_locs[d] = (image[d] + pads[d] + pads[d + s] - span) / str[d] + 1;
      if (out_locs[d] < 0) out_locs[d] = 0;
      locations = checked_mul(locations, out_locs[d], "block locations");
    }
    const int64_t n = x.dim(0), cb = x.dim(1), l = x.dim(2);
    if (cb % block_size != 0 || l != locations)
      invalid("input " + x.describe() + " does not match block_shape " + shape_to_string(block) + " and image_shape " +
              shape_to_string(image) + " (expected dim 1 a multiple of " + std::to_string(block_size) + " and dim 2 = " +
              std::to_string(locations) + ")");
    const int64_t c = cb / block_size;
    std::vector<int64_t> out_shape = {n, c};
    out_shape.insert(out_shape.end(), image.begin(), image.end());
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    const int64_t image_size = product(image);
    visit_dtype(Types<float, double>{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = x.data<T>();
      T* dst = y.data<T>();
      std::fill(dst, dst + y.element_count(), T(0));
      ctx.thread_pool().parallel_for(n * c, static_cast<double>(block_size * l), [&](int64_t p0, int64_t p1) {
        std::vector<int64_t> bi(s), li(s);
        for (int64_t p = p0; p < p1; ++p) {
          T* img = dst + p * image_size;
          for (int64_t bk = 0; bk < block_size; ++bk) {
            for (size_t d = s, r = static_cast<size_t>(bk); d-- > 0;) {
              bi[d] = static_cast<int64_t>(r) % block[d];
              r /= static_cast<size_t>(block[d]);
            }
            const T* col = src + (p * block_size + bk) * l;
            for (int64_t loc = 0; loc < l; ++loc) {
              int64_t r = loc, off = 0;
              bool inside = true;
              for (size_t d = s; d-- > 0;) {
                li[d] = r % out_locs[d];
                r /= out_locs[d];
              }
              for (size_t d = 0; d < s && inside; ++d) {
                const int64_t pos = li[d] * str[d] - pads[d] + bi[d] * dil[d];
                inside = pos >= 0 && pos < image[d];
                off = off * image[d] + pos;
              }
              if (inside) img[off] += col[loc];
            }
          }
        }
      });
    });
  }

 private:
  std::vector<int64_t> dilations_, pads_, strides_;  // "dilations", "pads", "strides": 1, 0, 1 per dim
};

}  // namespace

void register_col2im_kernels(KernelRegistry& r) {
  r.add("Col2Im", {18}, make_kernel<Col2Im>, FloatTypes::dtypes());
}

}  // namespace ferry::ep::cpu
