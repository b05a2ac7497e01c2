#include "execution_providers/cpu/nn/einsum_gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {
namespace {

constexpr size_t kLabels = 52 + 64;  // letters, then ellipsis dims (einsum.cc's numbering)

/// One label's size and element stride in A, B and C (0 where it is absent).
struct Axis {
  int64_t size = 1, sa = 0, sb = 0, sc = 0;
};

/// A row-major sgemm call C[M,N] = op(A)[M,K] * op(B)[K,N]; `swap`: A and B exchange places
/// (C^T = B^T A^T, for an output whose N stride is not 1).
struct GemmPlan {
  char ta = 'N', tb = 'N';
  int64_t m = 1, n = 1, k = 1, lda = 1, ldb = 1, ldc = 1;
  bool swap = false;
};

/// Element strides of a row-major tensor per label; false when a label repeats.
bool label_strides(const std::vector<int64_t>& shape, const std::vector<int>& labels,
                   std::array<int64_t, kLabels>& stride, std::array<int64_t, kLabels>& size) {
  int64_t s = 1;
  for (size_t d = labels.size(); d-- > 0;) {
    const auto l = static_cast<size_t>(labels[d]);
    if (l >= kLabels || size[l] >= 0) return false;
    size[l] = shape[d];
    stride[l] = s;
    s *= shape[d];
  }
  return true;
}

/// The sgemm arguments for strides (row, column) of A [M,K], B [K,N] and C [M,N]; none when
/// some operand has no unit stride in either direction.
std::optional<GemmPlan> plan_gemm(int64_t m, int64_t n, int64_t k, int64_t sam, int64_t sak, int64_t sbk, int64_t sbn,
                                  int64_t scm, int64_t scn) {
  GemmPlan p;
  if (n > 1 && scn != 1) {
    if (m > 1 && scm != 1) return std::nullopt;
    p.swap = true;  // C^T [N,M] = B^T [N,K] * A^T [K,M]
    std::swap(m, n);
    std::swap(scm, scn);
    const int64_t a_m = sam, a_k = sak;
    sam = sbn;
    sak = sbk;
    sbk = a_k;
    sbn = a_m;
  }
  p.m = m;
  p.n = n;
  p.k = k;
  if ((k == 1 || sak == 1) && (m == 1 || sam >= k)) {
    p.ta = 'N';
    p.lda = m == 1 ? k : sam;
  } else if ((m == 1 || sam == 1) && (k == 1 || sak >= m)) {
    p.ta = 'T';
    p.lda = k == 1 ? m : sak;
  } else {
    return std::nullopt;
  }
  if ((n == 1 || sbn == 1) && (k == 1 || sbk >= n)) {
    p.tb = 'N';
    p.ldb = k == 1 ? n : sbk;
  } else if ((k == 1 || sbk == 1) && (n == 1 || sbn >= k)) {
    p.tb = 'T';
    p.ldb = n == 1 ? k : sbn;
  } else {
    return std::nullopt;
  }
  p.ldc = m == 1 ? n : scm;
  if (p.ldc < n) return std::nullopt;
  return p;
}

/// Whether `group` (outer to inner) is one row-major block under `stride`.
bool is_block(const std::vector<int>& group, const std::array<Axis, kLabels>& ax, int64_t Axis::*stride) {
  for (size_t i = 0; i + 1 < group.size(); ++i) {
    const Axis& outer = ax[static_cast<size_t>(group[i])];
    const Axis& inner = ax[static_cast<size_t>(group[i + 1])];
    if (outer.*stride != inner.*stride * inner.size) return false;
  }
  return true;
}

}  // namespace

