// Float32 MatMul / Gemm on oneDNN's matmul primitive (shared by math/matmul.cc, math/gemm.cc and
// the FusedGemm / FusedMatMul kernels in fused/fusion.cc).
//
// A DnnlMatMul is made once per node with what stays fixed (transposes, alpha, beta, activation
// post-ops). When B is a constant it is reordered there, once, into the layout the primitive
// prefers (weights format `any`), and the kernel marks it prepacked. Primitives depend on the
// shapes, which vary by run (batch, sequence length): they are created on first use of a shape
// signature and cached in the object (guarded by a mutex; compute() may run concurrently).
// The creation-time one is built from the node's inferred input shapes (symbolic dims as 1)
// by the same problem() a run uses, so a run with those shapes finds it. A new shape whose
// preferred weights layout equals one already packed reuses that copy.
//
// Shapes: numpy matmul semantics (1-D operands promoted, batch dims broadcast). A 2-D B (or 1-D)
// with an untransposed A folds A's batch dims into M, so a [b, s, K] x [K, N] product is one
// [b*s, K] x [K, N] matmul over the prepacked weights.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// What stays fixed for one node.
struct DnnlMatMulSpec {
  bool trans_a = false, trans_b = false;  ///< op() swaps the last two axes
  float alpha = 1.0f;                     ///< scales op(A) op(B)
  float beta = 1.0f;                      ///< scales Gemm's C
  std::vector<DnnlEltwise> post_ops;      ///< applied last, in order
  /// A and a prepacked B inside the primitive: f32, or bf16 (dnnl_rt::compute_type; A is then
  /// converted per run, the product accumulates and is written in f32). Only a prepacked B uses it.
  dnnl::memory::data_type compute_type = dnnl::memory::data_type::f32;
};

/// The operand shapes a node's runs are expected to give (dnnl_shape_hint).
struct DnnlShapeHint {
  std::vector<int64_t> a;                     ///< A's shape; empty: unknown
  std::optional<std::vector<int64_t>> c;      ///< Gemm's C when the node has one
};

class DnnlMatMul {
 public:
  /// `constant_b`: B's initializer when it is a float constant of rank 1 or 2 (else ignored).
  /// It is reordered here for the problem run() builds from `hint`'s shapes (through the same
  /// function), and that problem's primitive is made here and kept: a run with those shapes
  /// makes none. Other shapes make their own primitive at first use and reuse the packed copy
  /// when they prefer its layout. Without a usable hint, A is taken as 64 rows.
  DnnlMatMul(DnnlMatMulSpec spec, const Tensor* constant_b, const DnnlShapeHint& hint);
  ~DnnlMatMul();
  DnnlMatMul(const DnnlMatMul&) = delete;
  DnnlMatMul& operator=(const DnnlMatMul&) = delete;

  const DnnlMatMulSpec& spec() const { return spec_; }
  /// True when B was prepacked: compute never reads B's data (KernelInfo::mark_prepacked).
  bool prepacked() const { return !packs_.empty(); }

  /// Whether run() can take these operands (float, ranks oneDNN takes). Shapes are assumed
  /// already checked by the caller (matmul_forward / gemm_forward).
  bool accepts(const Tensor& a, const Tensor& b) const;

  /// y = post_ops(alpha * op(A) op(B) [+ beta * C]) with y allocated by the caller in the
  /// product's shape (numpy matmul rules). `c` (Gemm only, A and B 2-D): broadcast
  /// unidirectionally to [M, N] from shape [cm, cn] (1 or full each; rank <= 2). Returns false
  /// when oneDNN has no primitive for these shapes (y's contents are then unspecified: the
  /// caller computes all of it on its own path); never false once B is prepacked.
  bool run(const KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y) const;

  /// B in its original plain layout, reconstructed from the packed copy (for a fallback path
  /// when B was prepacked and its initializer may be gone). Throws when not prepacked.
  Tensor unpacked_b() const;

 private:
  struct Entry;
  struct Problem;
  /// The oneDNN problem for operands of these shapes (C: Gemm's, or null); nullopt when the
  /// batch dims do not broadcast. Used alike at creation (hinted shapes) and by run().
  std::optional<Problem> problem(std::vector<int64_t> a_shape, std::vector<int64_t> b_shape,
                                 const std::vector<int64_t>* c_shape, bool packed) const;
  std::shared_ptr<Entry> entry_for(const Problem& p) const;

  DnnlMatMulSpec spec_;
  std::vector<int64_t> b_shape_;  // constant B's shape when prepacked
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<dnnl::memory>> packs_;  // B in each layout asked for
  mutable std::map<std::vector<int64_t>, std::shared_ptr<Entry>> cache_;
};

/// The shapes a node's runs are expected to give: input 0 (A) and, when `c_input` >= 0 names a
/// present input, C, from their inferred types with each symbolic dim taken as 1 (the first
/// batch item, as a feed of one sample gives); unknown ranks are left empty.
DnnlShapeHint dnnl_shape_hint(const KernelInfo& info, int c_input = -1);

/// A process-wide DnnlMatMul for each (transposes, alpha, beta) with no constant operand and no
/// post-ops, for the callers of matmul_forward / gemm_forward that keep no per-node state. Its
/// cache is bounded (cleared when it grows past a few hundred shapes).
const DnnlMatMul& shared_dnnl_matmul(bool trans_a, bool trans_b, float alpha, float beta = 1.0f);

}  // namespace ferry::ep::cpu
