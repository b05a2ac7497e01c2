// Inference for ops that move or describe data without computing on it: Constant, Shape,
// Reshape, Flatten, Transpose, Concat, Gather, Unsqueeze, Squeeze. Small integer tensors built
// from shapes (Shape -> Gather -> Unsqueeze -> Concat) carry their values as dims, so a
// Reshape fed by such a chain gets an exact symbolic shape.
#include <algorithm>
#include <set>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

std::vector<Dim> tensor_values(const Tensor& t) {
  std::vector<Dim> out;
  if (t.dtype() == DataType::kInt64) {
    for (int64_t x : t.span<int64_t>()) out.push_back(int_dim(x));
  } else if (t.dtype() == DataType::kInt32) {
    for (int32_t x : t.span<int32_t>()) out.push_back(int_dim(x));
  }
  return out;
}

void constant(InferenceContext& ctx) {
  const Node& n = ctx.node();
  if (n.attributes().size() != 1)
    ctx.fail("needs exactly one of value, sparse_value, value_float(s), value_int(s), value_string(s); has " +
             std::to_string(n.attributes().size()) + " attributes");
  const Attribute& a = n.attributes()[0];
  auto scalar = Shape(std::vector<Dim>{});
  auto vec = [](size_t count) { return Shape({Dim(static_cast<int64_t>(count))}); };
  if (a.name == "value" && a.type == AttributeType::kTensor) {
    ctx.set_output_type(0, Type::tensor(a.t.dtype(), Shape::from_ints(a.t.shape())));
    if (is_index_type(a.t.dtype()) && a.t.rank() <= 1 && a.t.element_count() <= kMaxTrackedElements)
      ctx.set_output_value(0, tensor_values(a.t));
  } else if (a.name == "sparse_value" && a.type == AttributeType::kSparseTensor) {
    ctx.set_output_type(0, Type::tensor(a.sparse.values.dtype(), Shape::from_ints(a.sparse.dims)));
  } else if (a.name == "value_float" && a.type == AttributeType::kFloat) {
    ctx.set_output_type(0, Type::tensor(DataType::kFloat, scalar));
  } else if (a.name == "value_floats" && a.type == AttributeType::kFloats) {
    ctx.set_output_type(0, Type::tensor(DataType::kFloat, vec(a.floats.size())));
  } else if (a.name == "value_int" && a.type == AttributeType::kInt) {
    ctx.set_output_type(0, Type::tensor(DataType::kInt64, scalar));
    ctx.set_output_value(0, {int_dim(a.i)});
  } else if (a.name == "value_ints" && a.type == AttributeType::kInts) {
    ctx.set_output_type(0, Type::tensor(DataType::kInt64, vec(a.ints.size())));
    std::vector<Dim> v;
    for (int64_t x : a.ints) v.push_back(int_dim(x));
    ctx.set_output_value(0, std::move(v));
  } else if (a.name == "value_string" && a.type == AttributeType::kString) {
    ctx.set_output_type(0, Type::tensor(DataType::kString, scalar));
  } else if (a.name == "value_strings" && a.type == AttributeType::kStrings) {
    ctx.set_output_type(0, Type::tensor(DataType::kString, vec(a.strings.size())));
  } else {
    ctx.fail("attribute '" + a.name + "' of type " + std::string(attribute_type_name(a.type)) +
             " does not define a constant");
  }
}

void shape_op(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape({ctx.fresh_dim()})));
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t start = 0, end = rank;
  if (ctx.opset() >= 15) {
    start = ctx.node().get_int("start", 0);
    end = ctx.node().get_int("end", rank);
  }
  auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  start = clamp(start);
  end = std::max(clamp(end), start);
  std::vector<Dim> v(x->dims.begin() + start, x->dims.begin() + end);
  ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape({Dim(end - start)})));
  ctx.set_output_value(0, std::move(v));
}

