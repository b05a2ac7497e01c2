#include "execution_providers/cpu/dnnl/conv_winograd.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/simd/transpose_tiles.h"

namespace ferry::ep::cpu {
namespace {

#define FERRY_WINOGRAD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

/// Channels transformed together (one AVX-512 register per tile element).
constexpr int kLanes = 16;
/// Tiles per block: the rows of each of the block's 16 products. Sized for the products, which
/// re-read U[k] per block: blocks sized to keep V and M in half of L2 (8 tiles at C = M = 512)
/// ran C = M = 512 at 14x14 in 1.6x the time of 64-tile blocks; 64 was no slower at 64 channels.
constexpr int64_t kBlockTiles = 64;

std::atomic<uint64_t> g_runs{0};

/// kLanes floats (GCC vector extension: one AVX-512 register, two AVX2 ones, four SSE ones).
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

// The helpers below pass Lanes by value, whose calling convention differs between the clones'
// instruction sets (an AVX-512 clone passes a zmm register, the default target memory). They are
// therefore always inlined, at -O0 too, into each target_clones function, compiled in its ISA:
// a real call from a clone would read its argument from the wrong place (unoptimized builds
// crashed so). GCC's ABI note does not concern any caller then.
#pragma GCC diagnostic ignored "-Wpsabi"
#define FERRY_WINOGRAD_INLINE inline __attribute__((always_inline))

/// `count` floats from p (the rest 0): all kLanes with count == kLanes.
FERRY_WINOGRAD_INLINE Lanes load(const float* p, int count) {
  Lanes v = {};
  if (count == kLanes)
    std::memcpy(&v, p, sizeof(v));
  else
    for (int l = 0; l < count; ++l) v[l] = p[l];
  return v;
}

FERRY_WINOGRAD_INLINE void store(float* p, const Lanes& v, int count) {
  if (count == kLanes)
    std::memcpy(p, &v, sizeof(v));
  else
    for (int l = 0; l < count; ++l) p[l] = v[l];
}

/// V[k][c] = (B^T d B)[k] for one tile, channels 0..c; rows[i * 4 + j] points at the tile's input
/// pixel (i, j) (channel 0), a zero row where it lies outside X. V[k] starts k * k_stride floats on.
FERRY_WINOGRAD_CLONES void input_tile(const float* const* rows, int64_t c, float* v, int64_t k_stride) {
  for (int64_t c0 = 0; c0 < c; c0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, c - c0));
    Lanes d[16], t[16];
    for (int k = 0; k < 16; ++k) d[k] = load(rows[k] + c0, count);
    for (int j = 0; j < 4; ++j) {
      t[0 * 4 + j] = d[0 * 4 + j] - d[2 * 4 + j];
      t[1 * 4 + j] = d[1 * 4 + j] + d[2 * 4 + j];
      t[2 * 4 + j] = d[2 * 4 + j] - d[1 * 4 + j];
      t[3 * 4 + j] = d[1 * 4 + j] - d[3 * 4 + j];
    }
    for (int i = 0; i < 4; ++i) {
      store(v + (i * 4 + 0) * k_stride + c0, t[i * 4 + 0] - t[i * 4 + 2], count);
      store(v + (i * 4 + 1) * k_stride + c0, t[i * 4 + 1] + t[i * 4 + 2], count);
      store(v + (i * 4 + 2) * k_stride + c0, t[i * 4 + 2] - t[i * 4 + 1], count);
      store(v + (i * 4 + 3) * k_stride + c0, t[i * 4 + 1] - t[i * 4 + 3], count);
    }
  }
}

/// One eltwise post-op (WinogradConv::supports lists the algorithms).
FERRY_WINOGRAD_INLINE Lanes apply_eltwise(const DnnlEltwise& e, Lanes v) {
  switch (e.algorithm) {
    case dnnl::algorithm::eltwise_relu: return v > 0.f ? v : v * e.alpha;
    case dnnl::algorithm::eltwise_clip:
    case dnnl::algorithm::eltwise_clip_v2: {
      const Lanes lo = v < e.alpha ? Lanes{} + e.alpha : v;
      return lo > e.beta ? Lanes{} + e.beta : lo;
    }
    case dnnl::algorithm::eltwise_linear: return e.alpha * v + e.beta;
    default: return v;
  }
}

