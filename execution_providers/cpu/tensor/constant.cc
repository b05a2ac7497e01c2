// Constant and Shape: outputs that do not depend on input data.
#include <algorithm>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

/// The tensor is built once, from whichever value attribute the node has, and every run hands
/// out the same shared storage with set_output. Consumers must treat it as read-only: the
/// runtime never plans an in-place write into a Constant's output.
class Constant final : public Kernel {
 public:
  explicit Constant(const KernelInfo& info) : value_(build(info)) {}
  void compute(KernelContext& ctx) const override { ctx.set_output(0, value_); }

 private:
  static Tensor build(const KernelInfo& info) {
    const ir::Node& n = info.node();
    for (const ir::Attribute& a : n.attributes()) {
      if (a.name == "value") return a.t;
      if (a.name == "sparse_value") return a.sparse.to_dense();
      if (a.name == "value_float") return Tensor::from_vector<float>(DataType::kFloat, {}, {a.f});
      if (a.name == "value_floats")
        return Tensor::from_vector<float>(DataType::kFloat, {static_cast<int64_t>(a.floats.size())}, a.floats);
      if (a.name == "value_int") return Tensor::from_vector<int64_t>(DataType::kInt64, {}, {a.i});
      if (a.name == "value_ints")
        return Tensor::from_vector<int64_t>(DataType::kInt64, {static_cast<int64_t>(a.ints.size())}, a.ints);
      if (a.name == "value_string") return Tensor::from_vector<std::string>(DataType::kString, {}, {a.s});
      if (a.name == "value_strings")
        return Tensor::from_vector<std::string>(DataType::kString, {static_cast<int64_t>(a.strings.size())},
                                                a.strings);
    }
    fail_model(info, "Constant has none of the attributes value, sparse_value, value_float(s), "
                     "value_int(s), value_string(s)");
  }

  Tensor value_;
};

class Shape final : public Kernel {
 public:
  explicit Shape(const KernelInfo& info)
      : start_(info.node().get_int("start", 0)),
        end_(info.node().find_attribute("end") ? info.node().get_int("end", 0) : INT64_MAX) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    auto clamp = [&](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t(0), rank); };
    const int64_t b = clamp(start_), e = std::max(b, clamp(end_));
    Tensor& y = ctx.allocate_output(0, DataType::kInt64, {e - b});
    for (int64_t i = b; i < e; ++i) y.data<int64_t>()[i - b] = x.dim(static_cast<size_t>(i));
  }

 private:
  int64_t start_;  // "start" (opset 15+): 0
  int64_t end_;    // "end" (opset 15+): the rank
};

}  // namespace

void register_constant_kernels(KernelRegistry& r) {
  r.add("Constant", {1, 9, 11, 12, 13, 19, 21, 23, 24, 25}, make_kernel<Constant>);
  r.add("Shape", {1, 13, 15, 19, 21, 23, 24, 25}, make_kernel<Shape>);
}

}  // namespace ferry::ep::cpu
