// The values shape inference propagated (ir::infer_values), kept by the optimizer driver while
// the model is unchanged, so that fold_shape_computations does not infer the whole model again
// when no pass changed anything since the driver's last inference.
//
// The driver infers after a round (and after a pass that left values untyped) and stores the
// result here; any pass that reports a change makes it stale. Kept per thread and per model
// (optimize() runs on the caller's thread).
#pragma once

#include "ir/graph.h"
#include "ir/shape_inference.h"

namespace ferry::optimizer {

/// The known values of `model` as of the driver's last inference, when no pass has changed the
/// model since; null otherwise (the caller then runs ir::infer_values itself).
const ir::KnownValues* current_known_values(const ir::Model& model);

/// Driver only: `values` are what ir::infer_values gave for `model` just now.
void set_current_known_values(const ir::Model& model, ir::KnownValues values);
/// The model changed (or optimization ended). The driver calls it after any pass that reports a
/// change; a pass that reads the values and changes one graph calls it before its next graph.
void forget_known_values();

}  // namespace ferry::optimizer
