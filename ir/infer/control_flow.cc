// Type and shape inference for If, Loop, Scan, SequenceMap (their bodies are inferred with
// inputs typed from the node's inputs), the sequence ops and the optional ops.
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

Type tensor_type(DataType dt, std::vector<Dim> dims) { return Type::tensor(dt, Shape(std::move(dims))); }

/// The same rank with constants kept and symbols replaced by fresh ones (for a value whose dims
/// may change between iterations or branches).
Type loosen(InferenceContext& ctx, const Type& t) {
  if (t.kind == Type::Kind::kSequence || t.kind == Type::Kind::kOptional) {
    Type out = t;
    if (t.inner) out.inner = std::make_shared<const Type>(loosen(ctx, *t.inner));
    return out;
  }
  if (t.kind != Type::Kind::kTensor || !t.shape.has_rank) return t;
  std::vector<Dim> dims;
  for (const Dim& d : t.shape.dims) dims.push_back(d.is_constant() ? d : ctx.fresh_dim());
  return tensor_type(t.elem, std::move(dims));
}

/// A type covering both `a` and `b` (If branches, sequence elements).
Type join(InferenceContext& ctx, const Type& a, const Type& b) {
  if (a.kind == Type::Kind::kUnknown) return b;
  if (b.kind == Type::Kind::kUnknown) return a;
  if (a.kind != b.kind) return Type();
  if (a.kind == Type::Kind::kSequence || a.kind == Type::Kind::kOptional) {
    Type out = a;
    if (a.inner && b.inner) out.inner = std::make_shared<const Type>(join(ctx, *a.inner, *b.inner));
    else out.inner = nullptr;
    return out;
  }
  if (a.kind != Type::Kind::kTensor) return a;
  DataType dt = a.elem == b.elem ? a.elem : DataType::kUndefined;
  if (!a.shape.has_rank || !b.shape.has_rank || a.shape.rank() != b.shape.rank()) return Type::tensor(dt);
  std::vector<Dim> dims;
  for (size_t i = 0; i < a.shape.rank(); ++i)
    dims.push_back(a.shape.dims[i] == b.shape.dims[i] ? a.shape.dims[i] : ctx.fresh_dim());
  return tensor_type(dt, std::move(dims));
}

const Type* inner_of(const Type& t, Type::Kind kind) {
  return t.kind == kind && t.inner ? t.inner.get() : nullptr;
}

/// Type `t` with dim `axis` removed (a scan slice); unknown when the rank is unknown.
Type drop_axis(const Type& t, int64_t axis) {
  if (t.kind != Type::Kind::kTensor || !t.shape.has_rank) return t.kind == Type::Kind::kTensor ? Type::tensor(t.elem) : t;
  const int64_t r = static_cast<int64_t>(t.shape.rank());
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return Type::tensor(t.elem);
  std::vector<Dim> dims = t.shape.dims;
  dims.erase(dims.begin() + axis);
  return tensor_type(t.elem, std::move(dims));
}

/// Type `t` with `d` inserted at `axis` (stacked scan outputs).
Type insert_axis(const Type& t, int64_t axis, const Dim& d) {
  if (t.kind != Type::Kind::kTensor || !t.shape.has_rank) return t.kind == Type::Kind::kTensor ? Type::tensor(t.elem) : t;
  const int64_t r = static_cast<int64_t>(t.shape.rank()) + 1;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return Type::tensor(t.elem);
  std::vector<Dim> dims = t.shape.dims;
  dims.insert(dims.begin() + axis, d);
  return tensor_type(t.elem, std::move(dims));
}

void infer_if(InferenceContext& ctx) {
  const Node& n = ctx.node();
  std::vector<Type> a = ctx.infer_subgraph(n.require_graph("then_branch"), {});
  std::vector<Type> b = ctx.infer_subgraph(n.require_graph("else_branch"), {});
  if (a.size() != ctx.output_count() || b.size() != ctx.output_count())
    ctx.fail("then_branch returns " + std::to_string(a.size()) + " and else_branch " + std::to_string(b.size()) +
             " outputs, the node has " + std::to_string(ctx.output_count()));
  for (size_t i = 0; i < a.size(); ++i) ctx.set_output_type(i, join(ctx, a[i], b[i]));
}

void infer_loop(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const Graph& body = n.require_graph("body");
  const size_t carried = ctx.input_count() > 2 ? ctx.input_count() - 2 : 0;
  std::vector<Type> in = {tensor_type(DataType::kInt64, {}), tensor_type(DataType::kBool, {})};
  // Loop-carried values may change shape between iterations: the body sees their dtype and rank.
  for (size_t k = 0; k < carried; ++k) in.push_back(loosen(ctx, ctx.input_type(2 + k)));
  std::vector<Type> out = ctx.infer_subgraph(body, in);
  if (out.size() < 1 + carried) ctx.fail("body returns fewer outputs than 1 + the loop-carried values");
  for (size_t k = 0; k < carried && k < ctx.output_count(); ++k) {
    Type t = join(ctx, ctx.input_type(2 + k), out[1 + k]);
    if (t.kind == Type::Kind::kUnknown) t = out[1 + k];
    ctx.set_output_type(k, t);
  }
  for (size_t k = carried; k < ctx.output_count() && 1 + k < out.size(); ++k)
    ctx.set_output_type(k, insert_axis(out[1 + k], 0, ctx.fresh_dim()));
}

