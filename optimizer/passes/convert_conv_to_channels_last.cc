// convert_conv_to_channels_last (all): every float 1-D/2-D/3-D Conv and ferry.FusedConv with a
// constant W runs channels-last (ferry.FusedConv{channels_last=1}: X, Z and Y are [N, d1..dk, C]),
// with Transposes at its edges. cancel_transposes (basic, next round of the driver) then cancels
// the pairs between consecutive convs and carries the rest through the element-wise ops between
// them (Relu, residual Add, Mul, Sigmoid, Concat, Resize, ...), so that a conv chain runs in NHWC
// with Transposes only at its boundaries (graph inputs and outputs, and the ops that need NCHW:
// BatchNormalization, Reshape, ...). Pools that read such a chain, and the ReduceMean a
// squeeze-excite block becomes there, run channels-last too (ferry.ChannelsLastPool), and so do
// ConvTransposes whose kernel equals their strides (ferry.ChannelsLastConvTranspose).
//
//   X  W  B   Z                 X          Z
//    \ |  |  /                  |          |
//    FusedConv {act}     ==>  Transpose   Transpose      (perm [0,2,..,r-1,1])
//        |                      \   W  B  /
//        Y                    FusedConv {act, channels_last=1}
//                                   |
//                               Transpose                (perm [0,r-1,1,..,r-2])
//                                   |
//                                   Y
//
// Pools join the region (ferry.ChannelsLastPool, ir/ferry_schemas_layout.cc):
// - MaxPool (Indices unused) / AveragePool / GlobalAveragePool / GlobalMaxPool whose X is such an
//   edge Transpose (perm [0,r-1,1,..]) become Transpose -> ChannelsLastPool -> Transpose, so
//   cancel_transposes removes the pair on each side instead of leaving two around the pool; a
//   pool that does not read a channels-last region is left alone (it would only gain Transposes);
// - ReduceMean with keepdims over exactly axes 1..r-2 (what cancel_transposes makes of a
//   GlobalAveragePool it carries into the region, e.g. squeeze-excite) becomes the global
//   ChannelsLastPool: a contiguous reduction per channel row instead of a strided one. (Not
//   ReduceMax: it propagates NaN, the pools skip it.)
// ceil_mode pools before opset 22 (whose last window differs) stay as they are.
// A float 1-D / 2-D ConvTranspose reading such an edge, group 1, with a constant W whose kernel
// equals the strides (no pads, dilations, output_padding, output_shape; auto_pad NOTSET or VALID)
// becomes Transpose -> ferry.ChannelsLastConvTranspose -> Transpose the same way.
//
// A plain Conv becomes FusedConv{activation=""} with Conv's attributes.
// Guards: X is float with a known rank 3..5; W is a float constant of that rank (the kernel packs
// it once at session creation for oneDNN's channels-last primitive); the node is not
// channels-last already (so the pass reaches a fixed point).
//
// This is the `all` level's layout choice for the CPU provider. The level's other half, weight
// prepacking, is not a pass: kernels pack their constant weights when the session creates them
// (KernelInfo::mark_prepacked; FusedConv's oneDNN primitive, MatMul / Gemm packing).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

/// [0, 2, .., r-1, 1]: NCHW -> NHWC.
std::vector<int64_t> to_channels_last(size_t rank) {
  std::vector<int64_t> perm = {0};
  for (size_t i = 2; i < rank; ++i) perm.push_back(static_cast<int64_t>(i));
  perm.push_back(1);
  return perm;
}

/// [0, r-1, 1, .., r-2]: NHWC -> NCHW.
std::vector<int64_t> to_channels_first(size_t rank) {
  std::vector<int64_t> perm = {0, static_cast<int64_t>(rank) - 1};
  for (size_t i = 1; i + 1 < rank; ++i) perm.push_back(static_cast<int64_t>(i));
  return perm;
}

