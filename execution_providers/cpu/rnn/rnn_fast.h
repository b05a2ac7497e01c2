// Fast float paths of the recurrent kernels: weights packed once into gate-interleaved panels, a
// small-M GEMM over those panels (AVX-512 / AVX2+FMA chosen at run time, portable otherwise), and
// vectorized sigmoid/tanh. The recurrence parallelizes over blocks of hidden units: one task
// computes every gate of its units (GEMM + element-wise update) for a time step.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "execution_providers/cpu/rnn/rnn_common.h"

namespace ferry::ep::cpu::rnn {

/// W ([gates*hidden, k] row-major: one row per output column, gate-major) packed for gate_gemm.
/// Hidden units are padded to blocks of kBlock; layout [blocks][k][gates][kBlock] (one block's
/// weights are one contiguous stream), pads zero.
struct PackedGates {
  static constexpr int64_t kBlock = 16;
  int64_t gates = 0, hidden = 0, k = 0, blocks = 0;
  std::vector<float> data;

  int64_t padded_hidden() const { return blocks * kBlock; }
  const float* block(int64_t b) const { return data.data() + b * gates * k * kBlock; }
};

/// Cost hint for the thread pool: nanoseconds per multiply-add of gate_gemm (about 50 GFLOP/s on
/// one core; the per-step element-wise work is folded in), so that a step too small to amortize
/// waking a thread runs inline.
constexpr double kGemmNsPerMac = 0.02;

/// Packs `gates` gate matrices of `hidden` rows by `k` columns from w (row-major, gate-major rows).
PackedGates pack_gates(const float* w, int64_t gates, int64_t hidden, int64_t k);

/// For hidden-unit blocks [block_begin, block_end) and rows m < rows:
///   c[m*ldc + g*Hp + u] = sum_j a[m*lda + j] * W[g*hidden + u, j] (+ bias[g*Hp + u] when bias)
/// with Hp = w.padded_hidden(); padded units get bias (or 0). Runs on the calling thread.
void gate_gemm(const float* a, int64_t lda, int64_t rows, const PackedGates& w, int64_t block_begin,
               int64_t block_end, float* c, int64_t ldc, const float* bias);

/// Same over every block and row, split over the pool's threads (rows and blocks).
void gate_gemm_parallel(const runtime::ThreadPool& pool, const float* a, int64_t lda, int64_t rows,
                        const PackedGates& w, float* c, int64_t ldc, const float* bias);

/// In-place logistic sigmoid / tanh of n values (vectorized, ~1 ulp).
void sigmoid_inplace(float* v, int64_t n);
void tanh_inplace(float* v, int64_t n);

/// act applied in place to n floats: the vectorized versions for Sigmoid and Tanh.
inline void apply_fast(const Activation& act, float* v, int64_t n) {
  if (act.kind == Activation::kSigmoid) sigmoid_inplace(v, n);
  else if (act.kind == Activation::kTanh) tanh_inplace(v, n);
  else act.apply(v, n);
}

/// Per-direction packed copies of a constant weight input (W or R), made at kernel creation.
/// `splits` lists the gate groups packed separately (e.g. GRU's {2, 1}: z,r then h).
struct PackedWeights {
  std::vector<std::vector<PackedGates>> dirs;  ///< [direction][group]
  bool empty() const { return dirs.empty(); }
};

/// Packs the float tensor w [dirs, gates*hidden, k] by gate groups `splits` (summing to gates).
PackedWeights pack_weights(const Tensor& w, int64_t hidden, const std::vector<int64_t>& splits);

/// Packs W (input 1) and R (input 2) at creation when they are constant float tensors whose shapes
/// fit `gates` and the node's hidden size; marks them prepacked. Leaves them empty otherwise.
void prepack_inputs(const KernelInfo& info, const RecurrentAttributes& attrs, int64_t gates,
                    const std::vector<int64_t>& w_splits, const std::vector<int64_t>& r_splits,
                    PackedWeights& w, PackedWeights& r);

}  // namespace ferry::ep::cpu::rnn
