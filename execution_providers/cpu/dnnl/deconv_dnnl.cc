#include "execution_providers/cpu/dnnl/deconv_dnnl.h"

#include <algorithm>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct DnnlDeconv::Primitive {
  dnnl::deconvolution_forward deconv;
  dnnl::memory::desc src, weights, dst;            // the primitive's layouts
  dnnl::memory::desc user_src, user_weights, user_dst;  // the tensors' own layouts
  std::vector<int64_t> y_shape;
  bool reorder_src = false, reorder_dst = false;
  dnnl::reorder src_in, dst_out, weights_in;
};

namespace {

/// oneDNN's weight desc over an ONNX W [C, M/g, k...]: dims [g, M/g, C/g, k...] (no g when
/// ungrouped) with the strides of W's own row-major layout.
dnnl::memory::desc user_weights_desc(const std::vector<int64_t>& w, int64_t groups) {
  const size_t r = w.size();
  int64_t ksize = 1;
  dnnl::memory::dims kdims, kstrides(r - 2);
  for (size_t d = 2; d < r; ++d) kdims.push_back(w[d]);
  for (size_t d = r; d-- > 2;) {
    kstrides[d - 2] = ksize;
    ksize *= w[d];
  }
  const int64_t mg = w[1], cg = w[0] / groups;
  dnnl::memory::dims dims = {mg, cg}, strides = {ksize, mg * ksize};
  if (groups > 1) {
    dims.insert(dims.begin(), groups);
    strides.insert(strides.begin(), cg * mg * ksize);
  }
  dims.insert(dims.end(), kdims.begin(), kdims.end());
  strides.insert(strides.end(), kstrides.begin(), kstrides.end());
  return dnnl::memory::desc(dims, dt::f32, strides);
}

/// oneDNN's end padding for an ONNX geometry: what makes (in-1)*stride + k_eff - pad_l - pad_r
/// equal Y's size (negative when output_padding / output_shape grow Y past the full output).
std::vector<int64_t> pad_end(const DeconvGeometry& g) {
  std::vector<int64_t> r(g.in.size());
  for (size_t d = 0; d < r.size(); ++d)
    r[d] = g.stride[d] * (g.in[d] - 1) + (g.kernel[d] - 1) * g.dilation[d] + 1 - g.pad_begin[d] - g.out[d];
  return r;
}

std::vector<int64_t> primitive_key(const std::vector<int64_t>& x_dims, const std::vector<int64_t>& w_dims,
                                   const DeconvGeometry& g, bool has_bias) {
  std::vector<int64_t> key = x_dims;
  for (const auto* v : {&w_dims, &g.stride, &g.dilation, &g.pad_begin, &g.out}) key.insert(key.end(), v->begin(), v->end());
  key.push_back(has_bias);
  return key;
}

}  // namespace

std::unique_ptr<DnnlDeconv> DnnlDeconv::create(const KernelInfo& info, int64_t groups, GeometryFn geometry) {
  const ir::Type* xt = info.input_type(0);
  if (xt != nullptr && xt->elem != DataType::kUndefined && xt->elem != DataType::kFloat) return nullptr;
  if (xt != nullptr && xt->shape.has_rank && (xt->shape.rank() < 3 || xt->shape.rank() > 5)) return nullptr;
  const Tensor* w = info.constant_input(1);
  if (w != nullptr && (w->dtype() != DataType::kFloat || w->rank() < 3 || w->rank() > 5)) return nullptr;
  if (groups < 1) return nullptr;
  std::unique_ptr<DnnlDeconv> k(new DnnlDeconv(groups));
  if (w == nullptr) return k;
  const std::vector<int64_t> w_dims = w->shape();
  const size_t r = w_dims.size();
  if (w_dims[0] % groups != 0) return nullptr;  // the kernel reports it
  // Pack W for the primitive of X's inferred shape (unknown dims guessed: batch 1, 16 per
  // spatial dim); another shape re-lays the packed copy out.
  std::vector<int64_t> x_dims(r, 1);
  x_dims[1] = w_dims[0];
  for (size_t d = 2; d < r; ++d) x_dims[d] = 16;
  if (xt != nullptr && xt->shape.has_rank && xt->shape.rank() == r)
    for (size_t d = 0; d < r; ++d) {
      const ir::Dim& dim = xt->shape.dims[d];
      if (d != 1 && dim.is_constant() && dim.value() > 0) x_dims[d] = dim.value();
    }
  const Tensor* b = info.constant_input(2);
  const bool has_bias = info.input_type(2) != nullptr;
  std::shared_ptr<const Primitive> p;
  try {
    p = k->make_primitive(x_dims, w_dims, geometry(x_dims, w_dims), has_bias);
  } catch (const Error&) {
    return nullptr;  // e.g. pads the guessed shape cannot take; the kernel reports real errors
  } catch (const dnnl::error&) {
    return nullptr;
  }
  dnnl::memory user(p->user_weights, dnnl_rt::engine(), const_cast<float*>(w->data<float>()));
  k->weights_.pack(user, p->weights);
  k->const_w_dims_ = w_dims;
  k->primitives_.put(primitive_key(x_dims, w_dims, geometry(x_dims, w_dims), has_bias), p);
  info.mark_prepacked(1);
  if (b != nullptr && b->dtype() == DataType::kFloat) {
    k->bias_.assign(b->data<float>(), b->data<float>() + b->element_count());
    k->bias_prepacked_ = true;
    info.mark_prepacked(2);
  }
  return k;
}

