// The spec's static function bodies (kFunctionLines in ir/schemas_generated.inc), parsed into
// IR graphs on first use.

#include <algorithm>
#include <tuple>

#include "ferry/error.h"
#include "ir/graph.h"
#include "ir/schema.h"
#include "ir/schema_text.h"

namespace ferry::ir {
namespace {

using schema_text::split;
using schema_text::split_items;
using schema_text::to_int;
using schema_text::to_int64;
using schema_text::unescape;

Error malformed(const std::string& what) {
  return Error(ErrorCode::kRuntime, "function body table is malformed: " + what);
}

std::vector<float> parse_floats(std::string_view s) {
  std::vector<float> out;
  for (const std::string& item : split_items(s)) out.push_back(std::strtof(item.c_str(), nullptr));
  return out;
}

std::vector<int64_t> parse_ints(std::string_view s) {
  std::vector<int64_t> out;
  for (const std::string& item : split_items(s)) out.push_back(to_int64(item));
  return out;
}

Tensor parse_tensor(const std::vector<std::string_view>& f) {
  const auto dtype = static_cast<DataType>(to_int(f.at(4)));
  std::vector<int64_t> dims = parse_ints(f.at(5));
  std::string_view hex = f.at(6);
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(schema_text::hex_value(hex[2 * i]) * 16 + schema_text::hex_value(hex[2 * i + 1]));
  return Tensor::from_bytes(dtype, std::move(dims), bytes.data(), bytes.size());
}

Attribute parse_attribute(const std::vector<std::string_view>& f) {
  Attribute a;
  a.name = unescape(f.at(1));
  a.type = static_cast<AttributeType>(to_int(f.at(2)));
  a.ref_attr_name = unescape(f.at(3));
  if (!a.ref_attr_name.empty()) return a;
  const std::string_view v = f.at(4);
  switch (a.type) {
    case AttributeType::kFloat: a.f = std::strtof(std::string(v).c_str(), nullptr); break;
    case AttributeType::kInt: a.i = to_int64(v); break;
    case AttributeType::kString: a.s = unescape(v); break;
    case AttributeType::kFloats: a.floats = parse_floats(v); break;
    case AttributeType::kInts: a.ints = parse_ints(v); break;
    case AttributeType::kStrings: a.strings = split_items(v); break;
    case AttributeType::kTensor: a.t = parse_tensor(f); break;
    default: throw malformed("attribute '" + a.name + "' has an unsupported type");
  }
  return a;
}

Value* resolve(Graph& g, const std::string& name, const std::string& fn) {
  if (name.empty()) return nullptr;
  Value* v = g.lookup(name);
  if (!v) throw malformed(fn + ": '" + name + "' is used before it is defined");
  return v;
}

using Key = std::tuple<std::string, std::string, int, int64_t>;

Key key_of(const FunctionBody& b) { return {b.domain, b.name, b.since_version, b.function_opset}; }

/// Builds the bodies line by line: F opens a body, G/E open and close a subgraph of the last node.
class Parser {
 public:
  std::vector<std::unique_ptr<FunctionBody>> run() {
    for (const char* raw : schema_text::function_lines()) line(split(raw, '|'));
    finish();
    std::sort(bodies_.begin(), bodies_.end(), [](const auto& a, const auto& b) { return key_of(*a) < key_of(*b); });
    return std::move(bodies_);
  }

 private:
  struct Open {
    Graph* graph = nullptr;
    Node* last = nullptr;  ///< the node attribute and subgraph lines belong to
    std::vector<std::string> outputs;
  };

