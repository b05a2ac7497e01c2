// Shared by fuse_conv_activation and fuse_gemm_activation: which activation nodes a FusedConv /
// FusedGemm / FusedMatMul can absorb, as the `activation` / `activation_params` attributes of
// those ops (ir/ferry_schemas_fusion.cc).
#pragma once

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "optimizer/pass.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

struct FusableActivation {
  std::string name;           ///< the `activation` attribute
  std::vector<float> params;  ///< `activation_params`
};

/// The activation `node` computes, when it is a float32 ai.onnx Relu, LeakyRelu, Sigmoid, Tanh,
/// HardSigmoid, Clip whose bounds are constants (attributes before opset 11, constant inputs
/// from 11; an omitted bound is unbounded) or Gelu (opset 20), or a ferry.Silu or a ferry.Gelu
/// without Bias. std::nullopt otherwise.
inline std::optional<FusableActivation> fusable_activation(const ir::Node& node, int64_t opset) {
  if (node.outputs().size() != 1 || !node.input(0) || node.input(0)->dtype() != DataType::kFloat)
    return std::nullopt;
  const std::string& op = node.op_type();
  // Gelu's `approximate` ("none" or "tanh"; another value stays with the Gelu kernel, which
  // reports it).
  auto gelu = [&]() -> std::optional<FusableActivation> {
    const std::string approximate = node.get_string("approximate", "none");
    if (approximate == "none") return FusableActivation{"Gelu", {}};
    if (approximate == "tanh") return FusableActivation{"GeluTanh", {}};
    return std::nullopt;
  };
  // fuse_silu's x * Sigmoid(x) and fuse_gelu's Gelu (ir/ferry_schemas_norm.cc); a Gelu with a
  // Bias adds it first, which the fused ops cannot.
  if (node.domain() == kFerryDomain) {
    if (op == "Silu" && node.inputs().size() == 1) return FusableActivation{"SiLU", {}};
    if (op == "Gelu" && (node.inputs().size() == 1 || node.input(1) == nullptr)) return gelu();
    return std::nullopt;
  }
  if (!node.domain().empty() && node.domain() != "ai.onnx") return std::nullopt;
  if (op == "Gelu") return gelu();
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh") return FusableActivation{op, {}};
  if (op == "LeakyRelu") return FusableActivation{op, {node.get_float("alpha", 0.01f)}};
  if (op == "HardSigmoid")
    return FusableActivation{op, {node.get_float("alpha", 0.2f), node.get_float("beta", 0.5f)}};
  if (op != "Clip") return std::nullopt;
  float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
  if (opset < 11) {
    lo = node.get_float("min", lo);
    hi = node.get_float("max", hi);
  } else {
    for (size_t i = 1; i < 3; ++i) {
      const ir::Value* bound = node.input(i);
      if (!bound) continue;
      const Tensor* t = constant_of(bound);
      const std::optional<double> v = scalar_constant(bound);
      if (!t || !v || t->dtype() != DataType::kFloat) return std::nullopt;
      (i == 1 ? lo : hi) = static_cast<float>(*v);
    }
  }
  return FusableActivation{"Clip", {lo, hi}};
}

}  // namespace ferry::optimizer::passes
