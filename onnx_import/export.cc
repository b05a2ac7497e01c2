// ir::Model -> ONNX ModelProto, serialized bytes and files (optionally with external data).

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "onnx_import/internal.h"
#include "onnx_import/onnx_import.h"

namespace ferry::onnx_import {
namespace {

/// Where initializers go when they are written to an external data file.
struct ExternalSink {
  size_t threshold = 0;      ///< 0: nothing external
  std::string location;      ///< file name relative to the model's directory
  std::ofstream* out = nullptr;
  uint64_t offset = 0;
};

void shape_to_proto(const ir::Shape& s, onnx::TensorShapeProto* sp) {
  for (const ir::Dim& d : s.dims) {
    auto* dp = sp->add_dim();
    if (d.is_constant()) {
      dp->set_dim_value(d.value());
    } else {
      std::string sym = d.symbol_name();
      dp->set_dim_param(sym.empty() ? d.to_string() : sym);
    }
  }
}

/// False when the type cannot be written (unknown kind, tensor without element type).
bool type_to_proto(const ir::Type& t, onnx::TypeProto* tp) {
  switch (t.kind) {
    case ir::Type::Kind::kTensor: {
      if (t.elem == DataType::kUndefined) return false;
      auto* tt = tp->mutable_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape.has_rank) shape_to_proto(t.shape, tt->mutable_shape());
      return true;
    }
    case ir::Type::Kind::kSparseTensor: {
      if (t.elem == DataType::kUndefined) return false;
      auto* tt = tp->mutable_sparse_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (t.shape.has_rank) shape_to_proto(t.shape, tt->mutable_shape());
      return true;
    }
    case ir::Type::Kind::kSequence:
      return t.inner && type_to_proto(*t.inner, tp->mutable_sequence_type()->mutable_elem_type());
    case ir::Type::Kind::kOptional:
      return t.inner && type_to_proto(*t.inner, tp->mutable_optional_type()->mutable_elem_type());
    case ir::Type::Kind::kMap:
      tp->mutable_map_type()->set_key_type(static_cast<int32_t>(t.elem));
      return t.inner && type_to_proto(*t.inner, tp->mutable_map_type()->mutable_value_type());
    case ir::Type::Kind::kUnknown:
      return false;
  }
  return false;
}

void value_info(const ir::Value* v, onnx::ValueInfoProto* vi) {
  vi->set_name(v->name());
  if (!v->doc_string.empty()) vi->set_doc_string(v->doc_string);
  onnx::TypeProto tp;
  if (type_to_proto(v->type(), &tp)) *vi->mutable_type() = std::move(tp);
}

class Exporter {
 public:
  Exporter(ExternalSink sink, int64_t ir_version) : sink_(std::move(sink)), ir_version_(ir_version) {}

  void graph_to_proto(const ir::Graph& g, onnx::GraphProto* gp, bool is_main) {
    gp->set_name(g.name().empty() ? (is_main ? "main" : "subgraph") : g.name());
    if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
    for (const ir::Value* v : g.inputs()) value_info(v, gp->add_input());
    if (is_main && ir_version_ < 4) {
      // Before IR 4 every initializer must also be a graph input.
      for (const ir::Value* v : g.initializers())
        if (!v->is_graph_input()) value_info(v, gp->add_input());
    }
    for (const ir::Value* v : g.initializers()) {
      if (v->sparse_origin) {
        detail::sparse_to_proto(v->initializer(), v->name(), gp->add_sparse_initializer());
        continue;
      }
      onnx::TensorProto* tp = gp->add_initializer();
      initializer_to_proto(v->initializer(), v->name(), tp);
      if (!v->doc_string.empty()) tp->set_doc_string(v->doc_string);
    }
    std::set<const ir::Value*> listed(g.outputs().begin(), g.outputs().end());
    for (const ir::Node* n : g.nodes()) {
      node_to_proto(*n, gp->add_node());
      for (const ir::Value* out : n->outputs()) {
        if (!out || listed.count(out)) continue;
        onnx::TypeProto tp;
        if (!type_to_proto(out->type(), &tp)) continue;
        auto* vi = gp->add_value_info();
        vi->set_name(out->name());
        if (!out->doc_string.empty()) vi->set_doc_string(out->doc_string);
        *vi->mutable_type() = std::move(tp);
      }
    }
    for (const ir::Value* v : g.outputs()) value_info(v, gp->add_output());
  }