std::optional<Patch> conv_to_channels_last(ir::Node& node, const PassContext& ctx) {
  const bool fused = node.op_type() == "FusedConv" && node.domain() == kFerryDomain;
  if (!fused && (node.op_type() != "Conv" || !node.domain().empty())) return std::nullopt;
  if (node.get_int("channels_last", 0) != 0 || node.outputs().size() != 1 || !node.output(0)) return std::nullopt;
  const ir::Value* x = node.input(0);
  if (!x || x->dtype() != DataType::kFloat || !x->shape().has_rank) return std::nullopt;
  const size_t rank = x->shape().rank();
  if (rank < 3 || rank > 5) return std::nullopt;
  const Tensor* w = constant_of(node.input(1));
  if (!w || w->dtype() != DataType::kFloat || w->rank() != rank) return std::nullopt;
  const ir::Value* z = fused ? node.input(3) : nullptr;
  if (z && (z->dtype() != DataType::kFloat || !z->shape().has_rank || z->shape().rank() != rank)) return std::nullopt;

  Patch patch(node);
  const std::vector<int64_t> last = to_channels_last(rank);
  auto to_last = [&](ir::Value* v) {
    return patch.add_node("Transpose", {patch.use(v)}, {ir::Attribute::make_ints("perm", last)})[0];
  };
  std::vector<Patch::Ref> inputs = {to_last(node.input(0)), patch.use(node.input(1)), patch.use(node.input(2))};
  if (z) inputs.push_back(to_last(node.input(3)));
  while (inputs.back() == Patch::kOmitted) inputs.pop_back();
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : node.attributes())
    if (a.name != "channels_last") attrs.push_back(a.clone());
  attrs.push_back(ir::Attribute::make_int("channels_last", 1));
  Patch::Ref y = patch.add_node("FusedConv", inputs, std::move(attrs), 1, kFerryDomain, node.name())[0];
  Patch::Ref back =
      patch.add_node("Transpose", {y}, {ir::Attribute::make_ints("perm", to_channels_first(rank))})[0];
  patch.replace(node.output(0), back);
  ctx.use_ferry_domain();
  return patch;
}

/// Whether `v` is the output of a Transpose back to channels-first (a channels-last region's edge).
bool from_channels_last(const ir::Value* v, size_t rank) {
  const ir::Node* t = producer_of(v, "Transpose");
  return t != nullptr && t->get_ints("perm", {}) == to_channels_first(rank);
}

/// A float X of known rank 3..5, X's rank in `rank`.
bool float_rank_3_to_5(const ir::Value* x, size_t& rank) {
  if (!x || x->dtype() != DataType::kFloat || !x->shape().has_rank) return false;
  rank = x->shape().rank();
  return rank >= 3 && rank <= 5;
}

/// MaxPool (without Indices) / AveragePool / GlobalAveragePool / GlobalMaxPool reading a
/// channels-last region's edge: ferry.ChannelsLastPool between Transposes, which cancel_transposes
/// then cancels against that edge (and against the next conv's, when one follows).
std::optional<Patch> pool_to_channels_last(ir::Node& node, const PassContext& ctx) {
  const std::string& op = node.op_type();
  const bool global = op == "GlobalAveragePool" || op == "GlobalMaxPool";
  if (!node.domain().empty() || !(global || op == "MaxPool" || op == "AveragePool")) return std::nullopt;
  if (node.outputs().empty() || !node.output(0)) return std::nullopt;
  for (size_t i = 1; i < node.outputs().size(); ++i)
    if (node.output(i) && (!node.output(i)->uses().empty() || node.output(i)->is_graph_output())) return std::nullopt;
  size_t rank = 0;
  if (!float_rank_3_to_5(node.input(0), rank) || !from_channels_last(node.input(0), rank)) return std::nullopt;
  // ceil_mode's last window differs between opsets (dropped from opset 22 on); the op has the
  // latest semantics only. Pools of older opsets, AveragePool's dilations from 19 on.
  if (node.get_int("ceil_mode", 0) != 0 && ctx.opset() < 22) return std::nullopt;
  if (op == "AveragePool" && ctx.opset() < 19 && node.find_attribute("dilations")) return std::nullopt;

  Patch patch(node);
  const Patch::Ref x = patch.add_node("Transpose", {patch.use(node.input(0))},
                                      {ir::Attribute::make_ints("perm", to_channels_last(rank))})[0];
  std::vector<ir::Attribute> attrs = {ir::Attribute::make_string("mode", op)};
  for (const ir::Attribute& a : node.attributes())
    if (a.name != "storage_order") attrs.push_back(a.clone());
  const Patch::Ref y = patch.add_node("ChannelsLastPool", {x}, std::move(attrs), 1, kFerryDomain, node.name())[0];
  patch.replace(node.output(0),
                patch.add_node("Transpose", {y}, {ir::Attribute::make_ints("perm", to_channels_first(rank))})[0]);
  ctx.use_ferry_domain();
  return patch;
}

