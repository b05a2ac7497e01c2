// cancel_transposes (basic): a Transpose meets the Transpose before it, directly or across a chain
// of element-wise ops, and the two become one Transpose with the composed perm, or none.
//
//   x -> Transpose(p1) -> Transpose(p2) -> y          x -> Transpose(p1∘p2) -> y   (nothing when
//                                                                               the identity)
//   x -> Transpose(p1) -> Relu -> Add(., c) -> Transpose(p2) -> y
//     => x -> Relu -> Add(., c') -> [Transpose(p1∘p2)] -> y        c' = c transposed by p1⁻¹
//
// Composition: y = T(T(x, p1), p2) has y.dim(i) = x.dim(p1[p2[i]]), so the perm is p1[p2[i]].
// Element-wise ops the first Transpose is pushed through: unary ones (Relu, Sigmoid, Tanh, Neg,
// Abs, Exp, Log, Sqrt, Cast, Erf, ...; Clip with constant or omitted bounds) and binary ones whose
// other operand is a constant of rank <= the data's rank that does not broadcast the output beyond
// the data's shape (the constant is right-aligned, padded with 1s to that rank, then transposed
// by the inverse perm; a one-element constant is kept as it is), or whose other operand is the
// output of a Transpose with the first one's perm (that operand's Transpose is skipped too, and
// goes when nothing else reads it: Add(T(a,p), T(b,p)) = T(Add(a,b), p) as both have rank |p|).
// Contract: the Transpose count never grows (two go, at most one comes); every value on the path
// from the first Transpose to the second has that one consumer and is no graph output (else the
// chain would have to be duplicated), except that a first Transpose with other consumers still
// cancels an adjacent second one whose composed perm is the identity. Ranks must be known (from
// the perm attributes or the input shape); constants of string or sub-byte types are not moved.
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/passes.h"
#include "optimizer/patch.h"
#include "optimizer/passes/transpose_perm.h"

