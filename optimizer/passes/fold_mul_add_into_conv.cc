// fold_mul_add_into_conv (basic): a per-output-channel constant multiplied into or added to a
// Conv's output moves into the Conv's weights and bias.
//
//   x  W  [B]                           x  W'  [B']
//    \ | /                               \ |  /
//    Conv   c          ==>               Conv          Mul: W'[oc,...] = W[oc,...] * c[oc]
//      |   /                               |                B'[oc]     = B[oc] * c[oc]  (no B: none)
//   Mul or Add                             y           Add: W' = W,  B'[oc] = B[oc] + c[oc]  (no B: 0)
//      |
//      y
//
// Contract:
// - Fires when W (and B when present) and c are constant initializers that are not graph inputs,
//   all of W's dtype (float or double); W has rank >= 3; the Conv's output is read by the Mul/Add
//   only and is not a graph output; c (either operand of the Mul/Add) broadcasts per output
//   channel: rank <= the Conv output's rank, every dim 1 except the one aligned with axis 1, which
//   is M or 1 ([M,1,1], [1,M,1,1], [1], scalar). A constant that would broadcast along batch or
//   spatial axes (e.g. [M] against [N,M,H,W], which aligns with W) or grow the output's rank is
//   left alone.
// - The arithmetic is done in double and stored in W's dtype, in new initializers (W and B may be
//   shared). The new Conv keeps the old one's attributes and name; y keeps its name when it is a
//   graph output. ConvTranspose is not handled here (fold_batch_norm_into_conv handles its BN).
#include <optional>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

/// c's value for each of `channels` output channels of a rank-`rank` output; nullopt when c does
/// not broadcast per channel.
std::optional<std::vector<double>> per_channel(const Tensor& c, size_t rank, int64_t channels) {
  if (c.rank() > rank) return std::nullopt;
  for (size_t j = 0; j < c.rank(); ++j) {
    const size_t axis = rank - c.rank() + j;
    if (c.dim(j) != 1 && !(axis == 1 && c.dim(j) == channels)) return std::nullopt;
  }
  const std::vector<double> values = *tensor_doubles(&c);
  if (values.size() == 1) return std::vector<double>(static_cast<size_t>(channels), values[0]);
  return values;
}

std::optional<Patch> fold_into_conv(ir::Node& node, const PassContext&) {
  const bool mul = node.op_type() == "Mul";
  if ((!mul && node.op_type() != "Add") || !node.domain().empty() || node.inputs().size() != 2) return std::nullopt;
  ir::Node* conv = nullptr;
  const Tensor* c = nullptr;
  for (size_t side = 0; side < 2 && !conv; ++side) {
    conv = producer_of(node.input(side), "Conv");
    c = constant_of(node.input(1 - side));
    if (!c) conv = nullptr;
  }
  if (!conv || conv->outputs().size() != 1 || only_consumer(conv->output(0)) != &node) return std::nullopt;

  const Tensor* w = constant_of(conv->input(1));
  if (!w || w->rank() < 3 || w->element_count() == 0) return std::nullopt;
  const DataType dtype = w->dtype();
  if ((dtype != DataType::kFloat && dtype != DataType::kDouble) || c->dtype() != dtype) return std::nullopt;
  const int64_t channels = w->dim(0);
  const Tensor* b = nullptr;
  if (conv->input(2)) {
    b = constant_of(conv->input(2));
    if (!b || b->dtype() != dtype || b->element_count() != channels) return std::nullopt;
  }
  std::optional<std::vector<double>> factor = per_channel(*c, w->rank(), channels);
  if (!factor) return std::nullopt;

  Patch patch(node);
  Patch::Ref new_w = patch.use(conv->input(1));
  Patch::Ref new_b = patch.use(conv->input(2));
  std::vector<double> bias = b ? *tensor_doubles(b) : std::vector<double>(static_cast<size_t>(channels), 0.0);
  const std::string bias_hint =
      (b ? conv->input(2)->name() : conv->input(1)->name() + "_bias") + (mul ? "_mul" : "_add");
  if (mul) {
    std::vector<double> weights = *tensor_doubles(w);
    const int64_t per_oc = w->element_count() / channels;
    for (size_t i = 0; i < weights.size(); ++i) weights[i] *= (*factor)[i / static_cast<size_t>(per_oc)];
    new_w = patch.add_initializer(tensor_from_doubles(dtype, w->shape(), weights), conv->input(1)->name() + "_mul");
    if (b) {
      for (size_t oc = 0; oc < bias.size(); ++oc) bias[oc] *= (*factor)[oc];
      new_b = patch.add_initializer(tensor_from_doubles(dtype, {channels}, bias), bias_hint);
    }
  } else {
    for (size_t oc = 0; oc < bias.size(); ++oc) bias[oc] += (*factor)[oc];
    new_b = patch.add_initializer(tensor_from_doubles(dtype, {channels}, bias), bias_hint);
  }
  std::vector<Patch::Ref> inputs = {patch.use(conv->input(0)), new_w};
  if (new_b != Patch::kOmitted) inputs.push_back(new_b);
  Patch::Ref y = patch.add_node("Conv", inputs, conv->attributes(), 1, "", conv->name())[0];
  patch.replace(node.output(0), y);
  return patch;
}

}  // namespace

bool fold_mul_add_into_conv(ir::Graph& graph, const PassContext& ctx) { return apply_rule(graph, ctx, fold_into_conv); }

}  // namespace ferry::optimizer::passes