std::shared_ptr<const DnnlDeconv::Primitive> DnnlDeconv::make_primitive(const std::vector<int64_t>& x_dims,
                                                                        const std::vector<int64_t>& w_dims,
                                                                        const DeconvGeometry& g, bool has_bias) const {
  const size_t r = x_dims.size();
  const int64_t m = w_dims[1] * groups_;
  auto p = std::make_shared<Primitive>();
  dnnl::memory::dims src_dims(x_dims.begin(), x_dims.end()), dst_dims = {x_dims[0], m};
  dst_dims.insert(dst_dims.end(), g.out.begin(), g.out.end());
  p->user_src = dnnl::memory::desc(src_dims, dt::f32, dnnl_rt::plain_tag(r));
  p->user_dst = dnnl::memory::desc(dst_dims, dt::f32, dnnl_rt::plain_tag(r));
  p->user_weights = user_weights_desc(w_dims, groups_);
  const dnnl::memory::desc src_md(src_dims, dt::f32, tag::any), dst_md(dst_dims, dt::f32, tag::any);
  const dnnl::memory::desc wei_md(p->user_weights.dims(), dt::f32, tag::any), bias_md({m}, dt::f32, tag::x);
  dnnl::memory::dims strides(g.stride.begin(), g.stride.end()), dil, pad_l(g.pad_begin.begin(), g.pad_begin.end());
  const std::vector<int64_t> pe = pad_end(g);
  dnnl::memory::dims pad_r(pe.begin(), pe.end());
  for (int64_t d : g.dilation) dil.push_back(d - 1);
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::deconvolution_direct;
  const auto desc = has_bias
                        ? dnnl::deconvolution_forward::desc(prop, alg, src_md, wei_md, bias_md, dst_md, strides, dil, pad_l, pad_r)
                        : dnnl::deconvolution_forward::desc(prop, alg, src_md, wei_md, dst_md, strides, dil, pad_l, pad_r);
  const dnnl::engine& eng = dnnl_rt::engine();
  const dnnl::deconvolution_forward::primitive_desc pd(desc, eng);
  p->deconv = dnnl::deconvolution_forward(pd);
  p->src = pd.src_desc();
  p->weights = pd.weights_desc();
  p->dst = pd.dst_desc();
  p->reorder_src = p->src != p->user_src;
  p->reorder_dst = p->dst != p->user_dst;
  if (p->weights != p->user_weights)
    p->weights_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_weights, eng, p->weights));
  if (p->reorder_src) p->src_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->user_src, eng, p->src));
  if (p->reorder_dst) p->dst_out = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->dst, eng, p->user_dst));
  p->y_shape.assign(dst_dims.begin(), dst_dims.end());
  return p;
}

std::shared_ptr<const DnnlDeconv::Primitive> DnnlDeconv::primitive_for(const std::vector<int64_t>& x_dims,
                                                                       const std::vector<int64_t>& w_dims,
                                                                       const DeconvGeometry& g, bool has_bias) const {
  return primitives_.get(primitive_key(x_dims, w_dims, g, has_bias),
                         [&] { return make_primitive(x_dims, w_dims, g, has_bias); });
}

std::vector<float> DnnlDeconv::plain_weights() const {
  std::vector<float> w(static_cast<size_t>(product(const_w_dims_)));
  const dnnl::memory packed = weights_.first();
  dnnl::memory plain(user_weights_desc(const_w_dims_, groups_), dnnl_rt::engine(), w.data());
  dnnl_rt::execute(dnnl::reorder(packed, plain), {{DNNL_ARG_FROM, packed}, {DNNL_ARG_TO, plain}}, 1);
  return w;
}

Tensor* DnnlDeconv::run(KernelContext& ctx, const Tensor& x, const Tensor& w, const Tensor* b,
                        const DeconvGeometry& g) const {
  const bool prepacked = weights_prepacked();
  const size_t r = x.rank();
  if (x.dtype() != DataType::kFloat || r < 3 || r > 5 || (b != nullptr && b->dtype() != DataType::kFloat)) return nullptr;
  if (!prepacked && (w.dtype() != DataType::kFloat || w.rank() != r)) return nullptr;
  const std::vector<int64_t>& w_dims = prepacked ? const_w_dims_ : w.shape();
  if (x.element_count() == 0 || w_dims.size() != r) return nullptr;
  const int64_t m = w_dims[1] * groups_;
  std::shared_ptr<const Primitive> p;
  try {
    p = primitive_for(x.shape(), w_dims, g, b != nullptr);
  } catch (const dnnl::error&) {
    return nullptr;
  }
  Tensor& y = ctx.allocate_output(0, DataType::kFloat, p->y_shape);
  if (y.element_count() == 0) return &y;
  const dnnl::engine& eng = dnnl_rt::engine();
  dnnl::memory src(p->user_src, eng, const_cast<float*>(x.data<float>()));
  if (p->reorder_src) {
    dnnl::memory packed(p->src, eng);
    dnnl_rt::execute(ctx, p->src_in, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, packed}});
    src = packed;
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
  dnnl::memory dst = p->reorder_dst ? dnnl::memory(p->dst, eng) : dnnl::memory(p->dst, eng, y.data<float>());
  std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
  if (b != nullptr) {
    const float* pb = bias_prepacked_ ? bias_.data() : b->data<float>();
    args.emplace(DNNL_ARG_BIAS, dnnl::memory(dnnl::memory::desc({m}, dt::f32, tag::x), eng, const_cast<float*>(pb)));
  }
  dnnl_rt::execute(ctx, p->deconv, args);
  if (p->reorder_dst) {
    dnnl::memory ym(p->user_dst, eng, y.data<float>());
    dnnl_rt::execute(ctx, p->dst_out, {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, ym}});
  }
  return &y;
}

}  // namespace ferry::ep::cpu
