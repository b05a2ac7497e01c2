// Inference for neural-network ops: Conv, MaxPool, AveragePool, GlobalAveragePool,
// BatchNormalization, Softmax, and the matrix products Gemm and MatMul.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

std::vector<int64_t> ints_or(const Node& n, const std::string& name, size_t count, int64_t dflt) {
  std::vector<int64_t> v = n.get_ints(name, {});
  return v.empty() ? std::vector<int64_t>(count, dflt) : v;
}

void check_size(const InferenceContext& ctx, const std::vector<int64_t>& v, size_t want, const std::string& name) {
  if (v.size() != want)
    ctx.fail("attribute '" + name + "' has " + std::to_string(v.size()) + " values, expected " + std::to_string(want));
}

// Shared by Conv and the pools: output spatial sizes from input sizes, kernel, strides, pads,
// dilations, auto_pad and (pools) ceil_mode.
void conv_pool(InferenceContext& ctx, bool is_conv) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) {
    ctx.set_output_type(0, Type::tensor(dt));
    if (!is_conv && ctx.output_count() > 1) ctx.set_output_type(1, Type::tensor(DataType::kInt64));
    return;
  }
  if (x->rank() < 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 3 (N, C, spatial dims)");
  const size_t spatial = x->rank() - 2;
  const Shape* w = is_conv ? ranked_shape(ctx, 1) : nullptr;
  if (w && w->rank() != x->rank())
    ctx.fail("input 'W' has shape " + w->to_string() + ", expected rank " + std::to_string(x->rank()) +
             " to match X " + x->to_string());
  std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  bool kernel_known = !kernel.empty();
  if (!kernel_known && is_conv && w) {
    kernel_known = true;
    for (size_t i = 0; i < spatial; ++i) {
      const Dim& d = w->dims[2 + i];
      if (!d.is_constant()) kernel_known = false;
      kernel.push_back(d.is_constant() ? d.value() : 0);
    }
  }
  if (!kernel_known && !is_conv) ctx.fail("missing required attribute 'kernel_shape'");
  if (kernel_known) check_size(ctx, kernel, spatial, "kernel_shape");
  const std::vector<int64_t> strides = ints_or(n, "strides", spatial, 1);
  const std::vector<int64_t> dilations = ints_or(n, "dilations", spatial, 1);
  const std::vector<int64_t> pads = ints_or(n, "pads", 2 * spatial, 0);
  check_size(ctx, strides, spatial, "strides");
  check_size(ctx, dilations, spatial, "dilations");
  check_size(ctx, pads, 2 * spatial, "pads");
  for (size_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1) ctx.fail("strides must be positive, got " + std::to_string(strides[i]));
    if (dilations[i] < 1) ctx.fail("dilations must be positive, got " + std::to_string(dilations[i]));
  }
  for (int64_t p : pads)
    if (p < 0) ctx.fail("pads must be non-negative, got " + std::to_string(p));
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  const bool ceil_mode = !is_conv && n.get_int("ceil_mode", 0) != 0;

  std::vector<Dim> out;
  out.push_back(x->dims[0]);
  if (is_conv) {
    const int64_t group = n.get_int("group", 1);
    if (group < 1) ctx.fail("attribute 'group' must be positive, got " + std::to_string(group));
    if (w) {
      const Dim& c = x->dims[1];
      const Dim& wc = w->dims[1];
      if (c.is_constant() && wc.is_constant() && c.value() != wc.value() * group)
        ctx.fail("input X has " + c.to_string() + " channels " + x->to_string() + " but W " + w->to_string() +
                 " with group " + std::to_string(group) + " expects " + std::to_string(wc.value() * group));
      out.push_back(w->dims[0]);
    } else {
      out.push_back(ctx.fresh_dim());
    }
  } else {
    out.push_back(x->dims[1]);
  }
  for (size_t i = 0; i < spatial; ++i) {
    const Dim& in = x->dims[2 + i];
    if (!kernel_known) {
      out.push_back(ctx.fresh_dim());
      continue;
    }
    const Dim o = window_output_extent(ctx, in, kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial],
                                       auto_pad, ceil_mode, ctx.opset() >= 22);
    if (o.is_constant() && (o.value() < 0 || (o.value() == 0 && !(in.is_constant() && in.value() == 0))))
      ctx.fail("input X " + x->to_string() + " is too small for kernel " + std::to_string(kernel[i]) + " (dilation " +
               std::to_string(dilations[i]) + ", pads " + std::to_string(pads[i]) + "+" +
               std::to_string(pads[i + spatial]) + ") on spatial axis " + std::to_string(i));
    out.push_back(o);
  }
  Shape s(std::move(out));
  ctx.set_output_type(0, Type::tensor(dt, s));
  if (!is_conv && ctx.output_count() > 1) ctx.set_output_type(1, Type::tensor(DataType::kInt64, s));
}


