// ONNX ModelProto -> ir::Model: parsing, version checks, graphs, nodes, attributes and types.

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <filesystem>

#include "ir/schema.h"
#include "onnx_import/internal.h"
#include "onnx_import/onnx_import.h"

namespace ferry::onnx_import {
namespace detail {

std::string describe_node(const onnx::NodeProto& node, int index) {
  std::string s = node.name().empty() ? "node #" + std::to_string(index) : "node '" + node.name() + "'";
  s += " (";
  const std::string d = normalize_domain(node.domain());
  if (!d.empty()) s += d + ".";
  return s + node.op_type() + ")";
}

}  // namespace detail

namespace {

using detail::ImportContext;
using detail::normalize_domain;

Error invalid(const std::string& msg) { return Error(ErrorCode::kInvalidModel, msg); }

DataType checked_elem_type(int32_t code, const std::string& what) {
  if (code == 0) return DataType::kUndefined;
  if (!is_known_dtype_code(code))
    throw invalid(what + ": unknown element type " + std::to_string(code) + " (this build knows 1.." +
                  std::to_string(kMaxDataTypeCode) + ")");
  return static_cast<DataType>(code);
}

ir::Shape shape_from_proto(const onnx::TensorShapeProto& sp, ImportContext& ctx, const std::string& what) {
  std::vector<ir::Dim> dims;
  dims.reserve(sp.dim_size());
  for (const auto& d : sp.dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0)
        throw invalid(what + ": negative dimension " + std::to_string(d.dim_value()));
      dims.emplace_back(d.dim_value());
    } else if (d.has_dim_param() && !d.dim_param().empty()) {
      dims.push_back(ir::Dim::symbol(d.dim_param()));
    } else {
      dims.push_back(ctx.symbols.fresh());
    }
  }
  return ir::Shape(std::move(dims));
}

ir::Type type_from_proto(const onnx::TypeProto& tp, ImportContext& ctx, const std::string& what) {
  ir::Type t;
  switch (tp.value_case()) {
    case onnx::TypeProto::kTensorType:
      t.kind = ir::Type::Kind::kTensor;
      t.elem = checked_elem_type(tp.tensor_type().elem_type(), what);
      if (tp.tensor_type().has_shape()) t.shape = shape_from_proto(tp.tensor_type().shape(), ctx, what);
      break;
    case onnx::TypeProto::kSparseTensorType:
      t.kind = ir::Type::Kind::kSparseTensor;
      t.elem = checked_elem_type(tp.sparse_tensor_type().elem_type(), what);
      if (tp.sparse_tensor_type().has_shape())
        t.shape = shape_from_proto(tp.sparse_tensor_type().shape(), ctx, what);
      break;
    case onnx::TypeProto::kSequenceType:
      t.kind = ir::Type::Kind::kSequence;
      t.inner = std::make_shared<ir::Type>(type_from_proto(tp.sequence_type().elem_type(), ctx, what));
      break;
    case onnx::TypeProto::kOptionalType:
      t.kind = ir::Type::Kind::kOptional;
      t.inner = std::make_shared<ir::Type>(type_from_proto(tp.optional_type().elem_type(), ctx, what));
      break;
    case onnx::TypeProto::kMapType:
      t.kind = ir::Type::Kind::kMap;
      t.elem = checked_elem_type(tp.map_type().key_type(), what);
      t.inner = std::make_shared<ir::Type>(type_from_proto(tp.map_type().value_type(), ctx, what));
      break;
    default:
      break;  // opaque or absent: unknown
  }
  return t;
}

void reserve_symbols(const onnx::GraphProto& g, ImportContext& ctx);

void reserve_type_symbols(const onnx::TypeProto& tp, ImportContext& ctx) {
  const onnx::TensorShapeProto* sp = nullptr;
  if (tp.has_tensor_type() && tp.tensor_type().has_shape()) sp = &tp.tensor_type().shape();
  if (tp.has_sparse_tensor_type() && tp.sparse_tensor_type().has_shape()) sp = &tp.sparse_tensor_type().shape();
  if (sp)
    for (const auto& d : sp->dim())
      if (d.has_dim_param()) ctx.symbols.reserve(d.dim_param());
  if (tp.has_sequence_type()) reserve_type_symbols(tp.sequence_type().elem_type(), ctx);
  if (tp.has_optional_type()) reserve_type_symbols(tp.optional_type().elem_type(), ctx);
  if (tp.has_map_type()) reserve_type_symbols(tp.map_type().value_type(), ctx);
}

