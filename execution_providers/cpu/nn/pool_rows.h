// Vector row steps of the float pools (nn/pool.cc, nn/pool_channels_last.cc), compiled for
// AVX-512, AVX2 and the baseline and chosen at load (target_clones). acc and x do not overlap.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu {

/// acc[i] = max(acc[i], x[i * stride]) for i < n (a NaN in x is skipped). stride >= 1.
void pool_max_row(float* acc, const float* x, int64_t n, int64_t stride);
/// acc[i] += x[i * stride] for i < n. stride >= 1.
void pool_add_row(float* acc, const float* x, int64_t n, int64_t stride);
/// y[i] = acc[i] * s for i < n (y may be acc).
void pool_scale_row(float* y, const float* acc, float s, int64_t n);

}  // namespace ferry::ep::cpu
