// 2-D tile transposes for the Transpose kernel: out[c * ldo + r] = in[r * ldi + c] for r < rows,
// c < cols, on elements of elem_size bytes (copied as bits; 1, 2, 4, 8 and 16 are fast). 4-byte elements use AVX-512
// 16x16 or AVX2 8x8 register transposes, chosen once at load from the CPU (never from -march);
// the other sizes, and CPUs without AVX2, use a portable blocked loop. Edges of any size are
// handled. in and out must not overlap. Strides are in elements.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::ep::cpu::simd {

void transpose_tile(const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows, int64_t cols,
                    size_t elem_size);

/// The 4-byte variants, for tests that check each against the others on any CPU that has them.
enum class TileIsa { kPortable, kAvx2, kAvx512 };
bool tile_isa_supported(TileIsa isa);
void transpose_tile4(TileIsa isa, const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo, int64_t rows,
                     int64_t cols);

}  // namespace ferry::ep::cpu::simd
