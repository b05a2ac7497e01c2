#include "execution_providers/cpu/dnnl/dnnl_runtime.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <vector>

#include "ferry/error.h"
#include "ir/page_pool.h"

namespace ferry::ep::cpu::dnnl_rt {

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

void execute(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args, int threads) {
  // The count is restored after: a weight reorder run on one thread at kernel creation must not
  // leave the creating thread at 1, or every primitive created after it is split for 1 thread.
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads < 1 ? 1 : threads);
  try {
    dnnl::stream stream(engine());
    primitive.execute(stream, args);
    stream.wait();
  } catch (...) {
    omp_set_num_threads(previous);
    throw;
  }
  omp_set_num_threads(previous);
}

std::optional<std::vector<DnnlEltwise>> dnnl_activation(const std::string& name, const std::vector<float>& p) {
  using alg = dnnl::algorithm;
  auto want = [&](size_t n) { return p.size() == n; };
  if (name.empty() && want(0)) return std::vector<DnnlEltwise>{};
  if (name == "Relu" && want(0)) return std::vector<DnnlEltwise>{{alg::eltwise_relu, 0.f, 0.f}};
  if (name == "LeakyRelu" && want(1)) return std::vector<DnnlEltwise>{{alg::eltwise_relu, p[0], 0.f}};
  if (name == "Clip" && want(2) && p[0] <= p[1])
    return std::vector<DnnlEltwise>{{alg::eltwise_clip_v2, p[0], p[1]}};
  if (name == "Sigmoid" && want(0)) return std::vector<DnnlEltwise>{{alg::eltwise_logistic, 0.f, 0.f}};
  if (name == "Tanh" && want(0)) return std::vector<DnnlEltwise>{{alg::eltwise_tanh, 0.f, 0.f}};
  if (name == "SiLU" && want(0)) return std::vector<DnnlEltwise>{{alg::eltwise_swish, 1.f, 0.f}};
  if (name == "HardSigmoid" && want(2))
    return std::vector<DnnlEltwise>{{alg::eltwise_linear, p[0], p[1]}, {alg::eltwise_clip_v2, 0.f, 1.f}};
  return std::nullopt;
}

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
  if (rank == 0 || rank > 6)
    throw Error(ErrorCode::kNotImplemented, "oneDNN takes tensors of rank 1 to 6, got rank " + std::to_string(rank));
  return tags[rank];
}

dnnl::memory wrap(const std::vector<int64_t>& shape, const float* data, dnnl::memory::format_tag tag) {
  if (tag == dnnl::memory::format_tag::undef) tag = plain_tag(shape.size());
  dnnl::memory::desc desc(dims(shape), dnnl::memory::data_type::f32, tag);
  return dnnl::memory(desc, engine(), const_cast<float*>(data));
}

// ---- memory for packed weights (see the header) ----

namespace {

/// `bytes` of anonymous memory, page-aligned (mem::map_pages: during session creation it takes
/// over the pages of weights released before it), unmapped with the last handle (small sizes
/// come from the heap).
std::shared_ptr<void> large_buffer(size_t bytes) {
  constexpr size_t kOwnMapping = size_t{128} << 10;
  if (bytes < kOwnMapping) {
    void* p = ::operator new(bytes == 0 ? 1 : bytes, std::align_val_t(64));
    return std::shared_ptr<void>(p, [](void* q) { ::operator delete(q, std::align_val_t(64)); });
  }
  void* p = mem::map_pages(bytes);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [bytes](void* q) { mem::unmap_pages(q, bytes); });
}

}  // namespace

std::shared_ptr<dnnl::memory> owned_memory(const dnnl::memory::desc& desc) {
  std::shared_ptr<void> buffer = large_buffer(desc.get_size());
  auto* m = new dnnl::memory(desc, engine(), buffer.get());
  return std::shared_ptr<dnnl::memory>(m, [buffer](dnnl::memory* q) { delete q; });
}

