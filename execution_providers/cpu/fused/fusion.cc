// Kernels of the ferry domain's conv / matrix-product fusions and element-wise chains
// (ir/ferry_schemas_fusion.cc). FusedConv, FusedGemm and FusedMatMul run the plain op's
// computation (fused/conv_gemm_compute.h) and then finish the output in one pass over it, a block
// at a time: residual added, activation applied. ElementwiseChain applies its op list to a block
// of elements that stays in cache, op after op, so memory is read and written once.
#include <Eigen/Core>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/fused/conv_gemm_compute.h"
#include "execution_providers/cpu/fused/fused.h"

namespace ferry::ep::cpu {
namespace {

using Arr = Eigen::Array<float, Eigen::Dynamic, 1>;
using ArrMap = Eigen::Map<Arr>;

constexpr int64_t kBlock = 4096;  // elements finished at a time (16 KiB of floats)

/// The `activation` / `activation_params` attributes of FusedConv, FusedGemm and FusedMatMul.
class Activation {
 public:
  explicit Activation(const ir::Node& node) {
    const std::string name = node.get_string("activation", "");
    const std::vector<float> p = node.get_floats("activation_params", {});
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
      if (name != e.name) continue;
      if (p.size() != e.params)
        throw Error(ErrorCode::kInvalidModel, node.describe() + ": activation '" + name + "' takes " +
                                                  std::to_string(e.params) + " activation_params, got " +
                                                  std::to_string(p.size()));
      kind_ = e.kind;
      a_ = p.size() > 0 ? p[0] : 0.f;
      b_ = p.size() > 1 ? p[1] : 0.f;
      return;
    }
    throw Error(ErrorCode::kInvalidModel,
                node.describe() + ": unknown activation '" + name +
                    "' (valid: \"\", Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid, SiLU)");
  }

  bool is_none() const { return kind_ == Kind::kNone; }

  void apply(ArrMap v) const {
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

 private:
  enum class Kind { kNone, kRelu, kLeakyRelu, kClip, kSigmoid, kTanh, kHardSigmoid, kSiLU };
  Kind kind_ = Kind::kNone;
  float a_ = 0, b_ = 0;
};

/// y = activation(y + z) in one pass over y (z null: no residual; it must have y's shape).
void finish(KernelContext& ctx, Tensor& y, const Tensor* z, const Activation& act) {
  if (z != nullptr && (z->dtype() != y.dtype() || z->shape() != y.shape()))
    fail(ctx, ErrorCode::kInvalidArgument,
         "residual Z " + z->describe() + " must have the output's shape and type " + y.describe());
  if (z == nullptr && act.is_none()) return;
  float* py = y.data<float>();
  const float* pz = z != nullptr ? z->data<float>() : nullptr;
  const int64_t n = y.element_count();
  ctx.thread_pool().parallel_for((n + kBlock - 1) / kBlock, kBlock * 4.0, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t begin = blk * kBlock, len = std::min(kBlock, n - begin);
      ArrMap v(py + begin, len);
      if (pz != nullptr) v += Eigen::Map<const Arr>(pz + begin, len);
      act.apply(v);
    }
  });
}

const Tensor* optional_input(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input_count() > i ? ctx.input(i) : nullptr;
  return t != nullptr && t->defined() ? t : nullptr;
}

void require_float(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DataType::kFloat)
    fail(ctx, ErrorCode::kInvalidArgument, std::string("input ") + what + " must be float, got " + t.describe());
}

class FusedConv final : public Kernel {
 public:
  explicit FusedConv(const KernelInfo& info) : attrs_(info.node()), act_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    require_float(ctx, x, "X");
    Tensor& y = conv_forward(ctx, attrs_, x, ctx.required_input(1), optional_input(ctx, 2));
    finish(ctx, y, optional_input(ctx, 3), act_);
  }

 private:
  ConvPoolAttributes attrs_;
  Activation act_;
};