/// Fresh symbols for unnamed dims must not collide with "unk__N" names the file already uses.
void reserve_symbols(const onnx::GraphProto& g, ImportContext& ctx) {
  for (const auto* list : {&g.input(), &g.output(), &g.value_info()})
    for (const auto& v : *list) reserve_type_symbols(v.type(), ctx);
  for (const auto& n : g.node())
    for (const auto& a : n.attribute()) {
      if (a.has_g()) reserve_symbols(a.g(), ctx);
      for (const auto& sg : a.graphs()) reserve_symbols(sg, ctx);
      if (a.has_tp()) reserve_type_symbols(a.tp(), ctx);
      for (const auto& tp : a.type_protos()) reserve_type_symbols(tp, ctx);
    }
}

class GraphImporter {
 public:
  explicit GraphImporter(ImportContext& ctx) : ctx_(ctx) {}

  /// Fills `graph` from `gp` (which is consumed: tensor data is moved out of it).
  void convert(onnx::GraphProto& gp, ir::Graph& graph) {
    graph.set_name(gp.name());
    graph.doc_string = gp.doc_string();

    for (const auto& vi : gp.input()) {
      const std::string what = "graph input '" + vi.name() + "'";
      ir::Value* v = add_value(graph, vi.name(), what);
      if (vi.has_type()) v->set_type(type_from_proto(vi.type(), ctx_, what));
      v->doc_string = vi.doc_string();
      graph.add_input(v);
    }
    for (auto& tp : *gp.mutable_initializer()) {
      const std::string name = tp.name();
      const std::string what = "initializer '" + name + "'";
      if (name.empty()) throw invalid("an initializer has no name");
      Tensor t = tensor_from_proto_ctx(tp, what);
      add_initializer(graph, name, std::move(t), what)->doc_string = tp.doc_string();
    }
    for (auto& sp : *gp.mutable_sparse_initializer()) {
      const std::string name = sp.values().name();
      const std::string what = "sparse initializer '" + name + "'";
      if (name.empty()) throw invalid("a sparse initializer has no name (values.name)");
      Tensor dense;
      try {
        dense = detail::sparse_from_proto(sp, ctx_).to_dense();
      } catch (const Error& e) {
        throw e.with_context(what);
      }
      add_initializer(graph, name, std::move(dense), what)->sparse_origin = true;
    }

    // Nodes: outputs first (so any order in the file resolves), then inputs and attributes, then
    // sort. Subgraphs are converted after every value of this graph exists.
    std::vector<ir::Node*> nodes;
    nodes.reserve(gp.node_size());
    for (int i = 0; i < gp.node_size(); ++i) {
      const onnx::NodeProto& np = gp.node(i);
      const std::string what = detail::describe_node(np, i);
      if (np.op_type().empty()) throw invalid(what + ": op_type is empty");
      std::vector<std::string> outs(np.output().begin(), np.output().end());
      for (const std::string& o : outs)
        if (!o.empty() && graph.find_value(o))
          throw invalid(what + ": output '" + o + "' is already defined in this graph (ONNX graphs are SSA)");
      ir::Node* n;
      try {
        n = graph.add_node(np.op_type(), {}, outs, normalize_domain(np.domain()), np.name());
      } catch (const Error& e) {
        throw e.with_context(what);
      }
      n->doc_string = np.doc_string();
      nodes.push_back(n);
    }
    for (int i = 0; i < gp.node_size(); ++i) {
      onnx::NodeProto& np = *gp.mutable_node(i);
      const std::string what = detail::describe_node(np, i);
      ir::Node* n = nodes[i];
      for (int k = 0; k < np.input_size(); ++k) {
        const std::string& name = np.input(k);
        if (name.empty()) {
          n->set_input(k, nullptr);
          continue;
        }
        ir::Value* v = graph.lookup(name);
        if (!v)
          throw invalid(what + ": input " + std::to_string(k) + " '" + name +
                        "' is not defined by any graph input, initializer or earlier node" +
                        (graph.parent() ? " (nor by an enclosing graph)" : ""));
        n->set_input(k, v);
      }
      for (auto& ap : *np.mutable_attribute()) {
        if (n->find_attribute(ap.name()))
          throw invalid(what + ": attribute '" + ap.name() + "' is given more than once");
        try {
          n->mutable_attributes().push_back(attribute_from_proto(ap, graph));
        } catch (const Error& e) {
          throw e.with_context(what + ": attribute '" + ap.name() + "'");
        }
      }
    }

    for (const auto& vi : gp.output()) {
      const std::string what = "graph output '" + vi.name() + "'";
      ir::Value* v = graph.lookup(vi.name());
      if (!v) throw invalid(what + " is not produced by any node, input or initializer");
      if (vi.has_type()) merge_type(v, type_from_proto(vi.type(), ctx_, what));
      if (v->doc_string.empty()) v->doc_string = vi.doc_string();
      graph.add_output(v);
    }
    for (const auto& vi : gp.value_info()) {
      ir::Value* v = graph.find_value(vi.name());
      if (!v || !vi.has_type()) continue;  // stale value_info entries are harmless
      merge_type(v, type_from_proto(vi.type(), ctx_, "value_info '" + vi.name() + "'"));
      if (v->doc_string.empty()) v->doc_string = vi.doc_string();
    }

    graph.sort_topologically();
  }

