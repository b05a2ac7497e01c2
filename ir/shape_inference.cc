#include "ir/shape_inference.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ir/infer/common.h"

namespace ferry::ir {

namespace {

struct Registry {
  // (domain, op) -> since_version -> function
  std::map<std::pair<std::string, std::string>, std::map<int, InferFunction>> fns;
};

Registry& registry() {
  static Registry r;
  return r;
}

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] {
    infer::register_elementwise();
    infer::register_nn();
    infer::register_tensor();
    infer::register_control_flow();
    infer::register_elementwise_ext();
    infer::register_reduce();
    infer::register_nn_ext();
    infer::register_rnn();
    infer::register_quantization();
    infer::register_tensor_ext();
    infer::register_attention();
    infer::register_attention_ext();
    infer::register_assorted();
    infer::register_ml_training_random();
    infer::register_text();
    infer::register_signal();
    infer::register_ferry_fusion();
    infer::register_ferry_norm();
    infer::register_ferry_attention();
    infer::register_ferry_layout();
  });
}

const InferFunction* find_inference(const std::string& domain, const std::string& op, int64_t opset) {
  ensure_registered();
  auto it = registry().fns.find({domain == "ai.onnx" ? std::string() : domain, op});
  if (it == registry().fns.end()) return nullptr;
  const InferFunction* best = nullptr;
  for (const auto& [since, fn] : it->second)
    if (since <= opset) best = &fn;
  return best;
}

