// cancel_transposes (basic): a Transpose T2 is pulled up through the element-wise ops that feed it
// until it meets the Transposes T1 they read; the region between is recomputed in T1's input
// layout, and T2 becomes the composed Transpose, or nothing. Like onnxruntime's transpose
// optimizer (core/optimizer/transpose_optimization), but one decision per T2 over its whole region.
//
//   x -> Transpose(p1) -> Transpose(p2) -> y          x -> Transpose(p1∘p2) -> y   (nothing when
//                                                                               the identity)
//   x -> Transpose(p1) -> Relu -> Add(., c) -> Transpose(p2) -> y
//     => x -> Relu -> Add(., c') -> [Transpose(p1∘p2)] -> y        c' = c transposed by p1⁻¹
//
//   ConvNeXt's residual stream (p1 = NHWC->NCHW, p2 = its inverse):
//     a  = Transpose(p1)(la);  s1 = Add(a, Transpose(p1)(m1));  s2 = Add(s1, Transpose(p1)(m2))
//     y  = Transpose(p2)(s2);  s1 also feeds a Conv, a another one
//     =>  s1' = Add(la, m1);  s2' = Add(s1', m2);  y = s2';  the Conv reads Transpose(p1)(s1')
//     (4 Transposes go: T(m1), T(m2), T2 and, were a not read elsewhere, a; 1 comes: for s1's Conv)
//
// Composition: y = T(T(x, p1), p2) has y.dim(i) = x.dim(p1[p2[i]]), so the perm is p1[p2[i]].
//
// The region: walking up from T2's input, each value is either
// - a leaf: the output of a Transpose with perm p1 (the perm of the first Transpose found); the
//   region reads its input, and the Transpose goes when only region nodes read it;
// - an included node's output: an element-wise op of ai.onnx (unary ones: Relu, Sigmoid, Tanh, Neg,
//   Abs, Exp, Log, Sqrt, Cast, Erf, ...; Clip with constant scalar or omitted bounds; ferry.Gelu
//   without Bias, ferry.Silu and ferry.ElementwiseChain, which the later levels fuse; binary and
//   variadic ones: Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Where, comparisons, PRelu, ...;
//   Concat, whose axis is renumbered; GlobalAveragePool / GlobalMaxPool, which become ReduceMean /
//   ReduceMax with keepdims over the pooled axes as x lays them out; Reduce* with keepdims = 1,
//   whose axes are renumbered; Resize (opset 11+, no `axes` attribute) with constant or omitted
//   roi / scales / sizes, whose per-axis values are permuted: the interpolation is separable
//   per axis, so it commutes with the transposition) recomputed on the region's values. Constant operands of rank
//   <= |p1| are right-aligned, padded with 1s and transposed by p1⁻¹ (a one-element constant is
//   kept as it is; Concat's constants must have rank |p1|). When something outside the region
//   reads the value (another node, a subgraph, a graph output) it gets Transpose(p1) of the new
//   value;
// - an external value of rank |p1| (any other producer, a graph input): the region reads
//   Transpose(p1⁻¹) of it.
// Every non-constant operand of a region node therefore has rank |p1| in both layouts, so
// broadcasting commutes with the permutation. Each value's choice is the one adding the fewest
// Transposes (a small tree cost; ties keep the smaller region).
// Contract: the rewrite fires only when the number of Transpose nodes strictly drops (removed: T2
// and the leaves only the region read; added: the composed Transpose, one per value read outside
// the region, one per external value), so the pass always terminates and never adds nodes.
// Ranks must be known (from the perm attributes or the input shapes); constants of string or
// sub-byte types are not moved. New nodes may be needed before T2's earlier readers, so the pass
// sorts the graph topologically after a change.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"
#include "optimizer/passes/transpose_perm.h"

