// eliminate_identity_ops (basic): nodes whose output provably equals their data input go, and
// their consumers read the input directly.
//
//      x                       x
//      |                       |
//   Identity / Dropout   =>    Relu
//      |
//     Relu
//
// Fires on:
//   Identity; Dropout in inference (opset >= 7, or is_test=1 before; training_mode omitted or a
//     constant false) when its mask output is unused, as onnxruntime does;
//   Cast to the input's own dtype; CastLike to a tensor of the input's dtype;
//   Reshape / Squeeze / Unsqueeze / Flatten / Expand whose inferred output shape equals the input's
//     (symbolic dims compare as expressions: [batch,3] == [batch,3]);
//   Slice that keeps everything: every sliced axis has step 1, start 0 (or a negative start at or
//     before the beginning of an axis of known size), and an end of INT64_MAX or, on an axis of
//     known size, at least that size (on a symbolic axis only INT64_MAX is provably the end);
//   Transpose with the identity perm (or no perm on a tensor of rank <= 1);
//   Concat / Sum / Max / Min / Mean of a single input whose type is the output's;
//   Pad whose pads are all zero;
//   Mul by 1 (either side), Add of 0 (either side), Sub of 0 and Div by 1 (right side), where the
//     constant holds only that number and broadcasting changes neither the output's shape nor its
//     dtype (the output's type equals the kept operand's).
// Does not fire when the input or output types are unknown, or when the node's output is a graph
// output and the input is a graph input, an initializer or another graph output (the output's
// name could not be kept; Patch::apply refuses).
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

bool known_tensor(const ir::Value* v) {
  return v && v->type().is_tensor() && v->dtype() != DataType::kUndefined && v->shape().has_rank;
}

template <typename T>
bool all_equal(const Tensor& t, double want) {
  for (T v : t.span<T>())
    if (static_cast<double>(v) != want) return false;
  return true;
}

/// Whether every element of the constant equals `want` (0 or 1; -0.0 counts as 0).
bool constant_is_all(const ir::Value* value, double want) {
  const Tensor* t = constant_of(value);
  if (!t) return false;
  switch (t->dtype()) {
    case DataType::kFloat: return all_equal<float>(*t, want);
    case DataType::kDouble: return all_equal<double>(*t, want);
    case DataType::kInt8: return all_equal<int8_t>(*t, want);
    case DataType::kUInt8: return all_equal<uint8_t>(*t, want);
    case DataType::kInt16: return all_equal<int16_t>(*t, want);
    case DataType::kUInt16: return all_equal<uint16_t>(*t, want);
    case DataType::kInt32: return all_equal<int32_t>(*t, want);
    case DataType::kUInt32: return all_equal<uint32_t>(*t, want);
    case DataType::kInt64: return all_equal<int64_t>(*t, want);
    case DataType::kUInt64: return all_equal<uint64_t>(*t, want);
    case DataType::kFloat16:
    case DataType::kBFloat16: {
      // Bit patterns: 0 is +-0; 1 is 0x3C00 in float16 and 0x3F80 in bfloat16.
      const uint16_t one = t->dtype() == DataType::kFloat16 ? 0x3C00 : 0x3F80;
      for (uint16_t bits : t->span<uint16_t>())
        if (want == 0 ? (bits & 0x7FFF) != 0 : bits != one) return false;
      return want == 0 || want == 1;
    }
    default: return false;
  }
}

bool dropout_is_inference(const ir::Node& node, int64_t opset) {
  if (node.output(1) && (!node.output(1)->uses().empty() || node.output(1)->is_graph_output())) return false;
  if (opset < 7) return node.get_int("is_test", 0) != 0;
  const ir::Value* training = node.input(2);
  if (!training) return true;
  const Tensor* t = constant_of(training);
  return t && t->dtype() == DataType::kBool && t->element_count() == 1 && *t->data<uint8_t>() == 0;
}

