// ferry.ElementwiseChain (ir/ferry_schemas_fusion.cc): a list of unary ops and ops with a float
// constant, applied to a block of elements that stays in cache, op after op, so memory is read
// and written once. Float only; in place when the runtime gives it X's buffer.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/fused/fused.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

using Arr = Eigen::Array<float, Eigen::Dynamic, 1>;
using ArrMap = Eigen::Map<Arr>;

constexpr int64_t kBlock = 4096;  // elements processed at a time (16 KiB of floats)

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

/// Applies one op to the block in place. The common ops use the vectorised kernels of
/// simd/vmath.h; the rest Eigen's array expressions or scalar <cmath>.
void apply_chain_op(ChainOp op, float c, ArrMap v) {
  float* p = v.data();
  const int64_t n = v.size();
  switch (op) {
    case ChainOp::kAdd: simd::binary(simd::BinaryOp::kAdd, p, 1, &c, 0, p, n); return;
    case ChainOp::kSub: simd::binary(simd::BinaryOp::kSub, p, 1, &c, 0, p, n); return;
    case ChainOp::kMul: simd::binary(simd::BinaryOp::kMul, p, 1, &c, 0, p, n); return;
    case ChainOp::kDiv: simd::binary(simd::BinaryOp::kDiv, p, 1, &c, 0, p, n); return;
    case ChainOp::kRSub: simd::binary(simd::BinaryOp::kSub, &c, 0, p, 1, p, n); return;
    case ChainOp::kRDiv: simd::binary(simd::BinaryOp::kDiv, &c, 0, p, 1, p, n); return;
    case ChainOp::kRelu: simd::relu(p, p, n); return;
    case ChainOp::kSigmoid: simd::sigmoid(p, p, n); return;
    case ChainOp::kTanh: simd::tanh(p, p, n); return;
    case ChainOp::kExp: simd::exp(p, p, n); return;
    case ChainOp::kErf: simd::erf(p, p, n); return;
    case ChainOp::kSoftplus: simd::softplus(p, p, n); return;
    default: break;
  }
  switch (op) {
    case ChainOp::kPow:
      if (c == 2.f) v = v.square();  // exact, like pow(x, 2)
      else v = v.pow(c);
      break;
    case ChainOp::kMax: v = (v < c).select(c, v); break;  // NaN in x stays NaN
    case ChainOp::kMin: v = (v > c).select(c, v); break;
    case ChainOp::kRPow: for (float& x : v) x = std::pow(c, x); break;
    case ChainOp::kLeakyRelu: v = (v < 0.f).select(v * c, v); break;
    case ChainOp::kElu: v = (v < 0.f).select((v.exp() - 1.f) * c, v); break;
    case ChainOp::kNeg: v = -v; break;
    case ChainOp::kAbs: v = v.abs(); break;
    case ChainOp::kLog: v = v.log(); break;
    case ChainOp::kSqrt: v = v.sqrt(); break;
    case ChainOp::kReciprocal: v = v.inverse(); break;
    // Scalar std::floor / std::ceil: Eigen's vectorised versions lose the sign of -0.
    case ChainOp::kFloor: for (float& x : v) x = std::floor(x); break;
    case ChainOp::kCeil: for (float& x : v) x = std::ceil(x); break;
    case ChainOp::kSin: v = v.sin(); break;
    case ChainOp::kCos: v = v.cos(); break;
    case ChainOp::kSoftsign: v = v / (v.abs() + 1.f); break;
    default: break;  // handled above
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
    if (x.dtype() != DataType::kFloat)
      fail(ctx, ErrorCode::kInvalidArgument, "input X must be float, got " + x.describe());
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

}  // namespace

void register_elementwise_chain_kernels(KernelRegistry& r) {
  r.add("ElementwiseChain", {1}, make_kernel<ElementwiseChain>, {DataType::kFloat}, "ferry").in_place_inputs = {0};
}

}  // namespace ferry::ep::cpu
