// fuse_rotary_embedding (extended): rotary position embedding written out as
// x * cos + rotate_half(x) * sin becomes one RotaryEmbedding.
//
//   x [B, H, S, D] ─┬──────────────────────────────── Mul(., cos) ─┐
//                   └ Slice/Split halves x1, x2 ─ Concat(Neg(x2), x1, axis=-1) ─ Mul(., sin) ─ Add
//   cos = Unsqueeze(Gather(COS [max, D], pos), axis 1), sin likewise with SIN and the same pos
//                                                                           ▼
//   RotaryEmbedding(x, COS[:, :D/2], SIN[:, :D/2], pos)     ai.onnx at opset >= 23, else ferry
//
// Contract: x is 4-D float / float16 / bfloat16 with a known even head size D; the halves are
// x[..., :D/2] and x[..., D/2:] (two Slices on the last axis with step 1, or an equal Split);
// COS and SIN are constant [max, D] tables whose two halves are equal (as HF builds them,
// cat(freqs, freqs)), so the rotation uses each angle once per pair exactly as RotaryEmbedding
// does; pos is int64 [B, S] matching x's batch and sequence dims (positions must lie in
// [0, max): RotaryEmbedding rejects what Gather would wrap). The halves, the Neg, the Concat and
// both Muls have this pattern as their only consumer; the cos / sin Gathers may be shared (q and
// k use the same) and stay while something else reads them. Not matched: 3-D x, interleaved
// pairs, partial rotation, cos/sin given as graph inputs (their halves cannot be proven equal).
#include <cmath>
#include <cstring>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {
namespace {

/// The one element of a constant integer tensor.
std::optional<int64_t> int_constant(const ir::Value* v) {
  const Tensor* t = constant_of(v);
  if (!t || t->element_count() != 1) return std::nullopt;
  if (t->dtype() == DataType::kInt64) return t->data<int64_t>()[0];
  if (t->dtype() == DataType::kInt32) return t->data<int32_t>()[0];
  return std::nullopt;
}

/// Slice(x, start, end, axis = last, step 1) of 1-element constants: [start, end) on the last axis.
struct Range {
  ir::Value* x = nullptr;
  int64_t start = 0, end = 0;
};
std::optional<Range> last_axis_slice(ir::Node* n) {
  if (!n || n->op_type() != "Slice" || !n->domain().empty() || !sole_consumer(*n) || n->inputs().size() < 4)
    return std::nullopt;
  const ir::Value* x = n->input(0);
  if (!x->shape().has_rank) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(x->shape().rank());
  const auto start = int_constant(n->input(1)), end = int_constant(n->input(2)), axis = int_constant(n->input(3));
  if (!start || !end || !axis || (*axis != -1 && *axis != rank - 1)) return std::nullopt;
  if (n->inputs().size() > 4 && n->input(4) && int_constant(n->input(4)) != 1) return std::nullopt;
  return Range{n->input(0), *start, *end};
}

/// x1, x2 = the first and second halves of x's last axis (size d): Slices or an equal Split.
ir::Value* halves_source(ir::Value* x1, ir::Value* x2, int64_t* d_out) {
  ir::Node* split = producer_of(x1, "Split");
  if (split && split == producer_of(x2, "Split")) {
    if (split->outputs().size() != 2 || x1 != split->output(0) || x2 != split->output(1) || !sole_consumer(*split))
      return nullptr;
    ir::Value* x = split->input(0);
    const ir::Shape& s = x->shape();
    if (!s.has_rank || s.rank() == 0 || !s.dims.back().is_constant()) return nullptr;
    const int64_t rank = static_cast<int64_t>(s.rank()), d = s.dims.back().value();
    const int64_t axis = split->get_int("axis", 0);
    if (axis != -1 && axis != rank - 1) return nullptr;
    if (split->input(1)) {  // explicit sizes must be [d/2, d/2]
      const Tensor* sizes = constant_of(split->input(1));
      if (!sizes || sizes->element_count() != 2 || sizes->dtype() != DataType::kInt64 ||
          sizes->data<int64_t>()[0] != d / 2 || sizes->data<int64_t>()[1] != d / 2)
        return nullptr;
    } else if (!split->get_ints("split").empty() && split->get_ints("split") != std::vector<int64_t>{d / 2, d / 2}) {
      return nullptr;
    }
    *d_out = d;
    return x;
  }
  const auto a = last_axis_slice(producer_of(x1));
  const auto b = last_axis_slice(producer_of(x2));
  if (!a || !b || a->x != b->x) return nullptr;
  const ir::Shape& s = a->x->shape();
  if (!s.dims.back().is_constant()) return nullptr;
  const int64_t d = s.dims.back().value();
  if (a->start != 0 || a->end != d / 2 || b->start != d / 2 || b->end < d) return nullptr;
  *d_out = d;
  return a->x;
}

/// cos = [Unsqueeze(axes=[1])] Gather(TABLE [max, d], pos, axis 0): the table and pos.
struct CacheLookup {
  const Tensor* table = nullptr;
  ir::Value* pos = nullptr;
};
std::optional<CacheLookup> cache_lookup(ir::Value* v, const PassContext& ctx) {
  ir::Node* unsq = producer_of(v, "Unsqueeze");
  if (!unsq) return std::nullopt;
  std::vector<int64_t> axes = ctx.opset() >= 13 ? std::vector<int64_t>{} : unsq->get_ints("axes");
  if (ctx.opset() >= 13) {
    const Tensor* t = constant_of(unsq->input(1));
    if (!t || t->element_count() != 1 || t->dtype() != DataType::kInt64) return std::nullopt;
    axes = {t->data<int64_t>()[0]};
  }
  if (axes != std::vector<int64_t>{1} && axes != std::vector<int64_t>{-3}) return std::nullopt;
  ir::Node* gather = producer_of(unsq->input(0), "Gather");
  if (!gather || gather->get_int("axis", 0) != 0) return std::nullopt;
  const Tensor* table = constant_of(gather->input(0));
  if (!table || table->rank() != 2) return std::nullopt;
  return CacheLookup{table, gather->input(1)};
}

/// The first half of a [max, d] table whose two halves are equal; nullopt otherwise.
std::optional<Tensor> half_table(const Tensor& t) {
  const int64_t rows = t.dim(0), d = t.dim(1), h = d / 2;
  const size_t es = static_cast<size_t>(dtype_bits(t.dtype()) / 8);
  Tensor out = Tensor::empty(t.dtype(), {rows, h});
  const auto* src = static_cast<const unsigned char*>(t.raw_data());
  auto* dst = static_cast<unsigned char*>(out.raw_data());
  for (int64_t r = 0; r < rows; ++r) {
    const unsigned char* row = src + static_cast<size_t>(r * d) * es;
    if (std::memcmp(row, row + static_cast<size_t>(h) * es, static_cast<size_t>(h) * es) != 0) return std::nullopt;
    std::memcpy(dst + static_cast<size_t>(r * h) * es, row, static_cast<size_t>(h) * es);
  }
  return out;
}

std::optional<Patch> fuse_rotary(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Add" || !node.domain().empty()) return std::nullopt;
  for (int side = 0; side < 2; ++side) {
    ir::Node* direct = producer_of(node.input(static_cast<size_t>(side)), "Mul");
    ir::Node* rotated = producer_of(node.input(static_cast<size_t>(1 - side)), "Mul");
    if (!direct || !rotated || direct == rotated || !sole_consumer(*direct) || !sole_consumer(*rotated)) continue;
    for (int r = 0; r < 2; ++r) {
      ir::Node* concat = producer_of(rotated->input(static_cast<size_t>(r)), "Concat");
      if (!concat || !sole_consumer(*concat) || concat->inputs().size() != 2) continue;
      ir::Value* sin = rotated->input(static_cast<size_t>(1 - r));
      ir::Node* neg = producer_of(concat->input(0), "Neg");
      if (!neg || !sole_consumer(*neg)) continue;
      int64_t d = 0;
      ir::Value* x = halves_source(concat->input(1), neg->input(0), &d);
      if (!x) continue;
      const ir::Shape& xs = x->shape();
      const DataType dt = x->dtype();
      if (xs.rank() != 4 || d <= 0 || d % 2 != 0 ||
          (dt != DataType::kFloat && dt != DataType::kFloat16 && dt != DataType::kBFloat16))
        continue;
      const int64_t axis = concat->get_int("axis", 0);
      if (axis != -1 && axis != 3) continue;
      ir::Value* cos = nullptr;
      if (direct->input(0) == x) cos = direct->input(1);
      else if (direct->input(1) == x) cos = direct->input(0);
      if (!cos) continue;
      const auto c = cache_lookup(cos, ctx), s = cache_lookup(sin, ctx);
      if (!c || !s || c->pos != s->pos || c->table->dtype() != dt || s->table->dtype() != dt ||
          c->table->shape() != s->table->shape() || c->table->dim(1) != d)
        continue;
      const ir::Value* pos = c->pos;
      if (pos->dtype() != DataType::kInt64 || !pos->shape().has_rank || pos->shape().rank() != 2 ||
          pos->shape().dims[0] != xs.dims[0] || pos->shape().dims[1] != xs.dims[2])
        continue;
      std::optional<Tensor> cos_half = half_table(*c->table), sin_half = half_table(*s->table);
      if (!cos_half || !sin_half) continue;
      Patch patch(node);
      const Patch::Ref cr = patch.add_initializer(std::move(*cos_half), "rotary_cos_cache");
      const Patch::Ref sr = patch.add_initializer(std::move(*sin_half), "rotary_sin_cache");
      const bool onnx = ctx.opset() >= 23;
      const Patch::Ref y = patch.add_node("RotaryEmbedding", {patch.use(x), cr, sr, patch.use(c->pos)}, {}, 1,
                                          onnx ? "" : kFerryDomain, node.name())[0];
      patch.replace(node.output(0), y);
      if (!onnx) ctx.use_ferry_domain();
      return patch;
    }
  }
  return std::nullopt;
}

}  // namespace

bool fuse_rotary_embedding(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fuse_rotary); }

}  // namespace ferry::optimizer::passes
