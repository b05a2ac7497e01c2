#include "execution_providers/cpu/dnnl/conv_winograd.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/run_buffers.h"
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

/// Runs per variant: [0] F(2x2), [1] F(4x4).
std::atomic<uint64_t> g_runs[2];

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

/// The 1-D transforms of F(kTile x kTile, 3x3) (Lavin & Gray 2016), kIn = kTile + 2 points:
/// input(d, r): r = B^T d (kIn -> kIn); output(s, o): o = A^T s (kIn -> kTile); weight(g, u):
/// u = G g (3 -> kIn). The 2-D transforms below apply them to rows, then to columns.
template <int kTile>
struct Transforms;

/// F(2x2, 3x3): interpolation points 0, 1, -1.
template <>
struct Transforms<2> {
  static constexpr int kIn = 4;
  static FERRY_WINOGRAD_INLINE void input(const Lanes* d, Lanes* r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  static FERRY_WINOGRAD_INLINE void output(const Lanes* s, Lanes* o) {
    o[0] = s[0] + s[1] + s[2];
    o[1] = s[1] - s[2] - s[3];
  }
  static FERRY_WINOGRAD_INLINE void weight(const Lanes* g, Lanes* u) {
    u[0] = g[0];
    u[1] = 0.5f * (g[0] + g[1] + g[2]);
    u[2] = 0.5f * (g[0] - g[1] + g[2]);
    u[3] = g[2];
  }
};

/// F(4x4, 3x3): interpolation points 0, 1, -1, 2, -2.
template <>
struct Transforms<4> {
  static constexpr int kIn = 6;
  static FERRY_WINOGRAD_INLINE void input(const Lanes* d, Lanes* r) {
    const Lanes a = d[4] - d[2], b = d[3] - d[1];
    r[0] = 4.f * d[0] - 5.f * d[2] + d[4];
    r[1] = (d[3] + d[4]) - 4.f * (d[1] + d[2]);
    r[2] = (d[4] - d[3]) + 4.f * (d[1] - d[2]);
    r[3] = a + 2.f * b;
    r[4] = a - 2.f * b;
    r[5] = 4.f * d[1] - 5.f * d[3] + d[5];
  }
  static FERRY_WINOGRAD_INLINE void output(const Lanes* s, Lanes* o) {
    const Lanes p12 = s[1] + s[2], m12 = s[1] - s[2], p34 = s[3] + s[4], m34 = s[3] - s[4];
    o[0] = s[0] + p12 + p34;
    o[1] = m12 + 2.f * m34;
    o[2] = p12 + 4.f * p34;
    o[3] = m12 + 8.f * m34 + s[5];
  }
  static FERRY_WINOGRAD_INLINE void weight(const Lanes* g, Lanes* u) {
    const Lanes even = g[0] + g[2], odd = g[1];
    u[0] = 0.25f * g[0];
    u[1] = (-1.f / 6.f) * (even + odd);
    u[2] = (-1.f / 6.f) * (even - odd);
    const Lanes e4 = (1.f / 24.f) * g[0] + (1.f / 6.f) * g[2], o4 = (1.f / 12.f) * odd;
    u[3] = e4 + o4;
    u[4] = e4 - o4;
    u[5] = g[2];
  }
};

/// V[k][c] = (B^T d B)[k] for one tile, channels 0..c; rows[i * kIn + j] points at the tile's
/// input pixel (i, j) (channel 0), a zero row where it lies outside X. V[k] starts k * k_stride
/// floats on. Rows, then columns, through t (kIn^2 vectors do not all fit the registers at kIn 6).
template <int kTile>
FERRY_WINOGRAD_INLINE void input_tile(const float* const* rows, int64_t c, float* v, int64_t k_stride) {
  using T = Transforms<kTile>;
  constexpr int n = T::kIn;
  for (int64_t c0 = 0; c0 < c; c0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, c - c0));
    Lanes t[n * n];
    for (int i = 0; i < n; ++i) {
      Lanes d[n];
      for (int j = 0; j < n; ++j) d[j] = load(rows[i * n + j] + c0, count);
      T::input(d, t + i * n);
    }
    for (int j = 0; j < n; ++j) {
      Lanes d[n], r[n];
      for (int i = 0; i < n; ++i) d[i] = t[i * n + j];
      T::input(d, r);
      for (int i = 0; i < n; ++i) store(v + (i * n + j) * k_stride + c0, r[i], count);
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

/// Y's kTile x kTile outputs of one tile (null where outside Y) and the residual at the same
/// pixels (null without one), channel 0 each, row-major in the tile.
struct OutTile {
  float* y[16];
  const float* z[16];
};

/// Y's tile, channels 0..m: A^T m A + bias (+ z), then the activation chain.
template <int kTile>
FERRY_WINOGRAD_INLINE void output_tile(const float* mt, int64_t k_stride, int64_t m, const float* bias,
                                       const OutTile& o, const DnnlEltwise* eltwise, size_t n_eltwise) {
  using T = Transforms<kTile>;
  constexpr int n = T::kIn;
  for (int64_t m0 = 0; m0 < m; m0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, m - m0));
    Lanes t[n * kTile], out[kTile * kTile];
    for (int i = 0; i < n; ++i) {
      Lanes s[n];
      for (int j = 0; j < n; ++j) s[j] = load(mt + (i * n + j) * k_stride + m0, count);
      T::output(s, t + i * kTile);
    }
    for (int q = 0; q < kTile; ++q) {
      Lanes s[n], r[kTile];
      for (int i = 0; i < n; ++i) s[i] = t[i * kTile + q];
      T::output(s, r);
      for (int p = 0; p < kTile; ++p) out[p * kTile + q] = r[p];
    }
    const Lanes b = bias != nullptr ? load(bias + m0, count) : Lanes{};
    for (int p = 0; p < kTile * kTile; ++p) {
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
template <int kTile>
FERRY_WINOGRAD_INLINE void transform_weights(const float* w, int64_t m, int64_t c, float* u) {
  using T = Transforms<kTile>;
  constexpr int n = T::kIn;
  const int64_t k_stride = c * m, row = c * 9;
  std::vector<float> lanes(static_cast<size_t>(kLanes * row), 0.f);
  for (int64_t m0 = 0; m0 < m; m0 += kLanes) {
    const int count = static_cast<int>(std::min<int64_t>(kLanes, m - m0));
    simd::transpose_tile(w + m0 * row, row, lanes.data(), kLanes, count, row, sizeof(float));
    for (int64_t ic = 0; ic < c; ++ic) {
      Lanes g[9], t[3 * n];
      for (int e = 0; e < 9; ++e) std::memcpy(&g[e], lanes.data() + (ic * 9 + e) * kLanes, sizeof(Lanes));
      for (int i = 0; i < 3; ++i) T::weight(g + i * 3, t + i * n);  // g G^T
      float* out = u + ic * m + m0;
      for (int q = 0; q < n; ++q) {  // G (g G^T)
        Lanes d[3], r[n];
        for (int i = 0; i < 3; ++i) d[i] = t[i * n + q];
        T::weight(d, r);
        for (int p = 0; p < n; ++p) store(out + (p * n + q) * k_stride, r[p], count);
      }
    }
  }
}

// Each variant's transforms, compiled per instruction set (the templates above are inlined here).
FERRY_WINOGRAD_CLONES void input_tile2(const float* const* rows, int64_t c, float* v, int64_t k_stride) {
  input_tile<2>(rows, c, v, k_stride);
}
FERRY_WINOGRAD_CLONES void input_tile4(const float* const* rows, int64_t c, float* v, int64_t k_stride) {
  input_tile<4>(rows, c, v, k_stride);
}
FERRY_WINOGRAD_CLONES void output_tile2(const float* mt, int64_t k_stride, int64_t m, const float* bias,
                                        const OutTile& o, const DnnlEltwise* eltwise, size_t n_eltwise) {
  output_tile<2>(mt, k_stride, m, bias, o, eltwise, n_eltwise);
}
FERRY_WINOGRAD_CLONES void output_tile4(const float* mt, int64_t k_stride, int64_t m, const float* bias,
                                        const OutTile& o, const DnnlEltwise* eltwise, size_t n_eltwise) {
  output_tile<4>(mt, k_stride, m, bias, o, eltwise, n_eltwise);
}
FERRY_WINOGRAD_CLONES void transform_weights2(const float* w, int64_t m, int64_t c, float* u) {
  transform_weights<2>(w, m, c, u);
}
FERRY_WINOGRAD_CLONES void transform_weights4(const float* w, int64_t m, int64_t c, float* u) {
  transform_weights<4>(w, m, c, u);
}

}  // namespace

bool WinogradConv::supports(const std::vector<DnnlEltwise>& eltwise) {
  for (const DnnlEltwise& e : eltwise)
    if (e.algorithm != dnnl::algorithm::eltwise_relu && e.algorithm != dnnl::algorithm::eltwise_clip &&
        e.algorithm != dnnl::algorithm::eltwise_clip_v2 && e.algorithm != dnnl::algorithm::eltwise_linear)
      return false;
  return true;
}

int64_t WinogradConv::weight_floats(int tile, int64_t m, int64_t c) { return (tile + 2) * (tile + 2) * m * c; }

WinogradConv::WinogradConv(const float* w, int64_t m, int64_t c, int tile, std::vector<DnnlEltwise> eltwise)
    : m_(m), c_(c), tile_(tile), eltwise_(std::move(eltwise)) {
  if (tile != 2 && tile != 4)
    throw Error(ErrorCode::kInvalidArgument, "Winograd output tile " + std::to_string(tile) + ": 2 or 4 supported");
  u_ = dnnl_rt::owned_memory(
      dnnl::memory::desc({weight_floats(tile, m, c)}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a));
  float* u = static_cast<float*>(u_->get_data_handle());
  if (tile == 2)
    transform_weights2(w, m, c, u);
  else
    transform_weights4(w, m, c, u);
}

void WinogradConv::run(const runtime::ThreadPool& pool, const float* x, int64_t n, int64_t h, int64_t wd,
                       int64_t pad_top, int64_t pad_left, int64_t oh, int64_t ow, const float* bias, const float* z,
                       float* y) const {
  g_runs[tile_ == 2 ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
  const int64_t c = c_, m = m_, tile = tile_, in = tile + 2, kk = in * in;
  const auto input = tile == 2 ? input_tile2 : input_tile4;
  const auto output = tile == 2 ? output_tile2 : output_tile4;
  const float* u = static_cast<const float*>(u_->get_data_handle());
  const int64_t th = (oh + tile - 1) / tile, tw = (ow + tile - 1) / tile, tiles = n * th * tw;
  if (tiles == 0) return;
  const int threads = std::max(1, pool.num_threads());
  const int64_t block = std::min(kBlockTiles, (tiles + threads - 1) / threads);
  const int64_t blocks = (tiles + block - 1) / block;
  const double cost = 2.0 * kk * block * c * m / 32.0;  // ns at ~32 flop/ns

  pool.parallel_for(blocks, cost, [&](int64_t first, int64_t last) {
    RunBuffers scratch(RunBuffers::padded(kk * block * c) + RunBuffers::padded(kk * block * m) +
                       RunBuffers::padded(c));
    float* v = scratch.take(kk * block * c, false);
    float* mt = scratch.take(kk * block * m, false);
    const float* zeros = scratch.take(c);
    for (int64_t b = first; b < last; ++b) {
      const int64_t t0 = b * block, nt = std::min(block, tiles - t0);
      for (int64_t t = 0; t < nt; ++t) {
        const int64_t tile_at = t0 + t, img = tile_at / (th * tw), ty = tile_at / tw % th, tx = tile_at % tw;
        const float* rows[36];
        for (int64_t i = 0; i < in; ++i)
          for (int64_t j = 0; j < in; ++j) {
            const int64_t iy = tile * ty - pad_top + i, ix = tile * tx - pad_left + j;
            rows[i * in + j] = iy >= 0 && iy < h && ix >= 0 && ix < wd ? x + ((img * h + iy) * wd + ix) * c : zeros;
          }
        input(rows, c, v + t * c, nt * c);
      }
      for (int64_t k = 0; k < kk; ++k)
        if (dnnl_sgemm('N', 'N', nt, m, c, 1.f, v + k * nt * c, c, u + k * c * m, m, 0.f, mt + k * nt * m, m) !=
            dnnl_success)
          throw Error(ErrorCode::kRuntime, "oneDNN sgemm failed in the Winograd convolution");
      for (int64_t t = 0; t < nt; ++t) {
        const int64_t tile_at = t0 + t, img = tile_at / (th * tw), ty = tile_at / tw % th, tx = tile_at % tw;
        OutTile o{};
        for (int64_t p = 0; p < tile * tile; ++p) {
          const int64_t oy = tile * ty + p / tile, ox = tile * tx + p % tile;
          if (oy >= oh || ox >= ow) continue;
          const int64_t at = ((img * oh + oy) * ow + ox) * m;
          o.y[p] = y + at;
          o.z[p] = z != nullptr ? z + at : nullptr;
        }
        output(mt + t * m, nt * m, m, bias, o, eltwise_.data(), eltwise_.size());
      }
    }
  });
}

uint64_t winograd_conv_runs(int tile) {
  if (tile == 2) return g_runs[0].load(std::memory_order_relaxed);
  if (tile == 4) return g_runs[1].load(std::memory_order_relaxed);
  return g_runs[0].load(std::memory_order_relaxed) + g_runs[1].load(std::memory_order_relaxed);
}

}  // namespace ferry::ep::cpu