bool slice_keeps_everything(const ir::Node& node, int64_t opset) {
  const ir::Value* x = node.input(0);
  if (!known_tensor(x)) return false;
  const int64_t rank = static_cast<int64_t>(x->shape().rank());
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    starts = node.get_ints("starts");
    ends = node.get_ints("ends");
    axes = node.get_ints("axes");
  } else {
    auto s = constant_ints(node.input(1));
    auto e = constant_ints(node.input(2));
    if (!s || !e) return false;
    starts = *s;
    ends = *e;
    if (node.input(3)) {
      auto a = constant_ints(node.input(3));
      if (!a) return false;
      axes = *a;
    }
    if (node.input(4)) {
      auto st = constant_ints(node.input(4));
      if (!st) return false;
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t k = 0; k < starts.size(); ++k) axes.push_back(static_cast<int64_t>(k));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) return false;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t axis = axes[k] < 0 ? axes[k] + rank : axes[k];
    if (axis < 0 || axis >= rank || steps[k] != 1) return false;
    const ir::Dim& dim = x->shape().dims[static_cast<size_t>(axis)];
    const bool start_ok = starts[k] == 0 || (dim.is_constant() && starts[k] < 0 && starts[k] + dim.value() <= 0);
    const bool end_ok =
        ends[k] == std::numeric_limits<int64_t>::max() || (dim.is_constant() && ends[k] >= dim.value());
    if (!start_ok || !end_ok) return false;
  }
  return true;
}

bool pads_all_zero(const ir::Node& node, int64_t opset) {
  if (opset < 11) {
    const std::vector<int64_t> pads = node.get_ints(opset < 2 ? "paddings" : "pads");
    for (int64_t p : pads)
      if (p != 0) return false;
    return true;
  }
  auto pads = constant_ints(node.input(1));
  if (!pads) return false;
  for (int64_t p : *pads)
    if (p != 0) return false;
  return true;
}

bool is_identity_perm(const ir::Node& node) {
  const ir::Value* x = node.input(0);
  const ir::Attribute* perm = node.find_attribute("perm");
  if (!perm) return known_tensor(x) && x->shape().rank() <= 1;
  for (size_t i = 0; i < perm->ints.size(); ++i)
    if (perm->ints[i] != static_cast<int64_t>(i)) return false;
  return true;
}

/// The input that `node`'s output equals, or null.
ir::Value* identity_source(const ir::Node& node, int64_t opset) {
  if (!node.domain().empty() || node.inputs().empty() || !node.input(0)) return nullptr;
  ir::Value* x = node.input(0);
  const ir::Value* y = node.output(0);
  const std::string& op = node.op_type();
  if (op == "Identity") return x;
  if (op == "Dropout") return dropout_is_inference(node, opset) ? x : nullptr;
  // Everything below needs both types and equal ones.
  if (!known_tensor(x) || !known_tensor(y) || !(x->type() == y->type())) return nullptr;
  if (op == "Cast") return x;  // equal dtypes
  if (op == "CastLike") return node.input(1) && node.input(1)->dtype() == x->dtype() ? x : nullptr;
  if (op == "Reshape" || op == "Squeeze" || op == "Unsqueeze" || op == "Flatten" || op == "Expand") return x;
  if (op == "Slice") return slice_keeps_everything(node, opset) ? x : nullptr;
  if (op == "Transpose") return is_identity_perm(node) ? x : nullptr;
  if (op == "Concat" || op == "Sum" || op == "Max" || op == "Min" || op == "Mean")
    return node.inputs().size() == 1 ? x : nullptr;
  if (op == "Pad") return pads_all_zero(node, opset) ? x : nullptr;
  return nullptr;
}

/// Mul by 1, Add of 0, Sub of 0, Div by 1: the kept operand when the output's type is its type.
ir::Value* neutral_arithmetic_source(const ir::Node& node) {
  if (!node.domain().empty() || node.inputs().size() != 2) return nullptr;
  const std::string& op = node.op_type();
  double neutral;
  bool commutative;
  if (op == "Mul" || op == "Div") {
    neutral = 1;
    commutative = op == "Mul";
  } else if (op == "Add" || op == "Sub") {
    neutral = 0;
    commutative = op == "Add";
  } else {
    return nullptr;
  }
  const ir::Value* y = node.output(0);
  for (int kept = 0; kept < (commutative ? 2 : 1); ++kept) {
    ir::Value* x = node.input(static_cast<size_t>(kept));
    const ir::Value* c = node.input(static_cast<size_t>(1 - kept));
    if (!known_tensor(x) || !known_tensor(y) || !(x->type() == y->type())) continue;
    if (constant_is_all(c, neutral)) return x;
  }
  return nullptr;
}

std::optional<Patch> eliminate_identity_op(ir::Node& node, const PassContext& ctx) {
  ir::Value* source = identity_source(node, ctx.opset());
  if (!source) source = neutral_arithmetic_source(node);
  if (!source || !node.output(0)) return std::nullopt;
  Patch patch(node);
  patch.replace(node.output(0), patch.use(source));
  return patch;
}

}  // namespace

bool eliminate_identity_ops(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, eliminate_identity_op);
}

}  // namespace ferry::optimizer::passes