const Type& unknown_type() {
  static const Type t;
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// InferenceContext. `known_values` holds the node's inputs first, then its outputs.

InferenceContext::InferenceContext(Node& node, int64_t opset, SymbolFactory& symbols,
                                   std::vector<std::optional<std::vector<Dim>>>& known_values)
    : node_(node), opset_(opset), symbols_(symbols), known_values_(known_values) {
  known_values_.resize(node.inputs().size() + node.outputs().size());
}

const Type& InferenceContext::input_type(size_t i) const {
  const Value* v = node_.input(i);
  return v ? v->type() : unknown_type();
}

const Tensor* InferenceContext::constant_input(size_t i) const {
  const Value* v = node_.input(i);
  return v && v->is_initializer() ? &v->initializer() : nullptr;
}

std::optional<std::vector<Dim>> InferenceContext::input_value(size_t i) const {
  auto v = input_partial_value(i);
  if (v && std::any_of(v->begin(), v->end(), infer::is_unknown_element)) return std::nullopt;
  return v;
}

std::optional<std::vector<Dim>> InferenceContext::input_partial_value(size_t i) const {
  if (i < node_.inputs().size() && known_values_[i]) return known_values_[i];
  const Tensor* t = constant_input(i);
  if (!t || t->rank() > 1 || t->element_count() > infer::kMaxTrackedElements) return std::nullopt;
  std::vector<Dim> out;
  if (t->dtype() == DataType::kInt64) {
    for (int64_t x : t->span<int64_t>()) out.push_back(infer::int_dim(x));
  } else if (t->dtype() == DataType::kInt32) {
    for (int32_t x : t->span<int32_t>()) out.push_back(infer::int_dim(x));
  } else {
    return std::nullopt;
  }
  return out;
}

void InferenceContext::set_output_type(size_t i, Type t) {
  if (Value* v = node_.output(i)) v->set_type(std::move(t));
}

void InferenceContext::set_output_value(size_t i, std::vector<Dim> v) {
  if (i < node_.outputs().size() && static_cast<int64_t>(v.size()) <= infer::kMaxTrackedElements)
    known_values_[node_.inputs().size() + i] = std::move(v);
}

std::vector<Type> InferenceContext::infer_subgraph(const Graph& graph, const std::vector<Type>& inputs) {
  if (subgraphs_) return subgraphs_(graph, inputs);
  std::vector<Type> out;
  for (const Value* v : graph.outputs()) out.push_back(v ? v->type() : Type());
  return out;
}

void InferenceContext::fail(const std::string& what) const {
  std::string who = node_.describe();
  if (!who.empty() && who.back() == ')') who.insert(who.size() - 1, ", opset " + std::to_string(opset_));
  throw Error(ErrorCode::kInvalidModel, who + ": " + what);
}

void register_inference(const std::string& domain, const std::string& op, int since_version, InferFunction fn) {
  registry().fns[{domain == "ai.onnx" ? std::string() : domain, op}][since_version] = std::move(fn);
}

bool has_inference(const std::string& domain, const std::string& op, int64_t opset) {
  return find_inference(domain, op, opset) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// Walking the model

namespace {

void reserve_type_symbols(const Type& t, SymbolFactory& symbols) {
  for (const Dim& d : t.shape.dims)
    if (d.is_symbolic()) symbols.reserve(d.symbol_name());
  if (t.inner) reserve_type_symbols(*t.inner, symbols);
}

void reserve_graph_symbols(const Graph& g, SymbolFactory& symbols) {
  g.for_each_value([&](const Value* v) { reserve_type_symbols(v->type(), symbols); });
  for (const Graph* sg : g.direct_subgraphs()) reserve_graph_symbols(*sg, symbols);
}

struct Walker {
  Model& model;
  const InferenceOptions& options;
  SymbolFactory symbols;
  std::unordered_map<const Value*, std::vector<Dim>> values;

  [[noreturn]] void conflict(const Node& node, const Value& v, const Type& declared, const Type& inferred) {
    std::string who = node.describe();
    const int64_t opset = model.opset(node.domain());
    if (!who.empty() && who.back() == ')') who.insert(who.size() - 1, ", opset " + std::to_string(opset));
    throw Error(ErrorCode::kInvalidModel, who + ": output '" + v.name() + "' is declared as " +
                                              describe(declared) + " but inference gives " + describe(inferred));
  }

  static std::string describe(const Type& t) {
    if (t.kind == Type::Kind::kTensor) return std::string(dtype_name(t.elem)) + t.shape.to_string();
    return t.to_string();
  }

  // Declared (d) and inferred (i) types combined; nullopt on a conflict.
  static std::optional<Type> merge(const Type& d, const Type& i) {
    if (d.kind == Type::Kind::kUnknown) return i;
    if (i.kind == Type::Kind::kUnknown) return d;
    if (d.kind != i.kind) return std::nullopt;
    Type out = d;
    if (d.kind == Type::Kind::kTensor || d.kind == Type::Kind::kSparseTensor || d.kind == Type::Kind::kMap) {
      if (d.elem == DataType::kUndefined) out.elem = i.elem;
      else if (i.elem != DataType::kUndefined && i.elem != d.elem) return std::nullopt;
    }
    if (d.kind == Type::Kind::kTensor || d.kind == Type::Kind::kSparseTensor) {
      if (!d.shape.has_rank) {
        out.shape = i.shape;
      } else if (i.shape.has_rank) {
        if (i.shape.rank() != d.shape.rank()) return std::nullopt;
        for (size_t k = 0; k < d.shape.rank(); ++k) {
          const Dim& dd = d.shape.dims[k];
          const Dim& id = i.shape.dims[k];
          if (dd.is_constant()) {
            if (id.is_constant() && id.value() != dd.value()) return std::nullopt;
          } else if (id.is_constant()) {
            out.shape.dims[k] = id;  // a concrete inferred size is more specific than a name
          }
        }
      }
    }
    if (d.inner && i.inner) {
      auto inner = merge(*d.inner, *i.inner);
      if (!inner) return std::nullopt;
      out.inner = std::make_shared<const Type>(std::move(*inner));
    } else if (!d.inner) {
      out.inner = i.inner;
    }
    return out;
  }

  void seed_values(const Graph& g) {
    g.for_each_value([&](const Value* v) {
      if (!v->is_initializer()) return;
      const Tensor& t = v->initializer();
      if (t.rank() > 1 || t.element_count() > infer::kMaxTrackedElements) return;
      std::vector<Dim> dims;
      if (t.dtype() == DataType::kInt64) {
        for (int64_t x : t.span<int64_t>()) dims.push_back(infer::int_dim(x));
      } else if (t.dtype() == DataType::kInt32) {
        for (int32_t x : t.span<int32_t>()) dims.push_back(infer::int_dim(x));
      } else {
        return;
      }
      values[v] = std::move(dims);
    });
  }

  // Subgraphs already inferred through InferenceContext::infer_subgraph (with typed inputs).
  std::unordered_set<const Graph*> walked;

  // The node's inference may infer its subgraphs with typed inputs first; the rest are walked
  // afterwards with the types they declare.
  void walk(Graph& g) {
    walked.insert(&g);
    seed_values(g);
    for (Node* node : g.node_range()) {
      infer_node(*node);
      for (Attribute& a : node->mutable_attributes()) {
        if (a.g && !walked.count(a.g.get())) walk(*a.g);
        for (auto& sg : a.graphs)
          if (sg && !walked.count(sg.get())) walk(*sg);
      }
    }
  }

  std::vector<Type> walk_typed(const Graph& cg, const std::vector<Type>& inputs) {
    Graph& g = const_cast<Graph&>(cg);  // the walker owns the model it infers
    for (size_t i = 0; i < inputs.size() && i < g.inputs().size(); ++i) {
      Value* v = g.inputs()[i];
      if (!v || inputs[i].kind == Type::Kind::kUnknown) continue;
      auto merged = merge(v->type(), inputs[i]);
      if (merged) v->set_type(std::move(*merged));
    }
    walk(g);
    std::vector<Type> out;
    for (const Value* v : g.outputs()) out.push_back(v ? v->type() : Type());
    return out;
  }

  // (domain, op type) -> the model's opset for the domain and the inference function at it.
  // Keys view the nodes' own strings, which outlive the walk (inference never removes nodes).
  struct OpInfo {
    int64_t opset = 0;
    const InferFunction* fn = nullptr;
  };
  std::vector<std::pair<std::string, std::unordered_map<std::string_view, OpInfo>>> ops_by_domain;

  const OpInfo& op_info(const Node& node) {
    auto domain = std::find_if(ops_by_domain.begin(), ops_by_domain.end(),
                               [&](const auto& d) { return d.first == node.domain(); });
    if (domain == ops_by_domain.end()) {
      ops_by_domain.emplace_back(node.domain(), std::unordered_map<std::string_view, OpInfo>{});
      domain = std::prev(ops_by_domain.end());
    }
    auto [it, inserted] = domain->second.try_emplace(std::string_view(node.op_type()));
    if (inserted) {
      it->second.opset = model.opset(node.domain());
      it->second.fn = find_inference(node.domain(), node.op_type(), it->second.opset);
    }
    return it->second;
  }

  void infer_node(Node& node) {
    const OpInfo& op = op_info(node);
    const int64_t opset = op.opset;
    const InferFunction* fn = op.fn;
    if (!fn) return;  // outputs keep their declared (or unknown) types
    std::vector<Type> declared;
    for (Value* out : node.outputs()) declared.push_back(out ? out->type() : Type());
    std::vector<std::optional<std::vector<Dim>>> known(node.inputs().size() + node.outputs().size());
    for (size_t i = 0; i < node.inputs().size(); ++i) {
      auto it = node.input(i) ? values.find(node.input(i)) : values.end();
      if (it != values.end()) known[i] = it->second;
    }
    InferenceContext ctx(node, opset, symbols, known);
    ctx.set_subgraph_inferrer([this](const Graph& g, const std::vector<Type>& in) { return walk_typed(g, in); });
    // On any failure the outputs keep their declared types.
    auto restore = [&] {
      for (size_t i = 0; i < node.outputs().size(); ++i)
        if (node.output(i)) node.output(i)->set_type(declared[i]);
    };
    try {
      (*fn)(ctx);
    } catch (const Error& e) {
      restore();
      const std::string msg = e.what();
      if (msg.rfind("node ", 0) == 0) throw;  // already names the node
      std::string who = node.describe();
      if (!who.empty() && who.back() == ')') who.insert(who.size() - 1, ", opset " + std::to_string(opset));
      throw e.with_context(who);
    }
    for (size_t i = 0; i < node.outputs().size(); ++i) {
      Value* out = node.output(i);
      if (!out) continue;
      auto merged = merge(declared[i], out->type());
      if (!merged) {
        if (options.strict) {
          const Type inferred = out->type();
          restore();
          conflict(node, *out, declared[i], inferred);
        }
        merged = declared[i];
      }
      out->set_type(std::move(*merged));
      if (known[node.inputs().size() + i]) values[out] = std::move(*known[node.inputs().size() + i]);
    }
  }
};

}  // namespace

void infer_shapes(Model& model, const InferenceOptions& options) {
  Walker w{model, options, SymbolFactory(), {}, {}, {}};
  reserve_graph_symbols(model.graph(), w.symbols);
  w.walk(model.graph());
}

KnownValues infer_values(Model& model, const InferenceOptions& options) {
  Walker w{model, options, SymbolFactory(), {}, {}, {}};
  reserve_graph_symbols(model.graph(), w.symbols);
  w.walk(model.graph());
  KnownValues out;
  for (auto& [value, dims] : w.values)
    if (std::none_of(dims.begin(), dims.end(), infer::is_unknown_element)) out.emplace(value, std::move(dims));
  return out;
}

}  // namespace ferry::ir