 private:
  Tensor tensor_from_proto_ctx(onnx::TensorProto& tp, const std::string& what) {
    try {
      return detail::tensor_from_proto(tp, ctx_);
    } catch (const Error& e) {
      // tensor_from_proto names the tensor itself when it has a name.
      throw tp.name().empty() ? e.with_context(what) : e;
    }
  }

  ir::Value* add_value(ir::Graph& graph, const std::string& name, const std::string& what) {
    if (name.empty()) throw invalid(what + ": empty name");
    if (graph.find_value(name)) throw invalid(what + ": name '" + name + "' is defined twice");
    return graph.add_value(name);
  }

  ir::Value* add_initializer(ir::Graph& graph, const std::string& name, Tensor t, const std::string& what) {
    if (ir::Value* v = graph.find_value(name)) {
      // IR < 4 lists initializers among the inputs (an input with a default value).
      if (!v->is_graph_input() || v->is_initializer()) throw invalid(what + " is defined twice");
      ir::Type declared = v->type();
      v->set_initializer(std::move(t));
      if (declared.is_tensor() && declared.elem != v->dtype())
        throw invalid(what + ": element type " + std::string(dtype_name(v->dtype())) +
                      " disagrees with the graph input's declared " + declared.to_string());
      return v;
    }
    return graph.add_initializer(name, std::move(t));
  }

  /// A declared type only fills in what the value does not know yet (initializers keep theirs).
  static void merge_type(ir::Value* v, ir::Type t) {
    if (v->is_initializer()) return;
    if (v->type().kind == ir::Type::Kind::kUnknown) v->set_type(std::move(t));
  }

