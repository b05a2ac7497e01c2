#include "runtime/node_evaluator.h"

#include <exception>

#include "execution_providers/kernel.h"
#include "ferry/error.h"
#include "ir/shape_inference.h"
#include "optimizer/patch.h"
#include "runtime/providers.h"
#include "runtime/session_impl.h"
#include "runtime/session_state.h"
#include "runtime/thread_pool.h"

namespace ferry::runtime {

namespace {

/// The context of one folded node: its constant inputs, and outputs it owns.
class FoldingContext final : public ep::KernelContext {
 public:
  FoldingContext(const ir::Node& node, std::vector<const Tensor*> inputs, const ThreadPool& pool)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs().size()), pool_(pool) {}

  const ir::Node& node() const override { return node_; }
  size_t input_count() const override { return node_.inputs().size(); }
  const Tensor* input(size_t i) const override { return i < inputs_.size() ? inputs_[i] : nullptr; }
  size_t output_count() const override { return outputs_.size(); }
  bool output_wanted(size_t i) const override { return node_.output(i) != nullptr; }
  Tensor& allocate_output(size_t i, DataType dtype, std::vector<int64_t> shape) override {
    Tensor& out = slot(i);
    out = Tensor::empty(dtype, std::move(shape));
    return out;
  }
  // Results become initializers of their own: never share an input's storage.
  Tensor& alias_output(size_t i, const Tensor& source, std::vector<int64_t> shape) override {
    Tensor& out = slot(i);
    out = source.clone().reshaped(std::move(shape));
    return out;
  }
  void set_output(size_t i, Tensor value) override { slot(i) = value.clone(); }
  const ThreadPool& thread_pool() const override { return pool_; }

  std::vector<Tensor>& outputs() { return outputs_; }

 private:
  Tensor& slot(size_t i) {
    if (i >= outputs_.size())
      throw Error(ErrorCode::kRuntime, node_.describe() + ": output " + std::to_string(i) + " of " +
                                           std::to_string(outputs_.size()));
    return outputs_[i];
  }
  const ir::Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor> outputs_;
  const ThreadPool& pool_;
};

/// Runs `node` (of a one-node model whose inputs are initializers) with the kernel a session
/// would pick; std::nullopt when no provider has a kernel for it (the session path then expands
/// its function body).
std::optional<std::vector<Tensor>> run_with_kernel(const ir::Model& model, const ir::Node& node) {
  const int64_t opset = model.opset(node.domain());
  ep::ExecutionProvider* provider = nullptr;
  const ep::KernelDef* def = nullptr;
  for (const std::string& name : provider_names()) {
    ep::ExecutionProvider* p = find_provider(name);
    if (!p || !p->can_run(node, opset)) continue;
    if ((def = p->registry().find(node, opset))) {
      provider = p;
      break;
    }
  }
  if (!def) return std::nullopt;
  const ScopedThreadCount one_thread(1);  // folding runs inline, oneDNN's primitives too
  std::unique_ptr<ep::Kernel> kernel = def->factory(ep::KernelInfo(node, opset, *provider));
  if (!kernel) return std::nullopt;
  std::vector<const Tensor*> inputs;
  for (const ir::Value* in : node.inputs()) inputs.push_back(in ? &in->initializer() : nullptr);
  static const ThreadPool pool(1);  // one thread: runs inline, shared safely
  FoldingContext ctx(node, std::move(inputs), pool);
  kernel->compute(ctx);
  return std::move(ctx.outputs());
}

}  // namespace

std::optional<std::vector<Tensor>> evaluate_node(const ir::Node& node,
                                                 const std::map<std::string, int64_t>& opset_imports,
                                                 const std::vector<const Tensor*>& inputs) {
  if (optimizer::has_subgraph(node)) return std::nullopt;
  auto model = std::make_unique<ir::Model>();
  model->opset_imports = opset_imports;
  model->source = "<constant folding of " + node.describe() + ">";
  ir::Graph& g = model->graph();
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < node.inputs().size(); ++i) {
    if (!node.input(i)) {
      ins.push_back(nullptr);
      continue;
    }
    if (i >= inputs.size() || !inputs[i]) return std::nullopt;
    ins.push_back(g.add_initializer("in" + std::to_string(i), *inputs[i]));
  }
  std::vector<std::string> outs;
  for (size_t k = 0; k < node.outputs().size(); ++k) outs.push_back(node.output(k) ? "out" + std::to_string(k) : "");
  ir::Node* copy = g.add_node(node.op_type(), ins, outs, node.domain(), node.name());
  for (const ir::Attribute& a : node.attributes()) copy->set_attribute(a.clone());
  std::vector<std::string> wanted;
  for (ir::Value* v : copy->outputs())
    if (v) {
      g.add_output(v);
      wanted.push_back(v->name());
    }
  try {
    // What a one-node session would do, without building one (no plan, executor or pool): the
    // same inference of the copy's types, the same kernel, the same compute.
    ir::infer_shapes(*model);
    if (std::optional<std::vector<Tensor>> direct = run_with_kernel(*model, *copy)) {
      for (size_t k = 0; k < direct->size(); ++k)
        if (node.output(k) && !(*direct)[k].defined()) return std::nullopt;
      return direct;
    }
    // No kernel: a session expands the node's function body and runs that.
    SessionOptions options;
    options.graph_optimization_level = GraphOptimizationLevel::kDisabled;
    options.intra_op_num_threads = 1;
    options.max_cached_plans = 1;
    std::unique_ptr<SessionImpl> session = create_session_impl(std::move(model), options);
    std::vector<Tensor> got = session->run_tensors({}, wanted);
    std::vector<Tensor> result;
    size_t next = 0;
    for (size_t k = 0; k < node.outputs().size(); ++k) result.push_back(node.output(k) ? got[next++].clone() : Tensor());
    return result;
  } catch (const Error&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace ferry::runtime
