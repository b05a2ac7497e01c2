#include "execution_providers/cpu/dnnl/matmul_dnnl.h"

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <unordered_map>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/cpu/simd/vmath.h"
#include "ferry/error.h"

namespace ferry::ep::cpu {

using dims_t = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

/// One matmul call's memory descriptors (all of one rank), as dims and strides.
struct DnnlMatMul::Problem {
  dims_t src_dims, src_strides, wei_dims, wei_strides, dst_dims;
  dims_t bias_dims;     // empty: no bias
  bool sum = false;     // dst holds C already: sum post-op with beta
  bool packed = false;  // weights from the prepacked copies
  bool folded = false;  // 2-D over a 2-D B, A's batch dims folded into M

  /// A row or two over prepacked 2-D weights with nothing after the product: run() streams the
  /// packed panels itself when they are in simd::gemv_panels' layout (no oneDNN primitive).
  bool gemv(const DnnlMatMulSpec& spec) const {
    return folded && packed && !sum && spec.post_ops.empty() && src_dims[0] <= 2 && src_dims[1] > 0;
  }

  std::vector<int64_t> key() const {
    std::vector<int64_t> k{static_cast<int64_t>(src_dims.size()), sum, packed,
                           static_cast<int64_t>(bias_dims.size())};
    for (const dims_t* d : {&src_dims, &src_strides, &wei_dims, &wei_strides, &dst_dims, &bias_dims})
      k.insert(k.end(), d->begin(), d->end());
    return k;
  }
};

struct DnnlMatMul::Entry {
  bool ok = false;  // false: oneDNN has no (fast) primitive for this problem
  dnnl::matmul primitive;
  dnnl::memory::desc src, wei, dst, bias, scratch;
  std::shared_ptr<dnnl::memory> packed;  // weights in `wei`'s layout, when prepacked
  dnnl::memory::desc src_compute;        // A as the primitive takes it (src, or bf16)
  std::optional<dnnl::reorder> src_in;   // src -> src_compute, when they differ
  int64_t panel_rows = 0;  // > 0: `packed` is f32 [K, N] in simd::gemv_panels' panels of this many rows
};

namespace {

dims_t plain_strides(const dims_t& d) {
  dims_t s(d.size());
  int64_t step = 1;
  for (size_t i = d.size(); i-- > 0;) {
    s[i] = step;
    step *= d[i];
  }
  return s;
}

/// Strides of a logical [..., rows, cols] matrix stack stored contiguously, transposed in its
/// last two axes when `trans` (stored [..., cols, rows]).
dims_t matrix_strides(const dims_t& logical, bool trans) {
  dims_t stored = logical;
  const size_t r = logical.size();
  if (trans) std::swap(stored[r - 1], stored[r - 2]);
  dims_t s = plain_strides(stored);
  if (trans) std::swap(s[r - 1], s[r - 2]);
  return s;
}

dnnl::memory::desc md(const dims_t& d, const dims_t& s) { return dnnl::memory::desc(d, dt::f32, s); }

/// Per calling thread, oneDNN's scratchpad (user mode: concurrent runs never share one).
void* scratch_buffer(size_t bytes) {
  thread_local std::vector<uint64_t> buffer;
  if (buffer.size() * 8 < bytes) buffer.resize(bytes / 8 + 1);
  return buffer.data();
}

int64_t prod(const std::vector<int64_t>& v, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= v[i];
  return p;
}

}  // namespace

DnnlMatMul::DnnlMatMul(DnnlMatMulSpec spec, const Tensor* constant_b, const DnnlShapeHint& hint)
    : spec_(std::move(spec)) {
  if (constant_b == nullptr || constant_b->dtype() != DataType::kFloat || constant_b->element_count() == 0 ||
      constant_b->rank() < 1 || constant_b->rank() > 2 || (spec_.trans_b && constant_b->rank() < 2))
    return;
  const std::vector<int64_t>& bs = constant_b->shape();
  const int64_t k = bs.size() == 1 ? bs[0] : (spec_.trans_b ? bs[1] : bs[0]);
  // A as the runs are expected to give it (inferred shape), else rows of a middling guess.
  std::vector<int64_t> a_shape = hint.a;
  const size_t ra = std::max<size_t>(a_shape.size(), 2);
  if (a_shape.empty() || (spec_.trans_a && a_shape.size() < 2) || (a_shape.size() == 1 ? a_shape[0] : a_shape[ra - (spec_.trans_a ? 2 : 1)]) != k)
    a_shape = spec_.trans_a ? std::vector<int64_t>{k, 64} : std::vector<int64_t>{64, k};
  b_shape_ = bs;
  // gemm_forward passes C only when beta != 0.
  const std::vector<int64_t>* c = hint.c && spec_.beta != 0.0f ? &*hint.c : nullptr;
  const std::optional<Problem> p = problem(a_shape, bs, c, true);
  if (!p) {
    b_shape_.clear();
    return;
  }
  try {
    // entry_for reorders from packs_[0]: B's own storage while the first primitive is made, read
    // straight into the packed copy. No pack may keep pointing into it (the initializer is
    // released once every reader has packed): when the primitive prefers B's own layout, the
    // copy is a plain one.
    auto source = std::make_shared<dnnl::memory>(md(p->wei_dims, p->wei_strides), dnnl_rt::engine(),
                                                 const_cast<float*>(constant_b->data<float>()));
    packs_.push_back(source);
    const std::shared_ptr<Entry> e = entry_for(*p);
    if (!e->ok || e->packed == nullptr) throw std::runtime_error("no packed primitive");
    if (e->packed == source) e->packed = dnnl_rt::reorder_to_owned(*source, e->wei);
    packs_.assign({e->packed});
    cache_.clear();
    cache_.emplace(p->key(), e);
  } catch (const std::exception&) {
    packs_.clear();
    cache_.clear();
    b_shape_.clear();
  }
}

DnnlMatMul::~DnnlMatMul() = default;

std::shared_ptr<DnnlMatMul::Entry> DnnlMatMul::entry_for(const Problem& p) const {
  const std::vector<int64_t> key = p.key();
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  if (!prepacked() && cache_.size() > 256) cache_.clear();  // entries in use stay alive (shared_ptr)
  auto e = std::make_shared<Entry>();
  try {
    e->src = md(p.src_dims, p.src_strides);
    e->dst = md(p.dst_dims, plain_strides(p.dst_dims));
    const dt compute = p.packed ? spec_.compute_type : dt::f32;
    const dnnl::memory::desc wei_any =
        p.packed ? dnnl::memory::desc(p.wei_dims, compute, dnnl::memory::format_tag::any)
                 : md(p.wei_dims, p.wei_strides);
    e->src_compute = compute == dt::f32 ? e->src : dnnl::memory::desc(p.src_dims, compute, plain_strides(p.src_dims));
    if (!p.bias_dims.empty()) e->bias = md(p.bias_dims, plain_strides(p.bias_dims));
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (spec_.alpha != 1.0f) attr.set_output_scales(0, {spec_.alpha});
    dnnl::post_ops ops;
    if (p.sum) ops.append_sum(spec_.beta);
    for (const DnnlEltwise& op : spec_.post_ops) ops.append_eltwise(1.0f, op.algorithm, op.alpha, op.beta);
    attr.set_post_ops(ops);
    const dnnl::matmul::desc desc = p.bias_dims.empty() ? dnnl::matmul::desc(e->src_compute, wei_any, e->dst)
                                                        : dnnl::matmul::desc(e->src_compute, wei_any, e->bias, e->dst);
    const dnnl::matmul::primitive_desc pd(desc, attr, dnnl_rt::engine());
    // The reference implementation is slower than the Eigen path; leave such shapes to it
    // (unless B is prepacked, where it is the only path).
    if (!p.packed && std::string(pd.impl_info_str()).rfind("ref", 0) == 0) return cache_[key] = e;
    e->wei = pd.weights_desc();
    e->scratch = pd.scratchpad_desc();
    if (p.packed) {
      for (const auto& m : packs_)
        if (m->get_desc() == e->wei) e->packed = m;
      if (e->packed == nullptr) {
        e->packed = dnnl_rt::reorder_to_owned(*packs_.front(), e->wei);
        packs_.push_back(e->packed);
      }
      if (p.wei_dims.size() == 2 && compute == dt::f32) {
        const int64_t k = p.wei_dims[0];
        if (e->wei == dnnl::memory::desc(p.wei_dims, dt::f32, dnnl::memory::format_tag::BA16a64b))
          e->panel_rows = (k + simd::kGemvKBlock - 1) / simd::kGemvKBlock * simd::kGemvKBlock;
      }
    }
    e->ok = true;
    if (p.gemv(spec_) && e->panel_rows > 0) return cache_[key] = e;  // run() never executes it
    e->primitive = dnnl::matmul(pd);
    if (e->src_compute != e->src)
      e->src_in = dnnl::reorder(dnnl::reorder::primitive_desc(dnnl_rt::engine(), e->src, dnnl_rt::engine(), e->src_compute));
  } catch (const dnnl::error&) {
    e = std::make_shared<Entry>();  // ok == false
  }
  return cache_[key] = e;
}

bool DnnlMatMul::accepts(const Tensor& a, const Tensor& b) const {
  if (a.dtype() != DataType::kFloat || b.dtype() != DataType::kFloat) return false;
  const size_t rank = std::max<size_t>({a.rank(), b.rank(), 2});
  return rank <= 6 && a.rank() >= 1 && b.rank() >= 1;
}

std::optional<DnnlMatMul::Problem> DnnlMatMul::problem(std::vector<int64_t> as, std::vector<int64_t> bs,
                                                      const std::vector<int64_t>* c, bool packed) const {
  if (as.empty() || bs.empty()) return std::nullopt;
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  const size_t ra = as.size(), rb = bs.size();
  const int64_t m = spec_.trans_a ? as[ra - 1] : as[ra - 2];
  const int64_t k = spec_.trans_a ? as[ra - 2] : as[ra - 1];
  const int64_t n = spec_.trans_b ? bs[rb - 2] : bs[rb - 1];
  Problem p;
  p.packed = packed;
  // C: a per-column [N] C with alpha == 1 is the bias argument; any other C a sum post-op.
  if (c != nullptr) {
    const int64_t cm = c->size() == 2 ? (*c)[0] : 1, cn = c->empty() ? 1 : c->back();
    if (spec_.alpha == 1.0f && cm == 1 && cn == n) p.bias_dims = {cm, cn};
    else p.sum = true;
  }
  if (rb == 2 && !spec_.trans_a) {  // A's batch dims fold into M
    const int64_t rows = prod(as, 0, ra - 1);
    p.folded = true;
    p.src_dims = {rows, k};
    p.src_strides = {k, 1};
    p.wei_dims = {k, n};
    p.wei_strides = matrix_strides(p.wei_dims, spec_.trans_b);
    p.dst_dims = {rows, n};
    return p;
  }
  if (packed) {  // A transposed with batch dims over a prepacked 2-D B: one matmul per batch matrix
    p.src_dims = {m, k};
    p.src_strides = matrix_strides(p.src_dims, true);
    p.wei_dims = {k, n};
    p.wei_strides = matrix_strides(p.wei_dims, spec_.trans_b);
    p.dst_dims = {m, n};
    return p;
  }
  // General: both operands padded with leading 1s to one rank; oneDNN broadcasts size-1 batch dims.
  const size_t r = std::max(ra, rb);
  dims_t src(r, 1), wei(r, 1), dst(r, 1);
  for (size_t i = 0; i + 2 < ra; ++i) src[r - ra + i] = as[i];
  for (size_t i = 0; i + 2 < rb; ++i) wei[r - rb + i] = bs[i];
  for (size_t i = 0; i + 2 < r; ++i) {
    if (src[i] != wei[i] && src[i] != 1 && wei[i] != 1) return std::nullopt;
    dst[i] = std::max(src[i], wei[i]);
  }
  src[r - 2] = m, src[r - 1] = k, wei[r - 2] = k, wei[r - 1] = n, dst[r - 2] = m, dst[r - 1] = n;
  p.src_dims = src;
  p.src_strides = matrix_strides(src, spec_.trans_a);
  p.wei_dims = wei;
  p.wei_strides = matrix_strides(wei, spec_.trans_b);
  p.dst_dims = dst;
  if (!p.bias_dims.empty()) {
    dims_t bias(r, 1);
    bias[r - 2] = p.bias_dims[0], bias[r - 1] = p.bias_dims[1];
    p.bias_dims = bias;
  }
  return p;
}

bool DnnlMatMul::run(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y) const {
  if (y.element_count() == 0) return true;
  if (prepacked() && b.shape() != b_shape_)
    throw Error(ErrorCode::kInvalidArgument,
                ctx.node().describe() + ": B " + b.describe() + " differs from its constant's shape");
  const std::optional<std::vector<int64_t>> c_shape = c ? std::optional(c->shape()) : std::nullopt;
  const std::optional<Problem> found = problem(a.shape(), b.shape(), c_shape ? &*c_shape : nullptr, prepacked());
  if (!found) return false;
  const Problem& p = *found;
  const int64_t m = p.dst_dims[p.dst_dims.size() - 2], n = p.dst_dims.back();
  const int64_t k = p.wei_dims[p.wei_dims.size() - 2];
  if (k == 0 && !prepacked()) return false;
  const float* pa = a.data<float>();
  const float* pb = prepacked() ? nullptr : b.data<float>();
  float* py = y.data<float>();

  // C as bias is scaled by beta here (oneDNN's fast kernels take no other bias broadcast); as a
  // sum post-op it is copied into y, broadcast (alpha applies to the product only, as output scale).
  std::vector<float> scaled_c;
  const float* pc = c != nullptr ? c->data<float>() : nullptr;
  if (c != nullptr && !p.bias_dims.empty() && spec_.beta != 1.0f) {
    scaled_c.assign(pc, pc + c->element_count());
    for (float& v : scaled_c) v *= spec_.beta;
    pc = scaled_c.data();
  }
  if (p.sum) {
    const int64_t cm = c->rank() == 2 ? c->dim(0) : 1, cn = c->rank() >= 1 ? c->dim(c->rank() - 1) : 1;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) py[i * n + j] = pc[(cm == 1 ? 0 : i * cn) + (cn == 1 ? 0 : j)];
  }