void gather(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* data = ranked_shape(ctx, 0);
  const Shape* idx = ranked_shape(ctx, 1);
  if (!data || !idx) return ctx.set_output_type(0, Type::tensor(dt));
  const int64_t rank = static_cast<int64_t>(data->rank());
  if (rank == 0) ctx.fail("input 'data' is a scalar; Gather needs rank >= 1");
  const int64_t axis = normalize_axis(ctx, ctx.node().get_int("axis", 0), rank, "axis");
  std::vector<Dim> out(data->dims.begin(), data->dims.begin() + axis);
  out.insert(out.end(), idx->dims.begin(), idx->dims.end());
  out.insert(out.end(), data->dims.begin() + axis + 1, data->dims.end());
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  if (rank != 1 || idx->rank() > 1) return;
  auto values = ctx.input_value(0);
  auto indices = input_ints(ctx, 1);
  if (!values || !indices) return;
  const int64_t size = static_cast<int64_t>(values->size());
  std::vector<Dim> picked;
  for (int64_t i : *indices) {
    if (i < -size || i >= size)
      ctx.fail("index " + std::to_string(i) + " is out of range for data " + data->to_string());
    picked.push_back((*values)[static_cast<size_t>(i < 0 ? i + size : i)]);
  }
  ctx.set_output_value(0, std::move(picked));
}

void concat(InferenceContext& ctx) {
  DataType dt = DataType::kUndefined;
  for (size_t i = 0; i < ctx.input_count(); ++i)
    if (input_dtype(ctx, i) != DataType::kUndefined) {
      if (dt != DataType::kUndefined && input_dtype(ctx, i) != dt)
        ctx.fail("input types differ: " + std::string(dtype_name(dt)) + " and " +
                 std::string(dtype_name(input_dtype(ctx, i))));
      dt = input_dtype(ctx, i);
    }
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Shape* s = ranked_shape(ctx, i);
    if (!s) return ctx.set_output_type(0, Type::tensor(dt));
    shapes.push_back(*s);
  }
  if (shapes.empty()) ctx.fail("needs at least one input");
  const int64_t rank = static_cast<int64_t>(shapes[0].rank());
  for (const Shape& s : shapes)
    if (static_cast<int64_t>(s.rank()) != rank) ctx.fail("inputs have different ranks: " + shapes_text(shapes));
  if (rank == 0) ctx.fail("inputs are scalars; Concat needs rank >= 1");
  const int64_t axis = normalize_axis(ctx, ctx.node().require_int("axis"), rank, "axis");
  std::vector<Dim> out = shapes[0].dims;
  for (size_t k = 1; k < shapes.size(); ++k) {
    for (int64_t d = 0; d < rank; ++d) {
      if (d == axis) {
        out[d] = out[d] + shapes[k].dims[d];
      } else if (!(out[d] == shapes[k].dims[d])) {  // the message only when it may be needed
        out[d] = unify(ctx, out[d], shapes[k].dims[d],
                       "inputs " + shapes_text(shapes) + " differ on axis " + std::to_string(d));
      }
    }
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  if (rank != 1 || !is_index_type(dt)) return;
  // Inputs of unknown value but known length join as unknown_element() markers, so that a shape
  // built from Shape slices and one computed piece keeps the known pieces (as onnx does).
  std::vector<Dim> joined;
  bool any_known = false;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    auto v = ctx.input_partial_value(i);
    if (v) {
      any_known = any_known || !std::all_of(v->begin(), v->end(), is_unknown_element);
      joined.insert(joined.end(), v->begin(), v->end());
      continue;
    }
    const auto n = const_of(shapes[i].dims[0]);
    if (!n || *n > kMaxTrackedElements) return;
    joined.insert(joined.end(), static_cast<size_t>(*n), unknown_element());
  }
  if (any_known) ctx.set_output_value(0, std::move(joined));
}