namespace ferry::optimizer::passes {

namespace {

constexpr size_t kMaxChain = 16;

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

bool is_binary_elementwise(const std::string& op) {
  static const std::set<std::string> ops = {
      "Add",   "And",       "BitShift",    "BitwiseAnd", "BitwiseOr",     "BitwiseXor", "Div",     "Equal",
      "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Max",          "Mean",     "Min",       "Mod",
      "Mul",   "Or",        "Pow",         "PRelu",    "Sub",             "Sum",      "Xor"};
  return ops.count(op) > 0;
}

bool is_identity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
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
  std::vector<int64_t> inv(rank), out_shape(rank);
  for (size_t k = 0; k < rank; ++k) inv[static_cast<size_t>(perm[k])] = static_cast<int64_t>(k);
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

/// One element-wise op on the path: which input carries the transposed data (a binary op's other
/// input is a constant, or the output of a Transpose that must have the first one's perm).
struct Link {
  ir::Node* node;
  size_t data_input;
};

/// The input of `node` that carries data through it (the others being constants the rewrite can
/// keep or transpose, or a Transpose's output), or nullopt when the first Transpose cannot be
/// pushed through `node`.
std::optional<size_t> data_input_of(const ir::Node& node, size_t rank) {
  if (!node.domain().empty() || node.outputs().size() != 1 || !node.output(0)) return std::nullopt;
  const std::string& op = node.op_type();
  if (is_unary_elementwise(op)) {
    for (size_t i = 1; i < node.inputs().size(); ++i) {  // Clip's bounds: scalars
      const Tensor* t = constant_of(node.input(i));
      if (node.input(i) && (!t || t->element_count() != 1 || t->rank() != 0)) return std::nullopt;
    }
    return node.input(0) ? std::optional<size_t>(0) : std::nullopt;
  }
  if (!is_binary_elementwise(op) || node.inputs().size() != 2 || !node.input(0) || !node.input(1)) return std::nullopt;
  const bool first_constant = constant_of(node.input(0)) != nullptr;
  const bool second_constant = constant_of(node.input(1)) != nullptr;
  if (first_constant && second_constant) return std::nullopt;
  if (!first_constant && !second_constant) {
    // The other operand is a Transpose too (its perm is checked once the first one is found):
    // both operands have the path's rank, so broadcasting commutes with the permutation.
    // When both are, the path goes on through one with no other consumer (input 0 first).
    const bool t0 = producer_of(node.input(0), "Transpose") != nullptr;
    const bool t1 = producer_of(node.input(1), "Transpose") != nullptr;
    if (t0 && t1) return only_consumer(node.input(0)) || !only_consumer(node.input(1)) ? 0 : 1;
    if (t0 || t1) return t1 ? 0 : 1;
    return std::nullopt;
  }
  const size_t data = first_constant ? 1 : 0;
  if (op == "PRelu" && data != 0) return std::nullopt;
  const ir::Value* in = node.input(data);
  const ir::Value* out = node.output(0);
  if (constant_of(node.input(1 - data))->rank() > rank) return std::nullopt;
  // Broadcasting must not grow the data's shape (then the constant only repeats along it).
  if (!in->type().is_tensor() || !out->type().is_tensor() || !in->shape().has_rank || in->shape().rank() != rank ||
      !(in->shape() == out->shape()))
    return std::nullopt;
  return data;
}

std::optional<Patch> cancel_transpose_pair(ir::Node& node, const PassContext&) {
  if (node.op_type() != "Transpose" || !node.domain().empty() || !node.input(0) || !node.output(0))
    return std::nullopt;
  auto p2 = perm_of(node);
  if (!p2 || !is_permutation(*p2)) return std::nullopt;
  const size_t rank = p2->size();

  // Walk up from the second Transpose to the first.
  std::vector<Link> chain;  // chain[0] feeds the second Transpose
  ir::Value* v = node.input(0);
  bool sole_path = true;
  ir::Node* first = nullptr;
  while (true) {
    if (!only_consumer(v)) sole_path = false;
    ir::Node* p = v->producer();
    if (!p || p->graph() != node.graph()) return std::nullopt;
    if (p->op_type() == "Transpose" && p->domain().empty()) {
      first = p;
      break;
    }
    if (chain.size() >= kMaxChain || !sole_path) return std::nullopt;
    auto data = data_input_of(*p, rank);
    if (!data) return std::nullopt;
    chain.push_back({p, *data});
    v = p->input(*data);
  }
  auto p1 = perm_of(*first);
  if (!p1 || p1->size() != rank || !is_permutation(*p1) || !first->input(0)) return std::nullopt;
  std::vector<int64_t> composed(rank);
  for (size_t i = 0; i < rank; ++i) composed[i] = (*p1)[static_cast<size_t>((*p2)[i])];
  const bool cancels = is_identity(composed);
  if (!sole_path && !(chain.empty() && cancels)) return std::nullopt;
  for (const Link& link : chain) {  // a transposed other operand needs the same perm as the first
    const ir::Value* other = link.node->inputs().size() == 2 ? link.node->input(1 - link.data_input) : nullptr;
    if (!other || constant_of(other)) continue;
    auto perm = perm_of(*other->producer());
    if (!perm || *perm != *p1 || !other->producer()->input(0)) return std::nullopt;
  }

  Patch patch(node);
  Patch::Ref cur = patch.use(first->input(0));
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const ir::Node& op = *it->node;
    std::vector<Patch::Ref> inputs;
    for (size_t i = 0; i < op.inputs().size(); ++i) {
      const ir::Value* in = op.input(i);
      if (i == it->data_input) {
        inputs.push_back(cur);
      } else if (!in) {
        inputs.push_back(Patch::kOmitted);
      } else if (!constant_of(in)) {  // T(b, p1): reads b
        inputs.push_back(patch.use(in->producer()->input(0)));
      } else if (constant_of(in)->element_count() == 1 || is_unary_elementwise(op.op_type())) {
        inputs.push_back(patch.use(op.input(i)));
      } else {
        auto moved = transpose_by_inverse(*constant_of(in), *p1);
        if (!moved) return std::nullopt;
        inputs.push_back(patch.add_initializer(std::move(*moved), in->name() + "_transposed"));
      }
    }
    std::vector<ir::Attribute> attrs;
    for (const ir::Attribute& a : op.attributes()) attrs.push_back(a.clone());
    cur = patch.add_node(op.op_type(), inputs, std::move(attrs), 1, "", op.name())[0];
  }
  if (!cancels)
    cur = patch.add_node("Transpose", {cur}, {ir::Attribute::make_ints("perm", composed)}, 1, "", node.name())[0];
  patch.replace(node.output(0), cur);
  return patch;
}

}  // namespace

bool cancel_transposes(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, cancel_transpose_pair);
}

}  // namespace ferry::optimizer::passes
