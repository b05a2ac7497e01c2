// ai.onnx.preview.training optimizers: Adagrad, Adam, Momentum (standard and nesterov). Each
// node updates n tensors at once: inputs R (learning rate, scalar), T (update count, int64
// scalar), then n X, n G and the n-tensor optimizer states; outputs the n new X then the new
// states, in the input's order. Arithmetic is done in double.
#include <array>
#include <cmath>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/cpu_provider.h"

namespace ferry::ep::cpu {
namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";
using OptimizerTypes = Types<float, double>;

double scalar_of(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.element_count() != 1)
    fail(ctx, ErrorCode::kInvalidArgument, std::string("input '") + what + "' must be a scalar, got " + t.describe());
  if (t.dtype() == DataType::kInt64) return static_cast<double>(t.data<int64_t>()[0]);
  return visit_dtype(OptimizerTypes{}, t.dtype(), std::string("input '") + what + "'",
                     [&](auto tag) { return static_cast<double>(t.data<typename decltype(tag)::type>()[0]); });
}

/// Hyper-parameters of one update, computed once per run from R and T.
struct Step {
  double r = 0;
  int64_t t = 0;
};

/// The shared driver: `Rule::update(step, x, g, states..., out_x, out_states...)` for each of the
/// n tensors. `kStates` is the number of per-tensor state inputs (Adagrad 1, Adam 2, Momentum 1).
template <typename Rule>
class Optimizer final : public Kernel {
 public:
  explicit Optimizer(const KernelInfo& info) : rule_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    constexpr size_t kGroups = 2 + Rule::kStates;  // X, G, states
    const size_t inputs = ctx.input_count();
    if (inputs < 2 + kGroups || (inputs - 2) % kGroups != 0)
      fail(ctx, ErrorCode::kInvalidArgument,
           "expected R, T and " + std::to_string(kGroups) + " groups of n tensors, got " + std::to_string(inputs) + " inputs");
    const size_t n = (inputs - 2) / kGroups;
    Step step;
    step.r = scalar_of(ctx, ctx.required_input(0), "R");
    const Tensor& t = ctx.required_input(1);
    if (t.dtype() != DataType::kInt64 || t.element_count() != 1)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'T' must be an int64 scalar, got " + t.describe());
    step.t = t.data<int64_t>()[0];
    for (size_t k = 0; k < n; ++k) {
      const Tensor& x = ctx.required_input(2 + k);
      std::vector<const Tensor*> in{&x};
      for (size_t g = 1; g < kGroups; ++g) {
        const Tensor& other = ctx.required_input(2 + g * n + k);
        if (other.dtype() != x.dtype() || other.shape() != x.shape())
          fail(ctx, ErrorCode::kInvalidArgument,
               "input " + std::to_string(2 + g * n + k) + " " + other.describe() + " must match the tensor it updates, X " +
                   std::to_string(k) + " " + x.describe());
        in.push_back(&other);
      }
      visit_dtype(OptimizerTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
        using T = typename decltype(tag)::type;
        std::array<const T*, kGroups> src{};
        for (size_t g = 0; g < kGroups; ++g) src[g] = in[g]->template data<T>();
        std::array<T*, kGroups - 1> dst{};  // X_new, states_new
        for (size_t g = 0; g + 1 < kGroups; ++g) {
          const size_t out = g * n + k;  // X_new k: k; state s of tensor k: s * n + k
          dst[g] = ctx.allocate_output(out, x.dtype(), x.shape()).template data<T>();
        }
        const int64_t count = x.element_count();
        ctx.thread_pool().parallel_for(count, 8.0, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            std::array<double, kGroups> v{};
            for (size_t g = 0; g < kGroups; ++g) v[g] = static_cast<double>(src[g][i]);
            std::array<double, kGroups - 1> o{};
            rule_.update(step, v, o);
            for (size_t g = 0; g + 1 < kGroups; ++g) dst[g][i] = static_cast<T>(o[g]);
          }
        });
      });
    }
  }

 private:
  Rule rule_;
};

