// ai.onnx.ml TreeEnsemble (opset 5): a forest of decision trees over the rows of X [N, F];
// Y [N, n_targets] aggregates the weights of the leaves each row reaches (SUM, AVERAGE, MIN,
// MAX; a target no leaf reaches is 0), then applies post_transform (NONE, SOFTMAX, LOGISTIC, SOFTMAX_ZERO, PROBIT).
// Node modes: BRANCH_LEQ, LT, GTE, GT, EQ, NEQ and MEMBER (set membership: the sets are listed
// in membership_values in the order the MEMBER nodes appear in nodes_modes, NaN-delimited).
#include <cmath>
#include <limits>
#include <numbers>
#include <unordered_set>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/ml/ml.h"

namespace ferry::ep::cpu {
namespace {

enum class Mode : uint8_t { kLeq = 0, kLt, kGte, kGt, kEq, kNeq, kMember };
enum class Aggregate { kAverage = 0, kSum, kMin, kMax };
enum class PostTransform { kNone = 0, kSoftmax, kLogistic, kSoftmaxZero, kProbit };

/// A float/double/float16 tensor attribute as doubles.
std::vector<double> read_reals(const Tensor& t, const std::string& what) {
  std::vector<double> out(static_cast<size_t>(t.element_count()));
  visit_dtype(Types<float, double, Float16>{}, t.dtype(), "attribute '" + what + "'", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_same_v<T, Float16>) out[i] = to_float(t.data<T>()[i]);
      else out[i] = static_cast<double>(t.data<T>()[i]);
    }
  });
  return out;
}

/// Inverse error function: an initial rational estimate refined by two Newton steps.
double erfinv(double y) {
  if (std::isnan(y) || y < -1 || y > 1) return std::numeric_limits<double>::quiet_NaN();
  if (y == -1) return -std::numeric_limits<double>::infinity();
  if (y == 1) return std::numeric_limits<double>::infinity();
  const double w = -std::log((1.0 - y) * (1.0 + y));
  double x;
  if (w < 5.0) {
    const double v = w - 2.5;
    x = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      x = c + x * v;
  } else {
    const double v = std::sqrt(w) - 3.0;
    x = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                     0.00943887047, 1.00167406, 2.83297682})
      x = c + x * v;
  }
  x *= y;
  for (int i = 0; i < 2; ++i) x -= (std::erf(x) - y) / (2.0 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
  return x;
}

