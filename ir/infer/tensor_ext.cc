// Inference for the data-movement ops beyond the foundation's: Slice, Split, Tile, Expand, Pad,
// CenterCropPad, ConstantOfShape, Range, Size, NonZero, OneHot, GatherElements, GatherND, the
// scatters, Trilu, DepthToSpace, SpaceToDepth, ReverseSequence, EyeLike, Compress, Unique,
// Col2Im and CastLike. Integer values propagate through Slice, Size, Range, ConstantOfShape,
// Expand and Tile when cheap, so shape arithmetic built from them stays exact.
#include <algorithm>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

Type like_input(const InferenceContext& ctx, size_t i, Shape s) { return Type::tensor(input_dtype(ctx, i), std::move(s)); }

/// Same rank as `x`, every dim fresh.
Shape fresh_like(InferenceContext& ctx, const Shape& x) {
  std::vector<Dim> d;
  for (size_t i = 0; i < x.rank(); ++i) d.push_back(ctx.fresh_dim());
  return Shape(std::move(d));
}

void same_as_input0(InferenceContext& ctx) {
  const Type& t = ctx.input_type(0);
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), t.kind == Type::Kind::kTensor ? t.shape : Shape::unknown()));
}

// Slice: start/end/step of one axis with the spec's clamping; nullopt length when dim is symbolic
// and the result depends on it.
std::optional<int64_t> slice_length(int64_t dim, int64_t s, int64_t e, int64_t step) {
  if (s < 0) s += dim;
  if (e < 0) e += dim;
  if (step > 0) {
    s = std::clamp<int64_t>(s, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    return e > s ? (e - s - 1) / step + 1 : 0;
  }
  if (dim == 0) return 0;
  s = std::clamp<int64_t>(s, 0, dim - 1);
  e = std::clamp<int64_t>(e, -1, dim - 1);
  return s > e ? static_cast<int64_t>(static_cast<uint64_t>(s - e - 1) / (uint64_t{0} - static_cast<uint64_t>(step))) + 1 : 0;
}

void slice(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  const int64_t rank = static_cast<int64_t>(x->rank());
  std::optional<std::vector<int64_t>> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.node().get_ints("starts");
    ends = ctx.node().get_ints("ends");
    axes = ctx.node().get_ints("axes");
    steps = std::vector<int64_t>{};
  } else {
    starts = input_ints(ctx, 1);
    ends = input_ints(ctx, 2);
    axes = ctx.has_input(3) ? input_ints(ctx, 3) : std::vector<int64_t>{};
    steps = ctx.has_input(4) ? input_ints(ctx, 4) : std::vector<int64_t>{};
  }
  if (!starts || !ends || !axes || !steps) {
    std::vector<Dim> out = x->dims;
    if (axes && !axes->empty()) {
      for (int64_t a : *axes) out[static_cast<size_t>(normalize_axis(ctx, a, rank, "axis"))] = ctx.fresh_dim();
    } else {
      for (Dim& d : out) d = ctx.fresh_dim();
    }
    return ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
  }
  if (starts->size() != ends->size()) ctx.fail("'starts' and 'ends' have different lengths");
  if (axes->empty())
    for (size_t i = 0; i < starts->size(); ++i) axes->push_back(static_cast<int64_t>(i));
  if (steps->empty()) steps->assign(starts->size(), 1);
  if (axes->size() != starts->size() || steps->size() != starts->size())
    ctx.fail("'starts', 'ends', 'axes' and 'steps' must have the same length");
  std::vector<Dim> out = x->dims;
  std::vector<int64_t> seen;
  for (size_t k = 0; k < starts->size(); ++k) {
    const int64_t a = normalize_axis(ctx, (*axes)[k], rank, "axis");
    if (std::find(seen.begin(), seen.end(), a) != seen.end()) ctx.fail("axis " + std::to_string((*axes)[k]) + " repeats");
    seen.push_back(a);
    const int64_t step = (*steps)[k];
    if (step == 0) ctx.fail("'steps' must not contain 0");
    const Dim& d = x->dims[static_cast<size_t>(a)];
    const int64_t s = (*starts)[k], e = (*ends)[k];
    if (d.is_constant()) {
      out[static_cast<size_t>(a)] = Dim(*slice_length(d.value(), s, e, step));
    } else if (step == 1 && s == 0 && e >= INT32_MAX) {
      out[static_cast<size_t>(a)] = d;  // the whole dim
    } else {
      out[static_cast<size_t>(a)] = ctx.fresh_dim();
    }
  }
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
  // Values of a 1-D integer tensor.
  if (rank != 1 || !is_index_type(input_dtype(ctx, 0))) return;
  auto v = ctx.input_value(0);
  if (!v) return;
  const int64_t n = static_cast<int64_t>(v->size());
  const int64_t step = (*steps)[0];
  int64_t s = (*starts)[0], e = (*ends)[0];
  if (s < 0) s += n;
  if (e < 0) e += n;
  const int64_t len = *slice_length(n, (*starts)[0], (*ends)[0], step);
  s = step > 0 || n == 0 ? std::clamp<int64_t>(s, 0, n) : std::clamp<int64_t>(s, 0, n - 1);
  std::vector<Dim> picked;
  for (int64_t i = 0; i < len; ++i) picked.push_back((*v)[static_cast<size_t>(s + i * step)]);
  ctx.set_output_value(0, std::move(picked));
}

