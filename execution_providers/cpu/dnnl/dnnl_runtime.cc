#include "execution_providers/cpu/dnnl/dnnl_runtime.h"

#include <omp.h>

#include "ferry/error.h"

namespace ferry::ep::cpu::dnnl_rt {

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

void execute(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args, int threads) {
  omp_set_num_threads(threads < 1 ? 1 : threads);
  dnnl::stream stream(engine());
  primitive.execute(stream, args);
  stream.wait();
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

dnnl::memory reorder_to(const dnnl::memory& source, const dnnl::memory::desc& desc) {
  dnnl::memory packed(desc, engine());
  dnnl::reorder reorder(source, packed);
  execute(reorder, {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, packed}}, 1);
  return packed;
}

}  // namespace ferry::ep::cpu::dnnl_rt
