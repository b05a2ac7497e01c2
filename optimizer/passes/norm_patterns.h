// Pattern helpers shared by the normalisation and activation fusions (fuse_gelu,
// fuse_layer_norm, fuse_rms_norm, fuse_skip_layer_norm, fuse_silu). Internal to those passes.
//
// Constants are read from initializers and from Constant nodes alike, so the fusions fire
// whether or not constant folding has turned Constant nodes into initializers yet.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes::norm_patterns {

/// The tensor behind `value`: an initializer, or a Constant node's `value` attribute, also
/// through Identity nodes (torchscript exports share weights that way).
inline const Tensor* constant_tensor(const ir::Value* value) {
  while (const ir::Node* id = producer_of(value, "Identity")) value = id->input(0);
  if (const Tensor* t = constant_of(value)) return t;
  const ir::Node* c = producer_of(value, "Constant");
  if (!c) return nullptr;
  const ir::Attribute* a = c->find_attribute("value");
  return a && a->type == ir::AttributeType::kTensor ? &a->t : nullptr;
}

/// A one-element constant as a number (initializer, Constant value / value_float / value_int).
inline std::optional<double> scalar(const ir::Value* value) {
  if (auto v = scalar_constant(value)) return v;
  const ir::Node* c = producer_of(value, "Constant");
  if (!c) return std::nullopt;
  if (const ir::Attribute* a = c->find_attribute("value_float")) return a->f;
  if (const ir::Attribute* a = c->find_attribute("value_int")) return static_cast<double>(a->i);
  const Tensor* t = constant_tensor(value);
  if (!t || t->element_count() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DataType::kFloat: return *t->data<float>();
    case DataType::kDouble: return *t->data<double>();
    case DataType::kInt32: return *t->data<int32_t>();
    case DataType::kInt64: return static_cast<double>(*t->data<int64_t>());
    default: return std::nullopt;
  }
}

/// Whether `value` is a one-element constant equal to `want` within float rounding (the
/// exporters write sqrt(2), 1/sqrt(2), sqrt(2/pi) as float32).
inline bool is_scalar(const ir::Value* value, double want) {
  const std::optional<double> v = scalar(value);
  return v && std::fabs(*v - want) <= 1e-6 * std::fabs(want) + 1e-12;
}

/// For a two-input node: the input that is not `one` (null when neither input is `one`).
inline ir::Value* other_input(const ir::Node& node, const ir::Value* one) {
  if (node.inputs().size() != 2) return nullptr;
  if (node.input(0) == one) return node.input(1);
  if (node.input(1) == one) return node.input(0);
  return nullptr;
}

/// For a two-input node: the input other than a scalar constant equal to `want` (null when no
/// input is that constant).
inline ir::Value* operand_besides_scalar(const ir::Node& node, double want) {
  if (node.inputs().size() != 2) return nullptr;
  if (is_scalar(node.input(1), want)) return node.input(0);
  if (is_scalar(node.input(0), want)) return node.input(1);
  return nullptr;
}

/// The producer of `value` when it is an `op_type` node of ai.onnx whose outputs are read only
/// by one node input (the fusion may swallow it).
inline ir::Node* sole_producer(const ir::Value* value, const std::string& op_type) {
  ir::Node* p = producer_of(value, op_type);
  return p && sole_consumer(*p) ? p : nullptr;
}

/// Floating element types the fused kernels run.
inline bool is_float_type(const ir::Value* value) {
  if (!value) return false;
  const DataType t = value->dtype();
  return t == DataType::kFloat || t == DataType::kDouble || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

/// Whether `reduce` is a ReduceMean keeping dims that reduces exactly the last axis of its
/// input (axes from the attribute before opset 18, from the constant second input after).
inline bool reduces_last_axis(const ir::Node& reduce, const PassContext& ctx) {
  if (reduce.op_type() != "ReduceMean" || reduce.domain() != "" || reduce.get_int("keepdims", 1) != 1) return false;
  const ir::Value* x = reduce.input(0);
  if (!x || !x->shape().has_rank || x->shape().rank() == 0) return false;
  std::vector<int64_t> axes;
  if (ctx.opset() < 18) {
    axes = reduce.get_ints("axes");
  } else {
    const Tensor* t = constant_tensor(reduce.input(1));
    if (!t || t->dtype() != DataType::kInt64) return false;
    axes.assign(t->data<int64_t>(), t->data<int64_t>() + t->element_count());
  }
  const int64_t rank = static_cast<int64_t>(x->shape().rank());
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == rank - 1);
}

/// The last dimension of `value`'s shape (null when the rank is unknown or 0).
inline const ir::Dim* last_dim(const ir::Value* value) {
  if (!value || !value->shape().has_rank || value->shape().rank() == 0) return nullptr;
  return &value->shape().dims.back();
}

/// Whether `v` is a rank-1 tensor of `x`'s element type and last dimension (LayerNorm's scale
/// and bias, a bias added along the last axis).
inline bool is_last_axis_vector(const ir::Value* v, const ir::Value* x) {
  const ir::Dim* d = last_dim(x);
  return v && d && v->dtype() == x->dtype() && v->shape().has_rank && v->shape().rank() == 1 &&
         v->shape().dims[0] == *d;
}

/// A rank-1 tensor of ones with `x`'s element type (float or double) and last dimension, for a
/// norm written without its scale; nullopt when that dimension is not a constant.
inline std::optional<Tensor> unit_scale_for(const ir::Value* x) {
  const ir::Dim* d = last_dim(x);
  if (!d || !d->is_constant() || d->value() < 1) return std::nullopt;
  const size_t n = static_cast<size_t>(d->value());
  if (x->dtype() == DataType::kFloat) return Tensor::from_vector<float>(DataType::kFloat, {d->value()}, std::vector<float>(n, 1.f));
  if (x->dtype() == DataType::kDouble) return Tensor::from_vector<double>(DataType::kDouble, {d->value()}, std::vector<double>(n, 1.0));
  return std::nullopt;
}

/// Whether every reader of `value` other than `node` is a node of `node`'s graph placed after
/// it. Walks outwards from `node` in both directions at once, so the cost is about twice the
/// distance to the farthest reader (or to the nearest earlier one), not the graph's size.
inline bool other_readers_follow(const ir::Node& node, const ir::Value& value) {
  const ir::Graph& g = *node.graph();
  std::vector<const ir::Node*> pending;
  for (const ir::Use& u : value.uses()) {
    if (u.node == &node) continue;
    if (u.node->graph() != &g) return false;
    if (std::find(pending.begin(), pending.end(), u.node) == pending.end()) pending.push_back(u.node);
  }
  const ir::Node* ahead = &node;
  const ir::Node* behind = &node;
  while (!pending.empty()) {
    if (behind) behind = g.prev_node(*behind);
    if (behind && std::find(pending.begin(), pending.end(), behind) != pending.end()) return false;
    if (ahead) ahead = g.next_node(*ahead);
    if (ahead) pending.erase(std::remove(pending.begin(), pending.end(), ahead), pending.end());
    if (!ahead && !behind && !pending.empty()) return false;
  }
  return true;
}

}  // namespace ferry::optimizer::passes::norm_patterns
