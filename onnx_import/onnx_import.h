// ONNX protobuf <-> IR, both directions. Nothing downstream of this module sees protobuf.
//
// Import accepts IR versions 3 and up and every opset from 7 to the newest the schema table
// knows; inlines model-local functions; converts subgraph attributes (If/Loop/Scan bodies)
// recursively; densifies sparse initializers (remembering they were sparse); memory-maps
// external data, which must lie inside the model's directory. Every error names the source
// (file path or "<bytes>") and, where it applies, the graph, node and tensor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ir/graph.h"

namespace ferry::onnx_import {

/// Loads a model file. Throws ferry::Error (kIO, kInvalidModel or kNotImplemented).
std::unique_ptr<ir::Model> load_model(const std::string& path);

/// Loads serialized ONNX. External data is refused (there is no directory to resolve it in)
/// unless `directory` is given.
std::unique_ptr<ir::Model> load_model_from_bytes(const void* data, size_t size,
                                                 const std::string& source = "<bytes>",
                                                 const std::string& directory = "");

struct SaveOptions {
  /// Initializers of at least this many bytes go to an external data file beside the model
  /// (`<model file name>.data`); 0 keeps everything inside the .onnx file.
  size_t external_data_threshold = 0;
};

/// Writes the model as ONNX. The result passes onnx.checker with full checking.
void save_model(const ir::Model& model, const std::string& path, const SaveOptions& options = {});
/// Serialized ONNX bytes (everything inline).
std::string serialize_model(const ir::Model& model);

}  // namespace ferry::onnx_import
