#include "execution_providers/cpu/dnnl/dnnl_runtime.h"

#include <omp.h>

#include <cstring>
#include <new>

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

std::shared_ptr<dnnl::memory> reorder_to_owned(const dnnl::memory& source, const dnnl::memory::desc& desc) {
  std::shared_ptr<dnnl::memory> packed = owned_memory(desc);
  if (source.get_desc() == desc) {
    std::memcpy(packed->get_data_handle(), source.get_data_handle(), desc.get_size());
    return packed;
  }
  dnnl::reorder reorder(source, *packed);
  execute(reorder, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, *packed}}, 1);
  return packed;
}

dnnl::memory reorder_to(const dnnl::memory& source, const dnnl::memory::desc& desc) {
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
