// Sequence and optional ops. Sequences and optionals are ferry::Value handles (immutable; a
// changed sequence is a new one sharing its tensors), read with KernelContext::input_value and
// written with set_output_value.
#include "execution_providers/cpu/control_flow/slicing.h"
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {
namespace {

Value sequence_input(const KernelContext& ctx, Value v, size_t i) {
  if (!v.is_sequence())
    throw Error(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " must be a sequence, got " +
                                                 (v.defined() ? v.describe() : std::string("nothing")));
  (void)ctx;
  return v;
}

/// Position in [-n, n] (insert) or [-n, n - 1] (at, erase), made non-negative.
int64_t position(const Tensor& p, int64_t n, bool allow_end) {
  int64_t pos = read_index(p, "position");
  const int64_t hi = allow_end ? n : n - 1;
  if (pos < -n || pos > hi)
    throw Error(ErrorCode::kInvalidArgument, "position " + std::to_string(pos) + " is out of range for a sequence of " +
                                                 std::to_string(n) + " (valid: " + std::to_string(-n) + " to " +
                                                 std::to_string(hi) + ")");
  return pos < 0 ? pos + n : pos;
}

DataType attr_dtype(const KernelInfo& info, DataType dflt) {
  return static_cast<DataType>(info.node().get_int("dtype", static_cast<int64_t>(dflt)));
}

class SequenceEmpty final : public Kernel {
 public:
  explicit SequenceEmpty(const KernelInfo& info) : dtype_(attr_dtype(info, DataType::kFloat)) {}
  void compute(KernelContext& ctx) const override { ctx.set_output_value(0, Value::sequence(dtype_, {})); }

 private:
  DataType dtype_;
};

class SequenceConstruct final : public Kernel {
 public:
  explicit SequenceConstruct(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    std::vector<Value> items;
    const Tensor& first = ctx.required_input(0);
    for (size_t i = 0; i < ctx.input_count(); ++i) {
      const Tensor& t = ctx.required_input(i);
      if (t.dtype() != first.dtype())
        throw Error(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " " + t.describe() +
                                                     " has another element type than input 0 " + first.describe());
      items.emplace_back(t);
    }
    ctx.set_output_value(0, Value::sequence(first.dtype(), std::move(items)));
  }
};

class SequenceAt final : public Kernel {
 public:
  explicit SequenceAt(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    const Value& s = sequence_input(ctx, ctx.input_value(0), 0);
    const auto& items = s.items();
    const int64_t pos = position(ctx.required_input(1), static_cast<int64_t>(items.size()), false);
    ctx.set_output_value(0, items[static_cast<size_t>(pos)]);
  }
};

class SequenceInsert final : public Kernel {
 public:
  explicit SequenceInsert(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    Value s = ctx.input_value(0);
    sequence_input(ctx, s, 0);
    const Tensor& t = ctx.required_input(1);
    std::vector<Value> items = s.items();
    if (s.elem_type() != DataType::kUndefined && t.dtype() != s.elem_type())
      throw Error(ErrorCode::kInvalidArgument, "tensor " + t.describe() + " does not match the sequence's element type " +
                                                   std::string(dtype_name(s.elem_type())));
    const int64_t n = static_cast<int64_t>(items.size());
    const Tensor* p = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const int64_t pos = p ? position(*p, n, true) : n;
    items.insert(items.begin() + pos, Value(t));
    ctx.set_output_value(0, Value::sequence(t.dtype(), std::move(items)));
  }
};

class SequenceErase final : public Kernel {
 public:
  explicit SequenceErase(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    Value s = ctx.input_value(0);
    sequence_input(ctx, s, 0);
    std::vector<Value> items = s.items();
    const int64_t n = static_cast<int64_t>(items.size());
    if (n == 0) throw Error(ErrorCode::kInvalidArgument, "cannot erase from an empty sequence");
    const Tensor* p = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
    const int64_t pos = p ? position(*p, n, false) : n - 1;
    items.erase(items.begin() + pos);
    ctx.set_output_value(0, Value::sequence(s.elem_type(), std::move(items)));
  }
};

class SequenceLength final : public Kernel {
 public:
  explicit SequenceLength(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    const Value& s = sequence_input(ctx, ctx.input_value(0), 0);
    ctx.set_output(0, scalar_int64(static_cast<int64_t>(s.items().size())));
  }
};

class SplitToSequence final : public Kernel {
 public:
  explicit SplitToSequence(const KernelInfo& info)
      : axis_(info.node().get_int("axis", 0)), keepdims_(info.node().get_int("keepdims", 1) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) throw Error(ErrorCode::kInvalidArgument, "input must have rank >= 1, got a scalar");
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    const int64_t dim = x.dim(axis);
    const Tensor* split = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
    std::vector<Value> items;
    if (!split) {
      for (int64_t i = 0; i < dim; ++i) items.emplace_back(slice_axis(x, axis, i, 1, !keepdims_));
    } else if (split->rank() == 0) {
      const int64_t size = read_index(*split, "split");
      if (size <= 0) throw Error(ErrorCode::kInvalidArgument, "split " + std::to_string(size) + " must be > 0");
      for (int64_t at = 0; at < dim; at += size) items.emplace_back(slice_axis(x, axis, at, std::min(size, dim - at), false));
    } else {
      std::vector<int64_t> sizes = read_int_list(*split, ctx, "split");
      int64_t total = 0;
      for (int64_t s : sizes) {
        if (s < 0) throw Error(ErrorCode::kInvalidArgument, "split sizes must be >= 0, got " + std::to_string(s));
        total += s;
      }
      if (total != dim)
        throw Error(ErrorCode::kInvalidArgument, "split sizes add up to " + std::to_string(total) + ", but axis " +
                                                     std::to_string(axis) + " of " + x.describe() + " has " +
                                                     std::to_string(dim));
      int64_t at = 0;
      for (int64_t s : sizes) {
        items.emplace_back(slice_axis(x, axis, at, s, false));
        at += s;
      }
    }
    ctx.set_output_value(0, Value::sequence(x.dtype(), std::move(items)));
  }

 private:
  int64_t axis_;   // default 0
  bool keepdims_;  // default 1; only without `split`
};

class ConcatFromSequence final : public Kernel {
 public:
  explicit ConcatFromSequence(const KernelInfo& info)
      : axis_(info.node().require_int("axis")), new_axis_(info.node().get_int("new_axis", 0) != 0) {}

  void compute(KernelContext& ctx) const override {
    const Value& s = sequence_input(ctx, ctx.input_value(0), 0);
    if (s.items().empty()) throw Error(ErrorCode::kInvalidArgument, "cannot concatenate an empty sequence");
    std::vector<Tensor> parts;
    for (const Value& v : s.items()) parts.push_back(v.tensor());
    const int64_t rank = static_cast<int64_t>(parts[0].rank()) + (new_axis_ ? 1 : 0);
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, rank, ctx.node()));
    ctx.set_output(0, join_axis(parts, axis, new_axis_, parts[0].dtype(), "ConcatFromSequence"));
  }

 private:
  int64_t axis_;   // required
  bool new_axis_;  // default 0
};