namespace {

// A source of at least this size lying in a model file is packed in slices along its outermost
// dimension of about kSliceBytes each, and each slice's file pages leave the process once read:
// the source and its packed copy are never both resident in full.
constexpr size_t kSlicedSourceBytes = size_t{16} << 20, kSliceBytes = size_t{4} << 20;

/// Packs `source` (plain strided, inside a file mapping) into `packed` slice by slice, dropping
/// each slice's source pages once consumed. False, having written nothing, when the layouts do
/// not allow slicing (the caller then reorders in one go).
bool reorder_in_slices(const dnnl::memory& source, dnnl::memory& packed) {
  const dnnl_memory_desc_t& s = source.get_desc().data;
  const dnnl_memory_desc_t& d = packed.get_desc().data;
  if (s.format_kind != dnnl_blocked || d.format_kind != dnnl_blocked || s.ndims < 1 || s.offset0 != 0 ||
      s.format_desc.blocking.inner_nblks != 0)
    return false;
  const int rank = s.ndims;
  const dnnl_dims_t& strides = s.format_desc.blocking.strides;
  int outer = 0;
  for (int i = 1; i < rank; ++i)
    if (strides[i] > strides[outer]) outer = i;
  // Slices along `outer` must be disjoint, contiguous byte ranges of the source.
  int64_t extent = 0;
  for (int i = 0; i < rank; ++i) {
    if (s.dims[i] < 1 || s.padded_dims[i] != s.dims[i]) return false;
    if (i != outer) extent += (s.dims[i] - 1) * strides[i];
  }
  if (extent >= strides[outer]) return false;
  int64_t block = 1;  // the packed layout's block along `outer`: slices start on its multiples
  for (int j = 0; j < d.format_desc.blocking.inner_nblks; ++j)
    if (d.format_desc.blocking.inner_idxs[j] == outer) block *= d.format_desc.blocking.inner_blks[j];
  const size_t elem = source.get_desc().get_size() / static_cast<size_t>(s.dims[outer] * strides[outer]);
  if (elem == 0) return false;
  const size_t slice_bytes = static_cast<size_t>(strides[outer]) * elem;
  int64_t rows = std::max<int64_t>(1, static_cast<int64_t>(kSliceBytes / slice_bytes));
  rows = (rows + block - 1) / block * block;
  const int64_t total = s.dims[outer];
  if (rows >= total) return false;

  const dnnl::memory::desc src_desc = source.get_desc(), dst_desc = packed.get_desc();
  auto* src_base = static_cast<uint8_t*>(source.get_data_handle());
  auto* dst_base = static_cast<uint8_t*>(packed.get_data_handle());
  const size_t dst_elem = dnnl::memory::data_type_size(dst_desc.data_type());
  // The packed layout's padding (outside the slices) must read as zeros.
  bool padded = false;
  for (int i = 0; i < d.ndims; ++i) padded |= d.padded_dims[i] != d.dims[i];
  // Validate every slice's descriptors before writing anything.
  struct Slice {
    int64_t at;
    dnnl::memory::desc src, dst;
    size_t dst_offset;
  };
  std::vector<Slice> slices;
  for (int64_t at = 0; at < total; at += rows) {
    const int64_t n = std::min(rows, total - at);
    dnnl::memory::dims sub(src_desc.dims()), offsets(static_cast<size_t>(rank), 0);
    sub[static_cast<size_t>(outer)] = n;
    offsets[static_cast<size_t>(outer)] = at;
    dnnl_memory_desc_t src_sub = s;
    src_sub.dims[outer] = src_sub.padded_dims[outer] = n;
    dnnl_memory_desc_t dst_sub = dst_desc.submemory_desc(sub, offsets).data;
    const size_t dst_offset = static_cast<size_t>(dst_sub.offset0) * dst_elem;
    dst_sub.offset0 = 0;  // the slice's memory object starts at its first element
    slices.push_back({at, dnnl::memory::desc(src_sub), dnnl::memory::desc(dst_sub), dst_offset});
  }
  if (padded) std::memset(dst_base, 0, dst_desc.get_size());
  std::optional<dnnl::reorder> full, tail;
  for (const Slice& sl : slices) {
    std::optional<dnnl::reorder>& r = sl.src.dims()[static_cast<size_t>(outer)] == rows ? full : tail;
    uint8_t* from = src_base + static_cast<size_t>(sl.at) * slice_bytes;
    dnnl::memory src_mem(sl.src, engine(), from), dst_mem(sl.dst, engine(), dst_base + sl.dst_offset);
    if (!r) r.emplace(src_mem, dst_mem);
    execute(*r, {{DNNL_ARG_FROM, src_mem}, {DNNL_ARG_TO, dst_mem}}, 1);
    mem::drop_file_pages(from, static_cast<size_t>(sl.src.dims()[static_cast<size_t>(outer)]) * slice_bytes);
  }
  return true;
}

}  // namespace

