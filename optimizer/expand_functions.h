// Function expansion: a node no provider can run, whose op the ONNX spec defines as a function
// of other ops, is replaced by that function body (STYLE.md 1: an op that is a composition of
// others gets no kernel).
//
//   y = HardSigmoid(x) {alpha=0.5}          Alpha = Constant() {value_float=@alpha}
//                                           AlphaCast = CastLike(Alpha, X) ...
//   becomes                                 Y = Max(Zero, Min(One, X*AlphaCast + BetaCast))
//
//   hs__Alpha = Constant() {value_float=0.5}
//   hs__AlphaCast = CastLike(hs__Alpha, x)
//   ...
//   y = Max(...)
//
// - Bodies are the spec's static ones (ir::find_function_body); context-dependent bodies are not
//   available and such nodes are left alone.
// - Every name the body defines (also in its subgraphs) gets a fresh name unique in the model;
//   formal inputs become the node's inputs (an omitted optional input stays omitted where the
//   body uses it); formal outputs keep the node's output values (names and declared types).
// - Attribute references (@name) take the node's attribute, else the schema's default, else the
//   attribute is dropped, as the spec's function semantics say.
// - The body's nodes run at the model's opset: a body written for another opset is used only
//   when each op it uses is the same operator at both (same formal inputs, outputs, attributes
//   and defaults; added optional attributes and inputs the body does not use are allowed);
//   otherwise kNotImplemented names the node, the op and both opsets.
// - Expansion repeats (body nodes may themselves lack kernels) until nothing changes; types of
//   the new values are inferred with ir::infer_shapes after each round.
#pragma once

#include <cstdint>
#include <functional>

#include "ir/graph.h"

namespace ferry::optimizer {

/// Whether some provider can run this node at this opset (types of its inputs are inferred).
using HasKernel = std::function<bool(const ir::Node& node, int64_t opset)>;

/// Expands, in the main graph and all subgraphs, every node for which `has_kernel` is false and
/// the spec has a static function body at the model's opset. Returns whether anything changed.
bool expand_functions(ir::Model& model, const HasKernel& has_kernel);

}  // namespace ferry::optimizer