/// Body runs once per element of the first (sequence) input; further sequence inputs give their
/// element at the same position, tensor inputs are passed whole. Each body output is gathered
/// into an output sequence.
class SequenceMap final : public Kernel {
 public:
  explicit SequenceMap(const KernelInfo& info) : body_(info.compile_subgraph(info.node().require_graph("body"))) {
    if (body_->input_count() != info.node().inputs().size())
      fail_model(info, "body takes " + std::to_string(body_->input_count()) + " inputs, the node has " +
                           std::to_string(info.node().inputs().size()));
  }

  void compute(KernelContext& ctx) const override {
    std::vector<Value> in;
    for (size_t i = 0; i < ctx.input_count(); ++i) in.push_back(ctx.input_value(i));
    const Value& first = sequence_input(ctx, in[0], 0);
    const size_t n = first.items().size();
    for (size_t i = 1; i < in.size(); ++i)
      if (in[i].is_sequence() && in[i].items().size() != n)
        throw Error(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " has " +
                                                     std::to_string(in[i].items().size()) +
                                                     " elements, input 0 has " + std::to_string(n));
    std::vector<std::vector<Value>> outs(ctx.output_count());
    for (size_t k = 0; k < n; ++k) {
      std::vector<Value> args;
      for (const Value& v : in) args.push_back(v.is_sequence() ? v.items()[k] : v);
      std::vector<Value> res = body_->run(ctx, std::move(args));
      if (res.size() != outs.size())
        throw Error(ErrorCode::kInvalidModel, "body returned " + std::to_string(res.size()) + " outputs, expected " +
                                                  std::to_string(outs.size()));
      for (size_t o = 0; o < res.size(); ++o) outs[o].push_back(std::move(res[o]));
    }
    for (size_t o = 0; o < outs.size(); ++o) {
      DataType dt = DataType::kUndefined;
      if (!outs[o].empty() && outs[o][0].is_tensor()) dt = outs[o][0].tensor().dtype();
      const ir::Value* decl = ctx.node().output(o);
      if (dt == DataType::kUndefined && decl && decl->type().inner) dt = decl->type().inner->elem;
      if (ctx.output_wanted(o)) ctx.set_output_value(o, Value::sequence(dt, std::move(outs[o])));
    }
  }

