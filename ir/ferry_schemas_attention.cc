#include "ir/ferry_schemas.h"

namespace ferry::ir {

std::vector<OpSchema> ferry_attention_schemas() {
  return {
      SchemaBuilder(
          "MultiHeadAttention",
          "Scaled dot-product attention on heads already split, computed exactly as the unfused "
          "subgraph MatMul(Softmax(scale * MatMul(query, Transpose(key)) + attention_bias), value) "
          "with numpy broadcasting everywhere.\n"
          "Inputs: query [Bq, Hq, S, D]; key [Bk, Hk, T, D]; value [Bv, Hv, T, Dv]; the leading "
          "(batch, heads) dims broadcast against each other as MatMul broadcasts them. "
          "attention_bias (optional): an additive tensor of rank 1 to 4 broadcast against the "
          "scores [B, H, S, P+T] (it may also broadcast the scores up, as the Add it replaces "
          "would); it carries padding masks (0 / -inf or 0 / lowest float), T5's position bias and "
          "explicit causal masks. past_key [B, H, P, D] and past_value [B, H, P, Dv] (optional, "
          "together): a key/value cache concatenated before key and value on the sequence axis; "
          "then key and value must have the cache's batch and heads.\n"
          "Outputs: output [B, H, S, Dv] (broadcast batch and heads); present_key "
          "[B, H, P+T, D] and present_value [B, H, P+T, Dv] (optional): the concatenated caches.\n"
          "Attributes: scale (float, default 0 = 1/sqrt(D)) multiplies the query-key products; "
          "is_causal (int, default 0): query i attends to keys j <= i + (P+T) - S only (with a "
          "past of P and T = S new keys: the past and the first i+1 new keys), aligned bottom-right; "
          "softmax_nan_to_zero (int, default 0): probabilities that come out NaN (a row whose "
          "scores are all -inf) are replaced by 0 before the product with value, as the "
          "Where(IsNaN(P), 0, P) of torch's SDPA export does; otherwise softmax is taken as is; "
          "query_layout, key_layout, value_layout, output_layout (string, default \"BHSD\"): "
          "\"BSHD\" when that tensor is [B, S, H, D] instead (the head split of a projection "
          "before its Transpose, or the output before the head merge's Reshape); past and present "
          "caches are always [B, H, P, D].")
          .input("query")
          .input("key")
          .input("value")
          .optional_input("attention_bias")
          .optional_input("past_key")
          .optional_input("past_value")
          .output("output")
          .optional_output("present_key")
          .optional_output("present_value")
          .attr(Attribute::make_float("scale", 0.0f))
          .attr(Attribute::make_int("is_causal", 0))
          .attr(Attribute::make_int("softmax_nan_to_zero", 0))
          .attr(Attribute::make_string("query_layout", "BHSD"))
          .attr(Attribute::make_string("key_layout", "BHSD"))
          .attr(Attribute::make_string("value_layout", "BHSD"))
          .attr(Attribute::make_string("output_layout", "BHSD"))
          .types("T", {"tensor(float)", "tensor(double)"})
          .build(),
      SchemaBuilder(
          "RotaryEmbedding",
          "ONNX RotaryEmbedding (opset 23) for models of older opsets, with the same inputs, "
          "attributes and results: rotates the first rotary_embedding_dim elements of every head "
          "of X by the angles whose cosines and sines the caches hold.\n"
          "Inputs: X [B, H, S, D], or [B, S, H*D] with num_heads; cos_cache and sin_cache "
          "[max_position, rot/2] indexed by position_ids [B, S] (int64, values in "
          "[0, max_position)), or [B, S, rot/2] without position_ids.\n"
          "Output: Y, X's shape: for each pair (x1, x2) = (x[i], x[i + rot/2]) (interleaved: "
          "(x[2i], x[2i+1])) of a head, y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin; elements "
          "beyond rot are copied.\n"
          "Attributes: interleaved (int, default 0); num_heads (int, default 0, required for 3-D "
          "X); rotary_embedding_dim (int, default 0 = the whole head size D).")
          .input("X")
          .input("cos_cache")
          .input("sin_cache")
          .optional_input("position_ids", "M")
          .output("Y")
          .attr(Attribute::make_int("interleaved", 0))
          .attr(Attribute::make_int("num_heads", 0))
          .attr(Attribute::make_int("rotary_embedding_dim", 0))
          .types("T", {"tensor(float)", "tensor(float16)", "tensor(bfloat16)"})
          .types("M", {"tensor(int64)"})
          .build(),
  };
}

}  // namespace ferry::ir