 private:
  void initializer_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* tp) {
    if (!sink_.out || t.dtype() == DataType::kString || t.byte_size() < sink_.threshold || t.byte_size() == 0) {
      detail::tensor_to_proto(t, name, tp);
      return;
    }
    tp->set_name(name);
    tp->set_data_type(static_cast<int32_t>(t.dtype()));
    for (int64_t d : t.shape()) tp->add_dims(d);
    // Offsets aligned to 64 bytes so mapped tensors stay aligned for every element type.
    static const char zeros[64] = {};
    const uint64_t pad = (64 - sink_.offset % 64) % 64;
    sink_.out->write(zeros, static_cast<std::streamsize>(pad));
    sink_.offset += pad;
    sink_.out->write(static_cast<const char*>(t.raw_data()), static_cast<std::streamsize>(t.byte_size()));
    tp->set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const std::string& v) {
      auto* kv = tp->add_external_data();
      kv->set_key(k);
      kv->set_value(v);
    };
    add("location", sink_.location);
    add("offset", std::to_string(sink_.offset));
    add("length", std::to_string(t.byte_size()));
    sink_.offset += t.byte_size();
  }

  void node_to_proto(const ir::Node& n, onnx::NodeProto* np) {
    for (const ir::Value* v : n.inputs()) np->add_input(v ? v->name() : "");
    for (const ir::Value* v : n.outputs()) np->add_output(v ? v->name() : "");
    if (!n.name().empty()) np->set_name(n.name());
    np->set_op_type(n.op_type());
    if (!n.domain().empty()) np->set_domain(n.domain());
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
    for (const ir::Attribute& a : n.attributes()) attribute_to_proto(a, np->add_attribute());
  }

  void attribute_to_proto(const ir::Attribute& a, onnx::AttributeProto* ap) {
    ap->set_name(a.name);
    if (!a.doc_string.empty()) ap->set_doc_string(a.doc_string);
    ap->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
    if (!a.ref_attr_name.empty()) {
      ap->set_ref_attr_name(a.ref_attr_name);
      return;
    }
    switch (a.type) {
      case ir::AttributeType::kFloat: ap->set_f(a.f); break;
      case ir::AttributeType::kInt: ap->set_i(a.i); break;
      case ir::AttributeType::kString: ap->set_s(a.s); break;
      case ir::AttributeType::kTensor: detail::tensor_to_proto(a.t, "", ap->mutable_t()); break;
      case ir::AttributeType::kGraph:
        if (a.g) graph_to_proto(*a.g, ap->mutable_g(), false);
        break;
      case ir::AttributeType::kSparseTensor: detail::sparse_to_proto(a.sparse, ap->mutable_sparse_tensor()); break;
      case ir::AttributeType::kTypeProto: type_to_proto(a.tp, ap->mutable_tp()); break;
      case ir::AttributeType::kFloats:
        for (float f : a.floats) ap->add_floats(f);
        break;
      case ir::AttributeType::kInts:
        for (int64_t i : a.ints) ap->add_ints(i);
        break;
      case ir::AttributeType::kStrings:
        for (const auto& s : a.strings) ap->add_strings(s);
        break;
      case ir::AttributeType::kTensors:
        for (const auto& t : a.tensors) detail::tensor_to_proto(t, "", ap->add_tensors());
        break;
      case ir::AttributeType::kGraphs:
        for (const auto& g : a.graphs)
          if (g) graph_to_proto(*g, ap->add_graphs(), false);
        break;
      case ir::AttributeType::kSparseTensors:
        for (const auto& s : a.sparse_tensors) detail::sparse_to_proto(s, ap->add_sparse_tensors());
        break;
      case ir::AttributeType::kTypeProtos:
        for (const auto& t : a.tps) type_to_proto(t, ap->add_type_protos());
        break;
      case ir::AttributeType::kUndefined:
        break;
    }
  }

  ExternalSink sink_;
  int64_t ir_version_;
};

void model_to_proto(const ir::Model& m, onnx::ModelProto* mp, ExternalSink sink) {
  mp->set_ir_version(m.ir_version);
  for (const auto& [domain, version] : m.opset_imports) {
    auto* op = mp->add_opset_import();
    op->set_domain(domain);
    op->set_version(version);
  }
  if (!m.producer_name.empty()) mp->set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) mp->set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp->set_domain(m.domain);
  if (!m.doc_string.empty()) mp->set_doc_string(m.doc_string);
  if (m.model_version) mp->set_model_version(m.model_version);
  for (const auto& [k, v] : m.metadata) {
    auto* kv = mp->add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  Exporter(std::move(sink), m.ir_version).graph_to_proto(m.graph(), mp->mutable_graph(), true);
}

std::string serialize(const onnx::ModelProto& mp, const std::string& what) {
  const size_t size = mp.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX))
    throw Error(ErrorCode::kInvalidArgument,
                what + ": the serialized model would be " + std::to_string(size) +
                    " bytes, over protobuf's 2 GiB limit; save it with an external data threshold");
  std::string bytes;
  if (!mp.SerializeToString(&bytes)) throw Error(ErrorCode::kRuntime, what + ": protobuf serialization failed");
  return bytes;
}

}  // namespace

std::string serialize_model(const ir::Model& model) {
  onnx::ModelProto mp;
  model_to_proto(model, &mp, {});
  return serialize(mp, model.source);
}

void save_model(const ir::Model& model, const std::string& path, const SaveOptions& options) {
  namespace fs = std::filesystem;
  onnx::ModelProto mp;
  std::ofstream data;
  ExternalSink sink;
  if (options.external_data_threshold > 0) {
    sink.threshold = options.external_data_threshold;
    sink.location = fs::path(path).filename().string() + ".data";
    const std::string data_path = path + ".data";
    data.open(data_path, std::ios::binary | std::ios::trunc);
    if (!data) throw Error(ErrorCode::kIO, data_path + ": cannot open for writing");
    sink.out = &data;
  }
  model_to_proto(model, &mp, sink);
  if (sink.out) {
    data.close();
    if (!data) throw Error(ErrorCode::kIO, path + ".data: write failed");
  }
  const std::string bytes = serialize(mp, path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::kIO, path + ": cannot open for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw Error(ErrorCode::kIO, path + ": write failed");
}

}  // namespace ferry::onnx_import