namespace ferry::optimizer::passes {

namespace {

constexpr size_t kMaxRegion = 32;  // included nodes per T2
constexpr int kNever = std::numeric_limits<int>::max() / 4;

bool is_unary_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {
      "Abs",   "Acos",      "Acosh",       "Asin",     "Asinh",           "Atan",     "Atanh",     "BitwiseNot",
      "Cast",  "Ceil",      "Celu",        "Clip",     "Cos",             "Cosh",     "Elu",       "Erf",
      "Exp",   "Floor",     "Gelu",        "HardSigmoid", "HardSwish",    "Identity", "IsInf",     "IsNaN",
      "LeakyRelu", "Log",   "Mish",        "Neg",      "Not",             "Reciprocal", "Relu",    "Round",
      "Selu",  "Sigmoid",   "Sign",        "Sin",      "Sinh",            "Softplus", "Softsign",  "Sqrt",
      "Tan",   "Tanh",      "ThresholdedRelu"};
  return ops.count(op) > 0;
}

/// Binary and variadic element-wise ops with multidirectional (numpy) broadcasting, PRelu's
/// unidirectional one included.
bool is_nary_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {
      "Add",   "And",       "BitShift",    "BitwiseAnd", "BitwiseOr",     "BitwiseXor", "Div",     "Equal",
      "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max",          "Mean",     "Min",       "Mod",
      "Mul",   "Or",        "Pow",         "PRelu",    "Sub",             "Sum",      "Where",     "Xor"};
  return ops.count(op) > 0;
}

/// ferry-domain ops that are element-wise on their one input: Gelu without its last-axis Bias
/// (which does not commute with a transposition), Silu, ElementwiseChain (scalar constants only).
bool is_ferry_unary_elementwise(const ir::Node& node) {
  if (node.domain() != kFerryDomain) return false;
  const std::string& op = node.op_type();
  if (op == "Gelu") return node.inputs().size() == 1 || (node.inputs().size() == 2 && !node.input(1));
  return (op == "Silu" || op == "ElementwiseChain") && node.inputs().size() == 1;
}

bool is_identity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) inv[static_cast<size_t>(perm[k])] = static_cast<int64_t>(k);
  return inv;
}

bool has_rank(const ir::Value* v, size_t rank) {
  return v && v->type().is_tensor() && v->shape().has_rank && v->shape().rank() == rank;
}

