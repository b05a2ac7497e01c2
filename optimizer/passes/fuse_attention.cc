// fuse_attention (extended): the scaled dot-product core of multi-head attention, with the
// Transposes of its head split and merge, becomes one ferry.MultiHeadAttention.
//
//   [Transpose 0213] Q ─[Mul/Div c1]─┐
//                                    MatMul ─[Mul/Div c3]─[Add bias]─ Softmax(-1) ─┐
//   KT ─[Mul c2]─────────────────────┘     [Where(IsNaN(P), 0, P)] ─ MatMul(., V) ─[Transpose 0213]─▶
//   (KT = Transpose(X, p), or any [.., D, T] tensor)     V = [Transpose 0213] V'
//                                    ▼
//   MultiHeadAttention(Q or its [B,S,H,D] source, K, V or V', bias)
//     {scale = c1·c2·c3, softmax_nan_to_zero, *_layout = "BSHD" where a Transpose was absorbed}
//   K = X when p swapped back is the identity ("BSHD" when it is 0213), else Transpose(X, p').
//
// The forms of our exporters: eager attention (TorchScript 13: MatMul, Div or Mul by the scale,
// Add of the extended mask, Softmax, MatMul) and SDPA decomposed (TorchScript 17+, dynamo 18: Q
// and K^T each multiplied by sqrt(scale), Add of Where(mask, 0, -inf), Softmax, Where(IsNaN)),
// T5 (no scale; position bias plus mask added), ViT (no mask). A model already holding ONNX
// Attention (dynamo at opset 23) has nothing to fuse.
//
// Contract: Q, K^T and V have rank 4 and one float type (float or double). The scales are
// constant scalars of rank <= 4; their product, nonzero and finite, becomes the float `scale`
// (for double models only when float holds it exactly). Softmax runs over the last axis. Each
// bias (up to two Adds; two are summed first, (s + a) + b becoming s + (a + b)) has rank 1..4
// and no known dim that cannot broadcast against the scores. Every intermediate from the first
// MatMul to the softmax probabilities has this chain as its only consumer (a value read
// elsewhere, or a graph output, stops the match); a scale Mul on Q or K^T read elsewhere stays
// and is not folded. K is K^T with its last two axes swapped: Transposes feeding K^T (up to three
// deep) are composed with that swap, leaving nothing when they cancel and a "BSHD" key when they
// give [0, 2, 1, 3]. The kernel broadcasts exactly as the unfused MatMuls and Adds do, so outputs
// differ by rounding only. The scores may also come from a ferry
// FusedMatMul(Q, B) without activation or transA (a pipeline round can fuse MatMul(Q,
// Transpose(K)) before the scale folds to a constant): alpha joins the scale, and B is K when
// transB = 1.
//
// Head split and merge: a Transpose(., [0, 2, 1, 3]) in front of Q or V (K: one whose
// composition with the swap is [0, 2, 1, 3]) or after the core (its only consumer) is absorbed
// as a "BSHD" layout attribute, so the op reads the projections' [B, S, H, D] Reshapes and
// writes what the merge's Reshape reads; the Reshapes (views) stay.
//
// Packed projections (ViT's qkv): when Q, K and V are the three parts of Split(Transpose(X, p))
// on the split axis, squeezed, the op reads the parts of X split on the corresponding axis
// instead, as "BSHD" when p moved the heads before the sequence (split_packed_heads below).
//
// Not yet matched: causal masks (they stay an additive bias: the exporters' masks combine
// causality and padding in one dynamic Where); past key/value caches (the Concat stays in front
// of K and V, and the op's past inputs are unused by the pass).
#include <cmath>
#include <functional>
#include <numeric>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {
namespace {

bool is_float_type(DataType dt) { return dt == DataType::kFloat || dt == DataType::kDouble; }

const ir::Shape* rank4(const ir::Value* v) {
  if (!v || !v->type().is_tensor() || !v->shape().has_rank || v->shape().rank() != 4) return nullptr;
  return &v->shape();
}

/// x = Mul(y, c), Mul(c, y) or Div(y, c) with c a constant scalar of rank <= 4 and x read only
/// once: returns y and multiplies *scale by c (or 1/c). Null when x is not such a node.
ir::Value* strip_scale(ir::Value* x, double* scale) {
  ir::Node* n = x ? x->producer() : nullptr;
  if (!n || !n->domain().empty() || (n->op_type() != "Mul" && n->op_type() != "Div") || !sole_consumer(*n))
    return nullptr;
  for (int side = 0; side < 2; ++side) {
    if (n->op_type() == "Div" && side == 1) break;
    const ir::Value* c = n->input(1 - side);
    const std::optional<double> value = scalar_constant(c);
    if (!value || constant_of(c)->rank() > 4 || constant_of(c)->dtype() != x->dtype()) continue;
    if (n->op_type() == "Div") {
      if (*value == 0) return nullptr;
      *scale /= *value;
    } else {
      *scale *= *value;
    }
    return n->input(static_cast<size_t>(side));
  }
  return nullptr;
}

/// Dims a and b cannot broadcast when both are known, neither is 1, and they differ.
bool conflict(const ir::Dim& a, const ir::Dim& b) {
  return a.is_constant() && b.is_constant() && a.value() != 1 && b.value() != 1 && a.value() != b.value();
}

std::optional<Patch> fuse_attention_core(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "MatMul" || !node.domain().empty()) return std::nullopt;
  ir::Value* probs = node.input(0);
  ir::Value* v = node.input(1);
  // Optional Where(IsNaN(P), 0, P) on the probabilities.
  bool nan_to_zero = false;
  if (ir::Node* where = producer_of(probs, "Where")) {
    ir::Node* isnan = producer_of(where->input(0), "IsNaN");
    const std::optional<double> zero = scalar_constant(where->input(1));
    if (!isnan || !zero || *zero != 0 || constant_of(where->input(1))->rank() > 4 ||
        isnan->input(0) != where->input(2) || !sole_consumer(*where) || !sole_consumer(*isnan))
      return std::nullopt;
    probs = where->input(2);
    if (probs->is_graph_output() || probs->uses().size() != 2) return std::nullopt;
    nan_to_zero = true;
  }
  ir::Node* softmax = producer_of(probs, "Softmax");
  if (!softmax || (!nan_to_zero && !sole_consumer(*softmax))) return std::nullopt;
  const ir::Shape* p_shape = rank4(probs);
  if (!p_shape) return std::nullopt;
  const int64_t axis = softmax->get_int("axis", ctx.opset() >= 13 ? -1 : 1);
  if (axis != -1 && axis != 3) return std::nullopt;

