// If, Loop and Scan: kernels that run subgraphs. Each body is compiled once in the factory
// (KernelInfo::compile_subgraph); compute() runs it with the current values, keeping all
// iteration state on its own stack.
#include "execution_providers/cpu/control_flow/slicing.h"
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {
namespace {

bool read_bool(const Tensor& t, const char* what) {
  if (t.dtype() != DataType::kBool || t.element_count() != 1)
    throw Error(ErrorCode::kInvalidArgument, std::string(what) + " must be a single bool, got " + t.describe());
  return *t.data<bool>();
}

void check_output_count(const std::vector<Value>& outs, size_t want, const std::string& body) {
  if (outs.size() != want)
    throw Error(ErrorCode::kInvalidModel, body + " returned " + std::to_string(outs.size()) + " outputs, expected " +
                                              std::to_string(want));
}

const Tensor& as_tensor(const Value& v, const std::string& what) {
  if (!v.is_tensor()) throw Error(ErrorCode::kInvalidArgument, what + " must be a tensor, got " + v.describe());
  return v.tensor();
}

/// Stacks per-iteration tensors along a new axis; with none, an empty tensor: 0 along that axis
/// and the body output's declared dims elsewhere (unknown ones 0).
Tensor stack_or_empty(const std::vector<Tensor>& parts, size_t axis, const ir::Value* declared,
                      const std::string& what) {
  if (!parts.empty()) return join_axis(parts, axis, /*new_axis=*/true, parts[0].dtype(), what);
  DataType dt = declared && declared->type().is_tensor() ? declared->dtype() : DataType::kFloat;
  if (dt == DataType::kUndefined) dt = DataType::kFloat;
  std::vector<int64_t> shape;
  if (declared && declared->type().is_tensor() && declared->shape().has_rank)
    for (const ir::Dim& d : declared->shape().dims) shape.push_back(d.is_constant() ? d.value() : 0);
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(std::min(axis, shape.size())), 0);
  return Tensor::empty(dt, shape);
}

// ---- If -------------------------------------------------------------------------------------

class If final : public Kernel {
 public:
  explicit If(const KernelInfo& info)
      : then_(info.compile_subgraph(info.node().require_graph("then_branch"))),
        else_(info.compile_subgraph(info.node().require_graph("else_branch"))) {}

  void compute(KernelContext& ctx) const override {
    const bool cond = read_bool(ctx.required_input(0), "cond");
    const SubgraphRunner& branch = cond ? *then_ : *else_;
    std::vector<Value> outs = branch.run(ctx, {});
    check_output_count(outs, ctx.output_count(), cond ? "then_branch" : "else_branch");
    for (size_t i = 0; i < outs.size(); ++i)
      if (ctx.output_wanted(i)) ctx.set_output_value(i, std::move(outs[i]));
  }

 private:
  std::shared_ptr<SubgraphRunner> then_, else_;
};

// ---- Loop -----------------------------------------------------------------------------------

/// Body: (iteration_num, condition, carried...) -> (condition, carried..., scan outputs...).
/// Scan outputs are stacked along a new axis 0; every iteration must give the same shape.
class Loop final : public Kernel {
 public:
  explicit Loop(const KernelInfo& info) : body_(info.compile_subgraph(info.node().require_graph("body"))) {
    const size_t inputs = info.node().inputs().size();
    carried_ = inputs > 2 ? inputs - 2 : 0;
    if (body_->input_count() != carried_ + 2)
      fail_model(info, "body takes " + std::to_string(body_->input_count()) + " inputs, expected " +
                           std::to_string(carried_ + 2) + " (iteration number, condition and " +
                           std::to_string(carried_) + " loop-carried values)");
    if (body_->output_count() < carried_ + 1)
      fail_model(info, "body returns " + std::to_string(body_->output_count()) + " outputs, expected at least " +
                           std::to_string(carried_ + 1));
    scans_ = body_->output_count() - 1 - carried_;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor* m = ctx.input(0);
    const Tensor* c = ctx.input_count() > 1 ? ctx.input(1) : nullptr;
    const int64_t max_trips = m ? read_index(*m, "M (maximum trip count)") : INT64_MAX;
    bool cond = c ? read_bool(*c, "cond") : true;
    std::vector<Value> carried(carried_);
    for (size_t k = 0; k < carried_; ++k) {
      carried[k] = ctx.input_value(2 + k);
      if (!carried[k].defined())
        throw Error(ErrorCode::kInvalidArgument, "loop-carried input " + std::to_string(2 + k) + " is missing");
    }
    std::vector<std::vector<Tensor>> scans(scans_);
    for (int64_t it = 0; it < max_trips && cond; ++it) {
      std::vector<Value> in;
      in.reserve(carried_ + 2);
      in.emplace_back(scalar_int64(it));
      in.emplace_back(scalar_bool(cond));
      for (Value& v : carried) in.push_back(std::move(v));
      std::vector<Value> outs = body_->run(ctx, std::move(in));
      check_output_count(outs, 1 + carried_ + scans_, "body");
      cond = read_bool(as_tensor(outs[0], "the body's condition output"), "the body's condition output");
      for (size_t k = 0; k < carried_; ++k) carried[k] = std::move(outs[1 + k]);
      for (size_t k = 0; k < scans_; ++k) {
        const Tensor& t = as_tensor(outs[1 + carried_ + k], "scan output " + std::to_string(k));
        if (!scans[k].empty() && t.shape() != scans[k][0].shape())
          throw Error(ErrorCode::kInvalidArgument,
                      "scan output " + std::to_string(k) + " has shape " + shape_to_string(t.shape()) +
                          " in iteration " + std::to_string(it) + " but " + shape_to_string(scans[k][0].shape()) +
                          " in iteration 0; scan outputs must keep their shape");
        scans[k].push_back(t);
      }
    }
    for (size_t k = 0; k < carried_; ++k)
      if (ctx.output_wanted(k)) ctx.set_output_value(k, std::move(carried[k]));
    for (size_t k = 0; k < scans_; ++k) {
      if (!ctx.output_wanted(carried_ + k)) continue;
      const ir::Value* decl = body_->graph().outputs()[1 + carried_ + k];
      ctx.set_output(carried_ + k, stack_or_empty(scans[k], 0, decl, "scan output " + std::to_string(k)));
    }
  }

 private:
  std::shared_ptr<SubgraphRunner> body_;
  size_t carried_ = 0, scans_ = 0;
};

// ---- Scan -----------------------------------------------------------------------------------

struct ScanAttributes {
  int64_t num_scan_inputs = 0;             // required
  std::vector<int64_t> input_axes;         // scan_input_axes, default 0 each
  std::vector<int64_t> input_directions;   // scan_input_directions (opset 8: directions), 0 each
  std::vector<int64_t> output_axes;        // scan_output_axes, default 0 each
  std::vector<int64_t> output_directions;  // scan_output_directions, 0 each
};

/// One scan over states and scan inputs (without a batch axis). Returns final states followed
/// by scan outputs.
std::vector<Value> run_scan(const KernelContext& ctx, const SubgraphRunner& body, const ScanAttributes& a,
                            std::vector<Value> states, const std::vector<Tensor>& xs, int64_t seq_len,
                            size_t scan_outputs) {
  const size_t n = states.size();
  std::vector<std::vector<Tensor>> outs(scan_outputs);
  for (int64_t t = 0; t < seq_len; ++t) {
    std::vector<Value> in = std::move(states);
    for (size_t i = 0; i < xs.size(); ++i) {
      const int64_t at = a.input_directions[i] ? seq_len - 1 - t : t;
      in.emplace_back(slice_axis(xs[i], static_cast<size_t>(a.input_axes[i]), at, 1, true));
    }
    std::vector<Value> res = body.run(ctx, std::move(in));
    check_output_count(res, n + scan_outputs, "body");
    states.assign(res.begin(), res.begin() + static_cast<std::ptrdiff_t>(n));
    for (size_t k = 0; k < scan_outputs; ++k) {
      const Tensor& y = as_tensor(res[n + k], "scan output " + std::to_string(k));
      if (!outs[k].empty() && y.shape() != outs[k][0].shape())
        throw Error(ErrorCode::kInvalidArgument, "scan output " + std::to_string(k) + " changes shape from " +
                                                     shape_to_string(outs[k][0].shape()) + " to " +
                                                     shape_to_string(y.shape()));
      outs[k].push_back(y);
    }
  }
  std::vector<Value> result = std::move(states);
  for (size_t k = 0; k < scan_outputs; ++k) {
    if (a.output_directions[k]) std::reverse(outs[k].begin(), outs[k].end());
    const ir::Value* decl = body.graph().outputs()[n + k];
    if (outs[k].empty()) {
      int64_t axis = a.output_axes[k];
      const int64_t rank = decl && decl->type().is_tensor() && decl->shape().has_rank
                               ? static_cast<int64_t>(decl->shape().rank()) + 1 : 1;
      if (axis < 0) axis += rank;
      result.emplace_back(stack_or_empty({}, static_cast<size_t>(std::clamp<int64_t>(axis, 0, rank - 1)), decl,
                                         "scan output"));
      continue;
    }
    const int64_t rank = static_cast<int64_t>(outs[k][0].rank()) + 1;
    int64_t axis = a.output_axes[k];
    if (axis < -rank || axis >= rank)
      throw Error(ErrorCode::kInvalidModel, "scan_output_axes[" + std::to_string(k) + "] = " + std::to_string(axis) +
                                                " is out of range for rank " + std::to_string(rank));
    if (axis < 0) axis += rank;
    result.emplace_back(join_axis(outs[k], static_cast<size_t>(axis), true, outs[k][0].dtype(),
                                  "scan output " + std::to_string(k)));
  }
  return result;
}

class Scan final : public Kernel {
 public:
  explicit Scan(const KernelInfo& info)
      : body_(info.compile_subgraph(info.node().require_graph("body"))), opset8_(info.opset() < 9) {
    const ir::Node& node = info.node();
    a_.num_scan_inputs = node.require_int("num_scan_inputs");
    const int64_t first = opset8_ ? 1 : 0;  // opset 8: input 0 is sequence_lens
    const int64_t inputs = static_cast<int64_t>(node.inputs().size()) - first;
    if (a_.num_scan_inputs < 1 || a_.num_scan_inputs > inputs)
      fail_model(info, "num_scan_inputs " + std::to_string(a_.num_scan_inputs) + " must be in [1, " +
                           std::to_string(inputs) + "]");
    states_ = static_cast<size_t>(inputs - a_.num_scan_inputs);
    const size_t m = static_cast<size_t>(a_.num_scan_inputs);
    if (body_->input_count() != states_ + m)
      fail_model(info, "body takes " + std::to_string(body_->input_count()) + " inputs, expected " +
                           std::to_string(states_ + m));
    if (body_->output_count() < states_)
      fail_model(info, "body returns fewer outputs than there are states");
    scan_outputs_ = body_->output_count() - states_;
    a_.input_axes = node.get_ints("scan_input_axes", std::vector<int64_t>(m, 0));
    a_.input_directions = node.get_ints(opset8_ ? "directions" : "scan_input_directions", std::vector<int64_t>(m, 0));
    a_.output_axes = node.get_ints("scan_output_axes", std::vector<int64_t>(scan_outputs_, 0));
    a_.output_directions = node.get_ints("scan_output_directions", std::vector<int64_t>(scan_outputs_, 0));
    if (a_.input_axes.size() != m || a_.input_directions.size() != m)
      fail_model(info, "scan input axes/directions must have num_scan_inputs (" + std::to_string(m) + ") entries");
    if (a_.output_axes.size() != scan_outputs_ || a_.output_directions.size() != scan_outputs_)
      fail_model(info, "scan output axes/directions must have one entry per scan output (" +
                           std::to_string(scan_outputs_) + ")");
  }

  void compute(KernelContext& ctx) const override {
    if (opset8_) return compute_batched(ctx);
    std::vector<Value> states;
    for (size_t i = 0; i < states_; ++i) states.emplace_back(ctx.required_input(i));
    std::vector<Tensor> xs;
    ScanAttributes a = a_;
    int64_t seq_len = -1;
    for (size_t i = 0; i < a.input_axes.size(); ++i) {
      const Tensor& x = ctx.required_input(states_ + i);
      const int64_t r = static_cast<int64_t>(x.rank());
      if (a.input_axes[i] < -r || a.input_axes[i] >= r)
        throw Error(ErrorCode::kInvalidArgument, "scan_input_axes[" + std::to_string(i) + "] = " +
                                                     std::to_string(a.input_axes[i]) + " is out of range for scan input " +
                                                     x.describe());
      if (a.input_axes[i] < 0) a.input_axes[i] += r;
      const int64_t len = x.dim(static_cast<size_t>(a.input_axes[i]));
      if (seq_len >= 0 && len != seq_len)
        throw Error(ErrorCode::kInvalidArgument, "scan inputs disagree on the sequence length: " +
                                                     std::to_string(seq_len) + " vs " + std::to_string(len));
      seq_len = len;
      xs.push_back(x);
    }
    std::vector<Value> res = run_scan(ctx, *body_, a, std::move(states), xs, seq_len, scan_outputs_);
    for (size_t k = 0; k < res.size(); ++k)
      if (ctx.output_wanted(k)) ctx.set_output_value(k, std::move(res[k]));
  }

 private:
  // Opset 8: axis 0 of every state and scan input is a batch; scan inputs are [batch, seq, ...];
  // sequence_lens (input 0, optional) gives each batch entry's length (scan outputs past it are 0).
  void compute_batched(KernelContext& ctx) const {
    std::vector<Tensor> states, xs;
    for (size_t i = 0; i < states_; ++i) states.push_back(ctx.required_input(1 + i));
    for (size_t i = 0; i < a_.input_axes.size(); ++i) xs.push_back(ctx.required_input(1 + states_ + i));
    const Tensor& x0 = xs[0];
    if (x0.rank() < 2)
      throw Error(ErrorCode::kInvalidArgument, "scan inputs must be [batch, sequence, ...], got " + x0.describe());
    const int64_t batch = x0.dim(0), max_len = x0.dim(1);
    for (const Tensor& t : states)
      if (t.rank() < 1 || t.dim(0) != batch)
        throw Error(ErrorCode::kInvalidArgument, "state " + t.describe() + " must have batch size " + std::to_string(batch));
    for (const Tensor& t : xs)
      if (t.rank() < 2 || t.dim(0) != batch || t.dim(1) != max_len)
        throw Error(ErrorCode::kInvalidArgument, "scan input " + t.describe() + " must be [" + std::to_string(batch) +
                                                     "," + std::to_string(max_len) + ",...]");
    std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
    if (const Tensor* sl = ctx.input(0)) {
      std::vector<int64_t> v = read_int_list(*sl, ctx, "sequence_lens");
      if (static_cast<int64_t>(v.size()) != batch)
        throw Error(ErrorCode::kInvalidArgument, "sequence_lens " + sl->describe() + " must have " +
                                                     std::to_string(batch) + " entries");
      for (size_t b = 0; b < v.size(); ++b) {
        if (v[b] < 0 || v[b] > max_len)
          throw Error(ErrorCode::kInvalidArgument, "sequence_lens[" + std::to_string(b) + "] = " + std::to_string(v[b]) +
                                                       " is outside [0, " + std::to_string(max_len) + "]");
        lens[b] = v[b];
      }
    }
    std::vector<std::vector<Tensor>> per_output(states_ + scan_outputs_);
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Value> st;
      for (const Tensor& t : states) st.emplace_back(slice_axis(t, 0, b, 1, true));
      std::vector<Tensor> xb;
      for (const Tensor& t : xs) xb.push_back(slice_axis(slice_axis(t, 0, b, 1, true), 0, 0, lens[b], false));
      std::vector<Value> res = run_scan(ctx, *body_, a_, std::move(st), xb, lens[b], scan_outputs_);
      for (size_t k = 0; k < res.size(); ++k) {
        Tensor y = as_tensor(res[k], "output " + std::to_string(k));
        if (k >= states_ && lens[b] < max_len) {  // pad the scan output to max_len with zeros
          std::vector<int64_t> s = y.shape();
          s[0] = max_len;
          Tensor padded = Tensor::zeros(y.dtype(), s);
          copy_span(y, 0, padded, 0, y.element_count());
          y = std::move(padded);
        }
        per_output[k].push_back(std::move(y));
      }
    }
    for (size_t k = 0; k < per_output.size(); ++k) {
      if (!ctx.output_wanted(k)) continue;
      if (per_output[k].empty()) {
        ctx.set_output(k, Tensor::empty(DataType::kFloat, {0}));
        continue;
      }
      ctx.set_output(k, join_axis(per_output[k], 0, true, per_output[k][0].dtype(), "output " + std::to_string(k)));
    }
  }

  std::shared_ptr<SubgraphRunner> body_;
  bool opset8_;
  ScanAttributes a_;
  size_t states_ = 0, scan_outputs_ = 0;
};

}  // namespace

void register_control_flow_kernels(KernelRegistry& r) {
  r.add("If", {1, 11, 13, 16, 19, 21, 23, 24, 25}, make_kernel<If>);
  r.add("Loop", {1, 11, 13, 16, 19, 21, 23, 24, 25}, make_kernel<Loop>);
  r.add("Scan", {8, 9, 11, 16, 19, 21, 23, 24, 25}, make_kernel<Scan>);
}

}  // namespace ferry::ep::cpu
