// WinogradConv (execution_providers/cpu/dnnl/conv_winograd.h): the weight, input and output
// transforms against a plain direct convolution computed in double, channels last.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "execution_providers/cpu/dnnl/conv_winograd.h"
#include "ferry/error.h"
#include "runtime/thread_pool.h"

namespace ferry::ep::cpu {
namespace {

struct Case {
  int64_t n, h, w, c, m, pad_top, pad_left, pad_bottom, pad_right;
  bool bias, residual;
  std::vector<DnnlEltwise> eltwise;
  int threads;
  int tile = 2;
};

double eltwise_ref(const std::vector<DnnlEltwise>& chain, double v) {
  for (const DnnlEltwise& e : chain) {
    switch (e.algorithm) {
      case dnnl::algorithm::eltwise_relu: v = v > 0 ? v : v * e.alpha; break;
      case dnnl::algorithm::eltwise_clip_v2: v = std::min<double>(std::max<double>(v, e.alpha), e.beta); break;
      case dnnl::algorithm::eltwise_linear: v = e.alpha * v + e.beta; break;
      default: ADD_FAILURE() << "unexpected algorithm";
    }
  }
  return v;
}

/// Runs one case and returns the largest |winograd - reference| over the output.
double run_case(const Case& k) {
  std::mt19937 rng(static_cast<unsigned>(k.c * 131 + k.m * 7 + k.h));
  std::normal_distribution<float> dist;
  const int64_t oh = k.h + k.pad_top + k.pad_bottom - 2, ow = k.w + k.pad_left + k.pad_right - 2;
  std::vector<float> x(static_cast<size_t>(k.n * k.h * k.w * k.c)), wt(static_cast<size_t>(k.m * k.c * 9));
  std::vector<float> b(static_cast<size_t>(k.m)), z(static_cast<size_t>(k.n * oh * ow * k.m));
  for (float& v : x) v = dist(rng);
  const float scale = 1.f / std::sqrt(9.f * static_cast<float>(k.c));
  for (float& v : wt) v = dist(rng) * scale;
  for (float& v : b) v = dist(rng);
  for (float& v : z) v = dist(rng);

  WinogradConv conv(wt.data(), k.m, k.c, k.tile, k.eltwise);
  std::vector<float> y(z.size(), -7.f);
  runtime::ThreadPool pool(k.threads);
  conv.run(pool, x.data(), k.n, k.h, k.w, k.pad_top, k.pad_left, oh, ow, k.bias ? b.data() : nullptr,
           k.residual ? z.data() : nullptr, y.data());

  double worst = 0;
  for (int64_t i = 0; i < k.n; ++i)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t om = 0; om < k.m; ++om) {
          double acc = k.bias ? b[static_cast<size_t>(om)] : 0.0;
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t iy = oy + ky - k.pad_top, ix = ox + kx - k.pad_left;
              if (iy < 0 || iy >= k.h || ix < 0 || ix >= k.w) continue;
              for (int64_t ic = 0; ic < k.c; ++ic)
                acc += static_cast<double>(x[static_cast<size_t>(((i * k.h + iy) * k.w + ix) * k.c + ic)]) *
                       wt[static_cast<size_t>(((om * k.c + ic) * 3 + ky) * 3 + kx)];
            }
          const size_t at = static_cast<size_t>(((i * oh + oy) * ow + ox) * k.m + om);
          if (k.residual) acc += z[at];
          worst = std::max(worst, std::abs(eltwise_ref(k.eltwise, acc) - y[at]));
        }
  return worst;
}

using alg = dnnl::algorithm;

/// F(4x4, 3x3)'s bound on |error| against the float64 direct convolution, for outputs of about
/// unit size (unit normal X, W scaled by 1 / sqrt(9 C)). Measured worst over these cases 1.6e-5
/// (F(2x2): 1.4e-6): its transforms sum larger coefficients (up to 8 and 1/24). 1e-4 is the
/// absolute part of the op tests' tolerance against onnxruntime, within which F(4x4) must stay.
constexpr double kF4Bound = 1e-4;

TEST(WinogradConv, MatchesDirectConvolution) {
  const std::vector<Case> cases = {
      {1, 8, 8, 16, 16, 1, 1, 1, 1, false, false, {}, 1},                     // even, one vector
      {1, 9, 7, 3, 5, 1, 1, 1, 1, true, false, {}, 1},                        // odd H/W, C and M < 16
      {2, 11, 13, 37, 21, 0, 0, 0, 0, true, true, {{alg::eltwise_relu, 0.f, 0.f}}, 2},  // pads 0
      {3, 6, 5, 64, 70, 2, 1, 0, 2, false, true, {{alg::eltwise_relu, 0.1f, 0.f}}, 2},  // asymmetric
      {1, 14, 14, 65, 33, 1, 1, 1, 1, true, false,
       {{alg::eltwise_linear, 0.3f, 0.4f}, {alg::eltwise_clip_v2, 0.f, 1.f}}, 1},        // HardSigmoid
      {1, 20, 3, 17, 48, 1, 1, 1, 1, true, true, {{alg::eltwise_clip_v2, -0.5f, 1.f}}, 2},
      {1, 1, 1, 16, 16, 1, 1, 1, 1, true, false, {}, 1},  // one pixel: the whole tile is padding but one
  };
  for (int tile : {2, 4})
    for (Case k : cases) {
      k.tile = tile;
      const double worst = run_case(k);
      EXPECT_LT(worst, tile == 2 ? 2e-5 : kF4Bound)
          << "tile " << tile << " n " << k.n << " h " << k.h << " w " << k.w << " c " << k.c << " m " << k.m;
    }
}

TEST(WinogradConv, CountsRunsPerTile) {
  for (int tile : {2, 4}) {
    const uint64_t before = winograd_conv_runs(), mine = winograd_conv_runs(tile), other = winograd_conv_runs(6 - tile);
    Case k{1, 4, 4, 8, 8, 1, 1, 1, 1, false, false, {}, 1};
    k.tile = tile;
    EXPECT_LT(run_case(k), tile == 2 ? 2e-5 : kF4Bound);
    EXPECT_EQ(winograd_conv_runs(), before + 1);
    EXPECT_EQ(winograd_conv_runs(tile), mine + 1);
    EXPECT_EQ(winograd_conv_runs(6 - tile), other);
  }
}

TEST(WinogradConv, RejectsOtherTiles) {
  const std::vector<float> w(9, 1.f);
  EXPECT_THROW(WinogradConv(w.data(), 1, 1, 3, {}), Error);
  EXPECT_THROW(WinogradConv(w.data(), 1, 1, 6, {}), Error);
}

TEST(WinogradConv, SupportsOnlyChainsItComputes) {
  EXPECT_TRUE(WinogradConv::supports({}));
  EXPECT_TRUE(WinogradConv::supports({{alg::eltwise_relu, 0.f, 0.f}, {alg::eltwise_clip_v2, 0.f, 6.f}}));
  EXPECT_FALSE(WinogradConv::supports({{alg::eltwise_swish, 1.f, 0.f}}));
  EXPECT_FALSE(WinogradConv::supports({{alg::eltwise_relu, 0.f, 0.f}, {alg::eltwise_logistic, 0.f, 0.f}}));
}

}  // namespace
}  // namespace ferry::ep::cpu
