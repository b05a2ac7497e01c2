// Winograd F(2x2, 3x3) for DnnlConv (conv_dnnl.h): a 2-D, 3x3, stride 1, undilated, ungrouped
// float32 convolution on channels-last tensors, in 16/9 of the weight bytes and about 4/9 of the
// direct convolution's multiplies.
//
// Weights: U = G g G^T for every (output m, input c) pair, kept as [16][C][M] (the only copy the
// kernel keeps; made at creation in one pass, no oneDNN reorder, into dnnl_rt::owned_memory,
// which takes over the pages of weights released before it). Each run cuts the output into
// 2x2 tiles (4x4 input windows, stride 2, zero outside X, so any pads), and for blocks of tiles:
// V = B^T d B per tile -> [16][tiles][C]; 16 products V[k] x U[k] -> [16][tiles][M] (dnnl_sgemm,
// one thread per block); Y = A^T m A + bias (+ Z) then the activation, written into Y's 2x2
// (clipped at odd edges). Blocks are split over the intra-op pool.
//
// Rounding differs from the direct convolution's (transforms sum up to 16 terms);
// tests/unit/test_dnnl_conv_winograd.cc bounds the error against a direct convolution in double.
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

  /// `w`: ONNX W [M, C, 3, 3], float. `eltwise` must be supported().
  WinogradConv(const float* w, int64_t m, int64_t c, std::vector<DnnlEltwise> eltwise);

  /// One image batch, channels last: x [n, h, wd, C], y [n, oh, ow, M] with oh = h + pad_top +
  /// pad_bottom - 2 (likewise ow), given here with the top/left pads. bias: M floats or null.
  /// z: the residual, y's shape, or null; it may be y itself (not x). y must not overlap x.
  void run(const runtime::ThreadPool& pool, const float* x, int64_t n, int64_t h, int64_t wd, int64_t pad_top,
           int64_t pad_left, int64_t oh, int64_t ow, const float* bias, const float* z, float* y) const;

  int64_t out_channels() const { return m_; }
  int64_t in_channels() const { return c_; }

 private:
  int64_t m_, c_;
  std::vector<DnnlEltwise> eltwise_;
  std::shared_ptr<dnnl::memory> u_;  // [16][C][M] floats (dnnl_rt::owned_memory: recycled pages)
};

/// How many WinogradConv::run calls this process has made (tests check the path is taken).
uint64_t winograd_conv_runs();

}  // namespace ferry::ep::cpu