class FusedGemm final : public Kernel {
 public:
  explicit FusedGemm(const KernelInfo& info) : attrs_(info.node()), act_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    require_float(ctx, a, "A");
    Tensor& y = gemm_forward(ctx, attrs_, a, ctx.required_input(1), optional_input(ctx, 2));
    finish(ctx, y, nullptr, act_);
  }

 private:
  GemmAttributes attrs_;
  Activation act_;
};

class FusedMatMul final : public Kernel {
 public:
  explicit FusedMatMul(const KernelInfo& info)
      : trans_a_(info.node().get_int("transA", 0) != 0),
        trans_b_(info.node().get_int("transB", 0) != 0),
        alpha_(info.node().get_float("alpha", 1.0f)),
        act_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.required_input(0);
    require_float(ctx, a, "A");
    Tensor& y = matmul_forward(ctx, a, ctx.required_input(1), trans_a_, trans_b_, alpha_);
    finish(ctx, y, nullptr, act_);
  }

 private:
  bool trans_a_, trans_b_;
  float alpha_;
  Activation act_;
};

// ---- ElementwiseChain ------------------------------------------------------------------------

enum class ChainOp {
  kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kRSub, kRDiv, kRPow, kLeakyRelu, kElu,
  kRelu, kSigmoid, kTanh, kNeg, kAbs, kExp, kLog, kSqrt, kReciprocal, kFloor, kCeil, kErf, kSin, kCos,
  kSoftplus, kSoftsign,
};

// The names ElementwiseChain's `ops` takes (the schema's doc says what each computes).
const std::pair<const char*, ChainOp> kChainOps[] = {
    {"Add", ChainOp::kAdd},         {"Sub", ChainOp::kSub},       {"Mul", ChainOp::kMul},
    {"Div", ChainOp::kDiv},         {"Pow", ChainOp::kPow},       {"Max", ChainOp::kMax},
    {"Min", ChainOp::kMin},         {"RSub", ChainOp::kRSub},     {"RDiv", ChainOp::kRDiv},
    {"RPow", ChainOp::kRPow},       {"LeakyRelu", ChainOp::kLeakyRelu}, {"Elu", ChainOp::kElu},
    {"Relu", ChainOp::kRelu},       {"Sigmoid", ChainOp::kSigmoid}, {"Tanh", ChainOp::kTanh},
    {"Neg", ChainOp::kNeg},         {"Abs", ChainOp::kAbs},       {"Exp", ChainOp::kExp},
    {"Log", ChainOp::kLog},         {"Sqrt", ChainOp::kSqrt},     {"Reciprocal", ChainOp::kReciprocal},
    {"Floor", ChainOp::kFloor},     {"Ceil", ChainOp::kCeil},     {"Erf", ChainOp::kErf},
    {"Sin", ChainOp::kSin},         {"Cos", ChainOp::kCos},       {"Softplus", ChainOp::kSoftplus},
    {"Softsign", ChainOp::kSoftsign},
};

