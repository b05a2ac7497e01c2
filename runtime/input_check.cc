#include "runtime/input_check.h"

#include <set>

namespace ferry::runtime {

std::string describe_declared(const ir::Value& v) {
  const ir::Type& t = v.type();
  if (!t.is_tensor()) return t.to_string();
  return std::string(dtype_name(t.elem)) + (t.shape.has_rank ? t.shape.to_string() : "[?]");
}

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& msg) {
  throw Error(ErrorCode::kInvalidArgument, source + ": " + msg);
}

std::string list_inputs(const ExecGraph& graph) {
  std::string s;
  for (int id : graph.graph_inputs) {
    if (graph.values[id].kind != ValueKind::kInput) continue;
    const ir::Value& v = *graph.values[id].value;
    s += (s.empty() ? "" : ", ") + ("'" + v.name() + "' " + describe_declared(v));
  }
  return s.empty() ? "(none)" : s;
}

struct Given {
  std::string name;
  DataType dtype;  // kUndefined: not checked
  std::vector<int64_t> shape;
  const Value* value = nullptr;  // a non-tensor value (check_value_feeds)
  std::string describe() const {
    if (value) return value->describe();
    return (dtype == DataType::kUndefined ? std::string("") : std::string(dtype_name(dtype))) +
           shape_to_string(shape);
  }
};

// Whether non-tensor value `v` may be fed where `t` is declared.
bool kind_matches(const ir::Type& t, const Value& v) {
  using K = ir::Type::Kind;
  if (t.kind == K::kUnknown) return true;
  if (t.kind == K::kOptional) return v.is_optional() || !t.inner || kind_matches(*t.inner, v);
  if (t.kind == K::kSequence) {
    if (!v.is_sequence()) return false;
    DataType want = t.inner && t.inner->is_tensor() ? t.inner->elem : DataType::kUndefined;
    if (want == DataType::kUndefined) return true;
    for (const Value& x : v.items())
      if (!x.is_tensor() || x.tensor().dtype() != want) return false;
    return v.items().empty() || v.elem_type() == DataType::kUndefined || v.elem_type() == want;
  }
  if (t.kind == K::kMap) return v.is_map();
  if (t.kind == K::kTensor) return v.is_tensor();
  return false;
}

