#include "execution_providers/cpu/fused/fused_activation.h"

#include <Eigen/Core>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {

FusedActivation::FusedActivation(const ir::Node& node)
    : name_(node.get_string("activation", "")), params_(node.get_floats("activation_params", {})) {
  struct Entry {
    const char* name;
    Kind kind;
    size_t params;
  };
  static const Entry kTable[] = {{"", Kind::kNone, 0},         {"Relu", Kind::kRelu, 0},
                                 {"LeakyRelu", Kind::kLeakyRelu, 1}, {"Clip", Kind::kClip, 2},
                                 {"Sigmoid", Kind::kSigmoid, 0},   {"Tanh", Kind::kTanh, 0},
                                 {"HardSigmoid", Kind::kHardSigmoid, 2}, {"SiLU", Kind::kSiLU, 0},
                                 {"Gelu", Kind::kGelu, 0},         {"GeluTanh", Kind::kGeluTanh, 0}};
  for (const Entry& e : kTable) {
    if (name_ != e.name) continue;
    if (params_.size() != e.params)
      throw Error(ErrorCode::kInvalidModel, node.describe() + ": activation '" + name_ + "' takes " +
                                                std::to_string(e.params) + " activation_params, got " +
                                                std::to_string(params_.size()));
    kind_ = e.kind;
    a_ = params_.size() > 0 ? params_[0] : 0.f;
    b_ = params_.size() > 1 ? params_[1] : 0.f;
    return;
  }
  throw Error(ErrorCode::kInvalidModel,
              node.describe() + ": unknown activation '" + name_ +
                  "' (valid: \"\", Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, SiLU, Gelu, GeluTanh)");
}

void FusedActivation::apply(float* p, int64_t n) const {
  Eigen::Map<Eigen::Array<float, Eigen::Dynamic, 1>> v(p, n);
  switch (kind_) {
    case Kind::kNone: break;
    case Kind::kRelu: simd::relu(p, p, n); break;
    case Kind::kLeakyRelu: v = (v < 0.f).select(v * a_, v); break;
    case Kind::kClip: v = v.max(a_).min(b_); break;
    case Kind::kSigmoid: simd::sigmoid(p, p, n); break;
    case Kind::kTanh: simd::tanh(p, p, n); break;
    case Kind::kHardSigmoid: v = (v * a_ + b_).min(1.f).max(0.f); break;
    case Kind::kSiLU: simd::silu(p, p, n); break;
    case Kind::kGelu: simd::gelu_erf(p, p, n); break;
    case Kind::kGeluTanh: simd::gelu_tanh(p, p, n); break;
  }
}

// Measured against oneDNN 2.6's post-ops (1 thread, AMD EPYC with AVX-512, median thread CPU
// time of alternated runs under load, ms for the node; /tmp/h2 scripts in the h2 report):
// - Conv: SiLU (eltwise_swish) costs 0.5-1.3 ns per output element in the primitive, the own
//   pass 0.3-0.5: 1x1 16->96 at 112x112 own 3.69 vs post-op 4.00, depthwise 3x3 144 ch at 56x56
//   1.91 vs 2.22, 1x1 24->144 at 56x56 1.33 vs 1.46, 1x1 64->84 at 80x80 2.83 vs 3.06. Sigmoid
//   (eltwise_logistic) 3.64 vs 3.72, 2.10 vs 2.19, 1.32 vs 1.40, 2.81 vs 2.90; Tanh 3.68 vs
//   3.70, 2.02 vs 2.04, 1.37 vs 1.40, 3.12 vs 3.18: own pass for all three. Whole models (sum of
//   the FusedConv nodes' median times, same build, sessions alternated): efficientnet_b0 own/post
//   0.87-0.94 at 1 thread, 0.94-1.04 at 2 (about even: the pass's own parallel regions);
//   yolo_detector 0.91-0.92 at 1, 0.93-0.98 at 2.
// - MatMul / Gemm: oneDNN applies post-ops to blocks still in cache, so only SiLU gains (0-6%
//   at M = 50..197, and at M <= 2 the post-op-free plan may take the few-row path: 1x768x3072
//   0.48 vs 0.68); Sigmoid and Tanh measured equal within noise and stay post-ops.
// Relu, LeakyRelu, Clip and HardSigmoid cost next to nothing as post-ops and stay there.
// - Gelu / GeluTanh: Gemm 128x768x3072 with bias, as in BERT's and GPT-2's MLPs (median thread
//   CPU time of 300 alternated runs in one process, load average 7): own pass 6.29 / 6.36 ms,
//   post-op (eltwise_gelu_erf / _tanh) 6.33 / 6.39, Gemm then the Gelu node 6.37 / 6.44,
//   onnxruntime 6.45 / 6.48. The own pass also computes exactly what the Gelu kernel does, so the
//   fusion never changes a result; on Conv it is unmeasured and runs as Sigmoid and Tanh do.
bool FusedActivation::own_pass_faster(Producer producer) const {
  if (kind_ == Kind::kSiLU || kind_ == Kind::kGelu || kind_ == Kind::kGeluTanh) return true;
  return producer == Producer::kConv && (kind_ == Kind::kSigmoid || kind_ == Kind::kTanh);
}

double FusedActivation::cost_ns_per_element() const {
  // Measured in cache (simd/vmath.cc): sigmoid, silu, tanh 0.3-0.35 ns (0.4-0.45 out of cache);
  // the others under 0.1.
  return kind_ == Kind::kSigmoid || kind_ == Kind::kTanh || kind_ == Kind::kSiLU || kind_ == Kind::kGelu ||
                 kind_ == Kind::kGeluTanh
             ? 0.5
             : 0.15;
}

void finish_fused_output(KernelContext& ctx, Tensor& y, const Tensor* z, const FusedActivation* act) {
  constexpr int64_t kBlock = 4096;  // elements finished at a time (16 KiB of floats)
  if (z != nullptr && (z->dtype() != y.dtype() || z->shape() != y.shape()))
    fail(ctx, ErrorCode::kInvalidArgument,
         "residual Z " + z->describe() + " must have the output's shape and type " + y.describe());
  if (z == nullptr && (act == nullptr || act->is_none())) return;
  float* py = y.data<float>();
  const float* pz = z != nullptr ? z->data<float>() : nullptr;
  const int64_t n = y.element_count();
  // A pass worth less than a parallel region's wake-up (thread_pool.cc) stays on this thread.
  const double ns_per_element = (pz != nullptr ? 0.15 : 0.0) + (act != nullptr ? act->cost_ns_per_element() : 0.0);
  ctx.thread_pool().parallel_for((n + kBlock - 1) / kBlock, kBlock * ns_per_element, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kBlock, len = std::min(kBlock, n - begin);
      if (pz != nullptr) simd::binary(simd::BinaryOp::kAdd, py + begin, 1, pz + begin, 1, py + begin, len);
      if (act != nullptr) act->apply(py + begin, len);
    }
  });
}

}  // namespace ferry::ep::cpu
