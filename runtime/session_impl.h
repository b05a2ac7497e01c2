// Internal counterpart of ferry::Session (include/ferry/session.h).
//
// Creation: load (onnx_import) -> infer shapes (ir) -> optimize (optimizer, per level) ->
// partition (ask providers in priority order; CPU takes the rest unless forbidden) -> create
// one kernel per node. Running: check feeds against the model's declared types, bind the
// input symbols, fetch or build the memory plan for this input-shape signature (cached, LRU
// bounded), run nodes in order with per-run state only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ferry/session.h"
#include "ir/graph.h"

namespace ferry {

class SessionImpl;

/// Builds a session from an already loaded model (used by Session and by tools/tests).
/// `started`: when creation began (the profile's time origin; default now).
std::unique_ptr<SessionImpl> create_session_impl(
    std::unique_ptr<ir::Model> model, const SessionOptions& options,
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());

}  // namespace ferry