bool einsum_gemm(KernelContext& ctx, const Tensor& a, const std::vector<int>& la, const Tensor& b,
                 const std::vector<int>& lb, const std::vector<int>& lo, const std::vector<int64_t>& out_dims) {
  if (a.dtype() != DataType::kFloat || b.dtype() != DataType::kFloat) return false;
  if (a.element_count() == 0 || b.element_count() == 0 || product(out_dims) == 0) return false;
  std::array<int64_t, kLabels> sa{}, sb{}, sc{}, na, nb, nc;
  na.fill(-1);
  nb.fill(-1);
  nc.fill(-1);
  if (!label_strides(a.shape(), la, sa, na) || !label_strides(b.shape(), lb, sb, nb) ||
      !label_strides(out_dims, lo, sc, nc))
    return false;
  // Labels of size 1 everywhere they appear take no part; any other size must agree.
  std::array<Axis, kLabels> ax;
  std::vector<int> batch, m_group, n_group, k_group;
  for (int l : lo) {
    const auto i = static_cast<size_t>(l);
    const int64_t s = nc[i];
    if ((na[i] >= 0 && na[i] != s) || (nb[i] >= 0 && nb[i] != s) || (na[i] < 0 && nb[i] < 0)) return false;
    if (s == 1) continue;
    ax[i] = {s, na[i] >= 0 ? sa[i] : 0, nb[i] >= 0 ? sb[i] : 0, sc[i]};
    (na[i] >= 0 && nb[i] >= 0 ? batch : na[i] >= 0 ? m_group : n_group).push_back(l);
  }
  for (int l : la) {
    const auto i = static_cast<size_t>(l);
    if (nc[i] >= 0) continue;
    if (nb[i] < 0) {
      if (na[i] != 1) return false;  // summed within A alone: the generic path does that
      continue;
    }
    if (na[i] != nb[i]) return false;
    if (na[i] == 1) continue;
    ax[i] = {na[i], sa[i], sb[i], 0};
    k_group.push_back(l);
  }
  for (int l : lb) {
    const auto i = static_cast<size_t>(l);
    if (nc[i] < 0 && na[i] < 0 && nb[i] != 1) return false;  // summed within B alone
  }
  if (!is_block(k_group, ax, &Axis::sa) || !is_block(k_group, ax, &Axis::sb)) return false;
  // M and N labels that do not form one block become loops, outermost first.
  std::vector<int> loops = batch;
  while (!m_group.empty() && !(is_block(m_group, ax, &Axis::sa) && is_block(m_group, ax, &Axis::sc))) {
    loops.push_back(m_group.front());
    m_group.erase(m_group.begin());
  }
  while (!n_group.empty() && !(is_block(n_group, ax, &Axis::sb) && is_block(n_group, ax, &Axis::sc))) {
    loops.push_back(n_group.front());
    n_group.erase(n_group.begin());
  }
  auto extent = [&](const std::vector<int>& g) {
    int64_t p = 1;
    for (int l : g) p *= ax[static_cast<size_t>(l)].size;
    return p;
  };
  auto inner = [&](const std::vector<int>& g, int64_t Axis::*s) {
    return g.empty() ? int64_t{0} : ax[static_cast<size_t>(g.back())].*s;
  };
  const int64_t m = extent(m_group), n = extent(n_group), k = extent(k_group);
  const std::optional<GemmPlan> plan =
      plan_gemm(m, n, k, inner(m_group, &Axis::sa), inner(k_group, &Axis::sa), inner(k_group, &Axis::sb),
                inner(n_group, &Axis::sb), inner(m_group, &Axis::sc), inner(n_group, &Axis::sc));
  if (!plan) return false;

  Tensor& y = ctx.allocate_output(0, DataType::kFloat, out_dims);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = y.data<float>();
  const int64_t n_loop = extent(loops);
  const GemmPlan p = *plan;
  auto gemm = [&](int64_t index) {
    int64_t oa = 0, ob = 0, oc = 0;
    for (size_t d = loops.size(); d-- > 0;) {
      const Axis& x = ax[static_cast<size_t>(loops[d])];
      const int64_t i = index % x.size;
      index /= x.size;
      oa += i * x.sa;
      ob += i * x.sb;
      oc += i * x.sc;
    }
    const float* first = pa + oa;
    const float* second = pb + ob;
    if (p.swap) std::swap(first, second);
    const dnnl_status_t st = dnnl_sgemm(p.ta, p.tb, p.m, p.n, p.k, 1.0f, first, p.lda, second, p.ldb, 0.0f, pc + oc, p.ldc);
    if (st != dnnl_success)
      fail(ctx, ErrorCode::kRuntime, "oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
  };
  const int threads = ctx.thread_pool().num_threads();
  omp_set_num_threads(std::max(1, threads));  // sgemm called outside the pool's team uses this many
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (n_loop >= threads || flops < 1e5) {
    // Many (or small) products: one per pool thread at a time; inside the team sgemm runs serially.
    ctx.thread_pool().parallel_for(n_loop, flops / 10.0, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) gemm(i);
    });
  } else {
    for (int64_t i = 0; i < n_loop; ++i) gemm(i);  // few large products: sgemm threads each
  }
  return true;
}

}  // namespace ferry::ep::cpu
