// Inference for the element-wise ops of execution_providers/cpu/elementwise/: unary math and
// activations (same type and shape), IsNaN/IsInf (bool, same shape), broadcasting binary and
// variadic ops (the first input's type, or bool for logic and comparisons) and Where.
#include <algorithm>

#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void same_as_input(InferenceContext& ctx) {
  const Type& t = ctx.input_type(0);
  ctx.set_output_type(0, t.kind == Type::Kind::kUnknown ? Type::tensor(DataType::kUndefined) : t);
}

void bool_same_shape(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(DataType::kBool, ctx.input_type(0).shape));
}

/// Every present input in [first, input_count()) has one element type; returns it.
DataType common_type(InferenceContext& ctx, size_t first) {
  DataType dt = DataType::kUndefined;
  for (size_t i = first; i < ctx.input_count(); ++i) {
    if (!ctx.has_input(i)) continue;
    const DataType t = input_dtype(ctx, i);
    if (t == DataType::kUndefined) continue;
    if (dt != DataType::kUndefined && t != dt)
      ctx.fail("input types differ: " + std::string(dtype_name(dt)) + " and " + std::string(dtype_name(t)));
    dt = t;
  }
  return dt;
}

Shape broadcast_inputs(InferenceContext& ctx, size_t first) {
  std::vector<Shape> shapes;
  for (size_t i = first; i < ctx.input_count(); ++i)
    if (ctx.has_input(i)) shapes.push_back(ctx.input_type(i).shape);
  return broadcast_shapes(ctx, shapes);
}

/// Broadcasting op whose inputs share one type, the output's too (Mod, Max, Sum, BitShift...).
void broadcast_same_type(InferenceContext& ctx) {
  const DataType dt = common_type(ctx, 0);
  ctx.set_output_type(0, Type::tensor(dt, broadcast_inputs(ctx, 0)));
}

/// Broadcasting op with a bool output (And, Equal, Less...).
void broadcast_bool(InferenceContext& ctx) {
  common_type(ctx, 0);
  ctx.set_output_type(0, Type::tensor(DataType::kBool, broadcast_inputs(ctx, 0)));
}

/// Pow: the base's type, the exponent's may differ.
void pow(InferenceContext& ctx) {
  ctx.set_output_type(0, Type::tensor(input_dtype(ctx, 0), broadcast_inputs(ctx, 0)));
}

/// Whether two tracked integer values are equal: 1 or 0, or nullopt when the dims cannot tell.
/// A lone symbol is a size (>= 0), so it never equals a negative constant (torch's expand(-1)
/// exports Where(Equal(shape, -1), 1, shape)).
std::optional<int64_t> equal_value(const Dim& a, const Dim& b) {
  if (is_unknown_element(a) || is_unknown_element(b)) return std::nullopt;
  if (a == b) return 1;
  if (a.is_constant() && b.is_constant()) return 0;
  const Dim& c = a.is_constant() ? a : b;
  const Dim& s = a.is_constant() ? b : a;
  if (c.is_constant() && c.value() < 0 && !s.symbol_name().empty()) return 0;
  return std::nullopt;
}

/// Equal: the bool output's values (0 / 1) where every element pair decides.
void equal(InferenceContext& ctx) {
  broadcast_bool(ctx);
  if (!is_index_type(input_dtype(ctx, 0))) return;
  auto va = ctx.input_value(0), vb = ctx.input_value(1);
  if (!va || !vb) return;
  auto out = combine_values(*va, *vb, [](const Dim& x, const Dim& y) -> std::optional<Dim> {
    if (auto e = equal_value(x, y)) return Dim(*e);
    return std::nullopt;
  });
  if (out) ctx.set_output_value(0, std::move(*out));
}

/// Where: integer values pick from X or Y where the condition's values are known (some X or Y
/// elements may be unknown; the output then is partial).
void where(InferenceContext& ctx) {
  const DataType dt = common_type(ctx, 1);
  ctx.set_output_type(0, Type::tensor(dt, broadcast_inputs(ctx, 0)));
  if (!is_index_type(dt)) return;
  auto c = ctx.input_value(0);
  auto x = ctx.input_partial_value(1), y = ctx.input_partial_value(2);
  if (!c || !x || !y) return;
  const size_t n = std::max({c->size(), x->size(), y->size()});
  for (size_t m : {c->size(), x->size(), y->size()})
    if (m != n && m != 1) return;
  std::vector<Dim> out;
  bool any_known = false;
  for (size_t i = 0; i < n; ++i) {
    const Dim& ci = (*c)[c->size() == 1 ? 0 : i];
    if (!ci.is_constant()) return;
    const Dim& v = ci.value() != 0 ? (*x)[x->size() == 1 ? 0 : i] : (*y)[y->size() == 1 ? 0 : i];
    any_known = any_known || !is_unknown_element(v);
    out.push_back(v);
  }
  if (any_known) ctx.set_output_value(0, std::move(out));
}

/// SwiGLU: A and B have one shape (no broadcasting); so has the output.
void swiglu(InferenceContext& ctx) {
  const DataType dt = common_type(ctx, 0);
  const Shape* a = ranked_shape(ctx, 0);
  const Shape* b = ranked_shape(ctx, 1);
  if (!a || !b) return ctx.set_output_type(0, Type::tensor(dt, a ? *a : b ? *b : Shape::unknown()));
  if (a->rank() != b->rank()) ctx.fail("inputs 'A' and 'B' must have one shape, got " + shapes_text({*a, *b}));
  std::vector<Dim> dims;
  for (size_t i = 0; i < a->rank(); ++i)
    dims.push_back(a->dims[i] == b->dims[i] ? a->dims[i]
                                            : unify(ctx, a->dims[i], b->dims[i],
                                                    "inputs 'A' and 'B' must have one shape, got " + shapes_text({*a, *b})));
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(dims))));
}

}  // namespace

void register_elementwise_ext() {
  for (const char* op :
       {"Abs", "Neg", "Sqrt", "Exp", "Log", "Ceil", "Floor", "Round", "Reciprocal", "Sign", "Erf", "Sin",
        "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Not",
        "BitwiseNot", "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish", "Softplus",
        "Softsign", "PRelu", "ThresholdedRelu", "Gelu", "Mish", "Shrink", "LogSoftmax", "Hardmax",
        "Clip", "Swish"})
    register_inference("", op, 1, same_as_input);
  for (const char* op : {"IsNaN", "IsInf"}) register_inference("", op, 1, bool_same_shape);
  for (const char* op : {"Mod", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Max", "Min", "Sum", "Mean"})
    register_inference("", op, 1, broadcast_same_type);
  for (const char* op : {"And", "Or", "Xor", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    register_inference("", op, 1, broadcast_bool);
  register_inference("", "Equal", 1, equal);
  register_inference("", "Pow", 1, pow);
  register_inference("", "Where", 9, where);
  register_inference("", "SwiGLU", 28, swiglu);
}

}  // namespace ferry::ir::infer