// in = {x, g, h}; out = {x_new, h_new}.
struct AdagradRule {
  static constexpr size_t kStates = 1;
  double decay_factor, epsilon, norm_coefficient;
  explicit AdagradRule(const ir::Node& n)
      : decay_factor(n.get_float("decay_factor", 0.0f)),             // "decay_factor": 0
        epsilon(n.get_float("epsilon", 1e-6f)),                      // "epsilon": 1e-6
        norm_coefficient(n.get_float("norm_coefficient", 0.0f)) {}   // "norm_coefficient": 0
  void update(const Step& s, const std::array<double, 3>& in, std::array<double, 2>& out) const {
    const double r = s.r / (1.0 + static_cast<double>(s.t) * decay_factor);
    const double g = norm_coefficient * in[0] + in[1];
    const double h = in[2] + g * g;
    out[1] = h;
    out[0] = in[0] - r * g / (std::sqrt(h) + epsilon);
  }
};

// in = {x, g, v, h}; out = {x_new, v_new, h_new}.
struct AdamRule {
  static constexpr size_t kStates = 2;
  double alpha, beta, epsilon, norm_coefficient, norm_coefficient_post;
  explicit AdamRule(const ir::Node& n)
      : alpha(n.get_float("alpha", 0.9f)),                                    // "alpha": 0.9
        beta(n.get_float("beta", 0.999f)),                                    // "beta": 0.999
        epsilon(n.get_float("epsilon", 1e-6f)),                               // "epsilon": 1e-6
        norm_coefficient(n.get_float("norm_coefficient", 0.0f)),              // "norm_coefficient": 0
        norm_coefficient_post(n.get_float("norm_coefficient_post", 0.0f)) {}  // "norm_coefficient_post": 0
  void update(const Step& s, const std::array<double, 4>& in, std::array<double, 3>& out) const {
    const double g = norm_coefficient * in[0] + in[1];
    const double v = alpha * in[2] + (1 - alpha) * g;
    const double h = beta * in[3] + (1 - beta) * g * g;
    const double t = static_cast<double>(s.t);
    const double r = s.t > 0 ? s.r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : s.r;
    out[0] = (1 - norm_coefficient_post) * (in[0] - r * v / (std::sqrt(h) + epsilon));
    out[1] = v;
    out[2] = h;
  }
};

// in = {x, g, v}; out = {x_new, v_new}.
struct MomentumRule {
  static constexpr size_t kStates = 1;
  double alpha, beta, norm_coefficient;
  bool nesterov;
  explicit MomentumRule(const ir::Node& n)
      : alpha(required_float(n, "alpha")),
        beta(required_float(n, "beta")),
        norm_coefficient(required_float(n, "norm_coefficient")),
        nesterov(mode_of(n)) {}
  static double required_float(const ir::Node& n, const char* name) {
    if (!n.find_attribute(name))
      throw Error(ErrorCode::kInvalidModel, std::string("missing required attribute '") + name + "'");
    return n.get_float(name, 0.0f);
  }
  static bool mode_of(const ir::Node& n) {
    const std::string m = n.get_string("mode", "");
    if (m != "standard" && m != "nesterov")
      throw Error(ErrorCode::kInvalidModel, "attribute 'mode' must be \"standard\" or \"nesterov\", got \"" + m + "\"");
    return m == "nesterov";
  }
  void update(const Step& s, const std::array<double, 3>& in, std::array<double, 2>& out) const {
    const double g = norm_coefficient * in[0] + in[1];
    const double v = alpha * in[2] + (s.t > 0 ? beta : 1.0) * g;
    out[1] = v;
    out[0] = nesterov ? in[0] - s.r * (g + alpha * v) : in[0] - s.r * v;
  }
};

}  // namespace

void register_training_kernels(KernelRegistry& r) {
  r.add("Adagrad", {1}, make_kernel<Optimizer<AdagradRule>>, OptimizerTypes::dtypes(), kTrainingDomain);
  r.add("Adam", {1}, make_kernel<Optimizer<AdamRule>>, OptimizerTypes::dtypes(), kTrainingDomain);
  r.add("Momentum", {1}, make_kernel<Optimizer<MomentumRule>>, OptimizerTypes::dtypes(), kTrainingDomain);
}

}  // namespace ferry::ep::cpu
