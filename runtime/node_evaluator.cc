#include "runtime/node_evaluator.h"

#include "ferry/error.h"
#include "optimizer/patch.h"
#include "runtime/session_impl.h"
#include "runtime/session_state.h"

namespace ferry::runtime {

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
  }
}

}  // namespace ferry::runtime
