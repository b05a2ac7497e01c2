// fuse_elementwise_chains (extended, last): a chain of two or more float32 element-wise nodes —
// unary ops, and binary ops whose other operand is a scalar constant — becomes one
// ferry.ElementwiseChain that runs the steps on each block of memory in turn.
//
//   x                                     x
//   |                                     |
//   Mul(., 0.5)                           ElementwiseChain {ops: ["Mul", "Add", "Relu"],
//   |                         ==>                           constants: [0.5, 1, 0]}
//   Add(., 1)                             |
//   |                                     y
//   Relu
//   |
//   y
//
// Contract:
// - A link is an ai.onnx node with one float32 output and one float32 data input of known rank
//   (not a constant) that the table below maps to chain steps: unary ops; Add/Sub/Mul/Div/Pow/
//   Max/Min of the data input and a constant of one element whose rank is at most the data
//   input's (so nothing broadcasts; a constant first operand of Sub/Div/Pow gives RSub/RDiv/
//   RPow); LeakyRelu, Elu; HardSigmoid and Clip with constant bounds as several steps.
// - Every intermediate has exactly one consumer (the next link) and is not a graph output; the
//   chain is taken whole, anchored at its last link (a link whose only consumer is another link
//   waits for it). Chains of one node are left alone. Every link is in the graph the pass runs
//   on: a value of an enclosing graph read in a body is where the body's chain starts.
// - Runs last in extended so the fusions that need these nodes (GELU, normalisations, attention,
//   Conv/Gemm activations, MatMul scales) see them first.
#include <algorithm>
#include <limits>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {
namespace {

struct Step {
  std::string op;
  float constant = 0;
};

// ONNX unary ops whose chain step has the same name (ElementwiseChain's schema lists them).
constexpr const char* kUnary[] = {"Relu", "Sigmoid", "Tanh", "Neg",   "Abs", "Exp", "Log",      "Sqrt",
                                  "Reciprocal", "Floor", "Ceil", "Erf", "Sin", "Cos", "Softplus", "Softsign"};

struct Link {
  ir::Value* data = nullptr;  // the input the chain flows through
  std::vector<Step> steps;
};

bool is_float_ranked(const ir::Value* v) {
  return v && v->dtype() == DataType::kFloat && v->shape().has_rank && !constant_of(v);
}

/// A one-element float constant of rank <= `rank` (any numeric type when `any_type`).
std::optional<float> small_scalar(const ir::Value* c, size_t rank, bool any_type = false) {
  const Tensor* t = constant_of(c);
  const std::optional<double> v = scalar_constant(c);
  if (!t || !v || static_cast<size_t>(t->rank()) > rank) return std::nullopt;
  if (!any_type && t->dtype() != DataType::kFloat) return std::nullopt;
  return static_cast<float>(*v);
}

/// The steps `node` contributes, when it is a link.
std::optional<Link> link_of(const ir::Node& node, int64_t opset) {
  if (!node.domain().empty() || node.outputs().size() != 1 || node.output(0)->dtype() != DataType::kFloat)
    return std::nullopt;
  const std::string& op = node.op_type();
  ir::Value* x = node.input(0);
  for (const char* u : kUnary)
    if (op == u) {
      if (node.inputs().size() != 1 || !is_float_ranked(x)) return std::nullopt;
      return Link{x, {{op, 0.f}}};
    }
  if (op == "LeakyRelu" || op == "Elu") {
    if (!is_float_ranked(x)) return std::nullopt;
    return Link{x, {{op, node.get_float("alpha", op == "Elu" ? 1.0f : 0.01f)}}};
  }
  if (op == "HardSigmoid") {
    if (!is_float_ranked(x)) return std::nullopt;
    return Link{x, {{"Mul", node.get_float("alpha", 0.2f)}, {"Add", node.get_float("beta", 0.5f)},
                    {"Min", 1.f}, {"Max", 0.f}}};
  }
  if (op == "Clip") {
    if (!is_float_ranked(x)) return std::nullopt;
    Link link{x, {}};
    if (opset < 11) {
      if (node.find_attribute("min")) link.steps.push_back({"Max", node.get_float("min", 0.f)});
      if (node.find_attribute("max")) link.steps.push_back({"Min", node.get_float("max", 0.f)});
    } else {
      for (size_t i = 1; i < node.inputs().size(); ++i) {
        if (!node.input(i)) continue;
        std::optional<float> bound = small_scalar(node.input(i), x->shape().rank());
        if (!bound) return std::nullopt;
        link.steps.push_back({i == 1 ? "Max" : "Min", *bound});
      }
    }
    if (link.steps.empty()) return std::nullopt;
    return link;
  }
  static const char* kBinary[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
  if (std::find_if(std::begin(kBinary), std::end(kBinary), [&](const char* b) { return op == b; }) ==
      std::end(kBinary))
    return std::nullopt;
  if (node.inputs().size() != 2) return std::nullopt;
  for (size_t side = 0; side < 2; ++side) {
    ir::Value* data = node.input(side);
    if (!is_float_ranked(data)) continue;
    // Pow's exponent may be of any numeric type; every other constant is float32 like the data.
    const bool exponent = op == "Pow" && side == 0;
    std::optional<float> c = small_scalar(node.input(1 - side), data->shape().rank(), exponent);
    if (!c) continue;
    const bool commutes = op == "Add" || op == "Mul" || op == "Max" || op == "Min";
    return Link{data, {{side == 0 || commutes ? op : "R" + op, *c}}};
  }
  return std::nullopt;
}

std::optional<Patch> fuse_chain(ir::Node& last, const PassContext& ctx) {
  const int64_t opset = ctx.opset();
  std::optional<Link> tail = link_of(last, opset);
  if (!tail) return std::nullopt;
  // Not the end of the chain: the next link will take this one.
  if (ir::Node* next = only_consumer(last.output(0)); next && next->graph() == last.graph()) {
    std::optional<Link> after = link_of(*next, opset);
    if (after && after->data == last.output(0)) return std::nullopt;
  }
  std::vector<Step> steps = tail->steps;
  ir::Value* head = tail->data;
  size_t nodes = 1;
  while (ir::Node* p = producer_of(head)) {
    if (p->graph() != last.graph() || !sole_consumer(*p)) break;
    std::optional<Link> link = link_of(*p, opset);
    if (!link) break;
    steps.insert(steps.begin(), link->steps.begin(), link->steps.end());
    head = link->data;
    ++nodes;
  }
  if (nodes < 2) return std::nullopt;
  std::vector<std::string> ops;
  std::vector<float> constants;
  for (const Step& s : steps) {
    ops.push_back(s.op);
    constants.push_back(s.constant);
  }
  Patch patch(last);
  Patch::Ref y = patch.add_node("ElementwiseChain", {patch.use(head)},
                                {ir::Attribute::make_strings("ops", ops), ir::Attribute::make_floats("constants", constants)},
                                1, kFerryDomain, last.name())[0];
  patch.replace(last.output(0), y);
  ctx.use_ferry_domain();
  return patch;
}

}  // namespace

bool fuse_elementwise_chains(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fuse_chain);
}

}  // namespace ferry::optimizer::passes
