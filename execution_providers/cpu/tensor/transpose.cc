// Transpose for any element type (copied by size). Dims of size 1 are dropped and input dims
// that stay adjacent are merged first; then every permutation is a copy, a copy of contiguous
// runs (the innermost axis stays innermost), or a 2-D tile transpose of the two innermost axes
// (simd/transpose_tiles.h) repeated over the other axes, split over the intra-op pool.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/simd/transpose_tiles.h"

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

/// Calls f(i, a, b) for the linear indices i in [begin, end) of `dims` (row-major), a and b
/// being the offsets sum(idx[d] * sa[d]) and sum(idx[d] * sb[d]). Empty dims: one index, 0.
template <typename F>
void walk(const std::vector<int64_t>& dims, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb,
          int64_t begin, int64_t end, F&& f) {
  const size_t r = dims.size();
  std::vector<int64_t> idx(r);
  int64_t rem = begin, a = 0, b = 0;
  for (size_t d = r; d-- > 0;) {
    idx[d] = rem % dims[d];
    rem /= dims[d];
    a += idx[d] * sa[d];
    b += idx[d] * sb[d];
  }
  for (int64_t i = begin; i < end; ++i) {
    f(i, a, b);
    for (size_t d = r; d-- > 0;) {
      a += sa[d];
      b += sb[d];
      if (++idx[d] < dims[d]) break;
      a -= sa[d] * dims[d];
      b -= sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/// Copies n bytes, a multiple of sizeof(W), as words (runs shorter than a cache line are not
/// worth a memcpy call each).
template <typename W>
void copy_words(char* dst, const char* src, size_t n) {
  for (size_t k = 0; k < n; k += sizeof(W)) std::memcpy(dst + k, src + k, sizeof(W));
}

/// Rough cost of moving one byte (ns) for ThreadPool::parallel_for: about 10 GB/s per thread.
constexpr double kNsPerByte = 0.1;

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
    if (x.dtype() == DataType::kString) {
      move_strings(c, x.data<std::string>(), y.data<std::string>());
      return;
    }
    move_bytes(ctx, c, static_cast<const char*>(x.raw_data()), static_cast<char*>(y.raw_data()),
               x.byte_size() / static_cast<size_t>(x.element_count()), x.element_count());
  }

 private:
  /// Strings one by one, in output order.
  static void move_strings(const Collapsed& c, const std::string* in, std::string* out) {
    const size_t r = c.perm.size();
    std::vector<int64_t> in_strides(r, 1), dims(r), strides(r), unused(r, 0);
    for (size_t i = r; i-- > 1;) in_strides[i - 1] = in_strides[i] * c.in_dims[i];
    for (size_t i = 0; i < r; ++i) {
      dims[i] = c.in_dims[static_cast<size_t>(c.perm[i])];
      strides[i] = in_strides[static_cast<size_t>(c.perm[i])];
    }
    int64_t total = 1;
    for (int64_t d : dims) total *= d;
    walk(dims, strides, unused, 0, total, [&](int64_t i, int64_t a, int64_t) { out[i] = in[a]; });
  }

  /// Elements of `esize` bytes. After collapse() the permutation has no adjacent pair left; an
  /// innermost axis that stays innermost becomes part of the element (a contiguous run). Then
  /// either the runs are copied one by one in output order (long or odd-sized runs), or the input's
  /// innermost axis and the output's innermost axis form a 2-D tile transposed by
  /// simd::transpose_tile, once per index of the other axes.
  static void move_bytes(KernelContext& ctx, const Collapsed& c, const char* in, char* out, size_t esize,
                         int64_t total) {
    const auto& pool = ctx.thread_pool();
    std::vector<int64_t> in_dims = c.in_dims, perm = c.perm;
    size_t r = perm.size();
    bool identity = true;
    for (size_t i = 0; i < r; ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
    if (identity) {
      const int64_t bytes = total * static_cast<int64_t>(esize);
      pool.parallel_for(bytes, kNsPerByte, [&](int64_t b, int64_t e) { std::memcpy(out + b, in + b, e - b); });
      return;
    }
    if (perm[r - 1] == static_cast<int64_t>(r - 1)) {  // a contiguous run: fold into the element
      esize *= static_cast<size_t>(in_dims[r - 1]);
      in_dims.pop_back();
      perm.pop_back();
      --r;
    }
    std::vector<int64_t> in_strides(r, 1), out_dims(r), out_strides(r, 1);
    for (size_t i = r; i-- > 1;) in_strides[i - 1] = in_strides[i] * in_dims[i];
    for (size_t i = 0; i < r; ++i) out_dims[i] = in_dims[static_cast<size_t>(perm[i])];
    for (size_t i = r; i-- > 1;) out_strides[i - 1] = out_strides[i] * out_dims[i];
    const int64_t es = static_cast<int64_t>(esize);

    const bool tile_size = esize == 1 || esize == 2 || esize == 4 || esize == 8 || esize == 16;
    if (!tile_size) {
      std::vector<int64_t> strides(r), unused(r, 0);
      for (size_t i = 0; i < r; ++i) strides[i] = in_strides[static_cast<size_t>(perm[i])] * es;
      int64_t runs = 1;
      for (int64_t d : out_dims) runs *= d;
      pool.parallel_for(runs, static_cast<double>(esize) * kNsPerByte, [&](int64_t b, int64_t e) {
        const auto copy = [&](auto word) {
          using W = decltype(word);
          walk(out_dims, strides, unused, b, e,
               [&](int64_t i, int64_t a, int64_t) { copy_words<W>(out + i * es, in + a, esize); });
        };
        if (esize >= 64) {
          walk(out_dims, strides, unused, b, e,
               [&](int64_t i, int64_t a, int64_t) { std::memcpy(out + i * es, in + a, esize); });
        } else if (esize % 8 == 0) {
          copy(uint64_t{});
        } else if (esize % 4 == 0) {
          copy(uint32_t{});
        } else if (esize % 2 == 0) {
          copy(uint16_t{});
        } else {
          copy(uint8_t{});
        }
      });
      return;
    }

    // Tile axes: the input's innermost (cols, input stride 1) and the output's (rows).
    size_t q = 0;  // output position of the input's innermost axis
    while (perm[q] != static_cast<int64_t>(r - 1)) ++q;
    const size_t ao = static_cast<size_t>(perm[r - 1]);
    const int64_t rows = in_dims[ao], ldi = in_strides[ao], cols = in_dims[r - 1], ldo = out_strides[q];
    std::vector<int64_t> outer, outer_in, outer_out;
    for (size_t k = 0; k + 1 < r; ++k) {
      if (k == q) continue;
      outer.push_back(out_dims[k]);
      outer_in.push_back(in_strides[static_cast<size_t>(perm[k])] * es);
      outer_out.push_back(out_strides[k] * es);
    }
    int64_t batch = 1;
    for (int64_t d : outer) batch *= d;
    // Units: one outer index times a block of the longer tile side, about 16 KB or more each.
    const bool split_rows = rows >= cols;
    const int64_t longer = split_rows ? rows : cols, shorter = split_rows ? cols : rows;
    const int64_t want = (16384 / (es * shorter) + 63) / 64 * 64;
    const int64_t block = std::min(longer, std::max<int64_t>(64, want));
    const int64_t blocks = (longer + block - 1) / block;
    const double unit_cost = static_cast<double>(block * shorter * es) * kNsPerByte;
    pool.parallel_for(batch * blocks, unit_cost, [&](int64_t b, int64_t e) {
      walk(outer, outer_in, outer_out, b / blocks, (e - 1) / blocks + 1, [&](int64_t bi, int64_t ia, int64_t oa) {
        const int64_t k0 = std::max(b, bi * blocks) - bi * blocks, k1 = std::min(e, (bi + 1) * blocks) - bi * blocks;
        const int64_t lo = k0 * block, hi = std::min(longer, k1 * block);
        if (split_rows)
          simd::transpose_tile(in + ia + lo * ldi * es, ldi, out + oa + lo * es, ldo, hi - lo, cols, esize);
        else
          simd::transpose_tile(in + ia + lo * es, ldi, out + oa + lo * ldo * es, ldo, rows, hi - lo, esize);
      });
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