struct OutTile {
  float* y[4];        // outputs (0,0) (0,1) (1,0) (1,1), channel 0; null: outside Y
  const float* z[4];  // the residual at the same pixels, null without one
};

/// Y's 2x2 for one tile, channels 0..m: A^T m A + bias (+ z), then the activation chain.
FERRY_WINOGRAD_CLONES void output_tile(const float* mt, int64_t k_stride, int64_t m, const float* bias,
                                       const OutTile& o, const DnnlEltwise* eltwise, size_t n_eltwise) {
  for (int64_t m0 = 0; m0 < m; m0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, m - m0));
    Lanes s[16], r[8], out[4];
    for (int k = 0; k < 16; ++k) s[k] = load(mt + k * k_stride + m0, count);
    for (int j = 0; j < 4; ++j) {
      r[0 * 4 + j] = s[0 * 4 + j] + s[1 * 4 + j] + s[2 * 4 + j];
      r[1 * 4 + j] = s[1 * 4 + j] - s[2 * 4 + j] - s[3 * 4 + j];
    }
    for (int i = 0; i < 2; ++i) {
      out[i * 2 + 0] = r[i * 4 + 0] + r[i * 4 + 1] + r[i * 4 + 2];
      out[i * 2 + 1] = r[i * 4 + 1] - r[i * 4 + 2] - r[i * 4 + 3];
    }
    const Lanes b = bias != nullptr ? load(bias + m0, count) : Lanes{};
    for (int p = 0; p < 4; ++p) {
      if (o.y[p] == nullptr) continue;
      Lanes v = out[p] + b;
      if (o.z[p] != nullptr) v += load(o.z[p] + m0, count);
      for (size_t e = 0; e < n_eltwise; ++e) v = apply_eltwise(eltwise[e], v);
      store(o.y[p] + m0, v, count);
    }
  }
}

/// u[k][ic][om] = (G g G^T)[k] for g = W[om, ic] (3x3), 16 output channels at a time: their W
/// rows (one contiguous range, read once in order) are transposed into a buffer that stays in L2,
/// [c * 9][16], so each 3x3 element of 16 channels is one vector load, then U is written in whole
/// 16-float pieces. (Gathering the 16 lanes from W in place cost 2.5x the creation time on unet.)
FERRY_WINOGRAD_CLONES void transform_weights(const float* w, int64_t m, int64_t c, float* u) {
  const int64_t k_stride = c * m, row = c * 9;
  std::vector<float> lanes(static_cast<size_t>(kLanes * row), 0.f);
  for (int64_t m0 = 0; m0 < m; m0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, m - m0));
    simd::transpose_tile(w + m0 * row, row, lanes.data(), kLanes, count, row, sizeof(float));
    for (int64_t ic = 0; ic < c; ++ic) {
      Lanes g[9];
      for (int e = 0; e < 9; ++e) std::memcpy(&g[e], lanes.data() + (ic * 9 + e) * kLanes, sizeof(Lanes));
      Lanes gg[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        gg[0][j] = g[j];
        gg[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        gg[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        gg[3][j] = g[6 + j];
      }
      float* out = u + ic * m + m0;
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        store(out + (i * 4 + 0) * k_stride, gg[i][0], count);
        store(out + (i * 4 + 1) * k_stride, 0.5f * (gg[i][0] + gg[i][1] + gg[i][2]), count);
        store(out + (i * 4 + 2) * k_stride, 0.5f * (gg[i][0] - gg[i][1] + gg[i][2]), count);
        store(out + (i * 4 + 3) * k_stride, gg[i][2], count);
      }
    }
  }
}

}  // namespace

