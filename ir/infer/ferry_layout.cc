// Inference for the ferry domain's layout ops (ir/ferry_schemas_layout.cc): ChannelsLastPool has
// the ONNX pool's output shape with the channel axis last, [N, o1..ok, C]; ChannelsLastConvTranspose
// multiplies each spatial dim by W's kernel (= stride) dim, with W's M channels last.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

std::vector<int64_t> ints_or(const Node& n, const std::string& name, size_t count, int64_t dflt) {
  std::vector<int64_t> v = n.get_ints(name, {});
  return v.empty() ? std::vector<int64_t>(count, dflt) : v;
}

void channels_last_pool(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const std::string mode = n.get_string("mode", "");
  const bool global = mode == "GlobalAveragePool" || mode == "GlobalMaxPool";
  if (!global && mode != "MaxPool" && mode != "AveragePool")
    ctx.fail("attribute 'mode' is \"" + mode + "\"; valid: MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool");
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3 || x->rank() > 5)
    ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank 3..5 (N, spatial dims, C)");
  const size_t spatial = x->rank() - 2;
  std::vector<Dim> out = {x->dims[0]};
  if (global) {
    out.resize(spatial + 1, Dim(1));
    out.push_back(x->dims.back());
    return ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
  }
  const std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  const std::vector<int64_t> strides = ints_or(n, "strides", spatial, 1);
  const std::vector<int64_t> dilations = ints_or(n, "dilations", spatial, 1);
  const std::vector<int64_t> pads = ints_or(n, "pads", 2 * spatial, 0);
  if (kernel.size() != spatial || strides.size() != spatial || dilations.size() != spatial ||
      pads.size() != 2 * spatial)
    ctx.fail("kernel_shape, strides, dilations and pads must have " + std::to_string(spatial) + " (pads " +
             std::to_string(2 * spatial) + ") values for X " + x->to_string());
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  const bool ceil_mode = n.get_int("ceil_mode", 0) != 0;
  for (size_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1)
      ctx.fail("kernel_shape, strides and dilations must be positive");
    const Dim& in = x->dims[1 + i];
    // The op has the latest semantics: opset 22's last-window rule always applies.
    const Dim o = window_output_extent(ctx, in, kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial],
                                       auto_pad, ceil_mode, true);
    if (o.is_constant() && o.value() < 1)
      ctx.fail("input X " + x->to_string() + " is too small for kernel " + std::to_string(kernel[i]) +
               " on spatial axis " + std::to_string(i));
    out.push_back(o);
  }
  out.push_back(x->dims.back());
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

/// ChannelsLastConvTranspose: Y = [N, d1*s1..dk*sk, M] for X [N, d1..dk, C], W [C, M, s1..sk].
void channels_last_conv_transpose(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  const Shape* w = ranked_shape(ctx, 1);
  if (!x || !w) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 3 || x->rank() > 4 || w->rank() != x->rank())
    ctx.fail("X " + x->to_string() + " and W " + w->to_string() + " must have the same rank, 3 or 4");
  unify(ctx, x->dims.back(), w->dims[0], "X's channels and W's first dim");
  std::vector<Dim> out = {x->dims[0]};
  for (size_t i = 1; i + 1 < x->rank(); ++i) out.push_back(x->dims[i] * w->dims[i + 1]);
  out.push_back(w->dims[1]);
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

}  // namespace

void register_ferry_layout() {
  register_inference("ferry", "ChannelsLastPool", 1, channels_last_pool);
  register_inference("ferry", "ChannelsLastConvTranspose", 1, channels_last_conv_transpose);
}

}  // namespace ferry::ir::infer
