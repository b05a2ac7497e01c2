// fold_quantize_dequantize (basic): DequantizeLinear followed by QuantizeLinear with the same
// scale and zero point is the identity on the quantized tensor, so the QuantizeLinear's output is
// replaced by the DequantizeLinear's input.
//
//   q (int8)  s  zp                         q (int8)
//        \    |  /                              |
//    DequantizeLinear   s  zp     ==>         (uses of y read q; the DequantizeLinear stays only
//             |        /  /                    when something else reads its output)
//        QuantizeLinear
//             |
//             y (int8)
//
// Why it is exact: Q(DQ(q)) = saturate(round((q - zp) * s / s) + zp). With q and zp 4, 8 or 16-bit
// integers, (q - zp) is exact in float and the relative error of "* s / s" is below 2^-22, so the
// result lies within 65535 * 2^-22 < 0.5 of the integer q - zp, rounds back to it, and is in range.
// The reverse pair QuantizeLinear -> DequantizeLinear rounds and clips the float tensor, so it is
// not an identity and stays: onnxruntime removes it only with the opt-in session option
// session.enable_quant_qdq_cleanup (QDQFinalCleanupTransformer), and its level-1
// DoubleQDQPairsRemover turns Q1 -> DQ1 -> Q2 -> DQ2 into Q1 -> DQ2, which for equal parameters is
// what this pass gives.
//
// Contract:
// - Fires when both scales are constants (initializers, not graph inputs) of dtype float or double
//   with equal dtype, shape and bytes, finite and in (0, 1e30] (so "* s" cannot overflow); both zero
//   points are absent, or constants with equal dtype, shape and bytes; q's dtype is int8, uint8,
//   int16, uint16, int4 or uint4 and equals y's; the DequantizeLinear's output dtype is the scale's
//   (an output_dtype narrower than the scale would round (q - zp) * s); axis (normalised against q's
//   rank) and block_size agree where the scale is not a single value; neither node carries an
//   attribute other than axis, block_size, output_dtype (and saturate on the QuantizeLinear).
// - Float8 and int32 quantized tensors are left alone (float8 rounds in "* s", int32 is not exact
//   in float).
// - When y is a graph output and q is a graph input or initializer, y cannot keep its name, so the
//   pair stays (Patch refuses).
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

bool same_constant(const ir::Value* a, const ir::Value* b) {
  if (!a || !b) return !a && !b;
  if (a == b) return constant_of(a) != nullptr;
  const Tensor* ta = constant_of(a);
  const Tensor* tb = constant_of(b);
  return ta && tb && ta->dtype() == tb->dtype() && ta->shape() == tb->shape() &&
         std::memcmp(ta->raw_data(), tb->raw_data(), ta->byte_size()) == 0;
}

bool only_attributes(const ir::Node& node, const std::set<std::string>& allowed) {
  for (const ir::Attribute& a : node.attributes())
    if (!allowed.count(a.name)) return false;
  return true;
}

bool scales_are_safe(const Tensor& s) {
  for (int64_t i = 0; i < s.element_count(); ++i) {
    const double v = s.dtype() == DataType::kFloat ? s.data<float>()[i] : s.data<double>()[i];
    if (!std::isfinite(v) || v <= 0 || v > 1e30) return false;
  }
  return true;
}

std::optional<Patch> fold_dq_q(ir::Node& q, const PassContext&) {
  if (q.op_type() != "QuantizeLinear" || !q.domain().empty()) return std::nullopt;
  ir::Node* dq = producer_of(q.input(0), "DequantizeLinear");
  if (!dq || !q.output(0)) return std::nullopt;
  if (!only_attributes(*dq, {"axis", "block_size", "output_dtype"}) ||
      !only_attributes(q, {"axis", "block_size", "output_dtype", "saturate"}))
    return std::nullopt;

  ir::Value* x = dq->input(0);
  if (!x) return std::nullopt;
  const DataType qtype = x->dtype();
  if (qtype != DataType::kInt8 && qtype != DataType::kUInt8 && qtype != DataType::kInt16 &&
      qtype != DataType::kUInt16 && qtype != DataType::kInt4 && qtype != DataType::kUInt4)
    return std::nullopt;
  if (q.output(0)->dtype() != qtype) return std::nullopt;

  if (!same_constant(dq->input(1), q.input(1)) || !same_constant(dq->input(2), q.input(2))) return std::nullopt;
  const Tensor* scale = constant_of(dq->input(1));
  if (!scale || (scale->dtype() != DataType::kFloat && scale->dtype() != DataType::kDouble)) return std::nullopt;
  if (dq->output(0)->dtype() != scale->dtype() || !scales_are_safe(*scale)) return std::nullopt;

  if (scale->element_count() != 1 || scale->rank() > 1) {
    int64_t dq_axis = dq->get_int("axis", 1), q_axis = q.get_int("axis", 1);
    if (dq_axis != q_axis) {
      if (!x->shape().has_rank) return std::nullopt;
      const auto rank = static_cast<int64_t>(x->shape().rank());
      if (dq_axis < 0) dq_axis += rank;
      if (q_axis < 0) q_axis += rank;
      if (dq_axis != q_axis) return std::nullopt;
    }
    if (dq->get_int("block_size", 0) != q.get_int("block_size", 0)) return std::nullopt;
  }

  Patch patch(q);
  patch.replace(q.output(0), patch.use(x));
  return patch;
}

}  // namespace

bool fold_quantize_dequantize(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fold_dq_q); }

}  // namespace ferry::optimizer::passes
