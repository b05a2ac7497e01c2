// Inference for the quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void quantize_linear(InferenceContext& ctx) {
  DataType dt = DataType::kUInt8;
  if (ctx.has_input(2) && input_dtype(ctx, 2) != DataType::kUndefined) dt = input_dtype(ctx, 2);
  else if (const int64_t o = ctx.node().get_int("output_dtype", 0); o != 0) dt = static_cast<DataType>(o);
  ctx.set_output_type(0, Type::tensor(dt, ctx.input_type(0).shape));
}

void dequantize_linear(InferenceContext& ctx) {
  DataType dt = input_dtype(ctx, 1);
  if (const int64_t o = ctx.node().get_int("output_dtype", 0); o != 0) dt = static_cast<DataType>(o);
  ctx.set_output_type(0, Type::tensor(dt, ctx.input_type(0).shape));
}

void dynamic_quantize_linear(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kUInt8, ctx.input_type(0).shape));
  ctx.set_output_type(1, Type::tensor(DataType::kFloat, Shape(std::vector<Dim>{})));
  ctx.set_output_type(2, Type::tensor(DataType::kUInt8, Shape(std::vector<Dim>{})));
}


/// Conv output shape of input x and weights w (NCHW, kernel from W or kernel_shape).
Shape conv_shape(InferenceContext& ctx, size_t ix, size_t iw) {
  const Node& n = ctx.node();
  const Shape* x = ranked_shape(ctx, ix);
  const Shape* w = ranked_shape(ctx, iw);
  if (!x || !w) return Shape::unknown();
  if (x->rank() < 3 || w->rank() != x->rank())
    ctx.fail("inputs x " + x->to_string() + " and w " + w->to_string() + " need the same rank >= 3");
  const size_t spatial = x->rank() - 2;
  std::vector<int64_t> kernel = n.get_ints("kernel_shape", {});
  if (kernel.empty())
    for (size_t i = 0; i < spatial; ++i) {
      if (!w->dims[2 + i].is_constant()) return Shape::unknown();
      kernel.push_back(w->dims[2 + i].value());
    }
  auto ints = [&](const char* name, size_t count, int64_t dflt) {
    std::vector<int64_t> v = n.get_ints(name, {});
    if (v.empty()) v.assign(count, dflt);
    if (v.size() != count) ctx.fail(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                                    " values, expected " + std::to_string(count));
    return v;
  };
  if (kernel.size() != spatial) ctx.fail("attribute 'kernel_shape' has the wrong length");
  const auto strides = ints("strides", spatial, 1), dilations = ints("dilations", spatial, 1);
  const auto pads = ints("pads", 2 * spatial, 0);
  const std::string auto_pad = n.get_string("auto_pad", "NOTSET");
  std::vector<Dim> out = {x->dims[0], w->dims[0]};
  for (size_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1 || dilations[i] < 1) ctx.fail("strides and dilations must be positive");
    const Dim& in = x->dims[2 + i];
    const int64_t eff = (kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") out.push_back(ceil_div(in, Dim(strides[i])));
    else if (auto_pad == "VALID") out.push_back(floor_div(in - Dim(eff), Dim(strides[i])) + Dim(1));
    else out.push_back(floor_div(in + Dim(pads[i] + pads[i + spatial]) - Dim(eff), Dim(strides[i])) + Dim(1));
  }
  return Shape(std::move(out));
}

}  // namespace

void register_quantization() {
  register_inference("", "QuantizeLinear", 10, quantize_linear);
  register_inference("", "DequantizeLinear", 10, dequantize_linear);
  register_inference("", "DynamicQuantizeLinear", 11, dynamic_quantize_linear);
  register_inference("", "MatMulInteger", 10, [](InferenceContext& c) {
    c.set_output_type(0, Type::tensor(DataType::kInt32, matmul_shape(c, 0, 1)));
  });
  register_inference("", "QLinearMatMul", 10, [](InferenceContext& c) {
    c.set_output_type(0, Type::tensor(input_dtype(c, 7), matmul_shape(c, 0, 3)));
  });
  register_inference("", "ConvInteger", 10, [](InferenceContext& c) {
    c.set_output_type(0, Type::tensor(DataType::kInt32, conv_shape(c, 0, 1)));
  });
  register_inference("", "QLinearConv", 10, [](InferenceContext& c) {
    c.set_output_type(0, Type::tensor(input_dtype(c, 7), conv_shape(c, 0, 3)));
  });
}

}  // namespace ferry::ir::infer
