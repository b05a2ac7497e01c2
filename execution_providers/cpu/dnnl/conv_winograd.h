// Winograd F(2x2, 3x3) and F(4x4, 3x3) for DnnlConv (conv_dnnl.h): a 2-D, 3x3, stride 1,
// undilated, ungrouped float32 convolution on channels-last tensors. With output tiles of side
// t (2 or 4) and input tiles of side a = t + 2, it keeps a^2/9 of the weight bytes (16/9, 36/9)
// and does a^2/(9 t^2) of the direct convolution's multiplies (4/9, 1/4).
//
// Weights: U = G g G^T for every (output m, input c) pair, kept as [a^2][C][M] (the only copy
// the kernel keeps; made at creation in one pass, no oneDNN reorder, into dnnl_rt::owned_memory,
// which takes over the pages of weights released before it). Each run cuts the output into t x t
// tiles (a x a input windows, stride t, zero outside X, so any pads), and for blocks of tiles:
// V = B^T d B per tile -> [a^2][tiles][C]; a^2 products V[k] x U[k] -> [a^2][tiles][M]
// (dnnl_sgemm, one thread per block); Y = A^T m A + bias (+ Z) then the activation, written into
// Y's t x t (clipped at the edges). Blocks are split over the intra-op pool; each thread's V and M
// live in its cached RunBuffers (run_buffers.h). The two variants share all of this but the 1-D
// transforms (Transforms<t> in conv_winograd.cc).
//
// Rounding differs from the direct convolution's (the transforms sum up to a^2 terms, F(4x4)'s
// with coefficients up to 8 and 1/24); tests/unit/test_dnnl_conv_winograd.cc bounds the error
// of each against a direct convolution in double.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "runtime/thread_pool.h"

namespace ferry::ep::cpu {

class WinogradConv {
 public:
  /// Whether the output transform computes this activation chain itself (relu / leaky relu,
  /// clip, clip_v2, linear); any other chain keeps the convolution on oneDNN's direct path.
  static bool supports(const std::vector<DnnlEltwise>& eltwise);

  /// Floats of transformed weights WinogradConv keeps for output tile `tile`: (tile + 2)^2 M C.
  static int64_t weight_floats(int tile, int64_t m, int64_t c);

  /// `w`: ONNX W [M, C, 3, 3], float. `tile`: the output tile's side, 2 (F(2x2, 3x3)) or 4
  /// (F(4x4, 3x3)); anything else throws kInvalidArgument. `eltwise` must be supported().
  WinogradConv(const float* w, int64_t m, int64_t c, int tile, std::vector<DnnlEltwise> eltwise);

  /// One image batch, channels last: x [n, h, wd, C], y [n, oh, ow, M] with oh = h + pad_top +
  /// pad_bottom - 2 (likewise ow), given here with the top/left pads. bias: M floats or null.
  /// z: the residual, y's shape, or null; it may be y itself (not x). y must not overlap x.
  void run(const runtime::ThreadPool& pool, const float* x, int64_t n, int64_t h, int64_t wd, int64_t pad_top,
           int64_t pad_left, int64_t oh, int64_t ow, const float* bias, const float* z, float* y) const;

  int64_t out_channels() const { return m_; }
  int64_t in_channels() const { return c_; }
  int tile() const { return tile_; }

 private:
  int64_t m_, c_;
  int tile_;
  std::vector<DnnlEltwise> eltwise_;
  std::shared_ptr<dnnl::memory> u_;  // [(tile+2)^2][C][M] floats (dnnl_rt::owned_memory: recycled pages)
};

/// How many WinogradConv::run calls this process has made with output tile `tile` (2 or 4; any
/// other value: all of them). Tests check the path is taken.
uint64_t winograd_conv_runs(int tile = 0);

}  // namespace ferry::ep::cpu