void split(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const size_t n = ctx.output_count();
  if (!x) {
    for (size_t i = 0; i < n; ++i) ctx.set_output_type(i, like_input(ctx, 0, Shape::unknown()));
    return;
  }
  const int64_t axis = normalize_axis(ctx, ctx.node().get_int("axis", 0), static_cast<int64_t>(x->rank()), "axis");
  const Dim& dim = x->dims[static_cast<size_t>(axis)];
  std::optional<std::vector<int64_t>> sizes;
  if (ctx.opset() < 13) {
    if (ctx.node().find_attribute("split")) sizes = ctx.node().get_ints("split");
  } else if (ctx.has_input(1)) {
    sizes = input_ints(ctx, 1);
    if (!sizes) {
      for (size_t i = 0; i < n; ++i) {
        std::vector<Dim> d = x->dims;
        d[static_cast<size_t>(axis)] = ctx.fresh_dim();
        ctx.set_output_type(i, like_input(ctx, 0, Shape(d)));
      }
      return;
    }
  }
  std::vector<Dim> out_dims;
  if (sizes) {
    if (sizes->size() != n) ctx.fail("'split' has " + std::to_string(sizes->size()) + " values for " + std::to_string(n) + " outputs");
    int64_t total = 0;
    for (int64_t s : *sizes) {
      out_dims.push_back(Dim(s));
      total += s;
    }
    if (dim.is_constant() && dim.value() != total)
      ctx.fail("'split' sums to " + std::to_string(total) + " but the axis has size " + dim.to_string());
  } else if (dim.is_constant()) {
    const int64_t num = ctx.opset() >= 18 ? ctx.node().get_int("num_outputs", static_cast<int64_t>(n)) : static_cast<int64_t>(n);
    if (num != static_cast<int64_t>(n)) ctx.fail("'num_outputs' is " + std::to_string(num) + " but the node has " + std::to_string(n) + " outputs");
    const int64_t chunk = ctx.opset() >= 18 ? (dim.value() + num - 1) / num : dim.value() / num;
    if (ctx.opset() < 18 && dim.value() % num != 0)
      ctx.fail("axis of size " + dim.to_string() + " cannot be split into " + std::to_string(num) + " equal parts");
    for (int64_t i = 0; i < num; ++i) out_dims.push_back(Dim(std::max<int64_t>(0, std::min(chunk, dim.value() - chunk * i))));
  } else {
    for (size_t i = 0; i < n; ++i) out_dims.push_back(ctx.opset() < 18 ? floor_div(dim, Dim(static_cast<int64_t>(n))) : ctx.fresh_dim());
  }
  for (size_t i = 0; i < n; ++i) {
    std::vector<Dim> d = x->dims;
    d[static_cast<size_t>(axis)] = out_dims[i];
    ctx.set_output_type(i, like_input(ctx, 0, Shape(d)));
  }
}

