#include "execution_providers/cpu/dnnl/conv_dnnl.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/dnnl/dnnl_runtime.h"

namespace ferry::ep::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct DnnlConv::Primitive {
  dnnl::convolution_forward conv;
  dnnl::memory::desc src, weights, dst;            // the primitive's layouts
  dnnl::memory::desc user_src, user_weights, user_dst;  // the tensors' own layouts
  std::vector<int64_t> y_shape;                    // in the tensors' layout
  bool reorder_src = false, reorder_dst = false;
  // user_src -> src, dst -> user_dst, user_dst -> dst, user_weights -> weights (when needed)
  dnnl::reorder src_in, dst_out, z_in, weights_in;
  /// Whether the convolution was created for, and runs on, the calling thread alone
  /// (kSerialMaxFlops); reorders always run on the session's threads.
  bool serial = false;
};

namespace {

/// 1-D convolutions with at least this many outputs avoid brgconv (see preferred_implementation).
constexpr int64_t kBrgconv1dMinWidth = 128;
/// How far down oneDNN's candidate list preferred_implementation() looks.
constexpr int kMaxCandidates = 8;
/// Floats in one AVX-512 register: brgconv_1x1's output-channel block.
constexpr int64_t kAvx512Floats = 16;
/// The largest output channel count for which preferred_implementation() may leave brgconv_1x1.
constexpr int64_t kNarrowPointwiseMaxChannels = 96;

/// A convolution of at most this many FLOPs (2 per multiply-add) is created for one thread and
/// runs on the calling thread alone: oneDNN fixes a primitive's thread split at creation, and
/// waking a second thread (30-50 us, docs/runtime.md) costs more than such a convolution gains
/// from it. 4 MFLOP is about 40 us at one core's sgemm peak; depthwise and tiny-spatial convs
/// run well below peak, so the convs it takes last 10-100 us on one thread.
constexpr double kSerialMaxFlops = 4e6;

/// What preferred_implementation() looks at besides oneDNN's first choice.
struct ConvShape {
  size_t spatial_rank;
  int64_t out_width;     // the last spatial output dim
  int64_t out_channels;  // M
  int64_t groups;
};

/// nwc / nhwc / ndhwc for channels-last tensors of this rank.
tag channels_last_tag(size_t rank) {
  switch (rank) {
    case 3: return tag::nwc;
    case 4: return tag::nhwc;
    case 5: return tag::ndhwc;
    default: throw Error(ErrorCode::kNotImplemented, "channels_last conv takes rank 3 to 5, got " + std::to_string(rank));
  }
}

/// oneDNN's weight dims for an ONNX W [M, C/g, k...]: [g, M/g, C/g, k...] when grouped.
dnnl::memory::dims weight_dims(const std::vector<int64_t>& w, int64_t groups) {
  dnnl::memory::dims d(w.begin(), w.end());
  if (groups > 1) {
    d[0] /= groups;
    d.insert(d.begin(), groups);
  }
  return d;
}

/// The primitive cache's key: everything a primitive depends on that varies between runs.
std::vector<int64_t> primitive_key(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                   bool has_bias, bool has_z) {
  std::vector<int64_t> key = x_dims;
  key.insert(key.end(), w_dims.begin(), w_dims.end());
  key.push_back(has_bias);
  key.push_back(has_z);
  return key;
}

/// The implementation `pd` should use instead of the one oneDNN lists first (empty: the first).
/// oneDNN 2.6 orders implementations by expected run time only; two of its choices cost far more
/// to create than the next candidate with no run-time gain, measured (float32, one thread, thread
/// CPU time, every implementation oneDNN offered) on each distinct conv of the model zoo:
/// - brgconv for a 1-D convolution JIT-compiles kernels in proportion to the output length
///   (~20 us per output position with 384 channels: 25-32 ms at 1500), while jit:<isa> creates
///   in ~0.3 ms and ran within 0-8% of it at lengths 64 to 1500, stride 1 and 2. 2-D brgconv
///   creation stays at 0.4-3 ms and runs 0-20% (up to 2x on large channel counts) faster than
///   jit, so it is kept.
/// - brdgmm_dw (depthwise) creates no faster than jit_dw:<isa>, and jit_dw ran the zoo's 26
///   distinct depthwise convs (3x3 to 7x7, stride 1 and 2, 7x7 to 112x112 outputs) in 15% less
///   time summed (up to 40% less on one, at most 8% more on three).
/// - brgconv_1x1:avx512_core computes output channels in blocks of 16 (AVX-512's float width);
///   jit_1x1:avx2 in blocks of 8. For a small M that 8-wide blocks cover with less padding
///   (M % 16 in 1..8, M <= 96), jit_1x1:avx2 ran every such pointwise conv of the zoo (M = 2, 24,
///   40, 84; 20x20 to 256x256) and synthetic ones (M = 8, 18, 20, 56, 72) in 6-46% less time,
///   1 and 2 threads (interleaved minima, no activation), and creates in ~0.1 ms instead of
///   0.2-0.5. Outside that class it was not faster: M % 16 in 9..15 (12, 110) within +-7%, larger
///   M (100 to 1001) from 4% faster to 30% slower (fewer registers), M % 16 == 0 within noise.
///   With a fused SiLU the zoo's such convs ran 3-20% faster, one (96->24) 21% slower once.
std::string preferred_implementation(const std::string& first, const ConvShape& shape) {
  const auto isa = [&](const char* prefix) { return first.substr(std::strlen(prefix)); };
  if (first.rfind("brgconv:", 0) == 0 && shape.spatial_rank == 1 && shape.out_width >= kBrgconv1dMinWidth)
    return "jit:" + isa("brgconv:");
  if (first.rfind("brdgmm_dw:", 0) == 0) return "jit_dw:" + isa("brdgmm_dw:");
  const int64_t tail = shape.out_channels % kAvx512Floats;
  if (first == "brgconv_1x1:avx512_core" && shape.groups == 1 && tail != 0 && tail <= kAvx512Floats / 2 &&
      shape.out_channels <= kNarrowPointwiseMaxChannels)
    return "jit_1x1:avx2";
  return {};
}

/// The primitive descriptor of `desc` with the implementation preferred_implementation() names
/// when oneDNN offers it among its candidates, else oneDNN's first.
template <typename Make>
dnnl::convolution_forward::primitive_desc choose_implementation(Make&& make, const ConvShape& shape) {
  dnnl::convolution_forward::primitive_desc pd = make();
  const std::string want = preferred_implementation(pd.impl_info_str(), shape);
  if (want.empty()) return pd;
  for (int i = 0; i < kMaxCandidates && pd.next_impl(); ++i)
    if (pd.impl_info_str() == want) return pd;
  return make();  // next_impl() moved past the first: start again
}

/// The fewest input and output channels, and output pixels per image, for which a convolution
/// runs as Winograd (see winograd_eligible).
constexpr int64_t kWinogradMinChannels = 64;
constexpr int64_t kWinogradMinOutputPixels = 100;
/// The largest transformed weights (16 C M floats) a Winograd convolution may keep. They are 16/9
/// of the plain weights, which the direct path keeps instead: the cap bounds what the path adds
/// to a session's resident memory. (unet's 1024x1024 conv, 64 MiB transformed, runs 0.55-0.67x
/// the direct time but would add 29 MB: peak RSS 0.81x onnxruntime's, over the 0.8 target.)
constexpr int64_t kWinogradMaxWeightBytes = int64_t{48} << 20;
/// F(4x4, 3x3) instead of F(2x2) from this many outputs per image (28x28), with transformed
/// weights (36 C M floats, 4x the plain bytes) within kWinogradF4MaxWeightBytes: a budget on what
/// F(4x4) adds over F(2x2) (20 C M floats), so that unet's many large convs stay on F(2x2) and its
/// peak RSS under 0.8x onnxruntime's (0.74x with F(2x2) alone, about 24 MB of room).
constexpr int64_t kWinogradF4MinOutputPixels = 28 * 28;
constexpr int64_t kWinogradF4MaxWeightBytes = int64_t{8} << 20;

/// The output tile a convolution with constant W [M, C, kh, kw] runs with as Winograd (2:
/// F(2x2, 3x3), 4: F(4x4, 3x3); conv_winograd.h), or 0: oneDNN's direct convolution. Winograd
/// needs channels last, float32 compute,
/// 2-D, 3x3, stride 1, no dilation, one group, C and M >= kWinogradMinChannels, an activation
/// chain the output transform computes, X's inferred height and width known, giving at least
/// kWinogradMinOutputPixels outputs per image, and transformed weights within
/// kWinogradMaxWeightBytes. Measured (one thread, CPU time, Relu, pads 1)
/// against oneDNN's direct convolution (brgconv): C = M = 64 at 56x56 0.8x, 128 at 28x28 0.65x,
/// 256 at 14x14 0.6x, 512 at 14x14 0.6x, 512 at 10x10 0.77x, but 512 at 7x7 1.2-1.6x (16 tiles:
/// the 16 products re-read 16/9 of the weights for too few rows) and C = M = 32 1.1-1.15x.
/// F(4x4) where kWinogradF4MinOutputPixels and kWinogradF4MaxWeightBytes allow, else F(2x2).
/// Measured (one thread, CPU ms, Relu, pads 1, bias; best of 5 x 20 runs, two processes each,
/// load 3.7-4.5 on 2 cores) direct / F(2x2) / F(4x4): 64 at 56x56 2.3-2.5 / 1.8 / 1.1-1.7,
/// 128 at 28x28 2.1 / 1.4-1.5 / 0.9-1.3, 256 at 14x14 2.0-2.1 / 1.1-1.8 / 1.8-2.6 (16 tiles),
/// 512 at 7x7 2.5-2.6 / 2.3-2.9 / 2.2-2.5; unet's 64 at 256x256 43 / 39-42 / 29-36, 128 at
/// 128x128 43-45 / 29 / 22-24, 256 at 64x64 44-45 / 28-31 / 21-22, 512 at 32x32 44-47 / 25 / 14.
int winograd_tile(const KernelInfo& info, const ConvPoolAttributes& attrs, const std::vector<int64_t>& w_dims,
                       const std::vector<int64_t>& x_dims, bool spatial_known, bool channels_last,
                       dnnl::memory::data_type compute_type, const std::vector<DnnlEltwise>& eltwise) {
  if (!channels_last || !spatial_known || compute_type != dt::f32 || w_dims.size() != 4 || attrs.group != 1)
    return 0;
  if (w_dims[2] != 3 || w_dims[3] != 3 || w_dims[0] < kWinogradMinChannels || w_dims[1] < kWinogradMinChannels)
    return 0;
  for (int64_t s : attrs.strides)
    if (s != 1) return 0;
  for (int64_t d : attrs.dilations)
    if (d != 1) return 0;
  if (!WinogradConv::supports(eltwise)) return 0;
  if (16 * w_dims[0] * w_dims[1] * int64_t{sizeof(float)} > kWinogradMaxWeightBytes) return 0;
  try {
    const SpatialGeometry g = resolve_geometry(attrs, {x_dims[2], x_dims[3]}, {3, 3}, false, info.node());
    if (g.out[0] * g.out[1] < kWinogradMinOutputPixels) return 0;
    const bool f4 = g.out[0] * g.out[1] >= kWinogradF4MinOutputPixels &&
                    WinogradConv::weight_floats(4, w_dims[0], w_dims[1]) * int64_t{sizeof(float)} <=
                        kWinogradF4MaxWeightBytes;
    return f4 ? 4 : 2;
  } catch (const Error&) {
    return 0;  // pads this shape cannot take: the direct path reports it
  }
}

}  // namespace