  auto execute = [&](const Problem& prob, const float* src, const float* wei, float* dst) {
    const std::shared_ptr<Entry> e = entry_for(prob);
    if (!e->ok) return false;
    const dnnl::engine& eng = dnnl_rt::engine();
    dnnl::memory src_m(e->src, eng, const_cast<float*>(src));
    if (e->src_in) {
      dnnl::memory converted(e->src_compute, eng);
      dnnl_rt::execute(ctx, *e->src_in, {{DNNL_ARG_FROM, src_m}, {DNNL_ARG_TO, converted}});
      src_m = converted;
    }
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, src_m},
        {DNNL_ARG_WEIGHTS, e->packed ? *e->packed : dnnl::memory(e->wei, eng, const_cast<float*>(wei))},
        {DNNL_ARG_DST, dnnl::memory(e->dst, eng, dst)},
        {DNNL_ARG_SCRATCHPAD, dnnl::memory(e->scratch, eng, scratch_buffer(e->scratch.get_size()))}};
    if (!prob.bias_dims.empty()) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e->bias, eng, const_cast<float*>(pc)));
    dnnl_rt::execute(ctx, e->primitive, args);
    return true;
  };

  if (p.folded) {
    if (p.gemv(spec_)) {
      // A row or two: stream the packed panels ourselves (oneDNN's brgemm reads them slower).
      const std::shared_ptr<Entry> e = entry_for(p);
      if (e->ok && e->panel_rows > 0) {
        const int64_t rows = p.src_dims[0];
        const float* w = static_cast<const float*>(e->packed->get_data_handle());
        const int64_t panels = (n + simd::kGemvPanel - 1) / simd::kGemvPanel;
        const float* bias = p.bias_dims.empty() ? nullptr : pc;
        const double bytes_per_panel = static_cast<double>(e->panel_rows * simd::kGemvPanel * sizeof(float));
        ctx.thread_pool().parallel_for(panels, bytes_per_panel / 8, [&](int64_t j0, int64_t j1) {
          simd::gemv_panels(pa, k, rows, k, w, e->panel_rows, n, j0, j1, spec_.alpha, bias, py, n);
        });
        return true;
      }
    }
    return execute(p, pa, pb, py);
  }
  if (p.packed) {
    const int64_t batches = prod(a.shape(), 0, a.rank() - 2);
    for (int64_t i = 0; i < batches; ++i)
      if (!execute(p, pa + i * m * k, nullptr, py + i * m * n))
        throw Error(ErrorCode::kRuntime, ctx.node().describe() + ": oneDNN matmul failed for A " + a.describe());
    return true;
  }
  return execute(p, pa, pb, py);
}