  // Softmax input: up to two Adds of biases (T5: position bias, then mask) over the scaled scores.
  double scale = 1.0;
  std::vector<ir::Value*> biases;
  bool trans_b = false;  // the scores come from FusedMatMul(Q, K, transB=1): its input 1 is K
  auto scores_of = [&](ir::Value* s) -> ir::Node* {  // MatMul behind an optional scale
    double c = 1.0;
    if (ir::Value* inner = strip_scale(s, &c)) s = inner;
    ir::Node* mm = producer_of(s, "MatMul");
    if (ir::Node* fused = producer_of(s, "FusedMatMul", kFerryDomain)) {
      // A round of the pipeline may have fused MatMul(Q, Transpose(K)) and a scale before the
      // scale became a constant: alpha * Q·op(B), without activation or transposed A.
      if (fused->get_int("transA", 0) != 0 || !fused->get_string("activation", "").empty() ||
          !fused->get_floats("activation_params").empty())
        return nullptr;
      mm = fused;
      c *= fused->get_float("alpha", 1.0f);
    }
    if (!mm || !sole_consumer(*mm)) return nullptr;
    scale *= c;
    trans_b = mm->op_type() == "FusedMatMul" && mm->get_int("transB", 0) != 0;
    return mm;
  };
  std::function<ir::Node*(ir::Value*, int)> scores_under = [&](ir::Value* x, int adds_left) -> ir::Node* {
    if (ir::Node* mm = scores_of(x)) return mm;
    ir::Node* add = producer_of(x, "Add");
    if (!add || adds_left == 0 || !sole_consumer(*add)) return nullptr;
    for (int side = 0; side < 2; ++side) {
      if (ir::Node* mm = scores_under(add->input(static_cast<size_t>(side)), adds_left - 1)) {
        biases.push_back(add->input(static_cast<size_t>(1 - side)));
        return mm;
      }
    }
    return nullptr;
  };
  ir::Node* scores_mm = scores_under(softmax->input(0), 2);
  if (!scores_mm) return std::nullopt;
  ir::Value* q = scores_mm->input(0);
  ir::Value* kt = scores_mm->input(1);
  if (ir::Value* inner = strip_scale(q, &scale)) q = inner;
  if (ir::Value* inner = strip_scale(kt, &scale)) kt = inner;
  const ir::Shape* q_shape = rank4(q);
  const ir::Shape* kt_shape = rank4(kt);
  const ir::Shape* v_shape = rank4(v);
  const ir::Shape* s_shape = rank4(scores_mm->output(0));
  if (!q_shape || !kt_shape || !v_shape || !s_shape || !is_float_type(q->dtype()) || kt->dtype() != q->dtype() ||
      v->dtype() != q->dtype())
    return std::nullopt;
  if (!std::isfinite(scale) || scale == 0 || !std::isfinite(static_cast<float>(scale))) return std::nullopt;
  // The attribute is a float: a double model keeps its scale only when float holds it exactly.
  if (q->dtype() == DataType::kDouble && static_cast<double>(static_cast<float>(scale)) != scale) return std::nullopt;
  for (ir::Value* bias : biases) {
    if (bias->dtype() != q->dtype() || !bias->type().is_tensor() || !bias->shape().has_rank) return std::nullopt;
    const ir::Shape& b = bias->shape();
    if (b.rank() < 1 || b.rank() > 4) return std::nullopt;
    for (size_t d = 0; d < b.rank(); ++d)
      if (conflict(b.dims[d], s_shape->dims[4 - b.rank() + d])) return std::nullopt;
    // The scores' key axis is never broadcast up by the bias (Softmax then MatMul with V would
    // not match): a known bias length must be 1 or the key length.
    const ir::Dim& last = b.dims.back();
    if (last.is_constant() && last.value() != 1 && last != s_shape->dims[3]) return std::nullopt;
  }

