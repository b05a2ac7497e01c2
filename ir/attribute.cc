#include "ir/attribute.h"

#include <cstring>
#include <sstream>

#include "ir/graph.h"

namespace ferry::ir {

std::string_view attribute_type_name(AttributeType t) {
  switch (t) {
    case AttributeType::kUndefined: return "UNDEFINED";
    case AttributeType::kFloat: return "FLOAT";
    case AttributeType::kInt: return "INT";
    case AttributeType::kString: return "STRING";
    case AttributeType::kTensor: return "TENSOR";
    case AttributeType::kGraph: return "GRAPH";
    case AttributeType::kFloats: return "FLOATS";
    case AttributeType::kInts: return "INTS";
    case AttributeType::kStrings: return "STRINGS";
    case AttributeType::kTensors: return "TENSORS";
    case AttributeType::kGraphs: return "GRAPHS";
    case AttributeType::kSparseTensor: return "SPARSE_TENSOR";
    case AttributeType::kSparseTensors: return "SPARSE_TENSORS";
    case AttributeType::kTypeProto: return "TYPE_PROTO";
    case AttributeType::kTypeProtos: return "TYPE_PROTOS";
  }
  return "UNDEFINED";
}

Tensor SparseTensor::to_dense() const {
  const int64_t total = shape_element_count(dims);
  const DataType dt = values.dtype();
  if (!values.defined()) throw Error(ErrorCode::kInvalidModel, "sparse tensor has no values");
  const int64_t nnz = values.element_count();
  Tensor dense = Tensor::zeros(dt, dims);
  if (nnz == 0) return dense;
  if (!indices.defined() || indices.dtype() != DataType::kInt64)
    throw Error(ErrorCode::kInvalidModel, "sparse tensor indices must be int64, got " +
                                              (indices.defined() ? indices.describe() : std::string("none")));
  if (dtype_bits(dt) % 8 != 0)
    throw Error(ErrorCode::kNotImplemented, "sparse tensors of sub-byte type " + std::string(dtype_name(dt)));
  const int64_t rank = static_cast<int64_t>(dims.size());
  bool linear;
  if (indices.rank() == 1 && indices.dim(0) == nnz) {
    linear = true;
  } else if (indices.rank() == 2 && indices.dim(0) == nnz && indices.dim(1) == rank) {
    linear = false;
  } else {
    throw Error(ErrorCode::kInvalidModel, "sparse tensor with " + std::to_string(nnz) + " values of shape " +
                                              shape_to_string(dims) + " has indices of shape " +
                                              shape_to_string(indices.shape()) + "; expected [" +
                                              std::to_string(nnz) + "] or [" + std::to_string(nnz) + "," +
                                              std::to_string(rank) + "]");
  }
  const int64_t* idx = indices.data<int64_t>();
  const size_t elem_bytes = dtype_bits(dt) / 8;
  for (int64_t n = 0; n < nnz; ++n) {
    int64_t offset = 0;
    if (linear) {
      offset = idx[n];
      if (offset < 0 || offset >= total)
        throw Error(ErrorCode::kInvalidModel, "sparse tensor index " + std::to_string(offset) +
                                                  " is out of range for shape " + shape_to_string(dims));
    } else {
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t i = idx[n * rank + d];
        if (i < 0 || i >= dims[d])
          throw Error(ErrorCode::kInvalidModel, "sparse tensor index " + std::to_string(i) + " on axis " +
                                                    std::to_string(d) + " is out of range for shape " +
                                                    shape_to_string(dims));
        offset = offset * dims[d] + i;
      }
    }
    if (dt == DataType::kString) {
      dense.data<std::string>()[offset] = values.data<std::string>()[n];
    } else {
      std::memcpy(static_cast<char*>(dense.raw_data()) + offset * elem_bytes,
                  static_cast<const char*>(values.raw_data()) + n * elem_bytes, elem_bytes);
    }
  }
  return dense;
}

Attribute Attribute::make_int(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kInt;
  a.i = v;
  return a;
}
Attribute Attribute::make_float(std::string name, float v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kFloat;
  a.f = v;
  return a;
}
Attribute Attribute::make_string(std::string name, std::string v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kString;
  a.s = std::move(v);
  return a;
}
Attribute Attribute::make_ints(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kInts;
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::make_floats(std::string name, std::vector<float> v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kFloats;
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::make_strings(std::string name, std::vector<std::string> v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kStrings;
  a.strings = std::move(v);
  return a;
}
Attribute Attribute::make_tensor(std::string name, Tensor v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kTensor;
  a.t = std::move(v);
  return a;
}
Attribute Attribute::make_graph(std::string name, std::shared_ptr<Graph> v) {
  Attribute a;
  a.name = std::move(name);
  a.type = AttributeType::kGraph;
  a.g = std::move(v);
  return a;
}

Attribute Attribute::clone() const {
  // Tensors are immutable constants once in an attribute, so their storage is shared; graphs
  // are deep-copied (keeping their parent; Graph::clone re-parents them when cloning a node).
  Attribute a = *this;
  if (g) a.g = std::shared_ptr<Graph>(g->clone(g->parent()));
  for (auto& sg : a.graphs)
    if (sg) sg = std::shared_ptr<Graph>(sg->clone(sg->parent()));
  return a;
}

namespace {

std::string float_text(float f) {
  std::ostringstream os;
  os.precision(9);
  os << f;
  return os.str();
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

template <typename T, typename F>
std::string list_text(const std::vector<T>& v, F f) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + f(v[i]);
  return s + "]";
}

}  // namespace

std::string Attribute::value_to_string() const {
  switch (type) {
    case AttributeType::kUndefined: return "<undefined>";
    case AttributeType::kFloat: return float_text(f);
    case AttributeType::kInt: return std::to_string(i);
    case AttributeType::kString: return quoted(s);
    case AttributeType::kTensor: return t.describe();
    case AttributeType::kGraph: return "<graph " + (g ? g->name() : std::string()) + ">";
    case AttributeType::kFloats: return list_text(floats, float_text);
    case AttributeType::kInts: return list_text(ints, [](int64_t x) { return std::to_string(x); });
    case AttributeType::kStrings: return list_text(strings, quoted);
    case AttributeType::kTensors: return list_text(tensors, [](const Tensor& x) { return x.describe(); });
    case AttributeType::kGraphs:
      return list_text(graphs, [](const std::shared_ptr<Graph>& x) {
        return "<graph " + (x ? x->name() : std::string()) + ">";
      });
    case AttributeType::kSparseTensor:
      return "sparse " + std::string(dtype_name(sparse.values.dtype())) + shape_to_string(sparse.dims);
    case AttributeType::kSparseTensors:
      return list_text(sparse_tensors, [](const SparseTensor& x) {
        return "sparse " + std::string(dtype_name(x.values.dtype())) + shape_to_string(x.dims);
      });
    case AttributeType::kTypeProto: return tp.to_string();
    case AttributeType::kTypeProtos: return list_text(tps, [](const Type& x) { return x.to_string(); });
  }
  return "<undefined>";
}

}  // namespace ferry::ir
