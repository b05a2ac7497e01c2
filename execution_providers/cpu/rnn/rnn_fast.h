// Fast float paths of the recurrent kernels: weights packed once into gate-interleaved panels, a
// small-M GEMM over those panels (AVX-512 / AVX2+FMA chosen at run time, portable otherwise), and
// vectorized sigmoid/tanh. The recurrence parallelizes over blocks of hidden units of every
// direction: one task computes every gate of its units (GEMM + element-wise update) for a time
// step, and one team runs all the steps (runtime/parallel_steps.h), each thread on the same
// blocks every step so that its share of R stays in its cache.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "execution_providers/cpu/rnn/rnn_common.h"
#include "execution_providers/cpu/run_buffers.h"
#include "runtime/parallel_steps.h"

namespace ferry::ep::cpu::rnn {

/// W ([gates*hidden, k] row-major: one row per output column, gate-major) packed for gate_gemm.
/// Hidden units are padded to blocks of kBlock; layout [blocks][k][gates][kBlock] (one block's
/// weights are one contiguous stream), pads zero.
struct PackedGates {
  static constexpr int64_t kBlock = 16;
  int64_t gates = 0, hidden = 0, k = 0, blocks = 0;
  std::unique_ptr<float[]> data;  ///< blocks * gates * k * kBlock floats (not zeroed on allocation)

  int64_t padded_hidden() const { return blocks * kBlock; }
  const float* block(int64_t b) const { return data.get() + b * gates * k * kBlock; }
};

/// Cost hints for the thread pool: nanoseconds per multiply-add of gate_gemm (about 50 GFLOP/s on
/// one core; the per-step element-wise work is folded in), and per packed weight read from the
/// shared cache or memory (about 60 GB/s on one core). With few rows (batch 1 recurrences) the
/// reads dominate: a step then costs far more than its multiply-adds suggest.
constexpr double kGemmNsPerMac = 0.02;
constexpr double kNsPerWeight = 0.06;

/// Packs `gates` gate matrices of `hidden` rows by `k` columns from w (row-major, gate-major rows).
PackedGates pack_gates(const float* w, int64_t gates, int64_t hidden, int64_t k);

/// For hidden-unit blocks [block_begin, block_end) and rows m < rows:
///   c[m*ldc + g*Hp + u] = sum_j a[m*lda + j] * W[g*hidden + u, j] (+ bias[g*Hp + u] when bias)
/// with Hp = w.padded_hidden(); padded units get bias (or 0). Runs on the calling thread. With
/// one row (batch-1 recurrences, bound by reading W from the shared cache) it reads up to four
/// blocks' panels at once; every sum is accumulated in the same order either way.
void gate_gemm(const float* a, int64_t lda, int64_t rows, const PackedGates& w, int64_t block_begin,
               int64_t block_end, float* c, int64_t ldc, const float* bias);

/// Rough nanoseconds of gate_gemm over one block of w for `rows` rows.
inline double block_cost_ns(const PackedGates& w, int64_t rows) {
  return static_cast<double>(w.gates * PackedGates::kBlock * w.k) * (kNsPerWeight + rows * kGemmNsPerMac);
}

/// Hidden-unit blocks per task of run_recurrence: gate_gemm streams up to four blocks' panels at
/// once for a one-row (batch 1) recurrence, where a task of one block streams one. With a task
/// per block, 2 threads split LSTM's steps into one-block claims; four-block tasks ran the zoo's
/// LSTM (hidden 512, batch 1) 7% faster at 2 threads (p50 5.70 vs 6.12 ms, 9 alternated fresh
/// processes each, onnxruntime 6.10), unchanged at 1 thread, where a step is one call anyway.
constexpr int64_t kRecurrenceTaskBlocks = 4;

/// Runs a recurrence of `steps` steps over `dirs` directions of `blocks` hidden-unit blocks each,
/// all directions in lockstep: step_fn(step, d, block_begin, block_end) for disjoint block ranges
/// covering every direction's blocks, each step after the whole previous step (parallel_steps).
/// The steps' tasks are kRecurrenceTaskBlocks blocks each (a direction's last may be shorter);
/// cost_per_block is one block's rough time in ns.
template <typename StepFn>
void run_recurrence(const runtime::ThreadPool& pool, int64_t steps, int64_t dirs, int64_t blocks,
                    double cost_per_block, StepFn&& step_fn) {
  const int64_t per_dir = (blocks + kRecurrenceTaskBlocks - 1) / kRecurrenceTaskBlocks;
  const double cost_per_task = cost_per_block * static_cast<double>(std::min(blocks, kRecurrenceTaskBlocks));
  runtime::parallel_steps(pool, steps, dirs * per_dir, cost_per_task, [&](int64_t s, int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1;) {
      const int64_t d = t / per_dir, end = std::min(t1, (d + 1) * per_dir);
      step_fn(s, d, (t - d * per_dir) * kRecurrenceTaskBlocks, std::min(blocks, (end - d * per_dir) * kRecurrenceTaskBlocks));
      t = end;
    }
  });
}

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