std::unique_ptr<DnnlConv> DnnlConv::create(const KernelInfo& info, const ConvPoolAttributes& attrs,
                                           std::vector<DnnlEltwise> eltwise, bool channels_last) {
  const ir::Type* xt = info.input_type(0);
  // An X known not to be float never runs here; an unknown type is settled by run().
  if (xt != nullptr && xt->elem != DataType::kUndefined && xt->elem != DataType::kFloat) return nullptr;
  const Tensor* w = info.constant_input(1);
  if (w != nullptr && (w->dtype() != DataType::kFloat || w->rank() < 3 || w->rank() > 5)) return nullptr;
  if (w == nullptr && xt != nullptr && xt->shape.has_rank && (xt->shape.rank() < 3 || xt->shape.rank() > 5)) return nullptr;
  std::unique_ptr<DnnlConv> k(new DnnlConv(attrs, std::move(eltwise), channels_last, dnnl_rt::compute_type(info)));

  const Tensor* b = info.constant_input(2);
  if (b != nullptr && b->dtype() == DataType::kFloat) {
    k->bias_.assign(b->data<float>(), b->data<float>() + b->element_count());
    k->bias_prepacked_ = true;
  }
  if (w != nullptr) {
    // Pack W for the primitive of X's inferred shape (unknown dims guessed: batch 1, 32 per
    // spatial dim or the dilated kernel when larger); another shape re-lays the packed copy out.
    const std::vector<int64_t> w_dims = w->shape();
    const size_t r = w_dims.size();
    const int64_t groups = attrs.group;
    if (groups < 1 || w_dims[0] % groups != 0) return nullptr;  // conv_forward reports it
    std::vector<int64_t> x_dims(r, 1);  // logical N, C, spatial...
    x_dims[1] = w_dims[1] * groups;
    for (size_t d = 2; d < r; ++d) {
      const int64_t dil = attrs.dilations.size() == r - 2 ? attrs.dilations[d - 2] : 1;
      x_dims[d] = std::max<int64_t>(32, dil * (w_dims[d] - 1) + 1);
    }
    bool spatial_known = false;
    if (xt != nullptr && xt->shape.has_rank && xt->shape.rank() == r) {
      spatial_known = true;
      for (size_t d = 0; d < r; ++d) {
        const size_t src = channels_last ? (d == 0 ? 0 : d == 1 ? r - 1 : d - 1) : d;
        const ir::Dim& dim = xt->shape.dims[src];
        const bool known = dim.is_constant() && dim.value() > 0;
        if (d != 1 && known) x_dims[d] = dim.value();
        if (d >= 2 && !known) spatial_known = false;
      }
    }
    if (const int tile = winograd_tile(info, attrs, w_dims, x_dims, spatial_known, channels_last, k->compute_type_,
                                       k->eltwise_)) {
      k->winograd_ = std::make_unique<WinogradConv>(w->data<float>(), w_dims[0], w_dims[1], tile, k->eltwise_);
      k->const_w_ = true;
      k->const_w_dims_ = w_dims;
      info.mark_prepacked(1);
      if (k->bias_prepacked_) info.mark_prepacked(2);
      return k;
    }
    const bool has_bias = info.input_type(2) != nullptr, has_z = info.input_type(3) != nullptr;
    k->const_w_ = true;
    std::shared_ptr<const Primitive> p;
    try {
      p = k->make_primitive(info.node(), x_dims, w_dims, has_bias, has_z);
    } catch (const Error&) {
      return nullptr;  // e.g. pads the guessed shape cannot take; conv_forward reports real errors
    } catch (const dnnl::error&) {
      return nullptr;
    }
    dnnl::memory user(p->user_weights, dnnl_rt::engine(), const_cast<float*>(w->data<float>()));
    k->weights_.pack(user, p->weights);
    k->const_w_dims_ = w_dims;
    // Kept for the runs whose X has the shape made here (every run when X's shape is fully
    // known; with a dynamic batch, those of batch 1), so the first run does not make it again.
    k->primitives_.put(primitive_key(x_dims, w_dims, has_bias, has_z), p);
    info.mark_prepacked(1);
    if (k->bias_prepacked_) info.mark_prepacked(2);
  }
  return k;
}