void tile(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  auto reps = ctx.input_value(1);
  if (!reps) return ctx.set_output_type(0, like_input(ctx, 0, fresh_like(ctx, *x)));
  if (reps->size() != x->rank()) ctx.fail("'repeats' has " + std::to_string(reps->size()) + " values for input " + x->to_string());
  std::vector<Dim> out;
  for (size_t i = 0; i < x->rank(); ++i) {
    if ((*reps)[i].is_constant() && (*reps)[i].value() < 0) ctx.fail("'repeats' must be non-negative, got " + (*reps)[i].to_string());
    out.push_back(x->dims[i] * (*reps)[i]);
  }
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
  if (x->rank() == 1 && is_index_type(input_dtype(ctx, 0)) && (*reps)[0].is_constant()) {
    auto v = ctx.input_value(0);
    const int64_t r = (*reps)[0].value();
    if (v && r >= 0 && static_cast<int64_t>(v->size()) * r <= kMaxTrackedElements) {
      std::vector<Dim> vals;
      for (int64_t k = 0; k < r; ++k) vals.insert(vals.end(), v->begin(), v->end());
      ctx.set_output_value(0, std::move(vals));
    }
  }
}

void expand(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  auto target = ctx.input_value(1);
  if (!target && x) {
    if (auto partial = ctx.input_partial_value(1)) {
      // Some target elements known: broadcast with the unknown ones as 1, then those positions
      // are x's dim where that is a constant other than 1 (it must survive), else unknown.
      std::vector<Dim> t = *partial;
      for (Dim& d : t)
        if (is_unknown_element(d)) d = Dim(1);
      for (const Dim& d : t)
        if (d.is_constant() && d.value() < 0) ctx.fail("input 'shape' has a negative dim " + d.to_string());
      Shape out = broadcast_shapes(ctx, {*x, Shape(t)});
      const size_t rank = out.rank();
      for (size_t i = 0; i < partial->size(); ++i) {
        if (!is_unknown_element((*partial)[i])) continue;
        const size_t pos = rank - partial->size() + i;
        const size_t lead = rank - x->rank();
        const Dim* xd = pos >= lead ? &x->dims[pos - lead] : nullptr;
        if (!(xd && xd->is_constant() && xd->value() != 1)) out.dims[pos] = ctx.fresh_dim();
      }
      return ctx.set_output_type(0, like_input(ctx, 0, out));
    }
  }
  if (!target) {
    const Shape* s = ranked_shape(ctx, 1);
    if (x && s && s->rank() == 1 && s->dims[0].is_constant()) {
      // Unknown target values, known count: a dim of x that is a constant other than 1 survives.
      const size_t rank = std::max<size_t>(static_cast<size_t>(s->dims[0].value()), x->rank());
      std::vector<Dim> d;
      for (size_t i = 0; i < rank; ++i) {
        const bool in_x = i >= rank - x->rank();
        const Dim* xd = in_x ? &x->dims[i - (rank - x->rank())] : nullptr;
        d.push_back(xd && xd->is_constant() && xd->value() != 1 ? *xd : ctx.fresh_dim());
      }
      return ctx.set_output_type(0, like_input(ctx, 0, Shape(d)));
    }
    return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  }
  for (const Dim& d : *target)
    if (d.is_constant() && d.value() < 0) ctx.fail("input 'shape' has a negative dim " + d.to_string());
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  const Shape out = broadcast_shapes(ctx, {*x, Shape(*target)});
  ctx.set_output_type(0, like_input(ctx, 0, out));
  if (out.rank() == 1 && out.dims[0].is_constant() && out.dims[0].value() <= kMaxTrackedElements &&
      is_index_type(input_dtype(ctx, 0))) {
    auto v = ctx.input_value(0);
    if (v && v->size() == 1) ctx.set_output_value(0, std::vector<Dim>(static_cast<size_t>(out.dims[0].value()), (*v)[0]));
    else if (v && static_cast<int64_t>(v->size()) == out.dims[0].value()) ctx.set_output_value(0, *v);
  }
}