  Patch patch(node);
  std::vector<ir::Attribute> attrs = {ir::Attribute::make_float("scale", static_cast<float>(scale))};
  if (nan_to_zero) attrs.push_back(ir::Attribute::make_int("softmax_nan_to_zero", 1));
  const std::vector<int64_t> kSwapSeqHeads = {0, 2, 1, 3}, kIdentity = {0, 1, 2, 3};
  // A head split Transpose(X [B, S, H, D], [0, 2, 1, 3]) in front of Q or V: read X as "BSHD".
  auto split_heads = [&](ir::Value* x, const char* layout_attr) -> Patch::Ref {
    ir::Node* t = producer_of(x, "Transpose");
    if (!t || t->get_ints("perm") != kSwapSeqHeads) return patch.use(x);
    attrs.push_back(ir::Attribute::make_string(layout_attr, "BSHD"));
    return patch.use(t->input(0));
  };
  // K = K^T with its last two axes swapped (K itself after FusedMatMul's transB), composed with
  // the Transposes feeding it: K axis d is source axis perm[d].
  std::vector<int64_t> perm = trans_b ? kIdentity : std::vector<int64_t>{0, 1, 3, 2};
  ir::Value* k_source = kt;
  for (int depth = 0; depth < 3; ++depth) {
    ir::Node* t = producer_of(k_source, "Transpose");
    const std::vector<int64_t> p = t ? t->get_ints("perm") : std::vector<int64_t>{};
    if (p.size() != 4) break;
    for (int64_t& axis : perm) axis = p[static_cast<size_t>(axis)];
    k_source = t->input(0);
  }
  const Patch::Ref qr = split_heads(q, "query_layout");
  Patch::Ref k;
  if (perm == kIdentity) {
    k = patch.use(k_source);
  } else if (perm == kSwapSeqHeads) {
    k = patch.use(k_source);
    attrs.push_back(ir::Attribute::make_string("key_layout", "BSHD"));
  } else {
    k = patch.add_node("Transpose", {patch.use(k_source)}, {ir::Attribute::make_ints("perm", perm)})[0];
  }
  const Patch::Ref vr = split_heads(v, "value_layout");
  std::vector<Patch::Ref> inputs = {qr, k, vr};
  if (biases.size() == 1) inputs.push_back(patch.use(biases[0]));
  if (biases.size() == 2) inputs.push_back(patch.add_node("Add", {patch.use(biases[0]), patch.use(biases[1])})[0]);
  // The head merge's Transpose(Y, [0, 2, 1, 3]) after the core: write Y as "BSHD" instead.
  ir::Value* out = node.output(0);
  if (ir::Node* t = only_consumer(out); t && t->op_type() == "Transpose" && t->domain().empty() &&
                                        t->get_ints("perm") == kSwapSeqHeads) {
    attrs.push_back(ir::Attribute::make_string("output_layout", "BSHD"));
    out = t->output(0);
  }
  Patch::Ref y = patch.add_node("MultiHeadAttention", inputs, std::move(attrs), 1, kFerryDomain, node.name())[0];
  patch.replace(out, y);
  ctx.use_ferry_domain();
  return patch;
}

