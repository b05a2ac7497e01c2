// Schemas of the ferry domain's conv / matrix-product fusions and element-wise chains, created at
// level extended by optimizer/passes/fuse_{conv_activation,gemm_activation,
// matmul_transpose_scale,elementwise_chains}.cc. Inference: ir/infer/ferry_fusion.cc; CPU
// kernels: execution_providers/cpu/fused/fusion.cc.
#include "ir/ferry_schemas.h"

namespace ferry::ir {

namespace {

// The activations FusedConv, FusedGemm and FusedMatMul apply to their output, with the
// activation_params each takes (documented once, shared by the three docs).
constexpr const char* kActivationDoc =
    " `activation` is one of \"\" (none), Relu, LeakyRelu (activation_params = [alpha]), Clip "
    "(activation_params = [min, max]: min(max(y, min), max)), Sigmoid, Tanh, HardSigmoid "
    "(activation_params = [alpha, beta]: max(0, min(1, alpha*y + beta))), SiLU (y * Sigmoid(y)), Gelu "
    "(0.5 y (1 + erf(y / sqrt 2))) or GeluTanh (0.5 y (1 + tanh(sqrt(2/pi) (y + 0.044715 y^3)))).";

/// Adds attributes that are optional and have no default (Conv's kernel_shape, strides...).
OpSchema with_optional_attrs(OpSchema s, const std::vector<std::pair<std::string, AttributeType>>& attrs) {
  for (const auto& [name, type] : attrs) {
    AttributeSpec a;
    a.name = name;
    a.type = type;
    s.attributes.push_back(std::move(a));
  }
  return s;
}

SchemaBuilder& activation_attrs(SchemaBuilder& b) {
  return b.attr(Attribute::make_string("activation", ""))
      .attr(Attribute::make_floats("activation_params", {}));
}

OpSchema fused_conv() {
  SchemaBuilder b("FusedConv",
                  std::string("Y = activation(Conv(X, W, B) + Z): ONNX Conv (same attributes, same "
                              "semantics) with an optional residual Z of exactly Y's shape added "
                              "element-wise, then the activation, in one pass over Y. "
                              "`channels_last` = 1: X, Z and Y are laid out channels-last, [N, d1..dk, C] "
                              "(W and B stay as in Conv, and the spatial attributes still refer to "
                              "d1..dk); the `all` level's convert_conv_to_channels_last sets it.") +
                      kActivationDoc);
  b.input("X").input("W").optional_input("B").optional_input("Z").output("Y")
      .attr(Attribute::make_string("auto_pad", "NOTSET"))
      .attr(Attribute::make_int("group", 1))
      .attr(Attribute::make_int("channels_last", 0));
  activation_attrs(b).types("T", {"tensor(float)"});
  return with_optional_attrs(b.build(), {{"kernel_shape", AttributeType::kInts},
                                         {"strides", AttributeType::kInts},
                                         {"pads", AttributeType::kInts},
                                         {"dilations", AttributeType::kInts}});
}

OpSchema fused_gemm() {
  SchemaBuilder b("FusedGemm",
                  std::string("Y = activation(alpha * op(A) * op(B) + beta * C): ONNX Gemm (same "
                              "attributes and broadcasting of C) followed by the activation.") +
                      kActivationDoc);
  b.input("A").input("B").optional_input("C").output("Y")
      .attr(Attribute::make_float("alpha", 1.0f))
      .attr(Attribute::make_float("beta", 1.0f))
      .attr(Attribute::make_int("transA", 0))
      .attr(Attribute::make_int("transB", 0));
  activation_attrs(b).types("T", {"tensor(float)"});
  return b.build();
}

OpSchema fused_matmul() {
  SchemaBuilder b("FusedMatMul",
                  std::string("Y = activation(alpha * MatMul(op(A), op(B))) with numpy MatMul "
                              "semantics (batch dims broadcast), where op() swaps the last two axes "
                              "of A when transA = 1 and of B when transB = 1 (a transposed operand "
                              "has rank >= 2).") +
                      kActivationDoc);
  b.input("A").input("B").output("Y")
      .attr(Attribute::make_int("transA", 0))
      .attr(Attribute::make_int("transB", 0))
      .attr(Attribute::make_float("alpha", 1.0f));
  activation_attrs(b).types("T", {"tensor(float)"});
  return b.build();
}

OpSchema elementwise_chain() {
  return SchemaBuilder(
             "ElementwiseChain",
             "Y = op_n(...op_2(op_1(X))): applies `ops` in order to each element of X, in float32, "
             "one pass over memory; Y has X's shape. `constants` holds one number per op (0 where "
             "the op takes none). Ops and what each computes from its input x and constant c: "
             "Add x+c, Sub x-c, Mul x*c, Div x/c, Pow x^c, Max max(x,c), Min min(x,c), RSub c-x, "
             "RDiv c/x, RPow c^x, LeakyRelu (x<0 ? c*x : x), Elu (x<0 ? c*(exp(x)-1) : x), and the "
             "unary Relu, Sigmoid, Tanh, Neg, Abs, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Erf, "
             "Sin, Cos, Softplus, Softsign, with ONNX's definitions.")
      .input("X")
      .output("Y")
      .required_attr("ops", AttributeType::kStrings)
      .required_attr("constants", AttributeType::kFloats)
      .types("T", {"tensor(float)"})
      .build();
}

}  // namespace

std::vector<OpSchema> ferry_fusion_schemas() {
  return {fused_conv(), fused_gemm(), fused_matmul(), elementwise_chain()};
}

}  // namespace ferry::ir
