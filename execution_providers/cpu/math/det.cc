// Det (11, 22): determinants of the square matrices in the last two dims of [*, M, M], by LU
// decomposition with partial pivoting in double precision (half types through it too).
#include <cmath>
#include <utility>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/nn/float_compute.h"

namespace ferry::ep::cpu {

namespace {

/// Determinant of the m x m row-major matrix `a` (destroyed).
double lu_determinant(double* a, int64_t m) {
  double det = 1;
  for (int64_t k = 0; k < m; ++k) {
    int64_t pivot = k;
    for (int64_t i = k + 1; i < m; ++i)
      if (std::abs(a[i * m + k]) > std::abs(a[pivot * m + k])) pivot = i;
    if (a[pivot * m + k] == 0) return 0;
    if (pivot != k) {
      for (int64_t j = 0; j < m; ++j) std::swap(a[k * m + j], a[pivot * m + j]);
      det = -det;
    }
    const double p = a[k * m + k];
    det *= p;
    for (int64_t i = k + 1; i < m; ++i) {
      const double f = a[i * m + k] / p;
      for (int64_t j = k + 1; j < m; ++j) a[i * m + j] -= f * a[k * m + j];
    }
  }
  return det;
}

class Det final : public Kernel {
 public:
  explicit Det(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2))
      fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must be [*, M, M] (square matrices), got " + x.describe());
    const int64_t m = x.dim(x.rank() - 1);
    const std::vector<int64_t> out_shape(x.shape().begin(), x.shape().end() - 2);
    const int64_t batch = product(out_shape);
    visit_dtype(FloatHalfTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), out_shape).template data<T>();
      ctx.thread_pool().parallel_for(batch, static_cast<double>(m * m * m), [&](int64_t b, int64_t e) {
        std::vector<double> a(static_cast<size_t>(m * m));
        for (int64_t i = b; i < e; ++i) {
          for (int64_t j = 0; j < m * m; ++j) a[static_cast<size_t>(j)] = static_cast<double>(to_compute(px[i * m * m + j]));
          py[i] = from_compute<T>(lu_determinant(a.data(), m));
        }
      });
    });
  }
};

}  // namespace

void register_det_kernels(KernelRegistry& r) {
  r.add("Det", {11, 22}, make_kernel<Det>, FloatHalfTypes::dtypes());
}

}  // namespace ferry::ep::cpu
