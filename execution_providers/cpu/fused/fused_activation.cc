#include "execution_providers/cpu/fused/fused_activation.h"

#include "execution_providers/cpu/common.h"

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
                                 {"HardSigmoid", Kind::kHardSigmoid, 2}, {"SiLU", Kind::kSiLU, 0}};
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
                  "' (valid: \"\", Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, SiLU)");
}

void FusedActivation::apply(Eigen::Map<Eigen::Array<float, Eigen::Dynamic, 1>> v) const {
  switch (kind_) {
    case Kind::kNone: break;
    case Kind::kRelu: v = v.max(0.f); break;
    case Kind::kLeakyRelu: v = (v < 0.f).select(v * a_, v); break;
    case Kind::kClip: v = v.max(a_).min(b_); break;
    case Kind::kSigmoid: v = v.logistic(); break;
    case Kind::kTanh: v = v.tanh(); break;
    case Kind::kHardSigmoid: v = (v * a_ + b_).min(1.f).max(0.f); break;
    case Kind::kSiLU: v = v * v.logistic(); break;
  }
}

void finish_fused_output(KernelContext& ctx, Tensor& y, const Tensor* z, const FusedActivation* act) {
  using Arr = Eigen::Array<float, Eigen::Dynamic, 1>;
  constexpr int64_t kBlock = 4096;  // elements finished at a time (16 KiB of floats)
  if (z != nullptr && (z->dtype() != y.dtype() || z->shape() != y.shape()))
    fail(ctx, ErrorCode::kInvalidArgument,
         "residual Z " + z->describe() + " must have the output's shape and type " + y.describe());
  if (z == nullptr && (act == nullptr || act->is_none())) return;
  float* py = y.data<float>();
  const float* pz = z != nullptr ? z->data<float>() : nullptr;
  const int64_t n = y.element_count();
  ctx.thread_pool().parallel_for((n + kBlock - 1) / kBlock, kBlock * 4.0, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kBlock, len = std::min(kBlock, n - begin);
      Eigen::Map<Arr> v(py + begin, len);
      if (pz != nullptr) v += Eigen::Map<const Arr>(pz + begin, len);
      if (act != nullptr) act->apply(v);
    }
  });
}

}  // namespace ferry::ep::cpu