  ir::Attribute attribute_from_proto(onnx::AttributeProto& ap, ir::Graph& graph) {
    ir::Attribute a;
    a.name = ap.name();
    a.doc_string = ap.doc_string();
    a.ref_attr_name = ap.ref_attr_name();
    int type = ap.type();
    if (type == onnx::AttributeProto::UNDEFINED && a.ref_attr_name.empty()) type = guess_type(ap);
    a.type = static_cast<ir::AttributeType>(type);
    switch (type) {
      case onnx::AttributeProto::FLOAT: a.f = ap.f(); break;
      case onnx::AttributeProto::INT: a.i = ap.i(); break;
      case onnx::AttributeProto::STRING: a.s = ap.s(); break;
      case onnx::AttributeProto::TENSOR: a.t = detail::tensor_from_proto(*ap.mutable_t(), ctx_); break;
      case onnx::AttributeProto::GRAPH: a.g = subgraph(*ap.mutable_g(), graph); break;
      case onnx::AttributeProto::SPARSE_TENSOR:
        a.sparse = detail::sparse_from_proto(*ap.mutable_sparse_tensor(), ctx_);
        break;
      case onnx::AttributeProto::TYPE_PROTO: a.tp = type_from_proto(ap.tp(), ctx_, "type"); break;
      case onnx::AttributeProto::FLOATS: a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
      case onnx::AttributeProto::INTS: a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
      case onnx::AttributeProto::STRINGS: a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
      case onnx::AttributeProto::TENSORS:
        for (auto& t : *ap.mutable_tensors()) a.tensors.push_back(detail::tensor_from_proto(t, ctx_));
        break;
      case onnx::AttributeProto::GRAPHS:
        for (auto& g : *ap.mutable_graphs()) a.graphs.push_back(subgraph(g, graph));
        break;
      case onnx::AttributeProto::SPARSE_TENSORS:
        for (auto& s : *ap.mutable_sparse_tensors()) a.sparse_tensors.push_back(detail::sparse_from_proto(s, ctx_));
        break;
      case onnx::AttributeProto::TYPE_PROTOS:
        for (const auto& tp : ap.type_protos()) a.tps.push_back(type_from_proto(tp, ctx_, "type"));
        break;
      case onnx::AttributeProto::UNDEFINED:
        if (!a.ref_attr_name.empty()) break;
        [[fallthrough]];
      default:
        throw invalid("unknown attribute type " + std::to_string(type));
    }
    return a;
  }

  static int guess_type(const onnx::AttributeProto& ap) {
    if (ap.has_f()) return onnx::AttributeProto::FLOAT;
    if (ap.has_i()) return onnx::AttributeProto::INT;
    if (ap.has_s()) return onnx::AttributeProto::STRING;
    if (ap.has_t()) return onnx::AttributeProto::TENSOR;
    if (ap.has_g()) return onnx::AttributeProto::GRAPH;
    if (ap.has_sparse_tensor()) return onnx::AttributeProto::SPARSE_TENSOR;
    if (ap.has_tp()) return onnx::AttributeProto::TYPE_PROTO;
    if (ap.floats_size()) return onnx::AttributeProto::FLOATS;
    if (ap.ints_size()) return onnx::AttributeProto::INTS;
    if (ap.strings_size()) return onnx::AttributeProto::STRINGS;
    if (ap.tensors_size()) return onnx::AttributeProto::TENSORS;
    if (ap.graphs_size()) return onnx::AttributeProto::GRAPHS;
    if (ap.sparse_tensors_size()) return onnx::AttributeProto::SPARSE_TENSORS;
    if (ap.type_protos_size()) return onnx::AttributeProto::TYPE_PROTOS;
    return onnx::AttributeProto::UNDEFINED;
  }

  std::shared_ptr<ir::Graph> subgraph(onnx::GraphProto& gp, ir::Graph& parent) {
    auto g = std::make_shared<ir::Graph>(gp.name(), &parent);
    try {
      convert(gp, *g);
    } catch (const Error& e) {
      throw e.with_context("graph '" + gp.name() + "'");
    }
    return g;
  }

  ImportContext& ctx_;
};

/// IR version range; opset_import read into `opsets` (domains normalised, no duplicates).
void check_versions(const onnx::ModelProto& mp, std::map<std::string, int64_t>& opsets) {
  const int64_t newest_ir = onnx::Version::IR_VERSION;
  if (mp.ir_version() <= 0)
    throw invalid("ir_version is missing or " + std::to_string(mp.ir_version()) +
                  " (a valid ONNX model has ir_version >= 3)");
  if (mp.ir_version() < 3)
    throw Error(ErrorCode::kNotImplemented, "ir_version " + std::to_string(mp.ir_version()) +
                                                " is not supported (Ferry reads IR versions 3.." +
                                                std::to_string(newest_ir) + ")");
  if (mp.ir_version() > newest_ir)
    throw Error(ErrorCode::kNotImplemented, "ir_version " + std::to_string(mp.ir_version()) +
                                                " is newer than this build knows (IR versions 3.." +
                                                std::to_string(newest_ir) + ")");
  for (const auto& op : mp.opset_import()) {
    const std::string d = normalize_domain(op.domain());
    if (!opsets.emplace(d, op.version()).second)
      throw invalid("opset_import lists domain '" + (d.empty() ? std::string("ai.onnx") : d) + "' twice");
  }
}