class TreeEnsemble final : public Kernel {
 public:
  explicit TreeEnsemble(const KernelInfo& info) {
    const ir::Node& n = info.node();
    auto tensor_attr = [&](const char* name, bool required) -> std::vector<double> {
      const ir::Attribute* a = n.find_attribute(name);
      if (!a) {
        if (required) fail_model(info, std::string("missing required attribute '") + name + "'");
        return {};
      }
      return read_reals(a->t, name);
    };
    splits_ = tensor_attr("nodes_splits", true);
    leaf_weights_ = tensor_attr("leaf_weights", true);
    const std::vector<double> members = tensor_attr("membership_values", false);
    features_ = n.get_ints("nodes_featureids");
    true_ids_ = n.get_ints("nodes_truenodeids");
    false_ids_ = n.get_ints("nodes_falsenodeids");
    true_leaf_ = n.get_ints("nodes_trueleafs");
    false_leaf_ = n.get_ints("nodes_falseleafs");
    missing_true_ = n.get_ints("nodes_missing_value_tracks_true");
    leaf_targets_ = n.get_ints("leaf_targetids");
    roots_ = n.get_ints("tree_roots");
    n_targets_ = n.get_int("n_targets", 0);
    const int64_t agg = n.get_int("aggregate_function", 1);
    const int64_t post = n.get_int("post_transform", 0);
    if (agg < 0 || agg > 3) fail_model(info, "attribute 'aggregate_function' must be 0..3, got " + std::to_string(agg));
    if (post < 0 || post > 4) fail_model(info, "attribute 'post_transform' must be 0..4, got " + std::to_string(post));
    aggregate_ = static_cast<Aggregate>(agg);
    post_ = static_cast<PostTransform>(post);
    if (const ir::Attribute* m = n.find_attribute("nodes_modes")) {
      if (m->t.dtype() != DataType::kUInt8) fail_model(info, "attribute 'nodes_modes' must be a uint8 tensor, got " + m->t.describe());
      for (uint8_t v : m->t.span<uint8_t>()) {
        if (v > 6) fail_model(info, "attribute 'nodes_modes' holds " + std::to_string(v) + ", valid: 0..6");
        modes_.push_back(static_cast<Mode>(v));
      }
    } else {
      fail_model(info, "missing required attribute 'nodes_modes'");
    }
    const size_t nodes = splits_.size();
    auto check_len = [&](size_t got, const char* name) {
      if (got != nodes)
        fail_model(info, std::string("attribute '") + name + "' has " + std::to_string(got) +
                             " entries, expected one per node (" + std::to_string(nodes) + ")");
    };
    check_len(features_.size(), "nodes_featureids");
    check_len(modes_.size(), "nodes_modes");
    check_len(true_ids_.size(), "nodes_truenodeids");
    check_len(false_ids_.size(), "nodes_falsenodeids");
    check_len(true_leaf_.size(), "nodes_trueleafs");
    check_len(false_leaf_.size(), "nodes_falseleafs");
    if (!missing_true_.empty()) check_len(missing_true_.size(), "nodes_missing_value_tracks_true");
    if (leaf_targets_.size() != leaf_weights_.size())
      fail_model(info, "attributes 'leaf_targetids' and 'leaf_weights' differ in length (" +
                           std::to_string(leaf_targets_.size()) + " vs " + std::to_string(leaf_weights_.size()) + ")");
    if (n_targets_ < 1) fail_model(info, "attribute 'n_targets' must be positive, got " + std::to_string(n_targets_));
    for (int64_t t : leaf_targets_)
      if (t < 0 || t >= n_targets_)
        fail_model(info, "attribute 'leaf_targetids' holds " + std::to_string(t) + ", out of range for n_targets " +
                             std::to_string(n_targets_));
    for (size_t i = 0; i < nodes; ++i) {
      if (features_[i] < 0) fail_model(info, "attribute 'nodes_featureids' holds a negative id " + std::to_string(features_[i]));
      max_feature_ = std::max(max_feature_, features_[i]);
      for (auto [id, leaf] : {std::pair{true_ids_[i], true_leaf_[i]}, std::pair{false_ids_[i], false_leaf_[i]}}) {
        const size_t limit = leaf ? leaf_weights_.size() : nodes;
        if (id < 0 || static_cast<size_t>(id) >= limit)
          fail_model(info, "node " + std::to_string(i) + " branches to " + (leaf ? "leaf " : "node ") +
                               std::to_string(id) + ", out of range (" + std::to_string(limit) + ")");
      }
    }
    for (int64_t r : roots_)
      if (r < 0 || static_cast<size_t>(r) >= nodes)
        fail_model(info, "attribute 'tree_roots' holds " + std::to_string(r) + ", out of range (" + std::to_string(nodes) + " nodes)");
    // Member sets, in node order.
    sets_.resize(nodes);
    size_t pos = 0;
    for (size_t i = 0; i < nodes; ++i) {
      if (modes_[i] != Mode::kMember) continue;
      if (pos >= members.size())
        fail_model(info, "attribute 'membership_values' lists fewer sets than there are BRANCH_MEMBER nodes");
      for (; pos < members.size() && !std::isnan(members[pos]); ++pos) sets_[i].insert(members[pos]);
      ++pos;  // the NaN delimiter
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() != 2) fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must be 2-D [N, F], got " + x.describe());
    const int64_t rows = x.dim(0), cols = x.dim(1);
    if (!splits_.empty() && max_feature_ >= cols)
      fail(ctx, ErrorCode::kInvalidArgument,
           "feature id " + std::to_string(max_feature_) + " is out of range for input 'X' " + x.describe());
    visit_dtype(Types<float, double, Float16>{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      T* out = ctx.allocate_output(0, x.dtype(), {rows, n_targets_}).template data<T>();
      ctx.thread_pool().parallel_for(rows, static_cast<double>(roots_.size() * 8), [&](int64_t b, int64_t e) {
        std::vector<double> row(static_cast<size_t>(cols)), acc(static_cast<size_t>(n_targets_));
        for (int64_t r = b; r < e; ++r) {
          for (int64_t c = 0; c < cols; ++c) {
            if constexpr (std::is_same_v<T, Float16>) row[c] = to_float(in[r * cols + c]);
            else row[c] = static_cast<double>(in[r * cols + c]);
          }
          predict(row, acc);
          for (int64_t t = 0; t < n_targets_; ++t) {
            if constexpr (std::is_same_v<T, Float16>) out[r * n_targets_ + t] = to_float16(static_cast<float>(acc[t]));
            else out[r * n_targets_ + t] = static_cast<T>(acc[t]);
          }
        }
      });
    });
  }