  void line(const std::vector<std::string_view>& f) {
    const char kind = f[0].empty() ? '?' : f[0][0];
    if (kind == 'F') return start_body(f);
    if (stack_.empty()) throw malformed("a line precedes the first F line");
    Open& open = stack_.back();
    const std::string& fn = bodies_.back()->name;
    if (kind == 'N') {
      std::vector<Value*> inputs;
      for (const std::string& in : split_items(f.at(4))) inputs.push_back(resolve(*open.graph, in, fn));
      open.last = open.graph->add_node(unescape(f.at(1)), inputs, split_items(f.at(5)), unescape(f.at(2)),
                                       unescape(f.at(3)));
    } else if (kind == 'B') {
      if (!open.last) throw malformed(fn + ": attribute line before any node");
      open.last->mutable_attributes().push_back(parse_attribute(f));
    } else if (kind == 'G') {
      if (!open.last) throw malformed(fn + ": subgraph line before any node");
      auto sub = std::make_shared<Graph>(unescape(f.at(2)), open.graph);
      const std::vector<std::string> names = split_items(f.at(3));
      const std::vector<int64_t> dtypes = parse_ints(f.at(4));
      for (size_t i = 0; i < names.size(); ++i) {
        Type type;
        if (i < dtypes.size() && dtypes[i] != 0) type = Type::tensor(static_cast<DataType>(dtypes[i]));
        sub->add_input(sub->add_value(names[i], type));
      }
      open.last->mutable_attributes().push_back(Attribute::make_graph(unescape(f.at(1)), sub));
      stack_.push_back(Open{sub.get(), nullptr, split_items(f.at(5))});
    } else if (kind == 'E') {
      if (stack_.size() < 2) throw malformed(fn + ": E without G");
      close_graph();
    } else {
      throw malformed(fn + ": unknown line kind");
    }
  }

  void start_body(const std::vector<std::string_view>& f) {
    finish();
    auto body = std::make_unique<FunctionBody>();
    body->domain = unescape(f.at(1));
    body->name = unescape(f.at(2));
    body->since_version = to_int(f.at(3));
    body->function_opset = to_int64(f.at(4));
    for (const std::string& item : split_items(f.at(5))) {
      const size_t eq = item.rfind('=');
      if (eq == std::string::npos) throw malformed(body->name + ": bad opset import '" + item + "'");
      body->opset_imports[item.substr(0, eq)] = to_int64(std::string_view(item).substr(eq + 1));
    }
    root_ = std::make_shared<Graph>(body->name);
    for (const std::string& in : split_items(f.at(6))) root_->add_input(root_->add_value(in));
    body->attributes = split_items(f.at(8));
    stack_.assign(1, Open{root_.get(), nullptr, split_items(f.at(7))});
    bodies_.push_back(std::move(body));
  }

  void close_graph() {
    Open& open = stack_.back();
    for (const std::string& out : open.outputs) open.graph->add_output(resolve(*open.graph, out, bodies_.back()->name));
    stack_.pop_back();
  }

  void finish() {
    if (stack_.empty()) return;
    if (stack_.size() != 1) throw malformed(bodies_.back()->name + ": unterminated subgraph");
    close_graph();
    bodies_.back()->graph = std::move(root_);
  }

  std::vector<std::unique_ptr<FunctionBody>> bodies_;
  std::shared_ptr<Graph> root_;
  std::vector<Open> stack_;  ///< innermost graph last
};

const std::vector<std::unique_ptr<FunctionBody>>& table() {
  static const auto* bodies = new std::vector<std::unique_ptr<FunctionBody>>(Parser().run());
  return *bodies;
}

}  // namespace

const FunctionBody* find_function_body(std::string_view domain, std::string_view op, int64_t opset) {
  const OpSchema* schema = find_schema(domain, op, opset);
  if (!schema || !schema->has_function) return nullptr;
  const FunctionBody* below = nullptr;
  const FunctionBody* above = nullptr;
  for (const auto& b : table()) {
    if (b->domain != schema->domain || b->name != schema->name || b->since_version != schema->since_version)
      continue;
    if (b->function_opset <= opset) below = b.get();
    else if (!above) above = b.get();
  }
  return below ? below : above;
}

std::vector<const FunctionBody*> all_function_bodies() {
  std::vector<const FunctionBody*> out;
  for (const auto& b : table()) out.push_back(b.get());
  return out;
}

}  // namespace ferry::ir
