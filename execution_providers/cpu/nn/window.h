// In-bounds window ranges for direct (non-im2col) Conv and pool loops.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "execution_providers/conv_pool_attributes.h"

namespace ferry::ep::cpu {

/// Window positions k in [lo, hi) of one spatial dim land inside the input; [0, pad_hi) inside
/// the padded extent (for count_include_pad).
struct WindowRange {
  int64_t start, lo, hi, pad_hi;
};

inline std::vector<WindowRange> window_ranges(const SpatialGeometry& g, size_t d) {
  std::vector<WindowRange> r(static_cast<size_t>(g.out[d]));
  const int64_t k = g.kernel[d], dil = g.dilation[d], in = g.in[d];
  auto count_below = [&](int64_t start, int64_t limit) {  // #k with start + k*dil < limit
    return limit <= start ? int64_t(0) : std::min(k, (limit - start + dil - 1) / dil);
  };
  for (int64_t o = 0; o < g.out[d]; ++o) {
    const int64_t start = o * g.stride[d] - g.pad_begin[d];
    const int64_t lo = start >= 0 ? 0 : std::min(k, (-start + dil - 1) / dil);
    r[static_cast<size_t>(o)] = {start, lo, std::max(lo, count_below(start, in)),
                                 count_below(start, in + g.pad_end[d])};
  }
  return r;
}

}  // namespace ferry::ep::cpu