void pad(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  const int64_t rank = static_cast<int64_t>(x->rank());
  std::optional<std::vector<int64_t>> pads = ctx.opset() < 11 ? std::optional(ctx.node().get_ints("pads")) : input_ints(ctx, 1);
  std::optional<std::vector<int64_t>> axes = std::vector<int64_t>{};
  if (ctx.opset() >= 18 && ctx.has_input(3)) axes = input_ints(ctx, 3);
  if (!pads || !axes) {
    std::vector<Dim> out = x->dims;
    if (axes) {
      for (int64_t a : *axes) out[static_cast<size_t>(normalize_axis(ctx, a, rank, "axis"))] = ctx.fresh_dim();
      if (axes->empty()) out = fresh_like(ctx, *x).dims;
    } else {
      out = fresh_like(ctx, *x).dims;
    }
    return ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
  }
  if (axes->empty())
    for (int64_t a = 0; a < rank; ++a) axes->push_back(a);
  if (pads->size() != 2 * axes->size())
    ctx.fail("'pads' has " + std::to_string(pads->size()) + " values; expected " + std::to_string(2 * axes->size()));
  std::vector<Dim> out = x->dims;
  for (size_t k = 0; k < axes->size(); ++k) {
    const size_t a = static_cast<size_t>(normalize_axis(ctx, (*axes)[k], rank, "axis"));
    out[a] = out[a] + int_dim((*pads)[k]) + int_dim((*pads)[k + axes->size()]);
  }
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
}

void center_crop_pad(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  const int64_t rank = static_cast<int64_t>(x->rank());
  std::vector<int64_t> axes = ctx.node().get_ints("axes");
  if (axes.empty())
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  auto shape = ctx.input_value(1);
  std::vector<Dim> out = x->dims;
  for (size_t k = 0; k < axes.size(); ++k) {
    const size_t a = static_cast<size_t>(normalize_axis(ctx, axes[k], rank, "axis"));
    out[a] = shape && shape->size() == axes.size() ? (*shape)[k] : ctx.fresh_dim();
  }
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
}

void constant_of_shape(InferenceContext& ctx) {
  const Attribute* a = ctx.node().find_attribute("value");
  const DataType dt = a && a->type == AttributeType::kTensor ? a->t.dtype() : DataType::kFloat;
  auto shape = ctx.input_value(0);
  if (!shape) {
    const Shape* s = ranked_shape(ctx, 0);
    if (s && s->rank() == 1 && s->dims[0].is_constant()) {
      std::vector<Dim> d;
      for (int64_t i = 0; i < s->dims[0].value(); ++i) d.push_back(ctx.fresh_dim());
      return ctx.set_output_type(0, Type::tensor(dt, Shape(d)));
    }
    return ctx.set_output_type(0, Type::tensor(dt));
  }
  for (const Dim& d : *shape)
    if (d.is_constant() && d.value() < 0) ctx.fail("input 'input' has a negative dim " + d.to_string());
  ctx.set_output_type(0, Type::tensor(dt, Shape(*shape)));
  if (shape->size() == 1 && (*shape)[0].is_constant() && (*shape)[0].value() <= kMaxTrackedElements && is_index_type(dt)) {
    int64_t v = 0;
    if (a && a->t.element_count() == 1) v = a->t.dtype() == DataType::kInt64 ? a->t.data<int64_t>()[0] : a->t.data<int32_t>()[0];
    ctx.set_output_value(0, std::vector<Dim>(static_cast<size_t>((*shape)[0].value()), int_dim(v)));
  }
}

void range(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  auto s = input_ints(ctx, 0), l = input_ints(ctx, 1), d = input_ints(ctx, 2);
  if (!s || !l || !d || s->size() != 1 || l->size() != 1 || d->size() != 1 || (*d)[0] == 0) {
    // Range(0, n, delta > 0) with n a lone symbol (a size, so >= 0): ceil(n / delta) elements.
    auto lv = ctx.input_value(1);
    const bool counts_up = s && d && s->size() == 1 && d->size() == 1 && (*s)[0] == 0 && (*d)[0] > 0;
    if (counts_up && lv && lv->size() == 1 && !(*lv)[0].symbol_name().empty())
      return ctx.set_output_type(0, Type::tensor(dt, Shape({ceil_div((*lv)[0], Dim((*d)[0]))})));
    return ctx.set_output_type(0, Type::tensor(dt, Shape({ctx.fresh_dim()})));
  }
  const __int128 span = static_cast<__int128>((*l)[0]) - (*s)[0];
  __int128 q = span / (*d)[0];
  if (q * (*d)[0] != span && ((span > 0) == ((*d)[0] > 0))) ++q;
  const int64_t n = q > 0 ? static_cast<int64_t>(std::min<__int128>(q, INT64_MAX)) : 0;
  ctx.set_output_type(0, Type::tensor(dt, Shape({Dim(n)})));
  if (n <= kMaxTrackedElements) {
    std::vector<Dim> vals;
    for (int64_t i = 0; i < n; ++i) vals.push_back(int_dim((*s)[0] + i * (*d)[0]));
    ctx.set_output_value(0, std::move(vals));
  }
}

