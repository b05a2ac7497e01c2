// Offsets of every index combination over a subset of a tensor's dims; the building block of
// reductions over arbitrary axes (Reduce*, MeanVarianceNormalization).
#pragma once

#include <cstdint>
#include <vector>

namespace ferry::ep::cpu {

/// Element offsets (row-major `shape`) of every combination of indices over the dims where
/// `pick` is true, the others held at 0; ordered row-major over the picked dims.
inline std::vector<int64_t> combination_offsets(const std::vector<int64_t>& shape, const std::vector<bool>& pick) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) strides[d - 1] = strides[d] * shape[d];
  std::vector<int64_t> out = {0};
  for (size_t d = 0; d < shape.size(); ++d) {
    if (!pick[d]) continue;
    std::vector<int64_t> next;
    next.reserve(out.size() * static_cast<size_t>(shape[d]));
    for (int64_t base : out)
      for (int64_t i = 0; i < shape[d]; ++i) next.push_back(base + i * strides[d]);
    out.swap(next);
  }
  return out;
}

}  // namespace ferry::ep::cpu
