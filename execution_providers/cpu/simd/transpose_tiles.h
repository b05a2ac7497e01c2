// 2-D tile transposes for the Transpose kernel: out[c * ldo + r] = in[r * ldi + c] for r < rows,
// c < cols, on elements of elem_size bytes (copied as bits; 1, 2, 4, 8 and 16 are fast). Register
// transposes, chosen once from the CPU (never from -march): 4-byte elements AVX-512 16x16 blocks
// (permute chains for 2-6 rows or columns) or AVX2 8x8; 2-byte AVX2 16x16 and 1-byte SSE2 16x16
// (SSSE3 byte shuffles for 2-4 rows or columns); other sizes, and CPUs without those, a portable
// blocked loop. Edges of any size are handled. in and out must not overlap. Strides in elements.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::ep::cpu::simd {

void transpose_tile(const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows, int64_t cols,
                    size_t elem_size);

/// transpose_tile with one instruction set's kernels (sizes it has none for use the portable
/// ones), so that tests check every variant the CPU can run against a reference.
enum class TileIsa { kPortable, kAvx2, kAvx512 };
bool tile_isa_supported(TileIsa isa);
void transpose_tile_with(TileIsa isa, const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows,
                         int64_t cols, size_t elem_size);

}  // namespace ferry::ep::cpu::simd