void infer_scan(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const Graph& body = n.require_graph("body");
  const bool v8 = ctx.opset() < 9;
  const size_t first = v8 ? 1 : 0;
  const int64_t m = n.require_int("num_scan_inputs");
  if (m < 1 || static_cast<size_t>(m) + first > ctx.input_count()) ctx.fail("num_scan_inputs " + std::to_string(m) + " is out of range");
  const size_t states = ctx.input_count() - first - static_cast<size_t>(m);
  std::vector<int64_t> in_axes = n.get_ints("scan_input_axes", std::vector<int64_t>(static_cast<size_t>(m), 0));
  std::vector<Type> in;
  Dim seq_len = ctx.fresh_dim();
  Dim batch = ctx.fresh_dim();
  for (size_t i = 0; i < states; ++i) {
    const Type& t = ctx.input_type(first + i);
    if (v8 && t.is_tensor() && t.shape.has_rank && t.shape.rank() > 0) batch = t.shape.dims[0];
    in.push_back(v8 ? drop_axis(t, 0) : t);
  }
  for (size_t i = 0; i < static_cast<size_t>(m); ++i) {
    const Type& t = ctx.input_type(first + states + i);
    if (v8) {
      in.push_back(drop_axis(drop_axis(t, 0), 0));
      if (t.is_tensor() && t.shape.has_rank && t.shape.rank() > 1) seq_len = t.shape.dims[1];
    } else {
      const int64_t axis = i < in_axes.size() ? in_axes[i] : 0;
      in.push_back(drop_axis(t, axis));
      if (t.is_tensor() && t.shape.has_rank) {
        const int64_t r = static_cast<int64_t>(t.shape.rank());
        const int64_t a = axis < 0 ? axis + r : axis;
        if (a >= 0 && a < r) seq_len = t.shape.dims[static_cast<size_t>(a)];
      }
    }
  }
  std::vector<Type> out = ctx.infer_subgraph(body, in);
  if (out.size() < states) ctx.fail("body returns fewer outputs than there are states");
  std::vector<int64_t> out_axes = n.get_ints("scan_output_axes", std::vector<int64_t>(out.size() - states, 0));
  for (size_t k = 0; k < out.size() && k < ctx.output_count(); ++k) {
    if (k < states) {
      ctx.set_output_type(k, v8 ? insert_axis(out[k], 0, batch) : out[k]);
    } else if (v8) {
      ctx.set_output_type(k, insert_axis(insert_axis(out[k], 0, seq_len), 0, batch));
    } else {
      const size_t j = k - states;
      ctx.set_output_type(k, insert_axis(out[k], j < out_axes.size() ? out_axes[j] : 0, seq_len));
    }
  }
}

void infer_sequence_map(InferenceContext& ctx) {
  std::vector<Type> in;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Type& t = ctx.input_type(i);
    const Type* e = inner_of(t, Type::Kind::kSequence);
    in.push_back(e ? *e : t);
  }
  std::vector<Type> out = ctx.infer_subgraph(ctx.node().require_graph("body"), in);
  for (size_t k = 0; k < out.size() && k < ctx.output_count(); ++k) ctx.set_output_type(k, Type::sequence(loosen(ctx, out[k])));
}

DataType attr_dtype(const InferenceContext& ctx, DataType dflt) {
  return static_cast<DataType>(ctx.node().get_int("dtype", static_cast<int64_t>(dflt)));
}

void sequence_construct(InferenceContext& ctx) {
  Type elem;
  for (size_t i = 0; i < ctx.input_count(); ++i) elem = i == 0 ? ctx.input_type(0) : join(ctx, elem, ctx.input_type(i));
  ctx.set_output_type(0, Type::sequence(elem));
}

void sequence_insert(InferenceContext& ctx) {
  const Type* e = inner_of(ctx.input_type(0), Type::Kind::kSequence);
  Type t = ctx.input_type(1);
  // A sequence of unknown elements (SequenceEmpty) takes the inserted tensor's type.
  ctx.set_output_type(0, Type::sequence(e && e->shape.has_rank ? join(ctx, *e, t)
                                         : e && e->elem != DataType::kUndefined && e->elem != t.elem ? *e : t));
}

