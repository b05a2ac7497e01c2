// oneDNN deconvolution for float ConvTranspose (nn/conv_transpose.cc).
//
// Y = deconv(X, W) + B, 1-D/2-D/3-D, any groups, strides, dilations, pads, output_padding and
// output_shape (both folded into the end padding, which may go negative). A constant W is
// reordered once, at kernel creation, into the layout the primitive prefers and marked
// prepacked; a fed W is reordered on each call. Primitives depend on X's shape and the
// geometry, so they are made on first use per signature and cached under a mutex (run() is
// const and thread-safe). Tensors are NCHW; the primitive picks its own layouts (format_tag::any)
// and X/Y go through reorders.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// A ConvTranspose's spatial geometry for one input shape, as ONNX defines it: Y's spatial dims
/// `out`, and pad_begin (Y starts at pad_begin of the full, unpadded transposed output).
struct DeconvGeometry {
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, out;
};

class DnnlDeconv {
 public:
  /// Resolves the geometry for X's and W's shapes (throws Error for invalid attributes).
  using GeometryFn = std::function<DeconvGeometry(const std::vector<int64_t>& x, const std::vector<int64_t>& w)>;

  /// The oneDNN path for this node, or null when it does not apply (X known not to be float,
  /// spatial rank outside 1..3, or oneDNN declines the node's guessed geometry). With a constant
  /// float W (and B) packs them and marks them prepacked in `info`: the caller must then read W
  /// (and a prepacked B) only through run(), plain_weights() and bias(), never from the inputs.
  static std::unique_ptr<DnnlDeconv> create(const KernelInfo& info, int64_t groups, GeometryFn geometry);

  /// Allocates output 0 and computes deconv(x, W) + b into it for geometry `g`. Returns null,
  /// having done nothing, when oneDNN cannot take these inputs; the caller then runs its own
  /// kernel, with plain_weights() in place of W's data when W was prepacked.
  Tensor* run(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b, const DeconvGeometry& g) const;

  bool weights_prepacked() const { return !weights_.empty(); }
  /// The prepacked W in ONNX layout [C, M/group, k...] (reordered back), and B when prepacked.
  std::vector<float> plain_weights() const;
  const std::vector<float>& bias() const { return bias_; }
  bool bias_prepacked() const { return bias_prepacked_; }

 private:
  struct Primitive;

  explicit DnnlDeconv(int64_t groups) : groups_(groups) {}
  std::shared_ptr<const Primitive> make_primitive(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                                  const DeconvGeometry& g, bool has_bias) const;
  std::shared_ptr<const Primitive> primitive_for(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                                 const DeconvGeometry& g, bool has_bias) const;

  int64_t groups_;
  std::vector<int64_t> const_w_dims_;  // W's ONNX shape when constant
  std::vector<float> bias_;
  bool bias_prepacked_ = false;

  dnnl_rt::PackedWeights weights_;  // constant W, one copy per layout in use
  dnnl_rt::ShapeCache<Primitive> primitives_;
};

}  // namespace ferry::ep::cpu
