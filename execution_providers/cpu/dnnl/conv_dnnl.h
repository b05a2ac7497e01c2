// oneDNN convolution for float Conv and ferry.FusedConv.
//
// Y = eltwise...(conv(X, W) + B + Z), 1-D/2-D/3-D, any groups (depthwise included), strides,
// dilations, explicit pads or auto_pad. A constant W is reordered once, at kernel creation, into
// the layout the primitive prefers (the caller may then mark it prepacked); a non-constant W is
// reordered on each call. Primitives depend on the input shape, so they are created on first
// use per input-shape signature and cached (under a mutex; run() is const and thread-safe).
// A shape whose primitive prefers another weight layout gets it by reordering the packed copy
// (a pure permutation), so the plain weights are never needed after creation.
//
// Layout: NCHW tensors go to the primitive through reorders into the layout it chooses
// (format_tag::any; measured faster than oneDNN on plain NCHW, which falls back to its
// im2col + gemm implementation). channels_last = true: X is [N, d1..dk, C] and Y [N, d1..dk, M]
// (oneDNN nwc / nhwc / ndhwc), used directly without reorders.
//
// Implementation: the first oneDNN offers, except where its creation is known to cost far more
// than the next candidate's for about the same run time, or another candidate measured faster on
// a class of shapes (conv_dnnl.cc, preferred_implementation).
//
// Threads: a convolution of at most kSerialMaxFlops (conv_dnnl.cc) is created for one thread and
// runs on the calling thread alone; the others on the session's intra-op threads.
//
// Precision: float32, or bfloat16 operands with float32 accumulation and output when the session
// asked for it (dnnl_rt::compute_type: "session.compute_precision" = bf16 on a CPU with bf16).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/dnnl/conv_winograd.h"
#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

class DnnlConv {
 public:
  /// The oneDNN path for this node, or null when it does not apply (X not float by its inferred
  /// type, or a spatial rank other than 1..3). With a constant float W (and B), packs them and
  /// marks them prepacked in `info`: the caller must then always call run() and never read them.
  static std::unique_ptr<DnnlConv> create(const KernelInfo& info, const ConvPoolAttributes& attrs,
                                          std::vector<DnnlEltwise> eltwise, bool channels_last);

  /// Allocates output 0 and computes eltwise(conv(x, W) + b + z) into it. `w`, `b`: the node's W
  /// and B inputs (their data is read only when they were not prepacked; b null: no bias);
  /// z null: no residual, else it must have Y's shape. Returns null, having done nothing, when
  /// oneDNN cannot take these inputs (not float; rank outside 3..5) and W was not prepacked: the
  /// caller then uses its own implementation.
  Tensor* run(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor* z) const;

  bool weights_prepacked() const { return !weights_.empty() || winograd_ != nullptr; }

 private:
  struct Primitive;  // one input-shape signature's primitive and layouts

  DnnlConv(const ConvPoolAttributes& attrs, std::vector<DnnlEltwise> eltwise, bool channels_last,
           dnnl::memory::data_type compute_type)
      : attrs_(attrs), eltwise_(std::move(eltwise)), channels_last_(channels_last), compute_type_(compute_type) {}

  /// Creates the primitive for X's dims (logical N, C, spatial...) and these inputs.
  std::shared_ptr<const Primitive> make_primitive(const ir::Node& node, const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                                  bool has_bias, bool has_z) const;
  /// run() on the Winograd path: X channels last with logical dims x_dims (checked against W),
  /// bias: M floats or null.
  Tensor* run_winograd(KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& x_dims, const float* bias,
                       const Tensor* z) const;
  std::shared_ptr<const Primitive> primitive_for(const ir::Node& node, const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                                 bool has_bias, bool has_z) const;

  ConvPoolAttributes attrs_;
  std::vector<DnnlEltwise> eltwise_;
  bool channels_last_;
  dnnl::memory::data_type compute_type_;  // of X and W inside the primitive (f32 or bf16)
  bool const_w_ = false;               // W is a constant, packed at creation (no per-run reorder)
  std::vector<int64_t> const_w_dims_;  // W's ONNX shape when constant
  std::vector<float> bias_;            // the constant B, when there is one
  bool bias_prepacked_ = false;

  dnnl_rt::PackedWeights weights_;  // constant W, one copy per layout in use
  /// Set (and weights_ left empty) when the convolution runs as Winograd F(2x2, 3x3) instead
  /// (conv_winograd.h; chosen at creation, see winograd_eligible in conv_dnnl.cc).
  std::unique_ptr<WinogradConv> winograd_;
  dnnl_rt::ShapeCache<Primitive> primitives_;
};

}  // namespace ferry::ep::cpu
