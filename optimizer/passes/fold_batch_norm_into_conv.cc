// fold_batch_norm_into_conv (basic): an inference-mode BatchNormalization after a Conv or
// ConvTranspose with constant weights becomes part of the convolution's weights and bias.
//
//   x   W   [B]                         x   W'  B'
//    \  |  /                             \  |  /
//     Conv            scale bias mean var    Conv        W'[oc,...] = W[oc,...] * s[oc]
//       |            /    /    /    /          |         B'[oc]     = (B[oc] - mean[oc]) * s[oc] + bias[oc]
//   BatchNormalization ------------           y         s[oc]      = scale[oc] / sqrt(var[oc] + epsilon)
//       |
//       y
//
// Contract:
// - Fires when W (and B when present) and all four BatchNormalization inputs are constant
//   initializers that are not graph inputs (an overridable input is not a constant), all float or
//   all double; scale/bias/mean/var hold one value per output channel; the convolution's output
//   is read by the BatchNormalization only and is not a graph output; only output 0 of the
//   BatchNormalization is used; training_mode is 0 (opset 14+) and spatial is 1 (opset 7-8);
//   the model's ai.onnx opset is at least 7 (BatchNormalization-6 had is_test).
// - Output channel oc of an element of W: Conv weight [M, C/group, k...] -> its dim-0 index;
//   ConvTranspose weight [C, M/group, k...] -> (c / (C/group)) * (M/group) + its dim-1 index.
// - The arithmetic is done in double and stored in W's dtype, in new initializers (W and B may be
//   shared with other nodes; they are never edited in place). The fused node keeps the
//   convolution's attributes and name; y keeps its name when it is a graph output.
// - float16/bfloat16 weights are left alone (the optimizer has no half conversions; rounding the
//   folded weights to half would also lose more than the unfused model does).
#include <cmath>
#include <optional>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

/// Whether no output of `node` other than output 0 is read.
bool only_first_output_used(const ir::Node& node) {
  for (size_t k = 1; k < node.outputs().size(); ++k) {
    const ir::Value* out = node.output(k);
    if (out && (!out->uses().empty() || out->is_graph_output())) return false;
  }
  return true;
}

std::optional<Patch> fold_batch_norm(ir::Node& bn, const PassContext& ctx) {
  if (bn.op_type() != "BatchNormalization" || !bn.domain().empty()) return std::nullopt;
  if (ctx.opset() < 7) return std::nullopt;
  if (bn.get_int("training_mode", 0) != 0 || bn.get_int("spatial", 1) != 1) return std::nullopt;
  if (!only_first_output_used(bn) || bn.inputs().size() != 5) return std::nullopt;
  ir::Node* conv = producer_of(bn.input(0));
  if (!conv || !conv->domain().empty() || conv->outputs().size() != 1) return std::nullopt;
  const bool transpose = conv->op_type() == "ConvTranspose";
  if (conv->op_type() != "Conv" && !transpose) return std::nullopt;
  if (only_consumer(conv->output(0)) != &bn) return std::nullopt;

  const Tensor* w = constant_of(conv->input(1));
  if (!w || w->rank() < 3 || w->element_count() == 0) return std::nullopt;
  const DataType dtype = w->dtype();
  if (dtype != DataType::kFloat && dtype != DataType::kDouble) return std::nullopt;
  const int64_t group = conv->get_int("group", 1);
  if (group < 1) return std::nullopt;
  const int64_t out_channels = transpose ? w->dim(1) * group : w->dim(0);
  if (transpose && w->dim(0) % group != 0) return std::nullopt;

  std::vector<double> bias(static_cast<size_t>(out_channels), 0.0);
  if (conv->input(2)) {
    const Tensor* b = constant_of(conv->input(2));
    if (!b || b->dtype() != dtype || b->element_count() != out_channels) return std::nullopt;
    bias = *tensor_doubles(b);
  }
  std::vector<std::vector<double>> params;  // scale, bias, mean, var
  for (size_t i = 1; i <= 4; ++i) {
    const Tensor* p = constant_of(bn.input(i));
    if (!p || p->rank() != 1 || p->element_count() != out_channels) return std::nullopt;
    std::optional<std::vector<double>> values = tensor_doubles(p);
    if (!values) return std::nullopt;
    params.push_back(std::move(*values));
  }
  const double epsilon = bn.get_float("epsilon", 1e-5f);
  std::vector<double> factor(static_cast<size_t>(out_channels));
  for (size_t oc = 0; oc < factor.size(); ++oc) {
    factor[oc] = params[0][oc] / std::sqrt(params[3][oc] + epsilon);
    bias[oc] = (bias[oc] - params[2][oc]) * factor[oc] + params[1][oc];
  }

  std::vector<double> weights = *tensor_doubles(w);
  const int64_t inner = w->element_count() / (w->dim(0) * w->dim(1));  // kernel elements
  for (int64_t i = 0; i < w->element_count(); ++i) {
    const int64_t d0 = i / (w->dim(1) * inner), d1 = (i / inner) % w->dim(1);
    const int64_t oc = transpose ? (d0 / (w->dim(0) / group)) * w->dim(1) + d1 : d0;
    weights[static_cast<size_t>(i)] *= factor[static_cast<size_t>(oc)];
  }

  Patch patch(bn);
  Patch::Ref new_w = patch.add_initializer(tensor_from_doubles(dtype, w->shape(), weights), conv->input(1)->name() + "_bn");
  const std::string bias_hint = (conv->input(2) ? conv->input(2) : conv->input(1))->name() + "_bn_bias";
  Patch::Ref new_b = patch.add_initializer(tensor_from_doubles(dtype, {out_channels}, bias), bias_hint);
  Patch::Ref y = patch.add_node(conv->op_type(), {patch.use(conv->input(0)), new_w, new_b}, conv->attributes(), 1, "",
                                conv->name())[0];
  patch.replace(bn.output(0), y);
  return patch;
}

}  // namespace

bool fold_batch_norm_into_conv(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fold_batch_norm);
}

}  // namespace ferry::optimizer::passes