bool WinogradConv::supports(const std::vector<DnnlEltwise>& eltwise) {
  for (const DnnlEltwise& e : eltwise)
    if (e.algorithm != dnnl::algorithm::eltwise_relu && e.algorithm != dnnl::algorithm::eltwise_clip &&
        e.algorithm != dnnl::algorithm::eltwise_clip_v2 && e.algorithm != dnnl::algorithm::eltwise_linear)
      return false;
  return true;
}

WinogradConv::WinogradConv(const float* w, int64_t m, int64_t c, std::vector<DnnlEltwise> eltwise)
    : m_(m),
      c_(c),
      eltwise_(std::move(eltwise)),
      u_(dnnl_rt::owned_memory(dnnl::memory::desc({16 * m * c}, dnnl::memory::data_type::f32,
                                                  dnnl::memory::format_tag::a))) {
  transform_weights(w, m, c, static_cast<float*>(u_->get_data_handle()));
}

void WinogradConv::run(const runtime::ThreadPool& pool, const float* x, int64_t n, int64_t h, int64_t wd,
                       int64_t pad_top, int64_t pad_left, int64_t oh, int64_t ow, const float* bias, const float* z,
                       float* y) const {
  g_runs.fetch_add(1, std::memory_order_relaxed);
  const int64_t c = c_, m = m_;
  const float* u = static_cast<const float*>(u_->get_data_handle());
  const int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2, tiles = n * th * tw;
  if (tiles == 0) return;
  const int threads = std::max(1, pool.num_threads());
  const int64_t block = std::min(kBlockTiles, (tiles + threads - 1) / threads);
  const int64_t blocks = (tiles + block - 1) / block;
  const double cost = 2.0 * 16 * block * c * m / 32.0;  // ns at ~32 flop/ns

  pool.parallel_for(blocks, cost, [&](int64_t first, int64_t last) {
    std::vector<float> v(static_cast<size_t>(16 * block * c)), mt(static_cast<size_t>(16 * block * m));
    std::vector<float> zeros(static_cast<size_t>(c), 0.f);
    for (int64_t b = first; b < last; ++b) {
      const int64_t t0 = b * block, nt = std::min(block, tiles - t0);
      for (int64_t t = 0; t < nt; ++t) {
        const int64_t tile = t0 + t, img = tile / (th * tw), ty = tile / tw % th, tx = tile % tw;
        const float* rows[16];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j) {
            const int64_t iy = 2 * ty - pad_top + i, ix = 2 * tx - pad_left + j;
            rows[i * 4 + j] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? x + ((img * h + iy) * wd + ix) * c : zeros.data();
          }
        input_tile(rows, c, v.data() + t * c, nt * c);
      }
      for (int k = 0; k < 16; ++k)
        if (dnnl_sgemm('N', 'N', nt, m, c, 1.f, v.data() + k * nt * c, c, u + k * c * m, m, 0.f,
                       mt.data() + k * nt * m, m) != dnnl_success)
          throw Error(ErrorCode::kRuntime, "oneDNN sgemm failed in the Winograd convolution");
      for (int64_t t = 0; t < nt; ++t) {
        const int64_t tile = t0 + t, img = tile / (th * tw), ty = tile / tw % th, tx = tile % tw;
        OutTile o{};
        for (int p = 0; p < 4; ++p) {
          const int64_t oy = 2 * ty + p / 2, ox = 2 * tx + p % 2;
          if (oy >= oh || ox >= ow) continue;
          const int64_t at = ((img * oh + oy) * ow + ox) * m;
          o.y[p] = y + at;
          o.z[p] = z != nullptr ? z + at : nullptr;
        }
        output_tile(mt.data() + t * m, nt * m, m, bias, o, eltwise_.data(), eltwise_.size());
      }
    }
  });
}

uint64_t winograd_conv_runs() { return g_runs.load(std::memory_order_relaxed); }

}  // namespace ferry::ep::cpu
