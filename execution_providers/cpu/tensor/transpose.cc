// Transpose for any element type (copied by size). Dims of size 1 are dropped and input dims
// that stay adjacent are merged first, so common cases reduce to a copy, a block copy with a
// contiguous inner run, or a (batched) 2-D transpose done in cache-sized tiles.
#include <algorithm>
#include <numeric>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {
namespace {

struct Collapsed {
  std::vector<int64_t> in_dims;  ///< merged input dims
  std::vector<int64_t> perm;     ///< permutation over merged dims
};

Collapsed collapse(const std::vector<int64_t>& shape, const std::vector<int64_t>& perm) {
  // Keep non-1 dims, in output order.
  std::vector<int64_t> kept;
  for (int64_t p : perm)
    if (shape[static_cast<size_t>(p)] != 1) kept.push_back(p);
  // Merge runs of consecutive input axes.
  std::vector<std::vector<int64_t>> groups;
  for (int64_t p : kept) {
    if (!groups.empty() && groups.back().back() + 1 == p) groups.back().push_back(p);
    else groups.push_back({p});
  }
  // Order the groups by input position to number them.
  std::vector<size_t> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
  Collapsed c;
  c.perm.assign(groups.size(), 0);
  for (size_t rank = 0; rank < order.size(); ++rank) {
    int64_t d = 1;
    for (int64_t p : groups[order[rank]]) d *= shape[static_cast<size_t>(p)];
    c.in_dims.push_back(d);
    c.perm[order[rank]] = static_cast<int64_t>(rank);
  }
  return c;
}

/// Inputs with at most this many rows are transposed by output rows.
constexpr int64_t kFewRows = 16;

/// out[j, i] = in[i, j] for input rows [r0, r1), in 32x32 tiles, each written output row by output
/// row (contiguous stores, strided loads in L1).
template <typename T>
void transpose_2d(const T* in, T* out, int64_t rows, int64_t cols, int64_t r0, int64_t r1) {
  constexpr int64_t kTile = 32;
  for (int64_t i0 = r0; i0 < r1; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t i1 = std::min(r1, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t j = j0; j < j1; ++j) {
        T* dst = out + j * rows;
        const T* src = in + j;
        for (int64_t i = i0; i < i1; ++i) dst[i] = src[i * cols];
      }
    }
}

/// out[j, i] = in[i, j] for output rows [c0, c1) of an input with few rows (e.g. NCHW -> NHWC with
/// 3 channels): each output row is written whole, so threads split by output rows never share a
/// cache line of the output.
template <typename T>
void transpose_few_rows(const T* in, T* out, int64_t rows, int64_t cols, int64_t c0, int64_t c1) {
  for (int64_t j = c0; j < c1; ++j) {
    T* dst = out + j * rows;
    for (int64_t i = 0; i < rows; ++i) dst[i] = in[i * cols + j];
  }
}

class Transpose final : public Kernel {
 public:
  explicit Transpose(const KernelInfo& info) : perm_(info.node().get_ints("perm")) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const size_t rank = x.rank();
    std::vector<int64_t> perm = perm_;
    if (perm.empty()) {
      perm.resize(rank);
      for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    }
    std::vector<bool> seen(rank, false);
    bool valid = perm.size() == rank;
    for (int64_t p : perm) {
      if (!valid || p < 0 || p >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(p)]) {
        valid = false;
        break;
      }
      seen[static_cast<size_t>(p)] = true;
    }
    if (!valid)
      fail(ctx, ErrorCode::kInvalidArgument,
           "perm " + shape_to_string(perm) + " is not a permutation of the dims of " + x.describe());
    std::vector<int64_t> out_shape(rank);
    for (size_t i = 0; i < rank; ++i) out_shape[i] = x.dim(static_cast<size_t>(perm[i]));
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    if (x.element_count() == 0) return;
    const Collapsed c = collapse(x.shape(), perm);
    visit_by_size(x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      run<T>(ctx, c, x.data<T>(), y.data<T>(), x.element_count());
    });
  }

 private:
  template <typename T>
  static void run(KernelContext& ctx, const Collapsed& c, const T* in, T* out, int64_t total) {
    const auto& pool = ctx.thread_pool();
    const size_t r = c.perm.size();
    bool identity = true;
    for (size_t i = 0; i < r; ++i) identity = identity && c.perm[i] == static_cast<int64_t>(i);
    if (identity) {
      pool.parallel_for(total, 1.0, [&](int64_t b, int64_t e) { std::copy(in + b, in + e, out + b); });
      return;
    }
    // (batched) 2-D: merged dims [B, R, C] -> [B, C, R] or [R, C] -> [C, R].
    if ((r == 2) || (r == 3 && c.perm[0] == 0 && c.perm[1] == 2 && c.perm[2] == 1)) {
      const int64_t batch = r == 3 ? c.in_dims[0] : 1;
      const int64_t rows = c.in_dims[r - 2], cols = c.in_dims[r - 1];
      if (rows <= kFewRows) {
        pool.parallel_for(batch * cols, static_cast<double>(rows), [&](int64_t b, int64_t e) {
          while (b < e) {
            const int64_t bi = b / cols, c0 = b % cols, c1 = std::min(cols, c0 + (e - b));
            transpose_few_rows(in + bi * rows * cols, out + bi * rows * cols, rows, cols, c0, c1);
            b += c1 - c0;
          }
        });
        return;
      }
      pool.parallel_for(batch * rows, static_cast<double>(cols), [&](int64_t b, int64_t e) {
        while (b < e) {
          const int64_t bi = b / rows, r0 = b % rows, r1 = std::min(rows, r0 + (e - b));
          transpose_2d(in + bi * rows * cols, out + bi * rows * cols, rows, cols, r0, r1);
          b += r1 - r0;
        }
      });
      return;
    }
    // General: each output line along the last output dim reads input with one stride.
    std::vector<int64_t> in_strides(r, 1);
    for (size_t i = r - 1; i-- > 0;) in_strides[i] = in_strides[i + 1] * c.in_dims[i + 1];
    std::vector<int64_t> out_dims(r), strides(r);
    for (size_t i = 0; i < r; ++i) {
      out_dims[i] = c.in_dims[static_cast<size_t>(c.perm[i])];
      strides[i] = in_strides[static_cast<size_t>(c.perm[i])];
    }
    const int64_t inner = out_dims[r - 1], inner_stride = strides[r - 1];
    const int64_t lines = total / inner;
    pool.parallel_for(lines, static_cast<double>(inner), [&](int64_t b, int64_t e) {
      std::vector<int64_t> idx(r - 1);
      int64_t rem = b, off = 0;
      for (size_t d = r - 1; d-- > 0;) {
        idx[d] = rem % out_dims[d];
        rem /= out_dims[d];
        off += idx[d] * strides[d];
      }
      for (int64_t line = b; line < e; ++line) {
        T* dst = out + line * inner;
        const T* src = in + off;
        if (inner_stride == 1) std::copy(src, src + inner, dst);
        else
          for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
        for (size_t d = r - 1; d-- > 0;) {
          off += strides[d];
          if (++idx[d] < out_dims[d]) break;
          off -= strides[d] * out_dims[d];
          idx[d] = 0;
        }
      }
    });
  }

  std::vector<int64_t> perm_;  // "perm": reversed dims when absent
};

bool supported_type(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x == nullptr || byte_addressable(x->dtype());
}

}  // namespace

void register_transpose_kernels(KernelRegistry& r) {
  r.add("Transpose", {1, 13, 21, 23, 24, 25}, make_kernel<Transpose>).supports = supported_type;
}

}  // namespace ferry::ep::cpu