/// `c`, right-aligned to rank perm.size() with leading 1s, transposed by the inverse of `perm`:
/// Transpose(result, perm) equals the padded `c`. Nullopt for strings and sub-byte types.
std::optional<Tensor> transpose_by_inverse(const Tensor& c, const std::vector<int64_t>& perm) {
  const size_t rank = perm.size();
  const size_t bits = dtype_bits(c.dtype());
  if (c.dtype() == DataType::kString || bits == 0 || bits % 8 != 0 || c.rank() > rank) return std::nullopt;
  const size_t elem = bits / 8;
  std::vector<int64_t> padded(rank - c.rank(), 1);
  padded.insert(padded.end(), c.shape().begin(), c.shape().end());
  // result.dim(j) = padded.dim(inv[j]), with inv[perm[k]] = k.
  const std::vector<int64_t> inv = inverse(perm);
  std::vector<int64_t> out_shape(rank);
  for (size_t j = 0; j < rank; ++j) out_shape[j] = padded[static_cast<size_t>(inv[j])];
  std::vector<int64_t> padded_strides(rank, 1);
  for (size_t k = rank; k-- > 1;) padded_strides[k - 1] = padded_strides[k] * padded[k];
  Tensor out = Tensor::empty(c.dtype(), out_shape);
  const auto* src = static_cast<const uint8_t*>(c.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  std::vector<int64_t> index(rank, 0);  // over out_shape
  for (int64_t n = 0; n < out.element_count(); ++n) {
    int64_t offset = 0;  // result index j is padded index inv[j]
    for (size_t j = 0; j < rank; ++j) offset += index[j] * padded_strides[static_cast<size_t>(inv[j])];
    std::memcpy(dst + static_cast<size_t>(n) * elem, src + static_cast<size_t>(offset) * elem, elem);
    for (size_t j = rank; j-- > 0;) {
      if (++index[j] < out_shape[j]) break;
      index[j] = 0;
    }
  }
  return out;
}

bool is_reduce(const std::string& op) {
  static const std::set<std::string> ops = {"ReduceL1",     "ReduceL2",   "ReduceLogSum",  "ReduceLogSumExp",
                                            "ReduceMax",    "ReduceMean", "ReduceMin",     "ReduceProd",
                                            "ReduceSum",    "ReduceSumSquare"};
  return ops.count(op) > 0;
}

/// A reduction's axes (attribute or constant input 1); nullopt when it names none.
std::optional<std::vector<int64_t>> reduce_axes(const ir::Node& node) {
  if (const ir::Attribute* a = node.find_attribute("axes")) return a->ints;
  if (node.input(1)) return constant_ints(node.input(1));
  return std::nullopt;
}

/// Whether a constant operand of `node` can be carried into the region's layout.
bool movable_constant(const ir::Node& node, const Tensor& c, size_t rank) {
  const size_t bits = dtype_bits(c.dtype());
  if (c.dtype() == DataType::kString || bits == 0 || bits % 8 != 0 || c.rank() > rank) return false;
  if (node.op_type() == "Concat") return c.rank() == rank;
  return true;
}

/// Resize of opset 11+ (X, roi, scales[, sizes]; opset 10 has two inputs) without `axes`, X not a
/// constant, roi / scales / sizes omitted, empty, or constant with one value per axis (roi: two).
bool resize_includable(const ir::Node& node, size_t rank) {
  if (node.inputs().size() < 3 || node.inputs().size() > 4 || node.find_attribute("axes")) return false;
  if (!node.input(0) || constant_of(node.input(0))) return false;
  for (size_t i = 1; i < node.inputs().size(); ++i) {
    if (!node.input(i)) continue;
    const Tensor* c = constant_of(node.input(i));
    if (!c || c->rank() != 1) return false;
    const int64_t per_axis = i == 1 ? 2 : 1;
    if (c->element_count() != 0 && c->element_count() != per_axis * static_cast<int64_t>(rank)) return false;
    const size_t bits = dtype_bits(c->dtype());
    if (bits == 0 || bits % 8 != 0) return false;
  }
  return true;
}

/// A Resize per-axis constant (scales, sizes: [r]; roi: [starts, ends], 2r) for the input
/// transposed by `perm`: axis k of the untransposed input is axis inv[k] of the transposed one.
Tensor permute_per_axis(const Tensor& c, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> inv = inverse(perm);
  const size_t rank = perm.size(), elem = dtype_bits(c.dtype()) / 8;
  Tensor out = Tensor::empty(c.dtype(), c.shape());
  const auto* src = static_cast<const uint8_t*>(c.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  for (size_t half = 0; half < static_cast<size_t>(c.element_count()) / rank; ++half)
    for (size_t k = 0; k < rank; ++k)
      std::memcpy(dst + (half * rank + k) * elem, src + (half * rank + static_cast<size_t>(inv[k])) * elem, elem);
  return out;
}

/// Whether `node` may be recomputed in the region's layout (its constant operands checked; its
/// other operands are the region's business). Concat's axis must be a known attribute.
bool includable(const ir::Node& node, const ir::Graph& graph, size_t rank) {
  if (node.graph() != &graph || node.outputs().size() != 1 || !node.output(0)) return false;
  const std::string& op = node.op_type();
  if (!node.domain().empty())
    return is_ferry_unary_elementwise(node) && node.input(0) && !constant_of(node.input(0));
  if (is_unary_elementwise(op)) {
    if (!node.input(0) || constant_of(node.input(0))) return false;
    for (size_t i = 1; i < node.inputs().size(); ++i) {  // Clip's bounds: scalars
      const Tensor* t = constant_of(node.input(i));
      if (node.input(i) && (!t || t->element_count() != 1 || t->rank() != 0)) return false;
    }
    return true;
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool")
    return rank >= 3 && node.inputs().size() == 1 && node.input(0) && !constant_of(node.input(0));
  if (is_reduce(op)) {
    // keepdims (the rank stays); axes from the attribute or a constant input, or all axes.
    if (node.get_int("keepdims", 1) != 1 || !node.input(0) || constant_of(node.input(0))) return false;
    if (node.input(1) && !constant_ints(node.input(1))) return false;
    for (int64_t a : reduce_axes(node).value_or(std::vector<int64_t>{}))
      if (a < -static_cast<int64_t>(rank) || a >= static_cast<int64_t>(rank)) return false;
    return true;
  }
  if (op == "Resize") return resize_includable(node, rank);
  if (op == "Concat") {
    const ir::Attribute* axis = node.find_attribute("axis");
    if (!axis) return false;
    const int64_t a = axis->i;
    if (a < -static_cast<int64_t>(rank) || a >= static_cast<int64_t>(rank)) return false;
  } else if (!is_nary_elementwise(op)) {
    return false;
  }
  if (node.inputs().empty()) return false;
  bool any_data = false;
  for (const ir::Value* in : node.inputs()) {
    if (!in) return false;
    if (const Tensor* c = constant_of(in)) {
      if (!movable_constant(node, *c, rank)) return false;
    } else {
      any_data = true;
    }
  }
  return any_data;
}

/// How the region reaches one value.
enum class Kind { kLeaf, kIncluded, kExternal };

struct Plan {
  std::map<const ir::Value*, Kind> kind;
  std::vector<const ir::Value*> order;  // producers before consumers
  size_t included = 0;
};

class RegionPlanner {
 public:
  RegionPlanner(const ir::Graph& graph, std::vector<int64_t> p1) : graph_(graph), p1_(std::move(p1)) {}

  /// Adds `v` (read by `reader`) to `plan` the cheapest way; returns the Transposes that adds
  /// (negative: removes), kNever when impossible.
  int add(const ir::Value* v, const ir::Node* reader, Plan& plan, int depth) const {
    if (plan.kind.count(v)) return 0;  // already reached from another operand
    const ir::Node* p = v->producer();
    if (p && p->graph() == &graph_ && p->op_type() == "Transpose" && p->domain().empty() && p->input(0)) {
      auto perm = perm_of(*p);
      if (perm && *perm == p1_) {
        plan.kind[v] = Kind::kLeaf;
        plan.order.push_back(v);
        return only_consumer(v) == reader ? -1 : 0;
      }
    }
    const int external = has_rank(v, p1_.size()) ? 1 : kNever;
    int included = kNever;
    Plan with = plan;
    if (p && depth < static_cast<int>(kMaxRegion) && plan.included < kMaxRegion && includable(*p, graph_, p1_.size())) {
      included = read_outside(v, reader) ? 1 : 0;
      with.kind[v] = Kind::kIncluded;  // marks it against cycles through a DAG
      ++with.included;
      for (const ir::Value* in : p->inputs()) {
        if (!in || constant_of(in)) continue;
        const int c = add(in, p, with, depth + 1);
        if (c >= kNever) {
          included = kNever;
          break;
        }
        included += c;
      }
      with.order.push_back(v);
    }
    if (included < external) {
      plan = std::move(with);
      return included;
    }
    if (external >= kNever) return kNever;
    plan.kind[v] = Kind::kExternal;
    plan.order.push_back(v);
    return external;
  }

  /// Whether `v` has a reader other than `reader` (a graph output counts).
  static bool read_outside(const ir::Value* v, const ir::Node* reader) {
    if (v->is_graph_output()) return true;
    for (const ir::Use& u : v->uses())
      if (u.node != reader) return true;
    return false;
  }

 private:
  const ir::Graph& graph_;
  std::vector<int64_t> p1_;
};

/// The perm of the first Transpose of rank `rank` met walking up from `v` through includable
/// nodes (breadth first), the region's p1.
std::optional<std::vector<int64_t>> find_p1(const ir::Value* v, const ir::Graph& graph, size_t rank) {
  std::vector<const ir::Value*> queue = {v};
  std::set<const ir::Value*> seen = {v};
  for (size_t i = 0; i < queue.size() && i < 4 * kMaxRegion; ++i) {
    const ir::Node* p = queue[i]->producer();
    if (!p || p->graph() != &graph) continue;
    if (p->op_type() == "Transpose" && p->domain().empty()) {
      auto perm = perm_of(*p);
      if (perm && perm->size() == rank && is_permutation(*perm) && p->input(0)) return perm;
      continue;
    }
    if (!includable(*p, graph, rank)) continue;
    for (const ir::Value* in : p->inputs())
      if (in && !constant_of(in) && seen.insert(in).second) queue.push_back(in);
  }
  return std::nullopt;
}

/// `node` recomputed in the region's layout: its non-constant operands from `moved`, constants
/// transposed by p1⁻¹ (scalars and Clip's bounds kept), Concat's axis renumbered.
std::optional<Patch::Ref> add_moved_node(Patch& patch, const ir::Node& node,
                                         const std::map<const ir::Value*, Patch::Ref>& moved,
                                         const std::vector<int64_t>& p1) {
  const bool unary = is_unary_elementwise(node.op_type()) || is_ferry_unary_elementwise(node);
  const bool concat = node.op_type() == "Concat";
  const bool resize = node.op_type() == "Resize";
  std::vector<Patch::Ref> inputs;
  for (ir::Value* in : node.inputs()) {
    const Tensor* c = constant_of(in);
    if (!in) {
      inputs.push_back(Patch::kOmitted);
    } else if (resize && c) {
      inputs.push_back(c->element_count() == 0 ? patch.use(in)
                                               : patch.add_initializer(permute_per_axis(*c, p1), in->name() + "_permuted"));
    } else if (!c) {
      inputs.push_back(moved.at(in));
    } else if (unary || (c->element_count() == 1 && !concat)) {
      inputs.push_back(patch.use(in));
    } else {
      auto t = transpose_by_inverse(*c, p1);
      if (!t) return std::nullopt;
      inputs.push_back(patch.add_initializer(std::move(*t), in->name() + "_transposed"));
    }
  }
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : node.attributes()) {
    if (concat && a.name == "axis") {
      const int64_t axis = a.i < 0 ? a.i + static_cast<int64_t>(p1.size()) : a.i;
      attrs.push_back(ir::Attribute::make_int("axis", p1[static_cast<size_t>(axis)]));
    } else {
      attrs.push_back(a.clone());
    }
  }
  return patch.add_node(node.op_type(), inputs, std::move(attrs), 1, node.domain(), node.name())[0];
}

/// GlobalAveragePool / GlobalMaxPool of Transpose(x, p1) as ReduceMean / ReduceMax of x with
/// keepdims: the pooled axes 2.. of the transposed layout are axes p1[2..] of x.
Patch::Ref add_global_pool(Patch& patch, const ir::Node& pool, Patch::Ref x, const std::vector<int64_t>& p1,
                           int64_t opset) {
  std::vector<int64_t> axes(p1.begin() + 2, p1.end());
  std::sort(axes.begin(), axes.end());
  const std::string op = pool.op_type() == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
  std::vector<ir::Attribute> attrs = {ir::Attribute::make_int("keepdims", 1)};
  std::vector<Patch::Ref> inputs = {x};
  const int64_t n = static_cast<int64_t>(axes.size());
  if (opset >= 18)
    inputs.push_back(patch.add_initializer(Tensor::from_vector<int64_t>(DataType::kInt64, {n}, axes), "axes"));
  else
    attrs.push_back(ir::Attribute::make_ints("axes", axes));
  return patch.add_node(op, inputs, std::move(attrs), 1, "", pool.name())[0];
}

/// A keepdims reduction of the region recomputed on x: transposed axis a is x's axis p1[a].
Patch::Ref add_moved_reduce(Patch& patch, const ir::Node& reduce, Patch::Ref x, const std::vector<int64_t>& p1) {
  std::vector<ir::Attribute> attrs;
  for (const ir::Attribute& a : reduce.attributes())
    if (a.name != "axes") attrs.push_back(a.clone());
  std::vector<Patch::Ref> inputs = {x};
  if (auto axes = reduce_axes(reduce)) {
    for (int64_t& a : *axes) a = p1[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(p1.size()) : a)];
    std::sort(axes->begin(), axes->end());
    if (reduce.find_attribute("axes")) {
      attrs.push_back(ir::Attribute::make_ints("axes", *axes));
    } else {
      const int64_t n = static_cast<int64_t>(axes->size());
      inputs.push_back(patch.add_initializer(Tensor::from_vector<int64_t>(DataType::kInt64, {n}, *axes), "axes"));
    }
  }
  return patch.add_node(reduce.op_type(), inputs, std::move(attrs), 1, "", reduce.name())[0];
}

std::optional<Patch> cancel_transpose_pair(ir::Node& node, const PassContext& ctx) {
  if (node.op_type() != "Transpose" || !node.domain().empty() || !node.input(0) || !node.output(0))
    return std::nullopt;
  auto p2 = perm_of(node);
  if (!p2 || !is_permutation(*p2)) return std::nullopt;
  const size_t rank = p2->size();
  ir::Graph& graph = *node.graph();
  ir::Value* root = node.input(0);
  const ir::Node* root_producer = root->producer();
  if (!root_producer || root_producer->graph() != &graph) return std::nullopt;

  auto p1 = find_p1(root, graph, rank);
  if (!p1) return std::nullopt;
  std::vector<int64_t> composed(rank);
  for (size_t i = 0; i < rank; ++i) composed[i] = (*p1)[static_cast<size_t>((*p2)[i])];
  const bool cancels = is_identity(composed);

  Plan plan;
  const RegionPlanner planner(graph, *p1);
  if (planner.add(root, &node, plan, 0) >= kNever) return std::nullopt;
  if (plan.kind[root] == Kind::kExternal) return std::nullopt;

  // The exact count (the planner's is per tree; a value read twice is settled here).
  std::set<const ir::Node*> region = {&node};
  for (const auto& [v, k] : plan.kind)
    if (k == Kind::kIncluded) region.insert(v->producer());
  auto read_only_by_region = [&](const ir::Value* v) {
    if (v->is_graph_output()) return false;
    for (const ir::Use& u : v->uses())
      if (!region.count(u.node)) return false;
    return true;
  };
  int removed = 1, added = cancels ? 0 : 1;
  for (const auto& [v, k] : plan.kind) {
    if (k == Kind::kLeaf && read_only_by_region(v)) ++removed;
    if (k == Kind::kIncluded && !read_only_by_region(v)) ++added;
    if (k == Kind::kExternal) ++added;
  }
  if (added >= removed) return std::nullopt;

  Patch patch(node);
  std::map<const ir::Value*, Patch::Ref> moved;  // each region value in x's layout
  const std::vector<int64_t> inv = inverse(*p1);
  for (const ir::Value* v : plan.order) {
    const Kind k = plan.kind.at(v);
    ir::Node* p = v->producer();
    if (k == Kind::kLeaf) {
      moved[v] = patch.use(p->input(0));
      continue;
    }
    if (k == Kind::kExternal) {
      moved[v] = patch.add_node("Transpose", {patch.use(const_cast<ir::Value*>(v))},
                                {ir::Attribute::make_ints("perm", inv)})[0];
      continue;
    }
    const bool pool = p->op_type() == "GlobalAveragePool" || p->op_type() == "GlobalMaxPool";
    std::optional<Patch::Ref> made;
    if (pool)
      made = add_global_pool(patch, *p, moved.at(p->input(0)), *p1, ctx.opset());
    else if (is_reduce(p->op_type()))
      made = add_moved_reduce(patch, *p, moved.at(p->input(0)), *p1);
    else
      made = add_moved_node(patch, *p, moved, *p1);
    if (!made) return std::nullopt;
    moved[v] = *made;
    if (!read_only_by_region(v)) {
      Patch::Ref back = patch.add_node("Transpose", {moved[v]}, {ir::Attribute::make_ints("perm", *p1)})[0];
      patch.replace(const_cast<ir::Value*>(v), back);
    }
  }
  Patch::Ref out = moved.at(root);
  if (!cancels) out = patch.add_node("Transpose", {out}, {ir::Attribute::make_ints("perm", composed)}, 1, "", node.name())[0];
  patch.replace(node.output(0), out);
  return patch;
}

}  // namespace

bool cancel_transposes(ir::Graph& graph, const PassContext& ctx) {
  if (!apply_rule(graph, ctx, cancel_transpose_pair)) return false;
  // A value read before T2 may now come from a node placed right before T2.
  graph.sort_topologically();
  return true;
}

}  // namespace ferry::optimizer::passes
