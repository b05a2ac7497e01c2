// Pad (constant, reflect, edge and, from opset 19, wrap; pads and value as attributes before
// opset 11, as inputs from 11; the axes input from 18; negative pads crop) and CenterCropPad
// (crop or zero-pad each listed axis to a size, centred). Any element type.
#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

PadMode parse_mode(const std::string& m, const KernelInfo& info) {
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap" && info.opset() >= 19) return PadMode::kWrap;
  throw Error(ErrorCode::kInvalidModel, "attribute 'mode' is '" + m + "'; valid: constant, reflect, edge" +
                                            (info.opset() >= 19 ? ", wrap" : ""));
}

/// Source index of output position o along a dim of size `dim` padded by `before`; -1: the pad value.
int64_t source_index(int64_t o, int64_t before, int64_t dim, PadMode mode) {
  int64_t i = o - before;
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return i < 0 ? 0 : dim - 1;
    case PadMode::kWrap: return ((i % dim) + dim) % dim;
    case PadMode::kReflect: {
      if (dim == 1) return 0;
      const int64_t period = 2 * (dim - 1);
      i = ((i % period) + period) % period;
      return i < dim ? i : period - i;
    }
  }
  return -1;
}

class Pad final : public Kernel {
 public:
  explicit Pad(const KernelInfo& info)
      : opset_(info.opset()),
        mode_(parse_mode(info.node().get_string("mode", "constant"), info)),
        pads_attr_(info.node().get_ints("pads")),
        value_attr_(info.node().get_float("value", 0.0f)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> pads = pads_attr_;
    if (opset_ >= 11) pads = ints_of(ctx.required_input(1), "input 'pads'");
    std::vector<int64_t> axes;
    if (opset_ >= 18 && ctx.input_count() > 3 && ctx.input(3)) {
      for (int64_t a : ints_of(*ctx.input(3), "input 'axes'")) axes.push_back(axis_in(a, rank, "axis"));
    } else {
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    }
    if (pads.size() != 2 * axes.size())
      invalid("'pads' has " + std::to_string(pads.size()) + " values; expected " + std::to_string(2 * axes.size()) +
              " for input " + x.describe());
    std::vector<int64_t> before(x.rank(), 0), after(x.rank(), 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      before[static_cast<size_t>(axes[k])] = pads[k];
      after[static_cast<size_t>(axes[k])] = pads[k + axes.size()];
    }
    std::vector<int64_t> out_shape(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      int64_t s;
      if (__builtin_add_overflow(x.dim(d), before[d], &s) || __builtin_add_overflow(s, after[d], &s) || s < 0)
        invalid("pads " + shape_to_string(pads) + " give a negative or overflowing size for dim " + std::to_string(d) +
                " of input " + x.describe());
      out_shape[d] = s;
      const bool pads_dim = s > 0 && (before[d] > 0 || after[d] > 0);
      if (mode_ != PadMode::kConstant && pads_dim && x.dim(d) == 0)
        invalid("cannot pad the empty dim " + std::to_string(d) + " of input " + x.describe() + " in this mode");
    }
    shape_element_count(out_shape);
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    if (y.element_count() == 0) return;
    std::vector<std::vector<int64_t>> maps(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      maps[d].resize(static_cast<size_t>(out_shape[d]));
      for (int64_t o = 0; o < out_shape[d]; ++o) maps[d][static_cast<size_t>(o)] = source_index(o, before[d], x.dim(d), mode_);
    }
    if (mode_ != PadMode::kConstant) return map_copy_any(x, y, maps, nullptr, ctx.thread_pool());
    // The pad value: input 2 (opset 11+, same type as x; absent means zero) or the float attribute.
    if (opset_ >= 11) {
      const Tensor* v = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
      if (v && v->element_count() > 0) {
        if (v->dtype() != x.dtype())
          invalid("input 'constant_value' " + v->describe() + " must have the type of input 'data' " + x.describe());
        return map_copy_any(x, y, maps, v->raw_data(), ctx.thread_pool());
      }
      return map_copy_any(x, y, maps, nullptr, ctx.thread_pool());
    }
    visit_dtype(Types<float, double, Float16>{}, x.dtype(), "input 'data'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T fill;
      if constexpr (std::is_same_v<T, Float16>) fill = to_float16(value_attr_);
      else fill = static_cast<T>(value_attr_);
      map_copy_any(x, y, maps, &fill, ctx.thread_pool());
    });
  }

 private:
  int64_t opset_;
  PadMode mode_;                   // "mode": "constant"
  std::vector<int64_t> pads_attr_;  // "pads" (opset < 11)
  float value_attr_;               // "value": 0.0 (opset < 11)
};

class CenterCropPad final : public Kernel {
 public:
  explicit CenterCropPad(const KernelInfo& info) : axes_(info.node().get_ints("axes")) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const std::vector<int64_t> shape = ints_of(ctx.required_input(1), "input 'shape'");
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> axes;
    if (axes_.empty()) {
      for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
    } else {
      for (int64_t a : axes_) axes.push_back(axis_in(a, rank, "axis"));
    }
    if (shape.size() != axes.size())
      invalid("input 'shape' has " + std::to_string(shape.size()) + " values but there are " +
              std::to_string(axes.size()) + " axes");
    std::vector<int64_t> out_shape = x.shape(), begin(x.rank(), 0);
    for (size_t k = 0; k < axes.size(); ++k) {
      const size_t a = static_cast<size_t>(axes[k]);
      if (shape[k] < 0) invalid("input 'shape' must be non-negative, got " + shape_to_string(shape));
      out_shape[a] = shape[k];
      // Crop: skip (dim - target) / 2 at the start; pad: put (target - dim) / 2 before.
      begin[a] = shape[k] <= x.dim(a) ? -((x.dim(a) - shape[k]) / 2) : (shape[k] - x.dim(a)) / 2;
    }
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    if (y.element_count() == 0) return;
    std::vector<std::vector<int64_t>> maps(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      maps[d].resize(static_cast<size_t>(out_shape[d]));
      for (int64_t o = 0; o < out_shape[d]; ++o)
        maps[d][static_cast<size_t>(o)] = source_index(o, begin[d], x.dim(d), PadMode::kConstant);
    }
    map_copy_any(x, y, maps, nullptr, ctx.thread_pool());
  }

 private:
  std::vector<int64_t> axes_;  // "axes": all
};

}  // namespace

void register_pad_kernels(KernelRegistry& r) {
  r.add("Pad", {2, 11, 13, 18, 19, 21, 23, 24, 25}, make_kernel<Pad>).supports = input0_byte_addressable;
  r.add("CenterCropPad", {18}, make_kernel<CenterCropPad>).supports = input0_byte_addressable;
}

}  // namespace ferry::ep::cpu