std::shared_ptr<const DnnlConv::Primitive> DnnlConv::make_primitive(const ir::Node& node,
                                                                   const std::vector<int64_t>& x_dims,
                                                                   const std::vector<int64_t>& w_dims, bool has_bias,
                                                                   bool has_z) const {
  const size_t r = x_dims.size();
  const int64_t groups = attrs_.group;
  const std::vector<int64_t> in(x_dims.begin() + 2, x_dims.end()), kernel(w_dims.begin() + 2, w_dims.end());
  const SpatialGeometry g = resolve_geometry(attrs_, in, kernel, false, node);
  const int64_t m = w_dims[0];

  auto p = std::make_shared<Primitive>();
  dnnl::memory::dims src_dims(x_dims.begin(), x_dims.end()), dst_dims = {x_dims[0], m};
  dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
  const tag user_tag = channels_last_ ? channels_last_tag(r) : dnnl_rt::plain_tag(r);
  const tag prim_tag = channels_last_ ? user_tag : tag::any;
  const dnnl::memory::dims wdims = weight_dims(w_dims, groups);
  p->user_src = dnnl::memory::desc(src_dims, dt::f32, user_tag);
  p->user_dst = dnnl::memory::desc(dst_dims, dt::f32, user_tag);
  p->user_weights = dnnl::memory::desc(wdims, dt::f32, dnnl_rt::plain_tag(wdims.size()));
  const dnnl::memory::desc src_md(src_dims, compute_type_, prim_tag), dst_md(dst_dims, dt::f32, prim_tag);
  const dnnl::memory::desc wei_md(wdims, compute_type_, tag::any), bias_md({m}, dt::f32, tag::x);

  dnnl::memory::dims strides(g.stride.begin(), g.stride.end()), dil, pad_l(g.pad_begin.begin(), g.pad_begin.end()),
      pad_r(g.pad_end.begin(), g.pad_end.end());
  for (int64_t d : g.dilation) dil.push_back(d - 1);
  const auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                               dnnl::algorithm::convolution_direct, src_md, wei_md,
                                                               bias_md, dst_md, strides, dil, pad_l, pad_r)
                             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                               dnnl::algorithm::convolution_direct, src_md, wei_md,
                                                               dst_md, strides, dil, pad_l, pad_r);
  dnnl::post_ops ops;
  if (has_z) ops.append_sum(1.f);
  for (const DnnlEltwise& e : eltwise_) ops.append_eltwise(1.f, e.algorithm, e.alpha, e.beta);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  const dnnl::engine& eng = dnnl_rt::engine();
  const auto make_pd = [&] { return dnnl::convolution_forward::primitive_desc(desc, attr, eng); };
  double flops = 2.0 * static_cast<double>(x_dims[0] * m * (x_dims[1] / groups));
  for (int64_t o : g.out) flops *= static_cast<double>(o);
  for (int64_t k : kernel) flops *= static_cast<double>(k);
  p->serial = flops <= kSerialMaxFlops;
  std::optional<runtime::ScopedThreadCount> one_thread;
  if (p->serial) one_thread.emplace(1);
  // Measured for float32 only: bf16 keeps oneDNN's order.
  const ConvShape shape{r - 2, g.out.back(), m, groups};
  const auto pd = compute_type_ == dt::f32 ? choose_implementation(make_pd, shape) : make_pd();
  p->conv = dnnl::convolution_forward(pd);
  one_thread.reset();
  p->src = pd.src_desc();
  p->weights = pd.weights_desc();
  p->dst = pd.dst_desc();
  p->reorder_src = p->src != p->user_src;
  p->reorder_dst = p->dst != p->user_dst;
  // A constant W is packed once (PackedWeights), never reordered per run: no reorder to make.
  if (!const_w_ && p->weights != p->user_weights)
    p->weights_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_weights, eng, p->weights));
  if (p->reorder_src) p->src_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_src, eng, p->src));
  if (p->reorder_dst) {
    p->dst_out = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->dst, eng, p->user_dst));
    if (has_z) p->z_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_dst, eng, p->dst));
  }
  p->y_shape = {x_dims[0]};
  if (!channels_last_) p->y_shape.push_back(m);
  p->y_shape.insert(p->y_shape.end(), g.out.begin(), g.out.end());
  if (channels_last_) p->y_shape.push_back(m);
  return p;
}