Tensor DnnlMatMul::unpacked_b() const {
  if (!prepacked()) throw Error(ErrorCode::kRuntime, "DnnlMatMul::unpacked_b: B is not prepacked");
  Tensor out = Tensor::empty(DataType::kFloat, b_shape_);
  const int64_t k = b_shape_.size() == 1 ? b_shape_[0] : (spec_.trans_b ? b_shape_[1] : b_shape_[0]);
  const int64_t n = b_shape_.size() == 1 ? 1 : (spec_.trans_b ? b_shape_[0] : b_shape_[1]);
  const dims_t d{k, n};
  dnnl::memory plain(md(d, matrix_strides(d, spec_.trans_b)), dnnl_rt::engine(), out.data<float>());
  std::lock_guard<std::mutex> lock(mutex_);
  dnnl::reorder reorder(*packs_.front(), plain);
  dnnl_rt::execute(reorder, {{DNNL_ARG_FROM, *packs_.front()}, {DNNL_ARG_TO, plain}}, 1);
  return out;
}

namespace {

/// A value's inferred shape with every symbolic dim taken as 1 (one batch item, the shape the
/// runs are first planned for); nullopt when the rank is unknown or a dim is 0.
std::optional<std::vector<int64_t>> guessed_shape(const ir::Type* t) {
  if (t == nullptr || !t->shape.has_rank) return std::nullopt;
  std::vector<int64_t> shape;
  for (const ir::Dim& d : t->shape.dims) {
    if (d.is_constant() && d.value() < 1) return std::nullopt;
    shape.push_back(d.is_constant() ? d.value() : 1);
  }
  return shape;
}

}  // namespace

DnnlShapeHint dnnl_shape_hint(const KernelInfo& info, int c_input) {
  DnnlShapeHint hint;
  hint.a = guessed_shape(info.input_type(0)).value_or(std::vector<int64_t>{});
  if (c_input >= 0 && info.node().input(static_cast<size_t>(c_input)) != nullptr)
    hint.c = guessed_shape(info.input_type(static_cast<size_t>(c_input)));
  return hint;
}


const DnnlMatMul& shared_dnnl_matmul(bool trans_a, bool trans_b, float alpha, float beta) {
  static std::mutex mutex;
  static std::map<std::tuple<bool, bool, float, float>, std::unique_ptr<DnnlMatMul>> plans;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<DnnlMatMul>& plan = plans[{trans_a, trans_b, alpha, beta}];
  if (plan == nullptr) {
    DnnlMatMulSpec spec;
    spec.trans_a = trans_a, spec.trans_b = trans_b, spec.alpha = alpha, spec.beta = beta;
    plan = std::make_unique<DnnlMatMul>(spec, nullptr, DnnlShapeHint{});
  }
  return *plan;
}

}  // namespace ferry::ep::cpu