void batch_norm(InferenceContext& ctx) {
  const Type& x = ctx.input_type(0);
  ctx.set_output_type(0, Type::tensor(x.elem, x.shape));
  // Optional statistics outputs are per channel; their type follows `mean` (input 3).
  Shape channel = Shape::unknown();
  if (x.shape.has_rank && x.shape.rank() >= 2) channel = Shape({x.shape.dims[1]});
  const DataType stat = input_dtype(ctx, 3) != DataType::kUndefined ? input_dtype(ctx, 3) : x.elem;
  for (size_t i = 1; i < ctx.output_count(); ++i) ctx.set_output_type(i, Type::tensor(stat, channel));
}

void softmax(InferenceContext& ctx) {
  const Type& x = ctx.input_type(0);
  if (x.shape.has_rank) {
    const int64_t rank = static_cast<int64_t>(x.shape.rank());
    const int64_t axis = ctx.node().get_int("axis", ctx.opset() >= 13 ? -1 : 1);
    if (rank > 0 || axis != -1) normalize_axis(ctx, axis, std::max<int64_t>(rank, 1), "axis");
  }
  ctx.set_output_type(0, Type::tensor(x.elem, x.shape));
}

void matmul(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), matmul_shape(ctx, 0, 1)));
}

}  // namespace

Dim window_output_extent(InferenceContext& ctx, const Dim& in, int64_t kernel, int64_t stride, int64_t dilation,
                         int64_t pad_begin, int64_t pad_end, const std::string& auto_pad, bool ceil_mode,
                         bool last_window_rule) {
  const int64_t effective = (kernel - 1) * dilation + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return ceil_div(in, Dim(stride));
  if (auto_pad == "VALID") return floor_div(in - Dim(effective), Dim(stride)) + Dim(1);
  if (auto_pad != "NOTSET" && !auto_pad.empty())
    ctx.fail("attribute 'auto_pad' is \"" + auto_pad + "\"; valid: NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  const Dim span = in + Dim(pad_begin + pad_end) - Dim(effective);
  Dim o = (ceil_mode ? ceil_div(span, Dim(stride)) : floor_div(span, Dim(stride))) + Dim(1);
  // With ceil_mode the last window must start inside the input or the left padding. The spec says
  // so from opset 22 on (onnx's own inference applies it only there; earlier opsets keep the plain
  // formula, which can add a window that starts in the right padding).
  if (last_window_rule && ceil_mode && o.is_constant() && in.is_constant() &&
      (o.value() - 1) * stride >= in.value() + pad_begin)
    o = o - Dim(1);
  return o;
}

void conv_inference(InferenceContext& ctx) { conv_pool(ctx, true); }

void gemm_inference(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* a = ranked_shape(ctx, 0);
  const Shape* b = ranked_shape(ctx, 1);
  if (a && a->rank() != 2) ctx.fail("input 'A' has shape " + a->to_string() + ", expected rank 2");
  if (b && b->rank() != 2) ctx.fail("input 'B' has shape " + b->to_string() + ", expected rank 2");
  const bool ta = ctx.node().get_int("transA", 0) != 0;
  const bool tb = ctx.node().get_int("transB", 0) != 0;
  const Dim m = a ? a->dims[ta ? 1 : 0] : ctx.fresh_dim();
  const Dim n = b ? b->dims[tb ? 0 : 1] : ctx.fresh_dim();
  if (a && b)
    unify(ctx, a->dims[ta ? 0 : 1], b->dims[tb ? 1 : 0],
          "inner dimensions of A " + a->to_string() + (ta ? " (transposed)" : "") + " and B " + b->to_string() +
              (tb ? " (transposed)" : "") + " differ");
  ctx.set_output_type(0, Type::tensor(dt, Shape({m, n})));
}

void register_nn() {
  register_inference("", "Conv", 1, conv_inference);
  register_inference("", "MaxPool", 1, [](InferenceContext& c) { conv_pool(c, false); });
  register_inference("", "AveragePool", 1, [](InferenceContext& c) { conv_pool(c, false); });
  register_inference("", "GlobalAveragePool", 1, global_pool);
  register_inference("", "GlobalMaxPool", 1, global_pool);
  register_inference("", "BatchNormalization", 1, batch_norm);
  register_inference("", "Softmax", 1, softmax);
  register_inference("", "Gemm", 1, gemm_inference);
  register_inference("", "MatMul", 1, matmul);
}

}  // namespace ferry::ir::infer
