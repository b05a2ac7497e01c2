// Every optimizer pass, one file each in optimizer/passes/ (the file's top comment has the
// pass's before/after diagram and contract). pipeline.cc orders them per level.
#pragma once

#include "ir/graph.h"
#include "optimizer/pass.h"

namespace ferry::optimizer::passes {

// ---- basic: portable ONNX in, portable ONNX out ------------------------------------------------

// ---- extended: fusions into the ferry domain ---------------------------------------------------

// ---- all: provider-specific layout and packing -------------------------------------------------

}  // namespace ferry::optimizer::passes
