#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/cpu/quantization/int8_dnnl.h"

namespace ferry::ep::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct DnnlInt8Conv::Primitive {
  dnnl::convolution_forward conv;
  dnnl::memory::desc user_src, user_dst, src, dst, scratch;
  dnnl::reorder src_in;   // when the primitive's src layout differs from plain NC...
  dnnl::memory::desc plain_acc;  // the int32 result in plain NC... layout
  bool acc_channels_last = false;  // the primitive writes N, spatial..., C (QLinearConv converts directly)
  dnnl::reorder dst_out;         // the int32 result -> plain_acc, when the primitive's layout is not plain
  dnnl::memory weights;           // W - w_zero_point, packed for this primitive
  std::vector<int64_t> y_shape;
};

namespace {
// Input positions: QLinearConv x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B;
// ConvInteger x, w, x_zp, w_zp.
struct Slots {
  size_t x_zp, w, w_zp, y_zp, bias;
};
constexpr Slots kQLinear{2, 3, 5, 7, 8};
constexpr Slots kInteger{2, 1, 3, SIZE_MAX, SIZE_MAX};
}  // namespace

DnnlInt8Conv::~DnnlInt8Conv() = default;

std::unique_ptr<DnnlInt8Conv> DnnlInt8Conv::create(const KernelInfo& info, const ConvPoolAttributes& attrs,
                                                   bool qlinear) {
  if (!int8_dnnl_available()) return nullptr;
  const Slots s = qlinear ? kQLinear : kInteger;
  const ir::Type* xt = info.input_type(0);
  const Tensor* w = info.constant_input(s.w);
  if (xt == nullptr || (xt->elem != DataType::kUInt8 && xt->elem != DataType::kInt8) || w == nullptr ||
      w->rank() < 3 || w->rank() > 5 || attrs.group < 1 || w->dim(0) % attrs.group != 0)
    return nullptr;
  const bool w_zp_given = info.node().input(s.w_zp) != nullptr;
  const Tensor* w_zp = info.constant_input(s.w_zp);
  if (w_zp_given && w_zp == nullptr) return nullptr;
  bool x_zp = false, y_zp = false;
  const DataType x_zp_type = scalar_zero_point(info, s.x_zp, x_zp);
  if (x_zp && x_zp_type != xt->elem) return nullptr;
  std::unique_ptr<DnnlInt8Conv> k(new DnnlInt8Conv(attrs, qlinear));
  Int8Weights& wt = k->w_;
  if (!center_int8(*w, w_zp, 0, wt)) return nullptr;
  wt.src = xt->elem;
  wt.dst = DataType::kInt32;
  if (qlinear) {
    const DataType y_type = scalar_zero_point(info, s.y_zp, y_zp);
    if (y_zp && y_type != DataType::kUInt8 && y_type != DataType::kInt8) return nullptr;
    wt.dst = y_zp ? y_type : xt->elem;
    if (!qlinear_scales(info.constant_input(1), info.constant_input(4), info.constant_input(6), w->dim(0), wt.scales))
      return nullptr;
    if (const Tensor* b = info.constant_input(s.bias)) {
      if (b->dtype() != DataType::kInt32 || b->element_count() != w->dim(0)) return nullptr;
      k->bias_.assign(b->data<int32_t>(), b->data<int32_t>() + b->element_count());
      k->bias_const_ = true;
    }
  }
  // A fully known X shape: make (and pack for) the primitive every run will use now.
  if (xt->shape.has_rank && xt->shape.rank() == w->rank()) {
    std::vector<int64_t> dims;
    for (const ir::Dim& d : xt->shape.dims)
      if (d.is_constant() && d.value() > 0) dims.push_back(d.value());
    if (dims.size() == w->rank()) {
      try {
        const bool bias = qlinear && info.node().input(s.bias) != nullptr;
        k->primitive_for(info.node(), dims, x_zp, bias);
      } catch (const std::exception&) {
        return nullptr;  // oneDNN has no primitive (or the shape is invalid): the reference reports
      }
    }
  }
  info.mark_prepacked(s.w);
  if (w_zp != nullptr) info.mark_prepacked(s.w_zp);
  if (k->bias_const_) info.mark_prepacked(s.bias);
  return k;
}

