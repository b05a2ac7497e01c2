// The Einsum fast path: a float contraction of two operands lowered to (batched) oneDNN sgemm
// calls on the operands' own memory, transposes folded into leading dimensions.
//
// It covers two-operand equations whose labels each appear once per operand, with equal sizes
// wherever they appear (no broadcasting of size-1 dims), and where every label is in the output
// or in both operands (no label summed within one operand). Labels in A, B and the output are
// batch labels; the A-and-output labels form the GEMM's M, the B-and-output labels its N, the
// A-and-B labels its K. Each group must be one row-major block in every operand holding it (K
// in the same order in A and B); M or N labels that are not are looped over like batch labels.
// Anything else is declined and the caller's generic path runs.
#pragma once

#include <cstdint>
#include <vector>

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu {

/// Computes output 0 = einsum(a, b) for labels `la`, `lb` (one per dim, ellipsis dims already
/// labelled) and output labels `lo`, whose dims are `out_dims`. Returns false, having allocated
/// nothing, when the contraction is not of the form above; the caller then computes it itself.
bool einsum_gemm(KernelContext& ctx, const Tensor& a, const std::vector<int>& la, const Tensor& b,
                 const std::vector<int>& lb, const std::vector<int>& lo, const std::vector<int64_t>& out_dims);

}  // namespace ferry::ep::cpu