 private:
  bool goes_true(size_t node, double v) const {
    if (std::isnan(v) && !missing_true_.empty() && missing_true_[node]) return true;
    const double s = splits_[node];
    switch (modes_[node]) {
      case Mode::kLeq: return v <= s;
      case Mode::kLt: return v < s;
      case Mode::kGte: return v >= s;
      case Mode::kGt: return v > s;
      case Mode::kEq: return v == s;
      case Mode::kNeq: return v != s;
      case Mode::kMember: return sets_[node].count(v) > 0;
    }
    return false;
  }

  /// The leaf a row reaches from `root`; a path longer than the node count is a cycle.
  size_t leaf_of(const std::vector<double>& row, size_t root) const {
    size_t node = root;
    for (size_t steps = 0; steps <= splits_.size(); ++steps) {
      const bool t = goes_true(node, row[static_cast<size_t>(features_[node])]);
      const int64_t next = t ? true_ids_[node] : false_ids_[node];
      if (t ? true_leaf_[node] : false_leaf_[node]) return static_cast<size_t>(next);
      node = static_cast<size_t>(next);
    }
    throw Error(ErrorCode::kInvalidModel, "the tree at root " + std::to_string(root) + " has a cycle");
  }

  void predict(const std::vector<double>& row, std::vector<double>& acc) const {
    // A target no tree reaches is 0 under every aggregate (as onnxruntime).
    std::fill(acc.begin(), acc.end(), 0.0);
    std::vector<bool> hit(acc.size(), false);
    for (int64_t root : roots_) {
      const size_t leaf = leaf_of(row, static_cast<size_t>(root));
      const size_t target = static_cast<size_t>(leaf_targets_[leaf]);
      double& a = acc[target];
      const double w = leaf_weights_[leaf];
      const bool first = !hit[target];
      hit[target] = true;
      switch (aggregate_) {
        case Aggregate::kSum:
        case Aggregate::kAverage: a += w; break;
        case Aggregate::kMin: a = first ? w : std::min(a, w); break;
        case Aggregate::kMax: a = first ? w : std::max(a, w); break;
      }
    }
    if (aggregate_ == Aggregate::kAverage && !roots_.empty())
      for (double& a : acc) a /= static_cast<double>(roots_.size());
    transform(acc);
  }

  void transform(std::vector<double>& v) const {
    switch (post_) {
      case PostTransform::kNone: return;
      case PostTransform::kLogistic:
        for (double& a : v) a = 1.0 / (1.0 + std::exp(-a));
        return;
      case PostTransform::kProbit:
        for (double& a : v) a = std::sqrt(2.0) * erfinv(2.0 * a - 1.0);
        return;
      case PostTransform::kSoftmax:
      case PostTransform::kSoftmaxZero: {
        const bool zero = post_ == PostTransform::kSoftmaxZero;
        double mx = std::numeric_limits<double>::lowest(), sum = 0;
        for (double a : v) mx = std::max(mx, a);
        for (double& a : v) {
          a = (zero && a == 0.0) ? 0.0 : std::exp(a - mx);
          sum += a;
        }
        if (sum > 0)
          for (double& a : v) a /= sum;
        return;
      }
    }
  }

  std::vector<double> splits_, leaf_weights_;
  std::vector<Mode> modes_;
  std::vector<std::unordered_set<double>> sets_;
  std::vector<int64_t> features_, true_ids_, false_ids_, true_leaf_, false_leaf_, missing_true_;
  std::vector<int64_t> leaf_targets_, roots_;
  int64_t n_targets_ = 0;       // "n_targets": required
  int64_t max_feature_ = 0;
  Aggregate aggregate_;         // "aggregate_function": SUM (1)
  PostTransform post_;          // "post_transform": NONE (0)
};

}  // namespace

void register_tree_ensemble_kernels(KernelRegistry& r) {
  r.add("TreeEnsemble", {5}, make_kernel<TreeEnsemble>, {DataType::kFloat, DataType::kDouble, DataType::kFloat16},
        kMlDomain);
}

}  // namespace ferry::ep::cpu