/// HannWindow, HammingWindow, BlackmanWindow: [size] of output_datatype (default float).
void window(InferenceContext& ctx) {
  const int64_t code = ctx.node().get_int("output_datatype", 1);
  if (!is_known_dtype_code(static_cast<int32_t>(code)))
    ctx.fail("attribute 'output_datatype' = " + std::to_string(code) + " is not a data type");
  const auto dt = static_cast<DataType>(code);
  auto size = input_ints(ctx, 0);
  const Dim n = size && size->size() == 1 && (*size)[0] >= 0 ? Dim((*size)[0]) : ctx.fresh_dim();
  ctx.set_output_type(0, Type::tensor(dt, Shape({n})));
}

void size_op(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape(std::vector<Dim>{})));
  if (const Shape* x = ranked_shape(ctx, 0)) ctx.set_output_value(0, {product(x->dims, 0, x->rank())});
}

void nonzero(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Dim rank = x ? Dim(static_cast<int64_t>(std::max<size_t>(x->rank(), 1))) : ctx.fresh_dim();
  ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape({rank, ctx.fresh_dim()})));
}

void one_hot(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 2);
  const Shape* idx = ranked_shape(ctx, 0);
  if (!idx) return ctx.set_output_type(0, Type::tensor(dt));
  const int64_t rank = static_cast<int64_t>(idx->rank()) + 1;
  const int64_t axis = normalize_axis(ctx, ctx.node().get_int("axis", -1), rank, "axis");
  std::vector<Dim> out = idx->dims;
  Dim depth = ctx.fresh_dim();
  if (auto dv = input_ints(ctx, 1); dv && dv->size() == 1) depth = Dim((*dv)[0]);
  out.insert(out.begin() + axis, depth);
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
}

void gather_elements(InferenceContext& ctx) {
  const Type& t = ctx.input_type(1);
  ctx.set_output_type(0, like_input(ctx, 0, t.kind == Type::Kind::kTensor ? t.shape : Shape::unknown()));
}

void gather_nd(InferenceContext& ctx) {
  const Shape* data = ranked_shape(ctx, 0);
  const Shape* idx = ranked_shape(ctx, 1);
  if (!data || !idx || idx->rank() == 0 || !idx->dims.back().is_constant())
    return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  const int64_t b = ctx.node().get_int("batch_dims", 0), k = idx->dims.back().value();
  if (b < 0 || b + k > static_cast<int64_t>(data->rank()))
    ctx.fail("indices " + idx->to_string() + " with batch_dims " + std::to_string(b) + " do not fit data " + data->to_string());
  std::vector<Dim> out(idx->dims.begin(), idx->dims.end() - 1);
  out.insert(out.end(), data->dims.begin() + b + k, data->dims.end());
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
}

void depth_to_space(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const int64_t b = ctx.node().require_int("blocksize");
  if (b < 1) ctx.fail("attribute 'blocksize' must be positive");
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape({ctx.fresh_dim(), ctx.fresh_dim(), ctx.fresh_dim(), ctx.fresh_dim()})));
  if (x->rank() != 4) ctx.fail("input must be 4-D, got " + x->to_string());
  const bool to_space = ctx.node().op_type() == "DepthToSpace";
  const Dim bb(b * b), bd(b);
  const auto& d = x->dims;
  Shape out = to_space ? Shape({d[0], floor_div(d[1], bb), d[2] * bd, d[3] * bd})
                       : Shape({d[0], d[1] * bb, floor_div(d[2], bd), floor_div(d[3], bd)});
  ctx.set_output_type(0, like_input(ctx, 0, out));
}

