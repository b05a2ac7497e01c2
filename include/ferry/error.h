// The one exception type Ferry throws. Each layer that catches one adds what it knows
// (model path, node, input) with `with_context` and rethrows, so the final message reads
// outermost first:  "model.onnx: node 'conv1' (Conv, opset 13): input 'W' ...: <what went wrong>".
#pragma once

#include <stdexcept>
#include <string>

namespace ferry {

enum class ErrorCode {
  kInvalidArgument,  // bad input from the caller: feeds, options, arguments
  kInvalidModel,     // the model file or graph is malformed or violates the spec
  kNotImplemented,   // a valid model uses something this build cannot run
  kRuntime,          // a failure while running (allocation limit, kernel error)
  kIO,               // a file could not be read or written
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  /// A new error with `context + ": "` in front of this one's message, same code.
  Error with_context(const std::string& context) const { return Error(code_, context + ": " + what()); }

 private:
  ErrorCode code_;
};

}  // namespace ferry