std::shared_ptr<const DnnlConv::Primitive> DnnlConv::primitive_for(const ir::Node& node,
                                                                  const std::vector<int64_t>& x_dims,
                                                                  const std::vector<int64_t>& w_dims, bool has_bias,
                                                                  bool has_z) const {
  return primitives_.get(primitive_key(x_dims, w_dims, has_bias, has_z),
                         [&] { return make_primitive(node, x_dims, w_dims, has_bias, has_z); });
}

Tensor* DnnlConv::run(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor* z) const {
  const bool prepacked = weights_prepacked();
  const size_t r = x.rank();
  if (!prepacked && (x.dtype() != DataType::kFloat || w.dtype() != DataType::kFloat || r < 3 || r > 5 || w.rank() != r ||
                     (b != nullptr && b->dtype() != DataType::kFloat)))
    return nullptr;
  const std::vector<int64_t>& w_dims = prepacked ? const_w_dims_ : w.shape();
  if (x.dtype() != DataType::kFloat || w_dims.size() != r)
    fail(ctx, ErrorCode::kInvalidArgument,
         "X and W must be float of the same rank, got X " + x.describe() + ", W " + w.describe());
  // Logical dims N, C, spatial... whatever the tensor layout.
  std::vector<int64_t> x_dims = x.shape();
  if (channels_last_) {
    x_dims.insert(x_dims.begin() + 1, x_dims.back());
    x_dims.pop_back();
  }
  const int64_t c = x_dims[1], m = w_dims[0], groups = attrs_.group;
  if (c % groups != 0 || m % groups != 0 || w_dims[1] != c / groups)
    fail(ctx, ErrorCode::kInvalidArgument,
         "channels do not match: X " + x.describe() + (channels_last_ ? " (channels last)" : "") + ", W " +
             shape_to_string(w_dims) + ", group " + std::to_string(groups) +
             " (need W.shape[1] == C / group and M % group == 0)");
  const std::vector<int64_t> kernel(w_dims.begin() + 2, w_dims.end());
  if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
    fail(ctx, ErrorCode::kInvalidArgument,
         "kernel_shape " + shape_to_string(attrs_.kernel_shape) + " disagrees with W " + shape_to_string(w_dims));
  if (b != nullptr && (b->element_count() != m || b->dtype() != DataType::kFloat))
    fail(ctx, ErrorCode::kInvalidArgument, "bias must have " + std::to_string(m) + " float elements, got " + b->describe());

  for (int64_t d : x_dims)
    if (d == 0) {
      // Empty input: resolve the output shape the plain way and produce an empty Y.
      const std::vector<int64_t> in(x_dims.begin() + 2, x_dims.end());
      const SpatialGeometry g = resolve_geometry(attrs_, in, kernel, false, ctx.node());
      std::vector<int64_t> y_shape = {x_dims[0]};
      if (!channels_last_) y_shape.push_back(m);
      y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
      if (channels_last_) y_shape.push_back(m);
      return &ctx.allocate_output(0, DataType::kFloat, y_shape);
    }

  if (winograd_ != nullptr)
    return run_winograd(ctx, x, x_dims, b == nullptr ? nullptr : bias_prepacked_ ? bias_.data() : b->data<float>(), z);

  std::shared_ptr<const Primitive> p;
  try {
    p = primitive_for(ctx.node(), x_dims, w_dims, b != nullptr, z != nullptr);
  } catch (const dnnl::error& e) {
    fail(ctx, ErrorCode::kNotImplemented, std::string("oneDNN has no convolution for X ") + x.describe() + ", W " +
                                              shape_to_string(w_dims) + ": " + e.what());
  }
  if (z != nullptr && (z->dtype() != DataType::kFloat || z->shape() != p->y_shape))
    fail(ctx, ErrorCode::kInvalidArgument, "residual Z " + z->describe() + " must have the output's shape and type " +
                                               shape_to_string(p->y_shape) + " float");

  Tensor& y = ctx.allocate_output(0, DataType::kFloat, p->y_shape);
  const dnnl::engine& eng = dnnl_rt::engine();
  float* py = y.data<float>();
  const size_t y_bytes = static_cast<size_t>(y.element_count()) * sizeof(float);

  dnnl::memory src(p->user_src, eng, const_cast<float*>(x.data<float>()));
  if (p->reorder_src) {
    dnnl::memory packed(p->src, eng);
    dnnl_rt::execute(ctx, p->src_in, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, packed}});
    src = packed;
  }
  // Y may share X's storage (the runtime's in-place reuse of Z when Z is X): write elsewhere then.
  const bool y_aliases_x = !p->reorder_src && static_cast<const void*>(py) == static_cast<const void*>(x.data<float>());
  dnnl::memory dst;
  if (p->reorder_dst) {
    dst = dnnl::memory(p->dst, eng);
    if (z != nullptr) {
      dnnl::memory zm(p->user_dst, eng, const_cast<float*>(z->data<float>()));
      dnnl_rt::execute(ctx, p->z_in, {{DNNL_ARG_FROM, zm}, {DNNL_ARG_TO, dst}});
    }
  } else {
    dst = y_aliases_x ? dnnl::memory(p->dst, eng) : dnnl::memory(p->dst, eng, py);
    float* pd = static_cast<float*>(dst.get_data_handle());
    if (z != nullptr && z->data<float>() != pd) std::memcpy(pd, z->data<float>(), y_bytes);
  }

  dnnl::memory weights;
  if (prepacked) {
    weights = weights_.in_layout(p->weights);
  } else {
    weights = dnnl::memory(p->user_weights, eng, const_cast<float*>(w.data<float>()));
    if (p->weights != p->user_weights) {
      dnnl::memory packed(p->weights, eng);
      dnnl_rt::execute(ctx, p->weights_in, {{DNNL_ARG_FROM, weights}, {DNNL_ARG_TO, packed}});
      weights = packed;
    }
  }
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (b != nullptr) {
    const float* pb = bias_prepacked_ ? bias_.data() : b->data<float>();
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(dnnl::memory::desc({m}, dt::f32, tag::x), eng, const_cast<float*>(pb)));
  }
  dnnl_rt::execute(p->conv, args, p->serial ? 1 : ctx.thread_pool().num_threads());

  if (p->reorder_dst) {
    dnnl::memory ym(p->user_dst, eng, py);
    dnnl_rt::execute(ctx, p->dst_out, {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, ym}});
  } else if (y_aliases_x) {
    std::memcpy(py, dst.get_data_handle(), y_bytes);
  }
  return &y;
}

