// Helpers shared by the per-family inference files (ir/infer/*.cc). Internal to ir/.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/shape_inference.h"

namespace ferry::ir::infer {

// One call per family registers every op of that family (shape_inference.cc calls them once).
void register_elementwise();
void register_nn();
void register_tensor();
void register_control_flow();  // control_flow.cc: If Loop Scan, sequences, optionals
void register_elementwise_ext();  // infer/elementwise_ext.cc
void register_reduce();   // infer/reduce.cc
void register_nn_ext();   // infer/nn_ext.cc
void register_rnn();      // infer/rnn.cc
void register_quantization();  // infer/quantization.cc
void register_tensor_ext();  // infer/tensor_ext.cc
void register_attention();  // infer/attention.cc: Attention RotaryEmbedding
void register_attention_ext();  // infer/attention_ext.cc: FlexAttention LinearAttention CausalConvWithState
void register_assorted();  // infer/assorted.cc: losses, Det, DeformConv, MaxRoiPool, BitCast, TensorScatter
void register_ml_training_random();  // infer/ml.cc: ai.onnx.ml, ai.onnx.preview.training, random ops
void register_text();  // infer/text.cc: StringNormalizer StringConcat StringSplit RegexFullMatch TfIdfVectorizer
void register_signal();  // infer/signal.cc: DFT STFT MelWeightMatrix ImageDecoder
// The ferry domain's fused ops (ir/ferry_schemas.h).
void register_ferry_fusion();     // infer/ferry_fusion.cc
void register_ferry_norm();       // infer/ferry_norm.cc
void register_ferry_attention();  // infer/ferry_attention.cc
void register_ferry_layout();     // infer/ferry_layout.cc

/// The output extent of one spatial axis of a conv or pool window (nn.cc): auto_pad SAME_* /
/// VALID / NOTSET with explicit pads and ceil_mode. `last_window_rule`: with ceil_mode, drop a
/// last window that would start in the right padding (the spec's rule from opset 22 on). Fails
/// naming the attribute on an unknown auto_pad.
Dim window_output_extent(InferenceContext& ctx, const Dim& in, int64_t kernel, int64_t stride, int64_t dilation,
                         int64_t pad_begin, int64_t pad_end, const std::string& auto_pad, bool ceil_mode,
                         bool last_window_rule);

/// A Dim holding any integer, negative ones included (tensor values such as Reshape's -1).
Dim int_dim(int64_t v);
/// The marker for an element of a partially known value (InferenceContext::input_partial_value).
Dim unknown_element();
bool is_unknown_element(const Dim& d);
/// The constant of a Dim, when it is one.
std::optional<int64_t> const_of(const Dim& d);

/// Input i as a tensor type with a known rank, else null.
const Shape* ranked_shape(const InferenceContext& ctx, size_t i);
/// Element type of input i (kUndefined when unknown).
DataType input_dtype(const InferenceContext& ctx, size_t i);
/// All elements of input i's value as integers, when every one is a known constant.
std::optional<std::vector<int64_t>> input_ints(const InferenceContext& ctx, size_t i);

/// Multidirectional (numpy) broadcasting of ranked shapes; fails naming the shapes.
Shape broadcast_shapes(InferenceContext& ctx, const std::vector<Shape>& shapes);
/// Axis in [-rank, rank) made non-negative; fails naming `what` otherwise.
int64_t normalize_axis(const InferenceContext& ctx, int64_t axis, int64_t rank, const std::string& what);
/// Product of dims [begin, end).
Dim product(const std::vector<Dim>& dims, size_t begin, size_t end);
/// Integer values of a binary element-wise op: fn per element pair under numpy broadcasting
/// (equal sizes, or one side of one element); nullopt when the sizes do not broadcast or fn
/// cannot decide an element.
std::optional<std::vector<Dim>> combine_values(const std::vector<Dim>& a, const std::vector<Dim>& b,
                                               const std::function<std::optional<Dim>(const Dim&, const Dim&)>& fn);
/// Two dims that must be equal: the constant one wins, else one without fresh ("unk__N")
/// symbols; unequal constants fail with `what`.
Dim unify(const InferenceContext& ctx, const Dim& a, const Dim& b, const std::string& what);
/// Shapes as text for messages: "[2,3] and [4]".
std::string shapes_text(const std::vector<Shape>& shapes);

/// Integer element types whose values inference tracks as dims.
bool is_index_type(DataType t);
/// Largest tensor whose elements are tracked as a value.
inline constexpr int64_t kMaxTrackedElements = 1024;

/// numpy matmul shape of inputs ia and ib (unknown when either rank is); fails naming the shapes.
Shape matmul_shape(InferenceContext& ctx, size_t ia, size_t ib);
/// GlobalAveragePool / GlobalMaxPool / GlobalLpPool: [N, C, 1, 1, ...].
void global_pool(InferenceContext& ctx);
/// Conv's output (nn.cc); also the fused convolutions of the ferry domain.
void conv_inference(InferenceContext& ctx);
/// Gemm's output [M, N] (nn.cc); also ferry.FusedGemm.
void gemm_inference(InferenceContext& ctx);
/// RotaryEmbedding's output: X's type, rank 3 or 4 (attention.cc); also ferry.RotaryEmbedding.
void rotary_embedding_inference(InferenceContext& ctx);

}  // namespace ferry::ir::infer
