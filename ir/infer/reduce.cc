// Inference for the reduce family: Reduce* (axes from the attribute or, from ReduceSum-13 and
// the others' opset 18, from input 1), ArgMax/ArgMin, CumSum, CumProd and TopK.
#include <algorithm>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void reduce(InferenceContext& ctx, int axes_input_since) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const bool keepdims = n.get_int("keepdims", 1) != 0;
  std::optional<std::vector<int64_t>> axes = n.get_ints("axes", {});
  if (ctx.opset() >= axes_input_since) {
    axes = std::vector<int64_t>{};
    if (ctx.input_count() > 1 && ctx.has_input(1)) axes = input_ints(ctx, 1);
    if (axes && axes->empty() && n.get_int("noop_with_empty_axes", 0) != 0)
      return ctx.set_output_type(0, ctx.input_type(0));
  }
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  const int64_t rank = static_cast<int64_t>(x->rank());
  if (!axes) {
    // Axes known only at run time: with keepdims each dim stays or becomes 1.
    if (!keepdims) return ctx.set_output_type(0, Type::tensor(dt));
    std::vector<Dim> out;
    for (const Dim& d : x->dims) out.push_back(d.is_constant() && d.value() == 1 ? Dim(1) : ctx.fresh_dim());
    return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
  }
  std::vector<bool> reduced(x->rank(), axes->empty());
  for (int64_t a : *axes) reduced[static_cast<size_t>(normalize_axis(ctx, a, rank, "axis"))] = true;
  std::vector<Dim> out;
  for (size_t d = 0; d < x->rank(); ++d) {
    if (!reduced[d]) out.push_back(x->dims[d]);
    else if (keepdims) out.push_back(Dim(1));
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void arg_reduce(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(DataType::kInt64));
  const int64_t rank = static_cast<int64_t>(x->rank());
  const size_t axis = static_cast<size_t>(normalize_axis(ctx, ctx.node().get_int("axis", 0), std::max<int64_t>(rank, 1), "axis"));
  std::vector<Dim> out = x->dims;
  if (!out.empty()) {
    if (ctx.node().get_int("keepdims", 1) != 0) out[axis] = Dim(1);
    else out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  }
  ctx.set_output_type(0, Type::tensor(DataType::kInt64, Shape(std::move(out))));
}

void same_as_input(InferenceContext& ctx) { ctx.set_output_type(0, ctx.input_type(0)); }

void topk(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) {
    ctx.set_output_type(0, Type::tensor(dt));
    return ctx.set_output_type(1, Type::tensor(DataType::kInt64));
  }
  if (x->rank() == 0) ctx.fail("input 'X' is a scalar; TopK needs rank >= 1");
  const size_t axis = static_cast<size_t>(normalize_axis(ctx, ctx.node().get_int("axis", -1), static_cast<int64_t>(x->rank()), "axis"));
  std::vector<Dim> out = x->dims;
  if (ctx.opset() < 10) {
    out[axis] = Dim(ctx.node().get_int("k", 0));
  } else {
    const auto k = ctx.input_value(1);
    out[axis] = k && k->size() == 1 ? (*k)[0] : ctx.fresh_dim();
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(out)));
  ctx.set_output_type(1, Type::tensor(DataType::kInt64, Shape(out)));
}

}  // namespace

void register_reduce() {
  register_inference("", "ReduceSum", 1, [](InferenceContext& c) { reduce(c, 13); });
  for (const char* op : {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                         "ReduceLogSumExp", "ReduceSumSquare"})
    register_inference("", op, 1, [](InferenceContext& c) { reduce(c, 18); });
  register_inference("", "ArgMax", 1, arg_reduce);
  register_inference("", "ArgMin", 1, arg_reduce);
  register_inference("", "CumSum", 11, same_as_input);
  register_inference("", "CumProd", 26, same_as_input);
  register_inference("", "TopK", 1, topk);
}

}  // namespace ferry::ir::infer
