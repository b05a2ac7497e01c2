// Ops whose output is input 0 under another shape: Reshape, Flatten, Squeeze, Unsqueeze,
// Identity (views through KernelContext::alias_output; the runtime copies when sharing would be
// unsafe), and Dropout, which is Identity at inference.
#include <algorithm>
#include <random>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

class Reshape final : public Kernel {
 public:
  explicit Reshape(const KernelInfo& info) : allowzero_(info.node().get_int("allowzero", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    std::vector<int64_t> shape = read_int_list(ctx.required_input(1), ctx, "shape");
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == 0 && !allowzero_) {
        if (i >= x.rank())
          fail(ctx, ErrorCode::kInvalidArgument, "shape " + shape_to_string(shape) + " copies dim " +
                                                     std::to_string(i) + " of " + x.describe() + ", which has no such dim");
        shape[i] = x.dim(i);
      }
      if (shape[i] == -1) {
        if (infer_at >= 0) fail(ctx, ErrorCode::kInvalidArgument, "shape " + shape_to_string(shape) + " has more than one -1");
        infer_at = static_cast<int64_t>(i);
      } else if (shape[i] < 0) {
        fail(ctx, ErrorCode::kInvalidArgument, "shape " + shape_to_string(shape) + " has a negative dim");
      } else {
        known *= shape[i];
      }
    }
    if (infer_at >= 0) {
      if (known == 0 || x.element_count() % known != 0)
        fail(ctx, ErrorCode::kInvalidArgument, "cannot infer the -1 in " + shape_to_string(shape) + " for " + x.describe());
      shape[static_cast<size_t>(infer_at)] = x.element_count() / known;
    } else if (known != x.element_count()) {
      fail(ctx, ErrorCode::kInvalidArgument, "cannot reshape " + x.describe() + " to " + shape_to_string(shape));
    }
    ctx.alias_output(0, x, std::move(shape));
  }

 private:
  bool allowzero_;  // "allowzero" (opset 14+): 0 = a 0 in shape copies the input dim
};

class Flatten final : public Kernel {
 public:
  explicit Flatten(const KernelInfo& info) : axis_(info.node().get_int("axis", 1)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    const int64_t axis = axis_ == rank ? rank : normalize_axis(axis_, rank, ctx.node());
    ctx.alias_output(0, x, {product(x.shape(), 0, static_cast<size_t>(axis)),
                            product(x.shape(), static_cast<size_t>(axis), x.rank())});
  }

 private:
  int64_t axis_;  // "axis": 1; in [-r, r]
};

/// Axes from the attribute (before opset 13) or from input 1 (from 13; optional for Squeeze).
class AxesSource {
 public:
  AxesSource(const KernelInfo& info)
      : from_input_(info.opset() >= 13), attr_(info.node().get_ints("axes")),
        has_attr_(info.node().find_attribute("axes") != nullptr) {}
  /// nullopt-like: `present` false when no axes were given.
  std::vector<int64_t> get(const KernelContext& ctx, bool& present) const {
    if (!from_input_) {
      present = has_attr_;
      return attr_;
    }
    const Tensor* t = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
    present = t != nullptr && t->defined();
    return present ? read_int_list(*t, ctx, "axes") : std::vector<int64_t>{};
  }

 private:
  bool from_input_;
  std::vector<int64_t> attr_;
  bool has_attr_;
};

class Squeeze final : public Kernel {
 public:
  explicit Squeeze(const KernelInfo& info) : axes_(info) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    bool present = false;
    std::vector<int64_t> axes = axes_.get(ctx, present);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<bool> drop(x.rank(), false);
    if (!present) {
      for (size_t i = 0; i < x.rank(); ++i) drop[i] = x.dim(i) == 1;
    }
    for (int64_t a : axes) {
      const int64_t ax = normalize_axis(a, rank, ctx.node());
      if (x.dim(static_cast<size_t>(ax)) != 1)
        fail(ctx, ErrorCode::kInvalidArgument, "cannot squeeze axis " + std::to_string(a) + " of " +
                                                   x.describe() + ": its dim is not 1");
      drop[static_cast<size_t>(ax)] = true;
    }
    std::vector<int64_t> shape;
    for (size_t i = 0; i < x.rank(); ++i)
      if (!drop[i]) shape.push_back(x.dim(i));
    ctx.alias_output(0, x, std::move(shape));
  }

 private:
  AxesSource axes_;
};

class Unsqueeze final : public Kernel {
 public:
  explicit Unsqueeze(const KernelInfo& info) : axes_(info) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    bool present = false;
    std::vector<int64_t> axes = axes_.get(ctx, present);
    if (!present) fail(ctx, ErrorCode::kInvalidModel, "Unsqueeze needs axes");
    const int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
    std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
    for (int64_t a : axes) {
      const size_t ax = static_cast<size_t>(normalize_axis(a, out_rank, ctx.node()));
      if (inserted[ax]) fail(ctx, ErrorCode::kInvalidArgument, "axes " + shape_to_string(axes) + " repeat an axis");
      inserted[ax] = true;
    }
    std::vector<int64_t> shape;
    size_t next = 0;
    for (size_t i = 0; i < inserted.size(); ++i) shape.push_back(inserted[i] ? 1 : x.dim(next++));
    ctx.alias_output(0, x, std::move(shape));
  }

 private:
  AxesSource axes_;
};