Tensor* DnnlConv::run_winograd(KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& x_dims,
                               const float* bias, const Tensor* z) const {
  const std::vector<int64_t> in(x_dims.begin() + 2, x_dims.end());
  const SpatialGeometry g = resolve_geometry(attrs_, in, {3, 3}, false, ctx.node());
  const std::vector<int64_t> y_shape = {x_dims[0], g.out[0], g.out[1], winograd_->out_channels()};
  if (z != nullptr && (z->dtype() != DataType::kFloat || z->shape() != y_shape))
    fail(ctx, ErrorCode::kInvalidArgument, "residual Z " + z->describe() + " must have the output's shape and type " +
                                               shape_to_string(y_shape) + " float");
  Tensor& y = ctx.allocate_output(0, DataType::kFloat, y_shape);
  float* py = y.data<float>();
  // Y may share X's storage (the runtime's in-place reuse of Z when Z is X): tiles read X's
  // pixels around the ones they write, so compute into a copy of Z then.
  const bool y_aliases_x = static_cast<const void*>(py) == static_cast<const void*>(x.data<float>());
  std::vector<float> staged;
  float* out = py;
  const float* pz = z != nullptr ? z->data<float>() : nullptr;
  if (y_aliases_x) {
    staged.resize(static_cast<size_t>(y.element_count()));
    out = staged.data();
  }
  winograd_->run(ctx.thread_pool(), x.data<float>(), x_dims[0], in[0], in[1], g.pad_begin[0], g.pad_begin[1], g.out[0],
                 g.out[1], bias, pz, out);
  if (y_aliases_x) std::memcpy(py, out, staged.size() * sizeof(float));
  return &y;
}

}  // namespace ferry::ep::cpu