CheckedFeeds check(const ExecGraph& graph, const std::vector<Given>& given,
                   const std::string& source) {
  CheckedFeeds out;
  std::set<std::string> seen;
  // symbol -> (value, input that bound it)
  std::map<std::string, std::pair<int64_t, std::string>> bound;
  std::vector<int> ids(given.size(), kNoValue);

  for (size_t f = 0; f < given.size(); ++f) {
    const Given& g = given[f];
    if (!seen.insert(g.name).second) fail(source, "input '" + g.name + "' is fed twice");
    for (int id : graph.graph_inputs)
      if (graph.values[id].value->name() == g.name) ids[f] = id;
    if (ids[f] == kNoValue)
      fail(source, "unknown input '" + g.name + "'; the model's inputs are " + list_inputs(graph));
    const ExecValue& ev = graph.values[ids[f]];
    const ir::Value& v = *ev.value;
    std::string head = "input '" + g.name + "': expected " + describe_declared(v) + ", given " + g.describe();
    if (g.value) {
      if (!kind_matches(v.type(), *g.value)) fail(source, head);
      continue;
    }
    if (!v.type().is_tensor() && v.type().kind != ir::Type::Kind::kUnknown &&
        !(v.type().kind == ir::Type::Kind::kOptional && v.type().inner && v.type().inner->is_tensor()))
      fail(source, head + " (a tensor was given)");
    if (!v.type().is_tensor()) continue;
    if (g.dtype != DataType::kUndefined && v.dtype() != DataType::kUndefined && g.dtype != v.dtype())
      fail(source, head + " (wrong element type)");
    if (ev.kind == ValueKind::kInitializer) {
      // Overriding a constant: it must keep the shape the model was planned with.
      if (g.shape != v.initializer().shape())
        fail(source, head + " (an overridable initializer must keep its shape)");
      continue;
    }
    const ir::Shape& decl = v.shape();
    if (!decl.has_rank) continue;
    if (decl.rank() != g.shape.size())
      fail(source, head + " (rank " + std::to_string(g.shape.size()) + ", expected rank " +
                       std::to_string(decl.rank()) + ")");
    for (size_t d = 0; d < decl.rank(); ++d) {
      const ir::Dim& dim = decl.dims[d];
      int64_t got = g.shape[d];
      if (got < 0) fail(source, head + " (dim " + std::to_string(d) + " is negative)");
      if (dim.is_constant()) {
        if (dim.value() != got)
          fail(source, head + " (dim " + std::to_string(d) + " is " + std::to_string(got) +
                           ", the model requires " + std::to_string(dim.value()) + ")");
        continue;
      }
      std::string sym = dim.symbol_name();
      if (sym.empty()) continue;  // an expression: checked once every symbol is bound
      auto [it, inserted] = bound.emplace(sym, std::make_pair(got, g.name));
      if (!inserted && it->second.first != got)
        fail(source, head + " (dim " + std::to_string(d) + " binds '" + sym + "' to " +
                         std::to_string(got) + ", but input '" + it->second.second + "' bound it to " +
                         std::to_string(it->second.first) + " in the same run)");
    }
  }
  for (const auto& [sym, value] : bound) out.bindings[sym] = value.first;

  for (size_t f = 0; f < given.size(); ++f) {
    const ir::Value& v = *graph.values[ids[f]].value;
    if (graph.values[ids[f]].kind != ValueKind::kInput || !v.type().is_tensor() || given[f].value ||
        !v.shape().has_rank)
      continue;
    for (size_t d = 0; d < v.shape().rank(); ++d) {
      const ir::Dim& dim = v.shape().dims[d];
      if (dim.is_constant() || !dim.symbol_name().empty()) continue;
      auto value = dim.evaluate(out.bindings);
      if (value && *value != given[f].shape[d])
        fail(source, "input '" + given[f].name + "': expected " + describe_declared(v) + ", given " +
                         given[f].describe() + " (dim " + std::to_string(d) + " is " +
                         std::to_string(given[f].shape[d]) + ", but " + dim.to_string() + " = " +
                         std::to_string(*value) + ")");
    }
  }

  for (int id : graph.graph_inputs) {
    if (graph.values[id].kind != ValueKind::kInput) continue;
    const std::string& name = graph.values[id].value->name();
    if (!seen.count(name))
      fail(source, "missing input '" + name + "' (" + describe_declared(*graph.values[id].value) +
                       "); the model's inputs are " + list_inputs(graph));
  }

  // Signature: the shapes of the fed non-constant inputs, in graph order.
  for (int id : graph.graph_inputs) {
    if (graph.values[id].kind != ValueKind::kInput) continue;
    for (size_t f = 0; f < given.size(); ++f)
      if (ids[f] == id) out.signature += (given[f].value ? std::string("v") : shape_to_string(given[f].shape)) + ";";
  }
  for (size_t f = 0; f < given.size(); ++f) out.values.emplace_back(ids[f], Value());
  return out;
}

}  // namespace

CheckedFeeds check_feeds(const ExecGraph& graph, const std::vector<NamedTensor>& feeds,
                         const std::string& source) {
  std::vector<Given> given;
  for (const NamedTensor& f : feeds) {
    if (!f.tensor.defined())
      fail(source, "input '" + f.name + "' is an empty tensor handle (no type, no data)");
    if (f.tensor.element_count() > 0 && f.tensor.raw_data() == nullptr)
      fail(source, "input '" + f.name + "' " + f.tensor.describe() + " has no data");
    given.push_back({f.name, f.tensor.dtype(), f.tensor.shape()});
  }
  CheckedFeeds out = check(graph, given, source);
  for (size_t f = 0; f < feeds.size(); ++f) out.values[f].second = feeds[f].tensor;
  return out;
}

CheckedFeeds check_value_feeds(const ExecGraph& graph, const std::vector<NamedValue>& feeds,
                               const std::string& source) {
  std::vector<Given> given;
  for (const NamedValue& f : feeds) {
    if (!f.value.defined()) fail(source, "input '" + f.name + "' is an undefined value");
    if (!f.value.is_tensor()) {
      given.push_back({f.name, DataType::kUndefined, {}, &f.value});
      continue;
    }
    const Tensor& t = f.value.tensor();
    if (t.element_count() > 0 && t.raw_data() == nullptr)
      fail(source, "input '" + f.name + "' " + t.describe() + " has no data");
    given.push_back({f.name, t.dtype(), t.shape()});
  }
  CheckedFeeds out = check(graph, given, source);
  for (size_t f = 0; f < feeds.size(); ++f) {
    const ir::Type& t = graph.values[out.values[f].first].value->type();
    out.values[f].second = t.kind == ir::Type::Kind::kOptional ? Value::optional(feeds[f].value) : feeds[f].value;
  }
  return out;
}

CheckedFeeds check_shapes(const ExecGraph& graph,
                          const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                          const std::string& source) {
  std::vector<Given> given;
  for (const auto& [name, shape] : shapes) given.push_back({name, DataType::kUndefined, shape});
  return check(graph, given, source);
}

}  // namespace ferry::runtime
