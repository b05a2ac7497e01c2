// Register-tiled float attention for one block of query rows (fused/attention.cc's float path on
// CPUs with AVX-512). The block's scores are kept transposed, S^T [keys, rows], so that
//   - Q·K^T reads K's rows in place (one broadcast key element times 16 query rows per FMA; the
//     block's Q is copied once, transposed and scaled, into [D, rows]),
//   - the softmax over keys runs down the columns of S^T, 16 query rows per vector,
//   - P·V broadcasts P^T's elements against V's rows, read in place,
// with no packing of K or V, so every block costs the same whatever its position or the thread split.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu::attn {

/// Rows of one block: at most this many query rows per attention_block call.
constexpr int64_t kTileRows = 32;
/// Queries of fewer rows (decoding steps) leave most of a 16-row vector empty; oneDNN's gemm is
/// faster for them (the two are even near 8 rows).
constexpr int64_t kTileMinRows = 9;

/// One block of query rows of one (batch, head). Keys are the concatenation of up to two
/// segments (the cache, then the new keys); a segment with n == 0 is skipped.
struct TileBlock {
  const float* q;  // row 0 of the block; rows `ldq` apart, D contiguous elements each
  int64_t ldq, m, d;
  float scale;     // applied to Q·K^T
  const float* k[2];
  int64_t ldk[2], nk[2];
  const float* v[2];
  int64_t ldv[2];
  int64_t dv;
  // Added to the scores: bias[r * bias_ld + j * bias_sj] for row r of the block and key j (any
  // key broadcasting folded into bias_sj == 0, row broadcasting into bias_ld == 0); null for none.
  const float* bias;
  int64_t bias_ld, bias_sj;
  // Causal: row r of the block sees keys j < r + first_hidden; false: every key.
  bool causal;
  int64_t first_hidden;
  bool nan_to_zero;  // NaN probabilities become 0 (then not divided afterwards)
  float* y;          // row 0 of the block's output; rows `ldy` apart, dv elements each
  int64_t ldy;
};

/// Whether attention_block can run here (the CPU has AVX-512F).
bool tiles_available();

/// y = softmax(scale * q·k^T + bias, causal mask)·v for the block's rows (1 <= m <= kTileRows);
/// scratch is per thread. Requires tiles_available().
void attention_block(const TileBlock& b);

}  // namespace ferry::ep::cpu::attn
