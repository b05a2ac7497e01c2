// Pieces shared by the files of onnx_import/ (not installed, not used outside this folder).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/error.h"
#include "ferry/tensor.h"
#include "ir/attribute.h"
#include "ir/dim.h"
#include "ir/graph.h"
#include "onnx/onnx-ml.pb.h"

namespace ferry::onnx_import::detail {

/// A read-only-on-disk file mapped copy-on-write (writes through a Tensor stay private).
/// Shared by every tensor that points into it; unmapped when the last one goes.
class MappedFile {
 public:
  /// Maps the whole file. Throws kIO naming `path` when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  uint8_t* mutable_data() { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  void* addr_ = nullptr;
  size_t size_ = 0;
};

/// A TensorProto.raw_data payload left in the model's mapped bytes: [offset, offset + size).
struct RawSpan {
  size_t offset = 0;
  size_t size = 0;
};
/// The unknown varint field that replaces a stripped raw_data; its value indexes the spans.
inline constexpr uint32_t kRawSpanField = 536870000;

/// Rewrites serialized ModelProto `data` into `skeleton`, every TensorProto.raw_data of at
/// least 256 bytes (initializers, attribute tensors, sparse parts, in every graph and
/// subgraph) replaced by a kRawSpanField marker indexing `spans` (offsets into `data`).
/// Returns false, with both empty, when the bytes are not well-formed enough to rewrite (the
/// caller then parses `data` as is, and protobuf reports the problem).
bool strip_raw_data(const uint8_t* data, size_t size, std::string& skeleton, std::vector<RawSpan>& spans);
/// The kRawSpanField value among a message's unknown fields (lite runtime wire bytes).
bool find_raw_span(const std::string& unknown_fields, uint64_t& index);

/// State for one import: where external data is resolved, the mapped data files, and the
/// symbol factory handing out names for dims the file leaves unnamed.
struct ImportContext {
  std::string source;     ///< path or "<bytes>", first in every error
  std::string directory;  ///< model directory; "" refuses external data
  std::map<std::string, std::shared_ptr<MappedFile>> mapped;  ///< by canonical path
  /// The mapped model file whose bytes `raw_spans` index (null when parsing plain bytes).
  std::shared_ptr<MappedFile> model_file;
  std::vector<RawSpan> raw_spans;
  ir::SymbolFactory symbols;
};

/// Element count and storage bytes of `dims` for `dtype`, checked: negative dims, int64
/// overflow and sizes over Tensor::max_allocation_bytes() are kInvalidModel errors naming
/// `what` (e.g. "tensor 'W'"). Nothing is allocated.
struct CheckedSize {
  int64_t elements = 0;
  size_t bytes = 0;
};
CheckedSize checked_tensor_size(DataType dtype, const std::vector<int64_t>& dims, const std::string& what);

/// TensorProto -> Tensor. Takes over raw_data (the proto is left without it) instead of copying
/// where the data is suitably aligned. Errors name the tensor; the caller adds graph context.
Tensor tensor_from_proto(onnx::TensorProto& proto, ImportContext& ctx);
ir::SparseTensor sparse_from_proto(onnx::SparseTensorProto& proto, ImportContext& ctx);

/// Tensor -> TensorProto with raw_data (string_data for strings).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* proto);
/// Dense tensor -> COO sparse proto with linearised [nnz] indices; `name` goes on the values.
void sparse_to_proto(const Tensor& dense, const std::string& name, onnx::SparseTensorProto* proto);
void sparse_to_proto(const ir::SparseTensor& sparse, onnx::SparseTensorProto* proto);

/// Replaces every call of a model-local function (in the main graph and all subgraphs) by the
/// function body, recursively; adds opset imports the bodies need. Errors name the function and
/// the call node. `opsets` is the model's domain -> version map (domains already normalised).
void inline_functions(onnx::ModelProto& model, std::map<std::string, int64_t>& opsets);

/// "node 'conv1' (Conv)", or "node #3 (Conv)" when unnamed, with the domain when not ai.onnx.
std::string describe_node(const onnx::NodeProto& node, int index);

/// "" for "ai.onnx".
inline std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

}  // namespace ferry::onnx_import::detail
