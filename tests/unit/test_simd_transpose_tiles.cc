// simd::transpose_tile_with for every instruction set this CPU runs, every element size, against
// a plain loop: odd tile sizes (full register blocks, edges, the permute chains' 2-6 rows or
// columns with and without contiguous strides), strides wider than the tile, and no write outside
// the tile.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "execution_providers/cpu/simd/transpose_tiles.h"

namespace ferry::ep::cpu::simd {
namespace {

void check(TileIsa isa, size_t es, int64_t rows, int64_t cols, int64_t ldi, int64_t ldo) {
  std::vector<unsigned char> in(static_cast<size_t>(rows * ldi) * es), out(static_cast<size_t>(cols * ldo) * es, 0xAB);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<unsigned char>(i * 131 + i / 7);
  std::vector<unsigned char> want = out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(&want[static_cast<size_t>(c * ldo + r) * es], &in[static_cast<size_t>(r * ldi + c) * es], es);
  transpose_tile_with(isa, in.data(), ldi, out.data(), ldo, rows, cols, es);
  ASSERT_EQ(out, want) << "isa " << static_cast<int>(isa) << " size " << es << " rows " << rows << " cols " << cols
                       << " ldi " << ldi << " ldo " << ldo;
}

TEST(SimdTransposeTiles, EveryIsaSizeAndShape) {
  const int64_t sizes[] = {1, 2, 3, 5, 6, 7, 8, 15, 16, 17, 33, 64, 65, 130};
  for (TileIsa isa : {TileIsa::kPortable, TileIsa::kAvx2, TileIsa::kAvx512}) {
    if (!tile_isa_supported(isa)) continue;
    for (size_t es : {1, 2, 4, 8, 16, 12})
      for (int64_t rows : sizes)
        for (int64_t cols : sizes) {
          check(isa, es, rows, cols, cols, rows);          // contiguous both ways
          check(isa, es, rows, cols, cols + 3, rows + 5);  // wider strides
        }
  }
}

}  // namespace
}  // namespace ferry::ep::cpu::simd
