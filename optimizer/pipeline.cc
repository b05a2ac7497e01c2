#include "optimizer/pipeline.h"

#include "optimizer/passes.h"

namespace ferry::optimizer {

namespace {

// basic: rewrites that keep the model plain ONNX (a model saved at this level runs anywhere).
// Order: cheap clean-ups first so that later patterns see canonical graphs; constant and shape
// folding before the algebraic fusions, since folding exposes constants they need (a BatchNorm
// whose scale was computed, a Reshape whose target came from Shape); dead code last, to sweep
// what the others left. The driver repeats the list until a round changes nothing.
std::vector<Pass> basic_passes() {
  return {
  };
}

// extended: fusions into ferry-domain ops (docs/ferry_ops.md). Normalisations and GELU run before
// attention (the attention patterns end in their outputs) and before the activation fusions
// (which would otherwise take Gelu's inner Mul/Add apart).
std::vector<Pass> extended_passes() {
  return {
  };
}

// all: choices for the CPU provider's kernels.
std::vector<Pass> all_passes() {
  return {
  };
}

}  // namespace

std::vector<Pass> pipeline(GraphOptimizationLevel level) {
  std::vector<Pass> out;
  auto append = [&](std::vector<Pass> more) { out.insert(out.end(), more.begin(), more.end()); };
  if (level == GraphOptimizationLevel::kDisabled) return out;
  append(basic_passes());
  if (level == GraphOptimizationLevel::kBasic) return out;
  append(extended_passes());
  if (level == GraphOptimizationLevel::kExtended) return out;
  append(all_passes());
  return out;
}

std::vector<std::string> all_pass_names() {
  std::vector<std::string> names;
  for (const Pass& p : pipeline(GraphOptimizationLevel::kAll)) names.push_back(p.name);
  return names;
}

}  // namespace ferry::optimizer