/// ReduceMean with keepdims over exactly the middle axes 1..r-2 of a float rank-3..5 X: a
/// channels-last global average pool (cancel_transposes makes it from a GlobalAveragePool it
/// moves into a channels-last region).
std::optional<Patch> reduce_to_channels_last_pool(ir::Node& node, const PassContext& ctx) {
  const std::string& op = node.op_type();
  if (!node.domain().empty() || op != "ReduceMean") return std::nullopt;
  if (node.outputs().size() != 1 || !node.output(0) || node.get_int("keepdims", 1) != 1) return std::nullopt;
  size_t rank = 0;
  if (!float_rank_3_to_5(node.input(0), rank)) return std::nullopt;
  std::optional<std::vector<int64_t>> axes;
  if (node.find_attribute("axes"))
    axes = node.get_ints("axes", {});
  else if (node.inputs().size() > 1 && node.input(1))
    axes = constant_ints(node.input(1));
  if (!axes) return std::nullopt;
  std::vector<int64_t> want, got;
  for (size_t i = 1; i + 1 < rank; ++i) want.push_back(static_cast<int64_t>(i));
  for (int64_t a : *axes) got.push_back(a < 0 ? a + static_cast<int64_t>(rank) : a);
  std::sort(got.begin(), got.end());
  if (got != want) return std::nullopt;

  Patch patch(node);
  patch.replace(node.output(0), patch.add_node("ChannelsLastPool", {patch.use(node.input(0))},
                                               {ir::Attribute::make_string("mode", "GlobalAveragePool")}, 1, kFerryDomain,
                                               node.name())[0]);
  ctx.use_ferry_domain();
  return patch;
}

/// Whether every value of ints attribute `name` (absent: fine) equals `v`.
bool all_equal(const ir::Node& node, const char* name, int64_t v) {
  for (int64_t a : node.get_ints(name, {}))
    if (a != v) return false;
  return true;
}

/// ConvTranspose (kernel == strides, see the header) reading a channels-last region's edge.
std::optional<Patch> conv_transpose_to_channels_last(ir::Node& node, const PassContext& ctx) {
  if (!node.domain().empty() || node.op_type() != "ConvTranspose" || node.outputs().size() != 1 || !node.output(0))
    return std::nullopt;
  size_t rank = 0;
  if (!float_rank_3_to_5(node.input(0), rank) || rank > 4 || !from_channels_last(node.input(0), rank)) return std::nullopt;
  const Tensor* w = constant_of(node.input(1));
  if (!w || w->dtype() != DataType::kFloat || w->rank() != rank) return std::nullopt;
  const ir::Value* b = node.inputs().size() > 2 ? node.input(2) : nullptr;
  if (b && b->dtype() != DataType::kFloat) return std::nullopt;
  const std::string auto_pad = node.get_string("auto_pad", "NOTSET");
  if (node.get_int("group", 1) != 1 || (auto_pad != "NOTSET" && auto_pad != "VALID") ||
      node.find_attribute("output_shape") || !all_equal(node, "pads", 0) || !all_equal(node, "dilations", 1) ||
      !all_equal(node, "output_padding", 0))
    return std::nullopt;
  const std::vector<int64_t> kernel(w->shape().begin() + 2, w->shape().end());
  if (node.get_ints("strides", {}) != kernel) return std::nullopt;
  if (node.find_attribute("kernel_shape") && node.get_ints("kernel_shape", {}) != kernel) return std::nullopt;

  Patch patch(node);
  const Patch::Ref x = patch.add_node("Transpose", {patch.use(node.input(0))},
                                      {ir::Attribute::make_ints("perm", to_channels_last(rank))})[0];
  std::vector<Patch::Ref> inputs = {x, patch.use(node.input(1))};
  if (b) inputs.push_back(patch.use(node.input(2)));
  const Patch::Ref y = patch.add_node("ChannelsLastConvTranspose", inputs, {}, 1, kFerryDomain, node.name())[0];
  patch.replace(node.output(0),
                patch.add_node("Transpose", {y}, {ir::Attribute::make_ints("perm", to_channels_first(rank))})[0]);
  ctx.use_ferry_domain();
  return patch;
}

}  // namespace

bool convert_conv_to_channels_last(ir::Graph& graph, const PassContext& ctx) {
  bool changed = apply_rule(graph, ctx, conv_to_channels_last);
  changed |= apply_rule(graph, ctx, pool_to_channels_last);
  changed |= apply_rule(graph, ctx, reduce_to_channels_last_pool);
  changed |= apply_rule(graph, ctx, conv_transpose_to_channels_last);
  return changed;
}

}  // namespace ferry::optimizer::passes
