// The attention kernel family (execution_providers/cpu/attention/): Attention and
// RotaryEmbedding of the ai.onnx opsets 23+. Internal to this family.
#pragma once

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

// Sub-family registrations; register_attention_kernels (attention.cc) calls them.
void register_rotary_embedding_kernels(KernelRegistry& r);  // attention/rotary_embedding.cc
/// The RotaryEmbedding kernel, also registered for ferry.RotaryEmbedding (fused/attention.cc).
std::unique_ptr<Kernel> make_rotary_embedding_kernel(const KernelInfo& info);

namespace attn {

/// Rounds a value computed in C (float or double) to element type `dt` and back, so that
/// intermediate results carry the precision the ONNX reference computes them in.
template <typename C>
inline C round_to(DataType dt, C v) {
  switch (dt) {
    case DataType::kFloat: return static_cast<C>(static_cast<float>(v));
    case DataType::kFloat16: return static_cast<C>(to_float(to_float16(static_cast<float>(v))));
    case DataType::kBFloat16: return static_cast<C>(to_float(to_bfloat16(static_cast<float>(v))));
    default: return v;
  }
}

/// Element i of a float-family tensor (float, double, float16, bfloat16) as C.
template <typename C, typename T>
inline C load(const T& v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return static_cast<C>(to_float(v));
  else return static_cast<C>(v);
}
template <typename T, typename C>
inline T store(C v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

using AttentionTypes = Types<float, double, Float16, BFloat16>;

}  // namespace attn
}  // namespace ferry::ep::cpu
