// oneDNN int8 paths for QLinearConv / ConvInteger and QLinearMatMul / MatMulInteger.
//
// oneDNN picks VNNI kernels (vpdpbusd) where the CPU has them. These paths are used only on
// such CPUs (dnnl_rt::cpu_has_int8_dot): without VNNI oneDNN's int8 kernels use vpmaddubsw,
// whose int16 intermediate saturates, so their results could differ from the exact reference.
//
// What they take (anything else stays on the reference loops in conv_integer.cc /
// qlinear_matmul.cc, which tests/ops use as the check):
//   - a constant W / B of int8 or uint8 with a constant zero point (per tensor, or per output
//     channel / column) such that W - zero_point fits int8: oneDNN has no weight zero points,
//     so the centered weights are prepacked as int8 at creation (the initializer is released);
//   - for the QLinear ops, constant scales (oneDNN 2.6 convolutions take output scales only at
//     primitive creation): the per-channel multiplier x_scale * w_scale / y_scale is computed
//     in the scales' type as the reference does;
//   - the activation's zero point as a scalar (a runtime oneDNN zero point; MatMulInteger's
//     per-row a_zero_point is compensated after the product instead), QLinearConv's int32 bias B,
//     constant or not. The product is int32 with the scales applied (rounded half to even); the
//     output zero point is added afterwards (add_zero_point), as ONNX rounds before adding it.
// Per-run temporaries (reordered X, the int32 result, oneDNN's scratchpad) live in per-thread
// buffers reused across runs (thread_scratch).
// Primitives depend on the input shape: they are made once per shape (the static one at
// creation) and cached under a mutex; run() is const and thread-safe.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/quantization/int8_weights.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// QLinearConv (qlinear) or ConvInteger on oneDNN.
class DnnlInt8Conv {
 public:
  /// Null when the node is outside what the path takes (see the file comment); otherwise the
  /// weights (and zero point) were copied and marked prepacked: run() must then serve every call.
  static std::unique_ptr<DnnlInt8Conv> create(const KernelInfo& info, const ConvPoolAttributes& attrs, bool qlinear);
  void run(KernelContext& ctx) const;
  ~DnnlInt8Conv();

 private:
  struct Primitive;
  DnnlInt8Conv(const ConvPoolAttributes& attrs, bool qlinear) : attrs_(attrs), qlinear_(qlinear) {}
  std::shared_ptr<const Primitive> primitive_for(const ir::Node& node, const std::vector<int64_t>& x_dims,
                                                 bool x_zp, bool bias) const;

  ConvPoolAttributes attrs_;
  bool qlinear_;
  Int8Weights w_;
  std::vector<int32_t> bias_;  ///< QLinearConv's B when constant
  bool bias_const_ = false;
  mutable std::mutex mutex_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Primitive>> primitives_;
};

/// QLinearMatMul (qlinear) or MatMulInteger on oneDNN, for a constant 2-D B; A of any rank >= 1
/// (its batch dims fold into M).
class DnnlInt8MatMul {
 public:
  static std::unique_ptr<DnnlInt8MatMul> create(const KernelInfo& info, bool qlinear);
  void run(KernelContext& ctx) const;
  ~DnnlInt8MatMul();

 private:
  struct Primitive;
  explicit DnnlInt8MatMul(bool qlinear) : qlinear_(qlinear) {}
  std::shared_ptr<const Primitive> primitive_for(int64_t rows, bool a_zp) const;

  bool qlinear_;
  Int8Weights b_;
  std::vector<int32_t> col_sums_;  ///< per column of B - b_zero_point (per-row a_zero_point)
  mutable std::mutex mutex_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const Primitive>> primitives_;
};

}  // namespace ferry::ep::cpu