std::shared_ptr<dnnl::memory> reorder_to_owned(const dnnl::memory& source, const dnnl::memory::desc& desc) {
  const runtime::ScopedThreadCount one_thread(1);  // created for the one thread it runs on
  std::shared_ptr<dnnl::memory> packed = owned_memory(desc);
  const size_t source_bytes = source.get_desc().get_size();
  if (source_bytes >= kSlicedSourceBytes && mem::in_file_mapping(source.get_data_handle(), source_bytes)) {
    try {
      if (reorder_in_slices(source, *packed)) return packed;
    } catch (const dnnl::error&) {
      // A slice's layout oneDNN refuses: nothing was written yet only if it failed while
      // describing slices; reorder the whole source below either way (it overwrites all).
    }
  }
  if (source.get_desc() == desc) {
    std::memcpy(packed->get_data_handle(), source.get_data_handle(), desc.get_size());
    return packed;
  }
  dnnl::reorder reorder(source, *packed);
  execute(reorder, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, *packed}}, 1);
  return packed;
}

dnnl::memory reorder_to(const dnnl::memory& source, const dnnl::memory::desc& desc) {
  const runtime::ScopedThreadCount one_thread(1);  // created for the one thread it runs on
  dnnl::memory packed(desc, engine());
  dnnl::reorder reorder(source, packed);
  execute(reorder, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, packed}}, 1);
  return packed;
}

void PackedWeights::pack(const dnnl::memory& source, const dnnl::memory::desc& desc) {
  copies_.assign({reorder_to_owned(source, desc)});
  packed_ = true;
}

dnnl::memory PackedWeights::in_layout(const dnnl::memory::desc& desc) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& m : copies_)
    if (m->get_desc() == desc) return *m;
  copies_.push_back(reorder_to_owned(*copies_.front(), desc));
  return *copies_.back();
}

dnnl::memory PackedWeights::first() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return *copies_.front();
}

// ---- CPU features for int8 / bf16, and the opt-in compute precision ----

bool cpu_has_int8_dot() {
  static const bool has = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
           isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
  }();
  return has;
}

bool cpu_has_bf16() {
  static const bool has = [] {
    const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  return has;
}

ComputePrecision parse_compute_precision(const std::string& value) {
  if (value == "f32" || value == "fp32" || value == "float32") return ComputePrecision::kF32;
  if (value == "bf16" || value == "bfloat16") return ComputePrecision::kBF16;
  throw Error(ErrorCode::kInvalidArgument, std::string("session config entry '") + kComputePrecisionKey + "' is '" +
                                               value + "' (valid: f32, bf16)");
}

dnnl::memory::data_type compute_type(const KernelInfo& info) {
  const std::string entry = info.config_entry(kComputePrecisionKey, "f32");
  return parse_compute_precision(entry) == ComputePrecision::kBF16 && cpu_has_bf16() ? dnnl::memory::data_type::bf16
                                                                                      : dnnl::memory::data_type::f32;
}

}  // namespace ferry::ep::cpu::dnnl_rt