std::shared_ptr<const DnnlInt8Conv::Primitive> DnnlInt8Conv::primitive_for(const ir::Node& node,
                                                                          const std::vector<int64_t>& x_dims,
                                                                          bool x_zp, bool bias) const {
  std::vector<int64_t> key = x_dims;
  key.insert(key.end(), {x_zp, bias});
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = primitives_.find(key); it != primitives_.end()) return it->second;

  const std::vector<int64_t>& w_dims = w_.shape;
  const size_t r = x_dims.size();
  const int64_t groups = attrs_.group, m = w_dims[0];
  const std::vector<int64_t> in(x_dims.begin() + 2, x_dims.end()), kernel(w_dims.begin() + 2, w_dims.end());
  const SpatialGeometry g = resolve_geometry(attrs_, in, kernel, false, node);
  dnnl::memory::dims src_dims(x_dims.begin(), x_dims.end()), dst_dims = {x_dims[0], m};
  dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
  dnnl::memory::dims wdims(w_dims.begin(), w_dims.end());
  if (groups > 1) {
    wdims[0] /= groups;
    wdims.insert(wdims.begin(), groups);
  }
  // oneDNN would add the output zero point before rounding (round(v + z)); ONNX rounds first
  // (round(v) + z), which differs on ties: the primitive writes int32, add_zero_point adds z.
  // (oneDNN 2.6's s32 -> u8 reorder with a runtime zero point ignores it for some shapes.)
  const dt src_t = dnnl_int_type(w_.src), dst_t = dnnl_int_type(w_.dst);
  auto p = std::make_shared<Primitive>();
  p->user_src = dnnl::memory::desc(src_dims, src_t, dnnl_rt::plain_tag(r));
  p->user_dst = dnnl::memory::desc(dst_dims, dst_t, dnnl_rt::plain_tag(r));
  p->plain_acc = dnnl::memory::desc(dst_dims, dt::s32, dnnl_rt::plain_tag(r));
  const dnnl::memory::desc src_md(src_dims, src_t, tag::any), acc_md(dst_dims, dt::s32, tag::any), wei_md(wdims, dt::s8, tag::any), bias_md({m}, dt::s32, tag::x);
  dnnl::memory::dims strides(g.stride.begin(), g.stride.end()), dil, pad_l(g.pad_begin.begin(), g.pad_begin.end()),
      pad_r(g.pad_end.begin(), g.pad_end.end());
  for (int64_t d : g.dilation) dil.push_back(d - 1);
  using fwd = dnnl::convolution_forward;
  const auto desc = bias ? fwd::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     wei_md, bias_md, acc_md, strides, dil, pad_l, pad_r)
                         : fwd::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                     wei_md, acc_md, strides, dil, pad_l, pad_r);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // thread_scratch: no allocation per run
  if (qlinear_) attr.set_output_scales(w_.scales.size() == 1 ? 0 : 1 << 1, w_.scales);
  if (x_zp) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const dnnl::engine& eng = dnnl_rt::engine();
  const fwd::primitive_desc pd(desc, attr, eng);
  p->conv = fwd(pd);
  p->src = pd.src_desc();
  p->dst = pd.dst_desc();
  p->scratch = pd.scratchpad_desc();
  if (p->src != p->user_src) p->src_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_src, eng, p->src));
  static const tag kChannelsLast[] = {tag::undef, tag::undef, tag::undef, tag::nwc, tag::nhwc, tag::ndhwc};
  p->acc_channels_last = p->dst == dnnl::memory::desc(dst_dims, dt::s32, kChannelsLast[r]);
  if (p->dst != p->plain_acc) p->dst_out = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->dst, eng, p->plain_acc));
  for (const auto& [other_key, other] : primitives_)
    if (other->weights.get_desc() == pd.weights_desc()) p->weights = other->weights;
  if (!p->weights) {
    const dnnl::memory plain(dnnl::memory::desc(wdims, dt::s8, dnnl_rt::plain_tag(wdims.size())), eng,
                             const_cast<int8_t*>(w_.data.data()));
    p->weights = dnnl_rt::reorder_to(plain, pd.weights_desc());
  }
  p->y_shape.assign(dst_dims.begin(), dst_dims.end());
  primitives_.emplace(std::move(key), p);
  return p;
}