/// The ai.onnx opset (the model's, or one a function body brought in) must be one Ferry reads.
void check_onnx_opset(const std::map<std::string, int64_t>& opsets) {
  auto it = opsets.find("");
  if (it != opsets.end()) {
    const int64_t newest = ir::newest_opset("");
    if (it->second < 7)
      throw Error(ErrorCode::kNotImplemented, "ai.onnx opset " + std::to_string(it->second) +
                                                  " is not supported (Ferry reads opsets 7.." +
                                                  std::to_string(newest) + ")");
    if (it->second > newest)
      throw Error(ErrorCode::kNotImplemented, "ai.onnx opset " + std::to_string(it->second) +
                                                  " is newer than this build knows (opsets 7.." +
                                                  std::to_string(newest) + ")");
  }
}

/// Checks that each ai.onnx node of `g` (and its subgraphs) has the same schema version at
/// `opset` as at kOldestOpset; throws kNotImplemented naming the first node that does not.
void check_same_schemas(const onnx::GraphProto& g, int64_t opset, int64_t oldest) {
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    if (normalize_domain(n.domain()).empty()) {
      const ir::OpSchema* at_model = ir::find_schema("", n.op_type(), opset);
      const ir::OpSchema* at_oldest = ir::find_schema("", n.op_type(), oldest);
      const std::string head = detail::describe_node(n, i) + ": ai.onnx opset " + std::to_string(opset) +
                               " is older than Ferry reads (opsets " + std::to_string(oldest) + ".." +
                               std::to_string(ir::newest_opset("")) + "), and ";
      if (!at_model)
        throw Error(ErrorCode::kNotImplemented,
                    head + n.op_type() + " does not exist at opset " + std::to_string(opset));
      if (!at_oldest || at_oldest->since_version != at_model->since_version)
        throw Error(ErrorCode::kNotImplemented,
                    head + n.op_type() + " changed in between: version " + std::to_string(at_model->since_version) +
                        " is in force at opset " + std::to_string(opset) + ", version " +
                        (at_oldest ? std::to_string(at_oldest->since_version) : std::string("none")) + " at opset " +
                        std::to_string(oldest));
    }
    for (const auto& a : n.attribute()) {
      if (a.has_g()) check_same_schemas(a.g(), opset, oldest);
      for (const auto& sg : a.graphs()) check_same_schemas(sg, opset, oldest);
    }
  }
}

/// An ai.onnx opset older than 7 is read as opset 7 when every ai.onnx node's schema version in
/// force at the model's opset is the one in force at 7 (so the op means the same and Ferry's
/// kernels apply); otherwise an error names the first node whose op changed and both versions.
/// The imported model then carries opset 7.
void lift_old_opset(const onnx::ModelProto& mp, std::map<std::string, int64_t>& opsets) {
  constexpr int64_t kOldestOpset = 7;
  auto it = opsets.find("");
  if (it == opsets.end() || it->second >= kOldestOpset || it->second < 1) return;
  check_same_schemas(mp.graph(), it->second, kOldestOpset);
  it->second = kOldestOpset;
}

/// Every node's domain must be imported.
void check_domains(const onnx::GraphProto& g, const std::map<std::string, int64_t>& opsets) {
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& n = g.node(i);
    const std::string d = normalize_domain(n.domain());
    if (!opsets.count(d))
      throw invalid(detail::describe_node(n, i) + ": uses domain '" + (d.empty() ? std::string("ai.onnx") : d) +
                    "' which the model's opset_import does not list");
    for (const auto& a : n.attribute()) {
      if (a.has_g()) check_domains(a.g(), opsets);
      for (const auto& sg : a.graphs()) check_domains(sg, opsets);
    }
  }
}