void split_to_sequence(InferenceContext& ctx) {
  const Type& x = ctx.input_type(0);
  if (!x.is_tensor()) return ctx.set_output_type(0, Type::sequence(Type::tensor(DataType::kUndefined)));
  if (!x.shape.has_rank) return ctx.set_output_type(0, Type::sequence(Type::tensor(x.elem)));
  const int64_t r = static_cast<int64_t>(x.shape.rank());
  const int64_t axis = normalize_axis(ctx, ctx.node().get_int("axis", 0), r, "axis");
  std::vector<Dim> dims = x.shape.dims;
  if (!ctx.has_input(1)) {
    if (ctx.node().get_int("keepdims", 1) != 0) dims[static_cast<size_t>(axis)] = Dim(1);
    else dims.erase(dims.begin() + axis);
  } else {
    auto split = input_ints(ctx, 1);
    const Type& st = ctx.input_type(1);
    bool equal_parts = split && !split->empty();
    for (size_t i = 1; equal_parts && i < split->size(); ++i) equal_parts = (*split)[i] == (*split)[0];
    if (split && st.is_tensor() && st.shape.has_rank && st.shape.rank() == 0 && !split->empty()) {
      const Dim& d = dims[static_cast<size_t>(axis)];
      // A scalar split: chunks of that size, the last possibly smaller.
      dims[static_cast<size_t>(axis)] = d.is_constant() && d.value() % (*split)[0] == 0 ? Dim((*split)[0]) : ctx.fresh_dim();
    } else if (equal_parts) {
      dims[static_cast<size_t>(axis)] = Dim((*split)[0]);
    } else {
      dims[static_cast<size_t>(axis)] = ctx.fresh_dim();
    }
  }
  ctx.set_output_type(0, Type::sequence(tensor_type(x.elem, std::move(dims))));
}

void concat_from_sequence(InferenceContext& ctx) {
  const Type* e = inner_of(ctx.input_type(0), Type::Kind::kSequence);
  if (!e || !e->is_tensor()) return ctx.set_output_type(0, Type::tensor(DataType::kUndefined));
  if (!e->shape.has_rank) return ctx.set_output_type(0, Type::tensor(e->elem));
  const bool new_axis = ctx.node().get_int("new_axis", 0) != 0;
  std::vector<Dim> dims = e->shape.dims;
  const int64_t r = static_cast<int64_t>(dims.size()) + (new_axis ? 1 : 0);
  const int64_t axis = normalize_axis(ctx, ctx.node().require_int("axis"), r, "axis");
  if (new_axis) dims.insert(dims.begin() + axis, ctx.fresh_dim());
  else dims[static_cast<size_t>(axis)] = ctx.fresh_dim();
  ctx.set_output_type(0, tensor_type(e->elem, std::move(dims)));
}

void optional(InferenceContext& ctx) {
  if (ctx.has_input(0)) return ctx.set_output_type(0, Type::optional(ctx.input_type(0)));
  const Attribute* a = ctx.node().find_attribute("type");
  if (!a) ctx.fail("without an input, attribute 'type' is required");
  ctx.set_output_type(0, Type::optional(a->tp));
}

void optional_get_element(InferenceContext& ctx) {
  const Type& t = ctx.input_type(0);
  const Type* e = inner_of(t, Type::Kind::kOptional);
  if (e) return ctx.set_output_type(0, *e);
  if (t.kind == Type::Kind::kOptional) return;  // element type unknown
  ctx.set_output_type(0, t);
}

}  // namespace

void register_control_flow() {
  register_inference("", "If", 1, infer_if);
  register_inference("", "Loop", 1, infer_loop);
  register_inference("", "Scan", 8, infer_scan);
  register_inference("", "SequenceMap", 17, infer_sequence_map);
  register_inference("", "SequenceEmpty", 11, [](InferenceContext& c) {
    c.set_output_type(0, Type::sequence(Type::tensor(attr_dtype(c, DataType::kFloat))));
  });
  register_inference("", "SequenceConstruct", 11, sequence_construct);
  register_inference("", "SequenceAt", 11, [](InferenceContext& c) {
    if (const Type* e = inner_of(c.input_type(0), Type::Kind::kSequence)) c.set_output_type(0, *e);
  });
  register_inference("", "SequenceInsert", 11, sequence_insert);
  register_inference("", "SequenceErase", 11, [](InferenceContext& c) { c.set_output_type(0, c.input_type(0)); });
  register_inference("", "SequenceLength", 11, [](InferenceContext& c) {
    c.set_output_type(0, tensor_type(DataType::kInt64, {}));
  });
  register_inference("", "SplitToSequence", 11, split_to_sequence);
  register_inference("", "ConcatFromSequence", 11, concat_from_sequence);
  register_inference("", "Optional", 15, optional);
  register_inference("", "OptionalHasElement", 15, [](InferenceContext& c) {
    c.set_output_type(0, tensor_type(DataType::kBool, {}));
  });
  register_inference("", "OptionalGetElement", 15, optional_get_element);
}

}  // namespace ferry::ir::infer
