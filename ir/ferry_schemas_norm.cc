// Ferry-domain normalisations and activations the extended passes fuse into (fuse_gelu,
// fuse_layer_norm, fuse_rms_norm, fuse_skip_layer_norm, fuse_silu). Where the model's ai.onnx
// opset has the op (LayerNormalization 17, Gelu 20, RMSNormalization 23) the passes emit the
// standard op instead; these cover older opsets and the forms ONNX has no op for (a bias folded
// into Gelu, the residual Add folded into a layer norm, SiLU).
#include "ir/ferry_schemas.h"

namespace ferry::ir {

namespace {

const std::vector<std::string> kNormTypes = {"tensor(float)", "tensor(double)", "tensor(float16)", "tensor(bfloat16)"};

}  // namespace

std::vector<OpSchema> ferry_norm_schemas() {
  return {
      SchemaBuilder("Gelu",
                    "Y = gelu(X + Bias). approximate \"none\": 0.5 * v * (1 + erf(v / sqrt(2))); \"tanh\": "
                    "0.5 * v * (1 + tanh(sqrt(2 / pi) * (v + 0.044715 * v^3))). Bias, when given, is 1-D with "
                    "X's last dimension and is added along the last axis (onnxruntime's BiasGelu / FastGelu).")
          .input("X")
          .optional_input("Bias")
          .output("Y")
          .attr(Attribute::make_string("approximate", "none"))
          .types("T", kNormTypes)
          .build(),
      SchemaBuilder("LayerNormalization",
                    "ai.onnx LayerNormalization-17 for models of older opsets, output Y only: over the "
                    "dimensions from axis on, Y = (X - mean) / sqrt(variance + epsilon) * Scale + B (biased "
                    "variance; Scale and B broadcast to the normalized shape).")
          .input("X")
          .input("Scale")
          .optional_input("B")
          .output("Y")
          .attr(Attribute::make_int("axis", -1))
          .attr(Attribute::make_float("epsilon", 1e-5f))
          .types("T", kNormTypes)
          .build(),
      SchemaBuilder("RMSNormalization",
                    "ai.onnx RMSNormalization-23 for models of older opsets: over the dimensions from axis "
                    "on, Y = X / sqrt(mean(X^2) + epsilon) * Scale (Scale broadcasts to the normalized shape).")
          .input("X")
          .input("Scale")
          .output("Y")
          .attr(Attribute::make_int("axis", -1))
          .attr(Attribute::make_float("epsilon", 1e-5f))
          .types("T", kNormTypes)
          .build(),
      SchemaBuilder("SkipLayerNormalization",
                    "S = X + Skip (+ Bias); Y = layer norm of S over the last axis: (S - mean) / "
                    "sqrt(variance + epsilon) * Scale + B, or with simplified = 1 the RMS norm S / "
                    "sqrt(mean(S^2) + epsilon) * Scale (B must then be omitted). Skip has X's shape; Scale, "
                    "B and Bias are 1-D with X's last dimension. Output Sum, when wanted, is S (the residual "
                    "that later layers read).")
          .input("X")
          .input("Skip")
          .input("Scale")
          .optional_input("B")
          .optional_input("Bias")
          .output("Y")
          .optional_output("Sum")
          .attr(Attribute::make_float("epsilon", 1e-5f))
          .attr(Attribute::make_int("simplified", 0))
          .types("T", kNormTypes)
          .build(),
      SchemaBuilder("Silu", "Y = X * sigmoid(X) = X / (1 + exp(-X)) (SiLU, also called Swish).")
          .input("X")
          .output("Y")
          .types("T", kNormTypes)
          .build(),
  };
}

}  // namespace ferry::ir