std::unique_ptr<ir::Model> model_from_proto(onnx::ModelProto& mp, ImportContext& ctx) {
  auto model = std::make_unique<ir::Model>();
  model->source = ctx.source;
  model->directory = ctx.directory;
  std::map<std::string, int64_t> opsets;
  if (!mp.has_graph()) throw invalid("not a valid ONNX model (it has no graph)");
  check_versions(mp, opsets);
  lift_old_opset(mp, opsets);
  check_onnx_opset(opsets);
  detail::inline_functions(mp, opsets);
  check_onnx_opset(opsets);
  check_domains(mp.graph(), opsets);

  model->ir_version = mp.ir_version();
  model->opset_imports = opsets;
  model->producer_name = mp.producer_name();
  model->producer_version = mp.producer_version();
  model->domain = mp.domain();
  model->doc_string = mp.doc_string();
  model->model_version = mp.model_version();
  for (const auto& kv : mp.metadata_props()) model->metadata.emplace_back(kv.key(), kv.value());

  reserve_symbols(mp.graph(), ctx);
  GraphImporter(ctx).convert(*mp.mutable_graph(), model->graph());
  return model;
}

/// Parses `data`; on failure returns false with the byte position reached in `failed_at`.
bool parse_proto(const void* data, size_t size, onnx::ModelProto& mp, int& failed_at) {
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data), static_cast<int>(size));
  in.SetTotalBytesLimit(INT_MAX);
  if (mp.ParseFromCodedStream(&in) && in.ConsumedEntireMessage()) return true;
  failed_at = in.CurrentPosition();
  return false;
}

std::unique_ptr<ir::Model> load_parsed(const void* data, size_t size, ImportContext& ctx) {
  if (size == 0) throw invalid("not a valid ONNX model (the input is empty)");
  if (size > static_cast<size_t>(INT_MAX))
    throw invalid("not a valid ONNX model: " + std::to_string(size) +
                  " bytes exceeds protobuf's 2 GiB limit (large weights belong in external data)");
  onnx::ModelProto mp;
  int failed_at = 0;
  if (!parse_proto(data, size, mp, failed_at))
    throw invalid("not a valid ONNX model (protobuf parse failed at byte " + std::to_string(failed_at) +
                  " of " + std::to_string(size) + ")");
  return model_from_proto(mp, ctx);
}

/// Loads a mapped model file without copying its embedded tensor data through protobuf: only a
/// skeleton is parsed, and large raw_data payloads become tensors over the mapping (see
/// detail::strip_raw_data). Falls back to parsing the whole file when it cannot be rewritten.
std::unique_ptr<ir::Model> load_mapped(const std::shared_ptr<detail::MappedFile>& file, ImportContext& ctx) {
  const size_t size = file->size();
  if (size == 0 || size > static_cast<size_t>(INT_MAX)) return load_parsed(file->data(), size, ctx);
  std::string skeleton;
  if (!detail::strip_raw_data(file->data(), size, skeleton, ctx.raw_spans) || ctx.raw_spans.empty())
    return load_parsed(file->data(), size, ctx);
  onnx::ModelProto mp;
  int failed_at = 0;
  if (!parse_proto(skeleton.data(), skeleton.size(), mp, failed_at)) {
    ctx.raw_spans.clear();
    return load_parsed(file->data(), size, ctx);  // reports the error at the file's position
  }
  std::string().swap(skeleton);
  ctx.model_file = file;
  return model_from_proto(mp, ctx);
}

}  // namespace

std::unique_ptr<ir::Model> load_model(const std::string& path) {
  ImportContext ctx;
  ctx.source = path;
  try {
    namespace fs = std::filesystem;
    fs::path p(path);
    ctx.directory = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    std::shared_ptr<detail::MappedFile> file = detail::MappedFile::open(path);
    return load_mapped(file, ctx);
  } catch (const Error& e) {
    throw e.with_context(path);
  }
}

std::unique_ptr<ir::Model> load_model_from_bytes(const void* data, size_t size, const std::string& source,
                                                 const std::string& directory) {
  ImportContext ctx;
  ctx.source = source;
  ctx.directory = directory;
  try {
    return load_parsed(data, size, ctx);
  } catch (const Error& e) {
    throw e.with_context(source);
  }
}

}  // namespace ferry::onnx_import
