#include "runtime/subgraph.h"

#include <algorithm>

#include "runtime/executor.h"
#include "runtime/providers.h"
#include "runtime/session_state.h"

namespace ferry::runtime {

namespace {

class CompiledSubgraph final : public ep::SubgraphRunner {
 public:
  CompiledSubgraph(const ir::Graph& graph, const SubgraphOptions& options)
      : graph_(graph), plans_(options.max_cached_plans) {
    source_ = "subgraph '" + graph.name() + "'";
    exec_ = ExecGraph::build(graph, *options.model);
    ep::SubgraphCompiler nested = make_subgraph_compiler(options);
    ep::ExecutionProvider* cpu = find_provider("CPUExecutionProvider");
    for (ExecNode& en : exec_.nodes) {
      const ep::KernelDef* def = nullptr;
      for (ep::ExecutionProvider* p : options.providers) {
        if (!p->can_run(*en.node, en.opset)) continue;
        if ((def = p->registry().find(*en.node, en.opset))) {
          en.provider = p;
          break;
        }
      }
      if (!def && options.allow_cpu_fallback && cpu && cpu->can_run(*en.node, en.opset)) {
        def = cpu->registry().find(*en.node, en.opset);
        en.provider = cpu;
      }
      if (!def)
        throw Error(ErrorCode::kNotImplemented,
                    source_ + ": " + en.label + ": no kernel for this op/opset/types in the session's providers");
      try {
        ep::KernelInfo info(*en.node, en.opset, *en.provider, nested);
        info.set_config_entries(&options.config_entries);
        kernels_.push_back(def->factory(info));
      } catch (const Error& e) {
        throw Error(e.code(), source_ + ": " + en.label + ": " + e.what());
      } catch (const std::exception& e) {
        throw Error(ErrorCode::kRuntime, source_ + ": " + en.label + ": " + e.what());
      }
      if (!kernels_.back())
        throw Error(ErrorCode::kRuntime, source_ + ": " + en.label + ": the kernel factory returned nothing");
      en.kernel = kernels_.back().get();
      en.in_place_inputs = def->in_place_inputs;
      en.output_is_view = def->output_is_view;
    }
    for (size_t id = 0; id < exec_.values.size(); ++id)
      if (exec_.values[id].kind == ValueKind::kInitializer && exec_.values[id].value->is_initializer())
        constants_.emplace_back(static_cast<int>(id), exec_.values[id].value->initializer());
  }

  const ir::Graph& graph() const override { return graph_; }

  std::vector<Value> run(const ep::KernelContext& ctx, std::vector<Value> inputs) const override {
    if (inputs.size() != exec_.graph_inputs.size())
      throw Error(ErrorCode::kInvalidModel, source_ + " takes " + std::to_string(exec_.graph_inputs.size()) +
                                                " inputs, " + std::to_string(inputs.size()) + " given");
    std::vector<std::pair<int, Value>> feeds;
    feeds.reserve(inputs.size() + exec_.outer_inputs.size());
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!inputs[k].defined())
        throw Error(ErrorCode::kRuntime, source_ + ": input " + std::to_string(k) + " ('" +
                                             exec_.values[exec_.graph_inputs[k]].value->name() + "') is undefined");
      feeds.emplace_back(exec_.graph_inputs[k], std::move(inputs[k]));
    }
    for (int id : exec_.outer_inputs) feeds.emplace_back(id, ctx.outer_value(*exec_.values[id].value));

    // Symbols bound from the fed tensors' shapes, leniently: a body's declared shapes may be
    // narrower than what a loop feeds; a plan that misjudges a shape only costs an allocation
    // (kernels get the arena slot only for exactly the planned shape).
    ir::SymbolBindings bindings;
    std::string signature;
    for (const auto& [id, v] : feeds) {
      if (!v.is_tensor()) {
        signature += "v;";
        continue;
      }
      const std::vector<int64_t>& shape = v.tensor().shape();
      signature += shape_to_string(shape) + ";";
      const ir::Type& t = exec_.values[id].value->type();
      if (!t.is_tensor() || !t.shape.has_rank || t.shape.rank() != shape.size()) continue;
      for (size_t d = 0; d < shape.size(); ++d) {
        std::string sym = t.shape.dims[d].symbol_name();
        if (!sym.empty()) bindings.emplace(sym, shape[d]);
      }
    }
    auto plan = plans_.get_or_build(signature, [&] { return plan_memory(exec_, bindings); });
    return execute(exec_, plan->plan, &plan->arenas, constants_, feeds, exec_.graph_outputs,
                   ctx.thread_pool(), source_);
  }

 private:
  const ir::Graph& graph_;
  std::string source_;
  ExecGraph exec_;
  std::vector<std::unique_ptr<ep::Kernel>> kernels_;
  std::vector<std::pair<int, Tensor>> constants_;
  mutable PlanCache plans_;
};

}  // namespace

ep::SubgraphCompiler make_subgraph_compiler(SubgraphOptions options) {
  return [options](const ir::Graph& graph) -> std::shared_ptr<ep::SubgraphRunner> {
    return std::make_shared<CompiledSubgraph>(graph, options);
  };
}

}  // namespace ferry::runtime
