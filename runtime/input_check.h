// Checks a run's feeds against the model's declared inputs before anything runs, and binds
// the input symbols. Every failure is ferry::Error(kInvalidArgument) naming the input, what the
// model expects ("float[batch,3,224,224]") and what was given ("float[1,3,200,224]").
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ferry/session.h"
#include "ir/dim.h"
#include "runtime/exec_graph.h"

namespace ferry::runtime {

struct CheckedFeeds {
  std::vector<std::pair<int, Value>> values;  ///< value id -> fed value
  ir::SymbolBindings bindings;
  /// The concrete input shapes, as a plan-cache key.
  std::string signature;
};

/// `source` (model path or "<bytes>") starts every message.
CheckedFeeds check_feeds(const ExecGraph& graph, const std::vector<NamedTensor>& feeds,
                         const std::string& source);

/// Like check_feeds, for values of any kind: a sequence or optional graph input takes a
/// sequence, an empty optional or (for an optional) the value it holds, which is wrapped.
CheckedFeeds check_value_feeds(const ExecGraph& graph, const std::vector<NamedValue>& feeds,
                               const std::string& source);

/// Binds symbols from concrete input shapes (for memory_plan()); same checks as check_feeds
/// except element types.
CheckedFeeds check_shapes(const ExecGraph& graph,
                          const std::vector<std::pair<std::string, std::vector<int64_t>>>& shapes,
                          const std::string& source);

/// "float[batch,3,224,224]"
std::string describe_declared(const ir::Value& v);

}  // namespace ferry::runtime
