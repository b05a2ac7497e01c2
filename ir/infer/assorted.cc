// Inference for the losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss) and assorted
// ops: Det, DeformConv, MaxRoiPool, BitCast, TensorScatter.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

// Losses: output 0 is the per-element loss shaped like the target (reduction "none") or a
// scalar; SoftmaxCrossEntropyLoss's optional output 1 (log_prob) is shaped like the scores.
void loss(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* t = ranked_shape(ctx, 1);
  if (x && x->rank() < 2) ctx.fail("input 0 has shape " + x->to_string() + ", expected rank >= 2 ([N, C, d1..dk])");
  if (x && t && t->rank() + 1 != x->rank())
    ctx.fail("input 'target' has shape " + t->to_string() + ", expected input's shape " + x->to_string() + " without the class dim");
  Shape out = Shape(std::vector<Dim>{});
  if (ctx.node().get_string("reduction", "mean") == "none") {
    if (t) {
      out = *t;
      if (x)
        for (size_t i = 0; i < t->rank(); ++i)
          out.dims[i] = unify(ctx, t->dims[i], x->dims[i == 0 ? 0 : i + 1], "input and target shapes " + shapes_text({*x, *t}) + " disagree");
    } else if (x) {
      std::vector<Dim> d = x->dims;
      d.erase(d.begin() + 1);
      out = Shape(std::move(d));
    } else {
      out = Shape::unknown();
    }
  }
  ctx.set_output_type(0, Type::tensor(dt, out));
  if (ctx.output_count() > 1) ctx.set_output_type(1, Type::tensor(dt, x ? *x : Shape::unknown()));
}

void det(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0)));
  if (x->rank() < 2) ctx.fail("input 'X' has shape " + x->to_string() + ", expected [*, M, M]");
  unify(ctx, x->dims[x->rank() - 1], x->dims[x->rank() - 2], "input 'X' " + x->to_string() + " is not square");
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), Shape(std::vector<Dim>(x->dims.begin(), x->dims.end() - 2))));
}

// [N, M, out...] with out = floor((in + pads - dilation * (k - 1) - 1) / stride) + 1.
void deform_conv(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* w = ranked_shape(ctx, 1);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 3");
  const size_t sp = x->rank() - 2;
  const Node& n = ctx.node();
  std::vector<int64_t> k = n.get_ints("kernel_shape", {});
  const std::vector<int64_t> strides = n.get_ints("strides", std::vector<int64_t>(sp, 1));
  const std::vector<int64_t> dil = n.get_ints("dilations", std::vector<int64_t>(sp, 1));
  const std::vector<int64_t> pads = n.get_ints("pads", std::vector<int64_t>(2 * sp, 0));
  if (strides.size() != sp || dil.size() != sp || pads.size() != 2 * sp || (!k.empty() && k.size() != sp))
    ctx.fail("attributes strides/dilations/kernel_shape need " + std::to_string(sp) + " values and pads " + std::to_string(2 * sp));
  std::vector<Dim> out{x->dims[0], w ? w->dims[0] : ctx.fresh_dim()};
  for (size_t i = 0; i < sp; ++i) {
    std::optional<int64_t> ki = k.empty() ? (w && w->rank() == x->rank() ? const_of(w->dims[2 + i]) : std::nullopt) : std::optional<int64_t>(k[i]);
    if (!ki || strides[i] < 1) {
      out.push_back(ctx.fresh_dim());
      continue;
    }
    const int64_t span = dil[i] * (*ki - 1) + 1 - pads[i] - pads[i + sp];
    const Dim in = x->dims[2 + i];
    if (in.is_constant()) {
      const int64_t v = (in.value() - span) / strides[i] + 1;
      if (in.value() - span < 0) ctx.fail("input 'X' " + x->to_string() + " is smaller than the dilated kernel");
      out.push_back(Dim(v));
    } else {
      out.push_back(floor_div(in - int_dim(span), Dim(strides[i])) + Dim(1));
    }
  }
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

void max_roi_pool(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* rois = ranked_shape(ctx, 1);
  const std::vector<int64_t> ps = ctx.node().get_ints("pooled_shape", {});
  if (ps.size() != 2) ctx.fail("attribute 'pooled_shape' must have 2 values");
  if (x && x->rank() != 4) ctx.fail("input 'X' has shape " + x->to_string() + ", expected [N, C, H, W]");
  if (rois && rois->rank() != 2) ctx.fail("input 'rois' has shape " + rois->to_string() + ", expected [R, 5]");
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), Shape({rois ? rois->dims[0] : ctx.fresh_dim(),
                                                                  x ? x->dims[1] : ctx.fresh_dim(), Dim(ps[0]), Dim(ps[1])})));
}

void bitcast(InferenceContext& ctx) {
  const int64_t to = ctx.node().get_int("to", 0);
  if (!is_known_dtype_code(static_cast<int32_t>(to)) || static_cast<DataType>(to) == DataType::kString)
    ctx.fail("attribute 'to' is " + std::to_string(to) + ", expected a non-string element type code");
  const DataType in = input_dtype(ctx, 0);
  if (in != DataType::kUndefined && dtype_bits(in) != dtype_bits(static_cast<DataType>(to)))
    ctx.fail("input type " + std::string(dtype_name(in)) + " and 'to' " + std::string(dtype_name(static_cast<DataType>(to))) +
             " differ in bit width");
  const Shape* x = ranked_shape(ctx, 0);
  ctx.set_output_type(0, Type::tensor(static_cast<DataType>(to), x ? *x : Shape::unknown()));
}

void tensor_scatter(InferenceContext& ctx) {
  const Shape* x = ranked_shape(ctx, 0);
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), x ? *x : Shape::unknown()));
}

}  // namespace

void register_assorted() {
  register_inference("", "NegativeLogLikelihoodLoss", 12, loss);
  register_inference("", "SoftmaxCrossEntropyLoss", 12, loss);
  register_inference("", "Det", 11, det);
  register_inference("", "DeformConv", 19, deform_conv);
  register_inference("", "MaxRoiPool", 1, max_roi_pool);
  register_inference("", "BitCast", 26, bitcast);
  register_inference("", "TensorScatter", 24, tensor_scatter);
}

}  // namespace ferry::ir::infer
