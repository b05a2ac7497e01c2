// The newest-opset sequence-model ops: FlexAttention (ai.onnx.preview), LinearAttention and
// CausalConvWithState. Each op file registers its kernel; attention_ext.cc calls them once.
// The half types compute through float (double stays double), and round once on store.
#pragma once

#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

void register_flex_attention_kernels(KernelRegistry& r);    // attention_ext/flex_attention.cc
void register_linear_attention_kernels(KernelRegistry& r);  // attention_ext/linear_attention.cc
void register_causal_conv_kernels(KernelRegistry& r);       // attention_ext/causal_conv.cc

/// float, float16, bfloat16: the element types LinearAttention and CausalConvWithState allow.
using FloatAndHalfTypes = Types<float, Float16, BFloat16>;

/// Copies n storage elements of T into compute type C.
template <typename T, typename C> void load_span(const T* src, C* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<C>(to_compute(src[i]));
}

}  // namespace ferry::ep::cpu
