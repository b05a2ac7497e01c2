#include "ir/infer/common.h"

#include <algorithm>

namespace ferry::ir::infer {

Dim int_dim(int64_t v) {
  if (v >= 0) return Dim(v);
  return Dim(0) - Dim(-(v + 1)) - Dim(1);  // avoids negating INT64_MIN
}

// No ONNX dim_param is spelled so (they are identifiers), so the marker meets no model symbol.
Dim unknown_element() { return Dim::symbol("?element"); }

bool is_unknown_element(const Dim& d) { return d.symbol_name() == "?element"; }

std::optional<int64_t> const_of(const Dim& d) {
  if (d.is_constant()) return d.value();
  return std::nullopt;
}

const Shape* ranked_shape(const InferenceContext& ctx, size_t i) {
  const Type& t = ctx.input_type(i);
  if (t.kind != Type::Kind::kTensor || !t.shape.has_rank) return nullptr;
  return &t.shape;
}

DataType input_dtype(const InferenceContext& ctx, size_t i) {
  const Type& t = ctx.input_type(i);
  return t.kind == Type::Kind::kTensor ? t.elem : DataType::kUndefined;
}

std::optional<std::vector<int64_t>> input_ints(const InferenceContext& ctx, size_t i) {
  auto v = ctx.input_value(i);
  if (!v) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim& d : *v) {
    if (!d.is_constant()) return std::nullopt;
    out.push_back(d.value());
  }
  return out;
}

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? (i + 1 == shapes.size() ? " and " : ", ") : "") + shapes[i].to_string();
  return s;
}

Shape broadcast_shapes(InferenceContext& ctx, const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) {
    if (!s.has_rank) return Shape::unknown();
    rank = std::max(rank, s.rank());
  }
  std::vector<Dim> out(rank, Dim(1));
  for (size_t k = 0; k < rank; ++k) {
    // k counts from the right.
    std::optional<Dim> result;
    bool ambiguous = false;
    for (const Shape& s : shapes) {
      if (k >= s.rank()) continue;
      const Dim& d = s.dims[s.rank() - 1 - k];
      if (d.is_constant() && d.value() == 1) continue;
      if (!result) {
        result = d;
      } else if (*result == d) {
        continue;
      } else if (result->is_constant() && d.is_constant()) {
        ctx.fail("cannot broadcast shapes " + shapes_text(shapes) + ": dimension " + result->to_string() + " vs " +
                 d.to_string());
      } else if (d.is_constant()) {
        result = d;  // the symbol must equal this size (or be 1)
        ambiguous = false;
      } else if (!result->is_constant()) {
        ambiguous = true;  // two different symbols: either may be 1
      }
    }
    out[rank - 1 - k] = !result ? Dim(1) : ambiguous ? ctx.fresh_dim() : *result;
  }
  return Shape(std::move(out));
}

int64_t normalize_axis(const InferenceContext& ctx, int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank)
    ctx.fail(what + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank) + " (valid: " +
             std::to_string(-rank) + " to " + std::to_string(rank - 1) + ")");
  return axis < 0 ? axis + rank : axis;
}

Dim product(const std::vector<Dim>& dims, size_t begin, size_t end) {
  Dim p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p = p * dims[i];
  return p;
}

std::optional<std::vector<Dim>> combine_values(const std::vector<Dim>& a, const std::vector<Dim>& b,
                                               const std::function<std::optional<Dim>(const Dim&, const Dim&)>& fn) {
  const size_t n = std::max(a.size(), b.size());
  if ((a.size() != n && a.size() != 1) || (b.size() != n && b.size() != 1)) return std::nullopt;
  std::vector<Dim> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::optional<Dim> e = fn(a[a.size() == 1 ? 0 : i], b[b.size() == 1 ? 0 : i]);
    if (!e) return std::nullopt;
    out.push_back(std::move(*e));
  }
  return out;
}

namespace {
/// Whether an expression mentions a symbol of SymbolFactory::fresh ("unk__N").
bool has_fresh_symbol(const Dim& d) {
  const std::vector<std::string> names = d.symbols();
  return std::any_of(names.begin(), names.end(), SymbolFactory::is_fresh);
}
}  // namespace

Dim unify(const InferenceContext& ctx, const Dim& a, const Dim& b, const std::string& what) {
  if (a == b) return a;
  if (a.is_constant() && b.is_constant())
    ctx.fail(what + ": " + a.to_string() + " vs " + b.to_string());
  if (a.is_constant() || b.is_constant()) return a.is_constant() ? a : b;
  // Two expressions known equal: keep the one without inference's fresh symbols, so that a dim
  // the feeds bind ("batch") replaces one they never bind (an Expand's "unk__0").
  return has_fresh_symbol(a) && !has_fresh_symbol(b) ? b : a;
}

bool is_index_type(DataType t) { return t == DataType::kInt64 || t == DataType::kInt32; }

Shape matmul_shape(InferenceContext& ctx, size_t ia, size_t ib) {
  const Shape* a = ranked_shape(ctx, ia);
  const Shape* b = ranked_shape(ctx, ib);
  if (!a || !b) return Shape::unknown();
  if (a->rank() == 0 || b->rank() == 0) ctx.fail("inputs have shapes " + shapes_text({*a, *b}) + "; need rank >= 1");
  std::vector<Dim> da = a->dims, db = b->dims;
  const bool a_vec = da.size() == 1, b_vec = db.size() == 1;
  if (a_vec) da.insert(da.begin(), Dim(1));
  if (b_vec) db.push_back(Dim(1));
  if (!(da[da.size() - 1] == db[db.size() - 2]))  // the message only when it may be needed
    unify(ctx, da[da.size() - 1], db[db.size() - 2], "inner dimensions of " + shapes_text({*a, *b}) + " differ");
  const Shape batch = broadcast_shapes(ctx, {Shape(std::vector<Dim>(da.begin(), da.end() - 2)),
                                             Shape(std::vector<Dim>(db.begin(), db.end() - 2))});
  std::vector<Dim> out = batch.dims;
  if (!a_vec) out.push_back(da[da.size() - 2]);
  if (!b_vec) out.push_back(db.back());
  return Shape(std::move(out));
}

void global_pool(InferenceContext& ctx) {
  const DataType dt = input_dtype(ctx, 0);
  const Shape* x = ranked_shape(ctx, 0);
  if (!x) return ctx.set_output_type(0, Type::tensor(dt));
  if (x->rank() < 2) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank >= 2");
  std::vector<Dim> out = {x->dims[0], x->dims[1]};
  out.resize(x->rank(), Dim(1));
  ctx.set_output_type(0, Type::tensor(dt, Shape(std::move(out))));
}

}  // namespace ferry::ir::infer