 private:
  std::shared_ptr<SubgraphRunner> body_;
};

// ---- Optional -------------------------------------------------------------------------------

class Optional final : public Kernel {
 public:
  explicit Optional(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    Value v = ctx.input_count() > 0 ? ctx.input_value(0) : Value();
    ctx.set_output_value(0, v.defined() ? Value::optional(std::move(v)) : Value::none());
  }
};

/// Opset 15: the input is an optional. 18+: it may also be a tensor or sequence (present) or
/// omitted (absent).
class OptionalHasElement final : public Kernel {
 public:
  explicit OptionalHasElement(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    Value v = ctx.input_count() > 0 ? ctx.input_value(0) : Value();
    const bool has = v.is_optional() ? v.has_element() : v.defined();
    ctx.set_output(0, scalar_bool(has));
  }
};

class OptionalGetElement final : public Kernel {
 public:
  explicit OptionalGetElement(const KernelInfo&) {}
  void compute(KernelContext& ctx) const override {
    Value v = ctx.input_value(0);
    if (v.is_optional()) {
      if (!v.has_element()) throw Error(ErrorCode::kInvalidArgument, "the optional input is empty");
      v = v.element();
    }
    if (!v.defined()) throw Error(ErrorCode::kInvalidArgument, "input 0 is missing");
    ctx.set_output_value(0, std::move(v));
  }
};

}  // namespace

void register_sequence_kernels(KernelRegistry& r) {
  r.add("SequenceEmpty", {11}, make_kernel<SequenceEmpty>);
  r.add("SequenceConstruct", {11}, make_kernel<SequenceConstruct>);
  r.add("SequenceAt", {11}, make_kernel<SequenceAt>);
  r.add("SequenceInsert", {11}, make_kernel<SequenceInsert>);
  r.add("SequenceErase", {11}, make_kernel<SequenceErase>);
  r.add("SequenceLength", {11}, make_kernel<SequenceLength>);
  r.add("SplitToSequence", {11, 24}, make_kernel<SplitToSequence>);
  r.add("ConcatFromSequence", {11}, make_kernel<ConcatFromSequence>);
  r.add("SequenceMap", {17}, make_kernel<SequenceMap>);
  r.add("Optional", {15, 28}, make_kernel<Optional>);
  r.add("OptionalHasElement", {15, 18, 28}, make_kernel<OptionalHasElement>);
  r.add("OptionalGetElement", {15, 18, 28}, make_kernel<OptionalGetElement>);
}

}  // namespace ferry::ep::cpu