void DnnlInt8Conv::run(KernelContext& ctx) const {
  const Slots s = qlinear_ ? kQLinear : kInteger;
  const Tensor& x = ctx.required_input(0);
  const std::vector<int64_t>& w_dims = w_.shape;
  if (x.dtype() != w_.src || x.rank() != w_dims.size())
    fail(ctx, ErrorCode::kInvalidArgument, "x " + x.describe() + " must be " + std::string(dtype_name(w_.src)) +
                                               " of rank " + std::to_string(w_dims.size()) + " (as w " +
                                               shape_to_string(w_dims) + ")");
  const int64_t c = x.dim(1), m = w_dims[0];
  if (c != w_dims[1] * attrs_.group)
    fail(ctx, ErrorCode::kInvalidArgument, "x " + x.describe() + " and w " + shape_to_string(w_dims) +
                                               " disagree with group " + std::to_string(attrs_.group));
  const std::vector<int64_t> kernel(w_dims.begin() + 2, w_dims.end());
  if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
    fail(ctx, ErrorCode::kInvalidArgument, "attribute 'kernel_shape' disagrees with w " + shape_to_string(w_dims));
  const Tensor* x_zp = ctx.input(s.x_zp);
  const Tensor* y_zp = qlinear_ ? ctx.input(s.y_zp) : nullptr;
  const Tensor* b = qlinear_ ? ctx.input(s.bias) : nullptr;
  int32_t zx = read_zero_point(ctx, x_zp, w_.src, "x_zero_point");
  int32_t zy = read_zero_point(ctx, y_zp, w_.dst, "y_zero_point");
  const int32_t* pb = nullptr;
  if (b != nullptr) {
    if (!bias_const_ && (b->dtype() != DataType::kInt32 || b->element_count() != m))
      fail(ctx, ErrorCode::kInvalidArgument, "input 'B' " + b->describe() + " must be int32 with " +
                                                 std::to_string(m) + " values");
    pb = bias_const_ ? bias_.data() : b->data<int32_t>();
  }
  for (int64_t d : x.shape())
    if (d == 0) {
      const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
      const SpatialGeometry g = resolve_geometry(attrs_, in, kernel, false, ctx.node());
      std::vector<int64_t> shape = {x.dim(0), m};
      shape.insert(shape.end(), g.out.begin(), g.out.end());
      ctx.allocate_output(0, w_.dst, shape);
      return;
    }
  std::shared_ptr<const Primitive> p;
  try {
    p = primitive_for(ctx.node(), x.shape(), x_zp != nullptr, b != nullptr);
  } catch (const dnnl::error& e) {
    fail(ctx, ErrorCode::kNotImplemented, "oneDNN has no int8 convolution for x " + x.describe() + ", w " +
                                              shape_to_string(w_dims) + ": " + e.what());
  }
  Tensor& y = ctx.allocate_output(0, w_.dst, p->y_shape);
  const dnnl::engine& eng = dnnl_rt::engine();
  dnnl::memory src(p->user_src, eng, const_cast<void*>(x.raw_data()));
  if (p->src != p->user_src) {
    dnnl::memory packed(p->src, eng, thread_scratch(0, p->src.get_size()));
    dnnl_rt::execute(ctx, p->src_in, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, packed}});
    src = packed;
  }
  // The int32 result: straight into Y for ConvInteger in a plain layout, else a temporary.
  const bool direct = !qlinear_ && p->dst == p->plain_acc;
  const dnnl::memory dst = direct ? dnnl::memory(p->dst, eng, y.raw_data())
                                  : dnnl::memory(p->dst, eng, thread_scratch(1, p->dst.get_size()));
  const dnnl::memory::desc scalar({1}, dt::s32, tag::x);
  std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, p->weights}, {DNNL_ARG_DST, dst},
      {DNNL_ARG_SCRATCHPAD, dnnl::memory(p->scratch, eng, thread_scratch(2, p->scratch.get_size()))}};
  if (pb != nullptr)
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(dnnl::memory::desc({m}, dt::s32, tag::x), eng, const_cast<int32_t*>(pb)));
  if (x_zp != nullptr) args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, dnnl::memory(scalar, eng, &zx));
  dnnl_rt::execute(ctx, p->conv, args);
  if (direct) return;
  if (qlinear_ && p->acc_channels_last) {
    const int64_t spatial = y.element_count() / (p->y_shape[0] * m);
    add_zero_point_to_nchw(ctx, static_cast<const int32_t*>(dst.get_data_handle()), p->y_shape[0], spatial, m, zy,
                           w_.dst, y.raw_data());
    return;
  }
  dnnl::memory acc = dst;
  if (p->dst != p->plain_acc) {
    acc = qlinear_ ? dnnl::memory(p->plain_acc, eng, thread_scratch(0, p->plain_acc.get_size()))
                   : dnnl::memory(p->plain_acc, eng, y.raw_data());
    dnnl_rt::execute(ctx, p->dst_out, {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, acc}});
  }
  if (qlinear_)
    add_zero_point(ctx, static_cast<const int32_t*>(acc.get_data_handle()), y.element_count(), zy, w_.dst, y.raw_data());
}

}  // namespace ferry::ep::cpu