// Axes from the attribute (before opset 13) or the second input (13 on); nullopt when unknown.
std::optional<std::vector<int64_t>> axes_of(InferenceContext& ctx, bool* given) {
  if (ctx.opset() < 13) {
    const Attribute* a = ctx.node().find_attribute("axes");
    *given = a != nullptr;
    return a ? std::optional(ctx.node().get_ints("axes")) : std::optional(std::vector<int64_t>{});
  }
  *given = ctx.has_input(1);
  if (!*given) return std::vector<int64_t>{};
  return input_ints(ctx, 1);
}

void unsqueeze(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  bool given = false;
  auto axes = axes_of(ctx, &given);
  if (!given) ctx.fail("needs 'axes'");
  if (!x || !axes) {
    const Shape* axes_shape = ranked_shape(ctx, 1);
    if (x && axes_shape && axes_shape->rank() == 1 && axes_shape->dims[0].is_constant()) {
      std::vector<Dim> dims;
      for (size_t i = 0; i < x->rank() + static_cast<size_t>(axes_shape->dims[0].value()); ++i)
        dims.push_back(ctx.fresh_dim());
      return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(dims))));
    }
    return ctx.set_output_type(0, Type::tensor(dt));
  }
  const int64_t out_rank = static_cast<int64_t>(x->rank() + axes->size());
  std::set<int64_t> where;
  for (int64_t a : *axes)
    if (!where.insert(normalize_axis(ctx, a, out_rank, "axis")).second)
      ctx.fail("axis " + std::to_string(a) + " appears twice in 'axes'");
  std::vector<Dim> out;
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(where.count(i) ? Dim(1) : x->dims[next++]);
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  if (out_rank <= 1)
    if (auto v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

void squeeze(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  bool given = false;
  auto axes = axes_of(ctx, &given);
  if (!x || !axes) return ctx.set_output_type(0, Type::tensor(dt));
  const int64_t rank = static_cast<int64_t>(x->rank());
  std::set<int64_t> drop;
  if (given) {
    for (int64_t a : *axes) {
      const int64_t k = normalize_axis(ctx, a, rank, "axis");
      const Dim& d = x->dims[k];
      if (d.is_constant() && d.value() != 1)
        ctx.fail("cannot squeeze axis " + std::to_string(a) + " of shape " + x->to_string() + ": its size is " +
                 d.to_string());
      drop.insert(k);
    }
  } else {
    for (int64_t k = 0; k < rank; ++k) {
      const Dim& d = x->dims[k];
      if (!d.is_constant()) return ctx.set_output_type(0, Type::tensor(dt));  // which dims are 1 is unknown
      if (d.value() == 1) drop.insert(k);
    }
  }
  std::vector<Dim> out;
  for (int64_t k = 0; k < rank; ++k)
    if (!drop.count(k)) out.push_back(x->dims[k]);
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  if (out.size() <= 1)
    if (auto v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

void flatten(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt, Shape({ctx.fresh_dim(), ctx.fresh_dim()})));
  const int64_t rank = static_cast<int64_t>(x->rank());
  int64_t axis = ctx.node().get_int("axis", 1);
  if (axis < -rank || axis > rank)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for input " + x->to_string() + " (valid: " +
             std::to_string(ctx.opset() >= 11 ? -rank : 0) + " to " + std::to_string(rank) + ")");
  if (axis < 0) axis += rank;
  const Dim outer = product(x->dims, 0, static_cast<size_t>(axis));
  const Dim inner = product(x->dims, static_cast<size_t>(axis), x->rank());
  ctx.set_output_type(0, Type::tensor(dt, Shape({outer, inner})));
}

void transpose(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  std::vector<int64_t> perm = ctx.node().get_ints("perm", {});
  if (!x) {
    if (perm.empty()) return ctx.set_output_type(0, Type::tensor(dt));
    std::vector<Dim> dims;
    for (size_t i = 0; i < perm.size(); ++i) dims.push_back(ctx.fresh_dim());
    return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(dims))));
  }
  const size_t rank = x->rank();
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  bool valid = sorted.size() == rank;
  for (size_t i = 0; valid && i < rank; ++i) valid = sorted[i] == static_cast<int64_t>(i);
  if (!valid) {
    std::string p;
    for (int64_t v : perm) p += (p.empty() ? "" : ",") + std::to_string(v);
    ctx.fail("perm [" + p + "] is not a permutation of the axes of input " + x->to_string());
  }
  std::vector<Dim> out;
  for (int64_t p : perm) out.push_back(x->dims[static_cast<size_t>(p)]);
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void reshape(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  std::optional<std::vector<Dim>> target;
  if (ctx.opset() < 5) {
    std::vector<Dim> t;
    for (int64_t v : ctx.node().get_ints("shape")) t.push_back(int_dim(v));
    target = std::move(t);
  } else {
    target = ctx.input_value(1);
  }
  if (!target) {
    const Shape* s = ranked_shape(ctx, 1);
    if (s && s->rank() == 1 && s->dims[0].is_constant()) {
      std::vector<Dim> dims;
      for (int64_t i = 0; i < s->dims[0].value(); ++i) dims.push_back(ctx.fresh_dim());
      return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(dims))));
    }
    return ctx.set_output_type(0, Type::tensor(dt));
  }
  const bool allowzero = ctx.opset() >= 14 && ctx.node().get_int("allowzero", 0) != 0;
  std::vector<Dim> out;
  std::optional<size_t> infer_at;
  Dim known = 1;
  for (size_t i = 0; i < target->size(); ++i) {
    const Dim& t = (*target)[i];
    if (t.is_constant() && t.value() == -1) {
      if (infer_at) ctx.fail("shape input has more than one -1");
      infer_at = i;
      out.push_back(Dim(1));
      continue;
    }
    if (t.is_constant() && t.value() < -1) ctx.fail("shape input has invalid value " + t.to_string());
    Dim d = t;
    if (t.is_constant() && t.value() == 0 && !allowzero) {
      if (x && i >= x->rank())
        ctx.fail("shape input copies dimension " + std::to_string(i) + " (value 0) but the input " + x->to_string() +
                 " has rank " + std::to_string(x->rank()));
      d = x ? x->dims[i] : ctx.fresh_dim();
    }
    out.push_back(d);
    known = known * d;
  }
  if (allowzero && infer_at)
    for (const Dim& d : out)
      if (d.is_constant() && d.value() == 0) ctx.fail("shape input has both 0 and -1 with allowzero=1");
  if (infer_at) {
    if (!x || (known.is_constant() && known.value() == 0)) {
      out[*infer_at] = ctx.fresh_dim();
    } else {
      const Dim total = product(x->dims, 0, x->rank());
      if (total.is_constant() && known.is_constant() && total.value() % known.value() != 0)
        ctx.fail("cannot reshape input " + x->to_string() + " (" + total.to_string() + " elements) to " +
                 Shape(out).to_string() + " with -1 at position " + std::to_string(*infer_at));
      out[*infer_at] = floor_div(total, known);
    }
  } else if (x) {
    const Dim total = product(x->dims, 0, x->rank());
    if (total.is_constant() && known.is_constant() && total.value() != known.value())
      ctx.fail("cannot reshape input " + x->to_string() + " (" + total.to_string() + " elements) to " +
               Shape(out).to_string() + " (" + known.to_string() + " elements)");
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  if (out.size() <= 1)
    if (auto v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

}  // namespace

void register_tensor() {
  register_inference("", "Constant", 1, constant);
  register_inference("", "Shape", 1, shape_op);
  register_inference("", "Gather", 1, gather);
  register_inference("", "Concat", 1, concat);
  register_inference("", "Unsqueeze", 1, unsqueeze);
  register_inference("", "Squeeze", 1, squeeze);
  register_inference("", "Flatten", 1, flatten);
  register_inference("", "Transpose", 1, transpose);
  register_inference("", "Reshape", 1, reshape);
}

}  // namespace ferry::ir::infer
