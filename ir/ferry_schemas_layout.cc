// Schemas of the ferry domain's layout ops, created at level all by
// optimizer/passes/convert_conv_to_channels_last.cc. Inference: ir/infer/ferry_layout.cc; CPU
// kernels: execution_providers/cpu/nn/pool_channels_last.cc, nn/conv_transpose_channels_last.cc.
#include "ir/ferry_schemas.h"

namespace ferry::ir {

namespace {

OpSchema channels_last_pool() {
  SchemaBuilder b("ChannelsLastPool",
                  "The ONNX pool named by `mode` (MaxPool, AveragePool, GlobalAveragePool or "
                  "GlobalMaxPool; same attributes, same semantics, the latest opset's: dilations and "
                  "ceil_mode for both windowed pools) on X laid out channels-last, [N, d1..dk, C], "
                  "k = 1..3; Y is [N, o1..ok, C] (o = 1 for the global pools). The spatial "
                  "attributes refer to d1..dk. MaxPool's Indices output is not provided. The `all` "
                  "level's convert_conv_to_channels_last creates it so that pooling between "
                  "channels-last convs needs no Transposes.");
  b.input("X").output("Y")
      .required_attr("mode", AttributeType::kString)
      .attr(Attribute::make_string("auto_pad", "NOTSET"))
      .attr(Attribute::make_int("ceil_mode", 0))
      .attr(Attribute::make_int("count_include_pad", 0))
      .types("T", {"tensor(float)"});
  OpSchema s = b.build();
  for (const char* name : {"kernel_shape", "strides", "pads", "dilations"}) {
    AttributeSpec a;  // optional, no default (as in the ONNX pools)
    a.name = name;
    a.type = AttributeType::kInts;
    s.attributes.push_back(std::move(a));
  }
  return s;
}

OpSchema channels_last_conv_transpose() {
  SchemaBuilder b("ChannelsLastConvTranspose",
                  "ONNX ConvTranspose (group 1) whose kernel equals its strides (each input pixel "
                  "becomes its own block of output pixels: no pads, dilations, output_padding or "
                  "output_shape) on X laid out channels-last, [N, d1..dk, C], k = 1..2, with W in "
                  "ConvTranspose's layout [C, M, s1..sk] and optional B [M]; Y is [N, d1*s1..dk*sk, M]. "
                  "The `all` level's convert_conv_to_channels_last creates it for such a ConvTranspose "
                  "reading a channels-last region (U-Net style upsampling between convs).");
  b.input("X").input("W").optional_input("B").output("Y").types("T", {"tensor(float)"});
  return b.build();
}

}  // namespace

std::vector<OpSchema> ferry_layout_schemas() { return {channels_last_pool(), channels_last_conv_transpose()}; }

}  // namespace ferry::ir
