// The ai.onnx.ml kernel family: sub-family registration functions (ml/*.cc).
#pragma once

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

inline constexpr const char* kMlDomain = "ai.onnx.ml";

void register_label_encoder_kernels(KernelRegistry& r);  // ml/label_encoder.cc
void register_tree_ensemble_kernels(KernelRegistry& r);  // ml/tree_ensemble.cc

}  // namespace ferry::ep::cpu