/// The axes of a Squeeze (attribute before opset 13, constant input from 13), normalized for
/// an input of rank `rank`; nullopt when not known.
std::optional<std::vector<int64_t>> squeeze_axes(const ir::Node& squeeze, int64_t rank) {
  std::optional<std::vector<int64_t>> axes;
  if (squeeze.inputs().size() >= 2 && squeeze.input(1)) axes = constant_ints(squeeze.input(1));
  else if (squeeze.find_attribute("axes")) axes = squeeze.get_ints("axes");
  if (!axes) return std::nullopt;
  for (int64_t& a : *axes) {
    if (a < -rank || a >= rank) return std::nullopt;
    if (a < 0) a += rank;
  }
  return axes;
}

/// A MultiHeadAttention whose query, key and value ("BHSD", no cache outputs) are the Squeezes
/// of one Split of one Transpose (ViT's packed projection: [B, S, 3, H, D] transposed to
/// [3, B, H, S, D], split and squeezed on axis 0) reads the Squeezes of a Split of the
/// Transpose's input instead, each part as "BSHD" (or "BHSD" when the Transpose keeps [B, H, S,
/// D] order): the Transpose's copy goes. Every value in the chain must have this MHA as its only
/// reader (one Split output per input).
//
//   X -> Transpose(p) -> Split(axis a) -> Squeeze(a) x3 -> MHA(q, k, v)
//     => X -> Split(axis p[a]) -> Squeeze(p[a]) x3 -> MHA(q, k, v) {*_layout = "BSHD"}
std::optional<Patch> split_packed_heads(ir::Node& node, const PassContext& ctx) {
  if (node.domain() != kFerryDomain || node.op_type() != "MultiHeadAttention" || node.outputs().size() != 1 ||
      node.inputs().size() < 3)
    return std::nullopt;
  const char* layouts[3] = {"query_layout", "key_layout", "value_layout"};
  ir::Node* split = nullptr;
  ir::Node* squeezes[3] = {nullptr, nullptr, nullptr};
  size_t part[3] = {0, 0, 0};
  for (size_t i = 0; i < 3; ++i) {
    if (node.get_string(layouts[i], "BHSD") != "BHSD") return std::nullopt;
    for (size_t j = 0; j < i; ++j)
      if (node.input(j) == node.input(i)) return std::nullopt;
    squeezes[i] = producer_of(node.input(i), "Squeeze");
    if (!squeezes[i] || only_consumer(node.input(i)) != &node) return std::nullopt;
    ir::Node* s = producer_of(squeezes[i]->input(0), "Split");
    if (!s || (split && s != split) || only_consumer(squeezes[i]->input(0)) != squeezes[i]) return std::nullopt;
    split = s;
    for (size_t k = 0; k < s->outputs().size(); ++k)
      if (s->output(k) == squeezes[i]->input(0)) part[i] = k;
  }
  if (split->outputs().size() != 3) return std::nullopt;
  ir::Node* transpose = producer_of(split->input(0), "Transpose");
  if (!transpose || !sole_consumer(*transpose)) return std::nullopt;
  const std::vector<int64_t> perm = transpose->get_ints("perm");
  if (perm.size() != 5) return std::nullopt;
  int64_t axis = split->get_int("axis", 0);
  if (axis < 0) axis += 5;
  if (axis < 0 || axis >= 5) return std::nullopt;
  for (ir::Node* sq : squeezes)
    if (squeeze_axes(*sq, 5) != std::vector<int64_t>{axis}) return std::nullopt;
  // Each part's dims d (axis removed) come from X's dims perm[d] (X's axis perm[axis] removed).
  const int64_t source_axis = perm[static_cast<size_t>(axis)];
  std::vector<int64_t> part_perm;
  for (int64_t d = 0; d < 5; ++d)
    if (d != axis) part_perm.push_back(perm[static_cast<size_t>(d)] - (perm[static_cast<size_t>(d)] > source_axis));
  const bool bshd = part_perm == std::vector<int64_t>{0, 2, 1, 3};
  if (!bshd && part_perm != std::vector<int64_t>{0, 1, 2, 3}) return std::nullopt;

  Patch patch(node);
  std::vector<Patch::Ref> split_inputs = {patch.use(transpose->input(0))};
  for (size_t i = 1; i < split->inputs().size(); ++i)
    split_inputs.push_back(split->input(i) ? patch.use(split->input(i)) : Patch::kOmitted);
  std::vector<ir::Attribute> split_attrs;
  for (const ir::Attribute& a : split->attributes())
    if (a.name != "axis") split_attrs.push_back(a.clone());
  split_attrs.push_back(ir::Attribute::make_int("axis", source_axis));
  const std::vector<Patch::Ref> parts =
      patch.add_node("Split", split_inputs, std::move(split_attrs), 3, "", split->name());
  std::vector<Patch::Ref> inputs;
  for (size_t i = 0; i < 3; ++i) {
    std::vector<Patch::Ref> sq_inputs = {parts[part[i]]};
    std::vector<ir::Attribute> sq_attrs;
    if (ctx.opset() >= 13)
      sq_inputs.push_back(patch.add_initializer(
          Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {source_axis}), "squeeze_axes"));
    else
      sq_attrs.push_back(ir::Attribute::make_ints("axes", {source_axis}));
    inputs.push_back(patch.add_node("Squeeze", sq_inputs, std::move(sq_attrs), 1, "", squeezes[i]->name())[0]);
  }
  for (size_t i = 3; i < node.inputs().size(); ++i)
    inputs.push_back(node.input(i) ? patch.use(node.input(i)) : Patch::kOmitted);
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : node.attributes())
    if (a.name != layouts[0] && a.name != layouts[1] && a.name != layouts[2]) attrs.push_back(a.clone());
  if (bshd)
    for (const char* name : layouts) attrs.push_back(ir::Attribute::make_string(name, "BSHD"));
  const Patch::Ref y = patch.add_node("MultiHeadAttention", inputs, std::move(attrs), 1, kFerryDomain, node.name())[0];
  patch.replace(node.output(0), y);
  return patch;
}

}  // namespace

bool fuse_attention(ir::Graph& graph, const PassContext& ctx) {
  const bool fused = apply_rule(graph, ctx, fuse_attention_core);
  return apply_rule(graph, ctx, split_packed_heads) || fused;
}

}  // namespace ferry::optimizer::passes
