// convert_conv_to_channels_last (all): every float 1-D/2-D/3-D Conv and ferry.FusedConv with a
// constant W runs channels-last (ferry.FusedConv{channels_last=1}: X, Z and Y are [N, d1..dk, C]),
// with Transposes at its edges. cancel_transposes (basic, next round of the driver) then cancels
// the pairs between consecutive convs and carries the rest through the element-wise ops between
// them (Relu, residual Add, Mul, Sigmoid, Concat, ...), so that a conv chain runs in NHWC with
// Transposes only at its boundaries (graph inputs and outputs, and the ops that need NCHW:
// pooling, BatchNormalization, Resize, Reshape, ...).
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
// A plain Conv becomes FusedConv{activation=""} with Conv's attributes.
// Guards: X is float with a known rank 3..5; W is a float constant of that rank (the kernel packs
// it once at session creation for oneDNN's channels-last primitive); the node is not
// channels-last already (so the pass reaches a fixed point).
//
// This is the `all` level's layout choice for the CPU provider. The level's other half, weight
// prepacking, is not a pass: kernels pack their constant weights when the session creates them
// (KernelInfo::mark_prepacked; FusedConv's oneDNN primitive, MatMul / Gemm packing).
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

}  // namespace

bool convert_conv_to_channels_last(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, conv_to_channels_last);
}

}  // namespace ferry::optimizer::passes
