// Reading a Transpose's permutation, shared by the transpose passes.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace ferry::optimizer::passes {

/// The node's perm: its attribute, else the reversal of its input's known rank; nullopt when
/// neither is known.
inline std::optional<std::vector<int64_t>> perm_of(const ir::Node& transpose) {
  if (const ir::Attribute* perm = transpose.find_attribute("perm")) return perm->ints;
  const ir::Value* x = transpose.input(0);
  if (!x || !x->type().is_tensor() || !x->shape().has_rank) return std::nullopt;
  std::vector<int64_t> reversed;
  for (size_t i = x->shape().rank(); i-- > 0;) reversed.push_back(static_cast<int64_t>(i));
  return reversed;
}

inline bool is_permutation(const std::vector<int64_t>& perm) {
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(perm.size()) || seen[static_cast<size_t>(p)]) return false;
    seen[static_cast<size_t>(p)] = true;
  }
  return true;
}

}  // namespace ferry::optimizer::passes
