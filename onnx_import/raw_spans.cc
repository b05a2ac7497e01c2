// Zero-copy loading of embedded tensor data: the model's bytes are rewritten into a small
// "skeleton" in which each large TensorProto.raw_data payload is replaced by a marker field
// holding its index in a table of (offset, length) spans of the original bytes. Protobuf then
// parses only the skeleton, and tensor_from_proto makes each such tensor alias the mapped file
// (or copy from it when the payload is misaligned for its dtype): no second copy of the
// weights ever exists, and aligned weights stay in the page cache.

#include <cstring>

#include "onnx_import/internal.h"

namespace ferry::onnx_import::detail {
namespace {

// Field numbers of the messages on the way to a TensorProto.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphSparseInitializer = 15;
constexpr uint32_t kNodeAttribute = 5;
constexpr uint32_t kAttrT = 5, kAttrG = 6, kAttrTensors = 10, kAttrGraphs = 11;
constexpr uint32_t kAttrSparseTensor = 22, kAttrSparseTensors = 23;
constexpr uint32_t kSparseValues = 1, kSparseIndices = 2;
constexpr uint32_t kTensorRawData = 9;
// Payloads smaller than this stay inline (copying them costs nothing worth a marker).
constexpr size_t kMinSpanBytes = 256;

enum class Kind { kModel, kGraph, kNode, kAttribute, kTensor, kSparseTensor, kOther };

Kind child_kind(Kind parent, uint32_t field) {
  switch (parent) {
    case Kind::kModel: return field == kModelGraph ? Kind::kGraph : Kind::kOther;
    case Kind::kGraph:
      if (field == kGraphNode) return Kind::kNode;
      if (field == kGraphInitializer) return Kind::kTensor;
      if (field == kGraphSparseInitializer) return Kind::kSparseTensor;
      return Kind::kOther;
    case Kind::kNode: return field == kNodeAttribute ? Kind::kAttribute : Kind::kOther;
    case Kind::kAttribute:
      if (field == kAttrT || field == kAttrTensors) return Kind::kTensor;
      if (field == kAttrG || field == kAttrGraphs) return Kind::kGraph;
      if (field == kAttrSparseTensor || field == kAttrSparseTensors) return Kind::kSparseTensor;
      return Kind::kOther;
    case Kind::kSparseTensor:
      return field == kSparseValues || field == kSparseIndices ? Kind::kTensor : Kind::kOther;
    default: return Kind::kOther;
  }
}

bool read_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

void write_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

class Stripper {
 public:
  Stripper(const uint8_t* base, std::vector<RawSpan>& spans) : base_(base), spans_(spans) {}

  /// Appends the rewritten message [p, end) of kind `kind` to `out`; false on malformed input.
  bool rewrite(Kind kind, const uint8_t* p, const uint8_t* end, std::string& out, int depth) {
    if (depth > 64) return false;
    while (p < end) {
      const uint8_t* field_start = p;
      uint64_t tag;
      if (!read_varint(p, end, tag)) return false;
      const uint32_t field = static_cast<uint32_t>(tag >> 3);
      const int wire = static_cast<int>(tag & 7);
      if (kind == Kind::kTensor && field == kRawSpanField) return false;  // taken: parse as is
      uint64_t v;
      switch (wire) {
        case 0:
          if (!read_varint(p, end, v)) return false;
          break;
        case 1:
          if (end - p < 8) return false;
          p += 8;
          break;
        case 5:
          if (end - p < 4) return false;
          p += 4;
          break;
        case 2: {
          if (!read_varint(p, end, v) || v > static_cast<uint64_t>(end - p)) return false;
          const uint8_t* body = p;
          p += v;
          if (kind == Kind::kTensor && field == kTensorRawData && v >= kMinSpanBytes) {
            write_varint(out, static_cast<uint64_t>(kRawSpanField) << 3);  // varint field
            write_varint(out, spans_.size());
            spans_.push_back({static_cast<size_t>(body - base_), static_cast<size_t>(v)});
            continue;
          }
          Kind child = child_kind(kind, field);
          if (child != Kind::kOther) {
            std::string sub;
            if (!rewrite(child, body, p, sub, depth + 1)) return false;
            write_varint(out, tag);
            write_varint(out, sub.size());
            out += sub;
            continue;
          }
          break;
        }
        default: return false;  // groups (3, 4) and invalid wire types: let protobuf decide
      }
      out.append(reinterpret_cast<const char*>(field_start), static_cast<size_t>(p - field_start));
    }
    return p == end;
  }

 private:
  const uint8_t* base_;
  std::vector<RawSpan>& spans_;
};

}  // namespace

bool strip_raw_data(const uint8_t* data, size_t size, std::string& skeleton, std::vector<RawSpan>& spans) {
  skeleton.clear();
  spans.clear();
  Stripper s(data, spans);
  if (!s.rewrite(Kind::kModel, data, data + size, skeleton, 0)) {
    skeleton.clear();
    spans.clear();
    return false;
  }
  return true;
}

bool find_raw_span(const std::string& unknown_fields, uint64_t& index) {
  const auto* p = reinterpret_cast<const uint8_t*>(unknown_fields.data());
  const uint8_t* end = p + unknown_fields.size();
  while (p < end) {
    uint64_t tag, v;
    if (!read_varint(p, end, tag)) return false;
    switch (tag & 7) {
      case 0:
        if (!read_varint(p, end, v)) return false;
        if ((tag >> 3) == kRawSpanField) {
          index = v;
          return true;
        }
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2:
        if (!read_varint(p, end, v) || v > static_cast<uint64_t>(end - p)) return false;
        p += v;
        break;
      default: return false;
    }
  }
  return false;
}

}  // namespace ferry::onnx_import::detail