void apply_chain_op(ChainOp op, float c, ArrMap v) {
  switch (op) {
    case ChainOp::kAdd: v += c; break;
    case ChainOp::kSub: v -= c; break;
    case ChainOp::kMul: v *= c; break;
    case ChainOp::kDiv: v /= c; break;
    case ChainOp::kPow:
      if (c == 2.f) v = v.square();  // exact, like pow(x, 2)
      else v = v.pow(c);
      break;
    case ChainOp::kMax: v = (v < c).select(c, v); break;  // NaN in x stays NaN
    case ChainOp::kMin: v = (v > c).select(c, v); break;
    case ChainOp::kRSub: v = c - v; break;
    case ChainOp::kRDiv: v = c / v; break;
    case ChainOp::kRPow: for (float& x : v) x = std::pow(c, x); break;
    case ChainOp::kLeakyRelu: v = (v < 0.f).select(v * c, v); break;
    case ChainOp::kElu: v = (v < 0.f).select((v.exp() - 1.f) * c, v); break;
    case ChainOp::kRelu: v = v.max(0.f); break;
    case ChainOp::kSigmoid: v = v.logistic(); break;
    case ChainOp::kTanh: v = v.tanh(); break;
    case ChainOp::kNeg: v = -v; break;
    case ChainOp::kAbs: v = v.abs(); break;
    case ChainOp::kExp: v = v.exp(); break;
    case ChainOp::kLog: v = v.log(); break;
    case ChainOp::kSqrt: v = v.sqrt(); break;
    case ChainOp::kReciprocal: v = v.inverse(); break;
    // Scalar std::floor / std::ceil: Eigen's vectorised versions lose the sign of -0.
    case ChainOp::kFloor: for (float& x : v) x = std::floor(x); break;
    case ChainOp::kCeil: for (float& x : v) x = std::ceil(x); break;
    case ChainOp::kErf: for (float& x : v) x = std::erf(x); break;
    case ChainOp::kSin: v = v.sin(); break;
    case ChainOp::kCos: v = v.cos(); break;
    case ChainOp::kSoftplus:
      for (float& x : v) x = x > 0.f ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      break;
    case ChainOp::kSoftsign: v = v / (v.abs() + 1.f); break;
  }
}

class ElementwiseChain final : public Kernel {
 public:
  explicit ElementwiseChain(const KernelInfo& info) {
    const ir::Node& node = info.node();
    const std::vector<std::string> names = node.get_strings("ops");
    constants_ = node.get_floats("constants");
    if (names.empty() || names.size() != constants_.size())
      throw Error(ErrorCode::kInvalidModel, node.describe() + ": 'ops' has " + std::to_string(names.size()) +
                                                " values and 'constants' " + std::to_string(constants_.size()) +
                                                "; they must be non-empty and of one length");
    for (const std::string& name : names) {
      const auto* it = std::find_if(std::begin(kChainOps), std::end(kChainOps),
                                    [&](const auto& e) { return name == e.first; });
      if (it == std::end(kChainOps)) {
        std::string valid;
        for (const auto& e : kChainOps) valid += (valid.empty() ? "" : ", ") + std::string(e.first);
        throw Error(ErrorCode::kInvalidModel, node.describe() + ": unknown op '" + name + "' in 'ops' (valid: " +
                                                  valid + ")");
      }
      ops_.push_back(it->second);
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    require_float(ctx, x, "X");
    const float* px = x.data<float>();
    float* py = ctx.allocate_output(0, DataType::kFloat, x.shape()).data<float>();  // may alias x
    const int64_t n = x.element_count();
    const double cost = kBlock * 2.0 * static_cast<double>(ops_.size());
    ctx.thread_pool().parallel_for((n + kBlock - 1) / kBlock, cost, [&](int64_t b0, int64_t b1) {
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t begin = blk * kBlock, len = std::min(kBlock, n - begin);
        ArrMap v(py + begin, len);
        if (py != px) v = Eigen::Map<const Arr>(px + begin, len);
        for (size_t i = 0; i < ops_.size(); ++i) apply_chain_op(ops_[i], constants_[i], v);
      }
    });
  }

 private:
  std::vector<ChainOp> ops_;
  std::vector<float> constants_;
};

const std::vector<DataType> kFloatOnly = {DataType::kFloat};

}  // namespace

void register_fused_conv_gemm_kernels(KernelRegistry& r) {
  r.add("FusedConv", {1}, make_kernel<FusedConv>, kFloatOnly, "ferry");
  r.add("FusedGemm", {1}, make_kernel<FusedGemm>, kFloatOnly, "ferry");
  r.add("FusedMatMul", {1}, make_kernel<FusedMatMul>, kFloatOnly, "ferry");
  r.add("ElementwiseChain", {1}, make_kernel<ElementwiseChain>, kFloatOnly, "ferry").in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
