// Inference for element-wise ops: unary (same type and shape), binary arithmetic with
// multidirectional broadcasting, Cast, Identity and Dropout. Arithmetic on integer tensors
// whose values are known (shape computations) propagates those values.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void same_as_input(InferenceContext& ctx) {
  const Type& t = ctx.input_type(0);
  ctx.set_output_type(0, t.kind == Type::Kind::kUnknown ? Type::tensor(DataType::kUndefined) : t);
}

enum class Arith { kAdd, kSub, kMul, kDiv };

void binary(InferenceContext& ctx, Arith op) {
  const DataType a = input_dtype(ctx, 0), b = input_dtype(ctx, 1);
  if (a != DataType::kUndefined && b != DataType::kUndefined && a != b)
    ctx.fail("input types differ: " + std::string(dtype_name(a)) + " and " + std::string(dtype_name(b)));
  const DataType dt = a != DataType::kUndefined ? a : b;
  const Shape& sa = ctx.input_type(0).shape;
  const Shape& sb = ctx.input_type(1).shape;
  ctx.set_output_type(0, Type::tensor(dt, broadcast_shapes(ctx, {sa, sb})));
  if (!is_index_type(dt)) return;
  auto va = ctx.input_value(0), vb = ctx.input_value(1);
  if (!va || !vb) return;
  auto out = combine_values(*va, *vb, [op](const Dim& x, const Dim& y) -> std::optional<Dim> {
    switch (op) {
      case Arith::kAdd: return x + y;
      case Arith::kSub: return x - y;
      case Arith::kMul: return x * y;
      case Arith::kDiv:
        if (y.is_constant() && y.value() == 0) return std::nullopt;  // a run-time error, not ours
        // Integer Div truncates; it equals floor division for the non-negative values of shapes.
        if (x.is_constant() && y.is_constant() && (x.value() < 0) != (y.value() < 0)) return std::nullopt;
        return floor_div(x, y);
    }
    return std::nullopt;
  });
  if (out) ctx.set_output_value(0, std::move(*out));
}

void cast(InferenceContext& ctx) {
  const int64_t to = ctx.node().require_int("to");
  if (!is_known_dtype_code(static_cast<int32_t>(to))) ctx.fail("attribute 'to' = " + std::to_string(to) + " is not a data type");
  const auto dt = static_cast<DataType>(to);
  ctx.set_output_type(0, Type::tensor(dt, ctx.input_type(0).shape));
  if (is_index_type(dt) && is_index_type(input_dtype(ctx, 0)))
    if (auto v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

void identity(InferenceContext& ctx) {
  same_as_input(ctx);
  if (auto v = ctx.input_value(0)) ctx.set_output_value(0, *v);
}

void dropout(InferenceContext& ctx) {
  same_as_input(ctx);
  if (ctx.output_count() > 1) {
    const DataType mask = ctx.opset() >= 10 ? DataType::kBool : input_dtype(ctx, 0);
    ctx.set_output_type(1, Type::tensor(mask, ctx.input_type(0).shape));
  }
}

}  // namespace

void register_elementwise() {
  for (const char* op : {"Relu", "Sigmoid", "Tanh"}) register_inference("", op, 1, same_as_input);
  register_inference("", "Add", 7, [](InferenceContext& c) { binary(c, Arith::kAdd); });
  register_inference("", "Sub", 7, [](InferenceContext& c) { binary(c, Arith::kSub); });
  register_inference("", "Mul", 7, [](InferenceContext& c) { binary(c, Arith::kMul); });
  register_inference("", "Div", 7, [](InferenceContext& c) { binary(c, Arith::kDiv); });
  register_inference("", "Cast", 6, cast);  // Cast-1 spelled "to" as a string
  register_inference("", "Identity", 1, identity);
  register_inference("", "Dropout", 1, dropout);
}

}  // namespace ferry::ir::infer