class Identity final : public Kernel {
 public:
  explicit Identity(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    if (const Tensor* x = ctx.input(0)) {
      ctx.alias_output(0, *x, x->shape());
      return;
    }
    // Identity-14+: a sequence or optional passes through (immutable, so shared).
    Value v = ctx.input_value(0);
    if (!v.defined()) ctx.required_input(0);  // throws: missing input
    ctx.set_output_value(0, std::move(v));
  }
};

/// Inference: output = data, mask all true. With training_mode true (opset 12+ input 2) and a
/// ratio > 0, elements are dropped at random (seeded by "seed" when given) and the rest scaled
/// by 1 / (1 - ratio), as the spec defines.
class Dropout final : public Kernel {
 public:
  explicit Dropout(const KernelInfo& info)
      : opset_(info.opset()),
        ratio_attr_(info.node().get_float("ratio", 0.5f)),
        seed_(info.node().find_attribute("seed") ? info.node().get_int("seed", 0) : -1) {
    const ir::Type* mt = info.output_type(1);
    // The mask is bool from opset 10; before that it has the data's type (decided at run time
    // when the model does not say).
    mask_type_ = mt != nullptr && mt->elem != DataType::kUndefined ? mt->elem
                 : opset_ >= 10                                    ? DataType::kBool
                                                                   : DataType::kUndefined;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    bool training = false;
    float ratio = ratio_attr_;
    if (opset_ >= 12) {
      ratio = 0.5f;
      if (const Tensor* r = ctx.input_count() > 1 ? ctx.input(1) : nullptr; r && r->defined()) {
        if (r->dtype() == DataType::kFloat) ratio = r->data<float>()[0];
        else if (r->dtype() == DataType::kDouble) ratio = static_cast<float>(r->data<double>()[0]);
        else fail(ctx, ErrorCode::kNotImplemented, "ratio of type " + r->describe());
      }
      if (const Tensor* t = ctx.input_count() > 2 ? ctx.input(2) : nullptr; t && t->defined())
        training = t->data<bool>()[0];
    }
    const bool want_mask = ctx.output_count() > 1 && ctx.output_wanted(1);
    const DataType mask_type = mask_type_ == DataType::kUndefined ? x.dtype() : mask_type_;
    if (!training || ratio == 0.0f) {
      Tensor& y = ctx.allocate_output(0, x.dtype(), x.shape());  // may alias x (in place)
      copy_elements(x, y);
      if (want_mask) fill_mask(ctx.allocate_output(1, mask_type, x.shape()), nullptr);
      return;
    }
    if (ratio < 0.0f || ratio >= 1.0f)
      fail(ctx, ErrorCode::kInvalidArgument, "ratio must be in [0, 1), got " + std::to_string(ratio));
    std::mt19937_64 rng(seed_ >= 0 ? static_cast<uint64_t>(seed_) : std::random_device{}());
    std::bernoulli_distribution keep(1.0 - ratio);
    std::vector<uint8_t> kept(static_cast<size_t>(x.element_count()));
    for (auto& k : kept) k = keep(rng);
    visit_dtype(FloatTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const T scale = T(1) / (T(1) - static_cast<T>(ratio));
      for (size_t i = 0; i < kept.size(); ++i) py[i] = kept[i] ? px[i] * scale : T(0);
    });
    if (want_mask) fill_mask(ctx.allocate_output(1, mask_type, x.shape()), &kept);
  }

 private:
  void fill_mask(Tensor& m, const std::vector<uint8_t>* kept) const {
    const int64_t n = m.element_count();
    visit_dtype(Types<bool, float, double>{}, m.dtype(), "Dropout mask", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* p = m.data<T>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(kept == nullptr || (*kept)[static_cast<size_t>(i)]);
    });
  }

  int64_t opset_;
  float ratio_attr_;  // "ratio" (before opset 12): 0.5
  int64_t seed_;      // "seed" (opset 12+): random when absent (-1 here)
  DataType mask_type_;
};

}  // namespace

void register_view_kernels(KernelRegistry& r) {
  r.add("Reshape", {5, 13, 14, 19, 21, 23, 24, 25}, make_kernel<Reshape>).output_is_view = true;
  r.add("Flatten", {1, 9, 11, 13, 21, 23, 24, 25}, make_kernel<Flatten>).output_is_view = true;
  r.add("Squeeze", {1, 11, 13, 21, 23, 24, 25}, make_kernel<Squeeze>).output_is_view = true;
  r.add("Unsqueeze", {1, 11, 13, 21, 23, 24, 25}, make_kernel<Unsqueeze>).output_is_view = true;
  auto& identity = r.add("Identity", {1, 13, 14, 16, 19, 21, 23, 24, 25}, make_kernel<Identity>);
  identity.output_is_view = true;
  r.add("Dropout", {7, 10, 12, 13, 22}, make_kernel<Dropout>, FloatTypes::dtypes()).in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