void eye_like(InferenceContext& ctx) {
  const int64_t code = ctx.node().get_int("dtype", 0);
  const DataType dt = code == 0 ? input_dtype(ctx, 0) : static_cast<DataType>(code);
  const Type& t = ctx.input_type(0);
  ctx.set_output_type(0, Type::tensor(dt, t.kind == Type::Kind::kTensor ? t.shape : Shape::unknown()));
}

void compress(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Attribute* a = ctx.node().find_attribute("axis");
  if (!a) return ctx.set_output_type(0, like_input(ctx, 0, Shape({ctx.fresh_dim()})));
  if (!x) return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  std::vector<Dim> out = x->dims;
  out[static_cast<size_t>(normalize_axis(ctx, a->i, static_cast<int64_t>(x->rank()), "axis"))] = ctx.fresh_dim();
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
}

void unique(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Attribute* a = ctx.node().find_attribute("axis");
  const Dim u = ctx.fresh_dim();
  Dim n = ctx.fresh_dim();
  if (!a) {
    ctx.set_output_type(0, like_input(ctx, 0, Shape({u})));
    if (x) n = product(x->dims, 0, x->rank());
  } else if (x) {
    const size_t axis = static_cast<size_t>(normalize_axis(ctx, a->i, static_cast<int64_t>(x->rank()), "axis"));
    std::vector<Dim> out = x->dims;
    n = out[axis];
    out[axis] = u;
    ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
  } else {
    ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  }
  for (size_t i = 1; i < ctx.output_count(); ++i) ctx.set_output_type(i, Type::tensor(DataType::kInt64, Shape({i == 2 ? n : u})));
}

void col2im(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  auto image = ctx.input_value(1);
  auto block = input_ints(ctx, 2);
  if (!x || !image || !block || x->rank() != 3) {
    const Shape* s = ranked_shape(ctx, 1);
    if (s && s->rank() == 1 && s->dims[0].is_constant()) {
      std::vector<Dim> d = {x ? x->dims[0] : ctx.fresh_dim(), ctx.fresh_dim()};
      for (int64_t i = 0; i < s->dims[0].value(); ++i) d.push_back(ctx.fresh_dim());
      return ctx.set_output_type(0, like_input(ctx, 0, Shape(d)));
    }
    return ctx.set_output_type(0, like_input(ctx, 0, Shape::unknown()));
  }
  int64_t bs = 1;
  for (int64_t b : *block) bs *= b;
  if (bs <= 0) ctx.fail("'block_shape' must be positive");
  std::vector<Dim> out = {x->dims[0], floor_div(x->dims[1], Dim(bs))};
  out.insert(out.end(), image->begin(), image->end());
  ctx.set_output_type(0, like_input(ctx, 0, Shape(out)));
}

void cast_like(InferenceContext& ctx) {
  const Type& t = ctx.input_type(0);
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 1), t.kind == Type::Kind::kTensor ? t.shape : Shape::unknown()));
}

}  // namespace

void register_tensor_ext() {
  register_inference("", "Slice", 1, slice);
  register_inference("", "Split", 1, split);
  register_inference("", "Tile", 1, tile);
  register_inference("", "Expand", 8, expand);
  register_inference("", "Pad", 1, pad);
  register_inference("", "CenterCropPad", 18, center_crop_pad);
  register_inference("", "ConstantOfShape", 9, constant_of_shape);
  register_inference("", "Range", 11, range);
  for (const char* op : {"HannWindow", "HammingWindow", "BlackmanWindow"}) register_inference("", op, 17, window);
  register_inference("", "Size", 1, size_op);
  register_inference("", "NonZero", 9, nonzero);
  register_inference("", "OneHot", 9, one_hot);
  register_inference("", "GatherElements", 11, gather_elements);
  register_inference("", "GatherND", 11, gather_nd);
  for (const char* op : {"Scatter", "ScatterElements", "ScatterND", "Trilu", "ReverseSequence"})
    register_inference("", op, 1, same_as_input0);
  register_inference("", "DepthToSpace", 1, depth_to_space);
  register_inference("", "SpaceToDepth", 1, depth_to_space);
  register_inference("", "EyeLike", 9, eye_like);
  register_inference("", "Compress", 9, compress);
  register_inference("", "Unique", 11, unique);
  register_inference("", "Col2Im", 18, col2im);
  register_inference("", "CastLike", 15, cast_like);
}

}  // namespace ferry::ir::infer
