// Einsum: explicit ("ij,jk->ik") and implicit ("ij,jk") outputs, repeated labels (diagonals,
// traces), ellipsis broadcasting and any number of operands. Each operand is first reduced on
// its own (diagonals taken, labels no one else needs summed out); operands are then contracted
// left to right, each pair as transposes into [batch, free, contracted] layouts and a batched
// Eigen GEMM; a final transpose gives the output's label order. Two float operands that need no
// gathering go to oneDNN sgemm on their own memory instead (einsum_gemm.h).
#include <Eigen/Core>
#include <array>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/nn/einsum_gemm.h"
#include "execution_providers/cpu/nn/float_compute.h"
#include "execution_providers/cpu/nn/nn_ext.h"

namespace ferry::ep::cpu {
namespace {

using EinsumTypes = Types<float, double, Float16, BFloat16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t,
                          int64_t, uint64_t>;

constexpr int kEllipsisBase = 52;  // labels 0-51 are letters; ellipsis dims follow
constexpr int kMaxLabels = 52 + 64;

/// One term of the equation: letter labels, with the ellipsis position (-1: none).
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;
};

int label_of(char c) { return c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? 26 + (c - 'A') : -1; }

Term parse_term(const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "...") == 0) {
      if (t.ellipsis_at >= 0)
        throw Error(ErrorCode::kInvalidModel, "term '" + s + "' has more than one ellipsis");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
      continue;
    }
    const int l = label_of(s[i]);
    if (l < 0) throw Error(ErrorCode::kInvalidModel, "invalid character '" + s.substr(i, 1) + "' in equation");
    t.letters.push_back(l);
  }
  return t;
}

/// A dense operand with one label per dim (labels unique after reduce_operand).
template <typename C> struct Operand {
  std::vector<int> labels;
  std::vector<int64_t> dims;
  std::vector<C> data;
};

/// Gathers `src` (labels/dims) into a new contiguous operand with dims in `order`; a label the
/// source lacks or holds with size 1 is broadcast to `sizes[label]`.
template <typename C>
std::vector<C> gather(const Operand<C>& src, const std::vector<int>& order, const std::array<int64_t, kMaxLabels>& sizes) {
  std::vector<int64_t> sstride(src.dims.size(), 1);
  for (size_t d = src.dims.size(); d-- > 1;) sstride[d - 1] = sstride[d] * src.dims[d];
  std::vector<int64_t> dims(order.size()), stride(order.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) {
    dims[i] = sizes[static_cast<size_t>(order[i])];
    for (size_t d = 0; d < src.labels.size(); ++d)
      if (src.labels[d] == order[i] && src.dims[d] != 1) stride[i] = sstride[d];
  }
  const int64_t n = product(dims);
  std::vector<C> out(static_cast<size_t>(n));
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    out[static_cast<size_t>(k)] = src.data[static_cast<size_t>(off)];
    for (size_t d = dims.size(); d-- > 0;) {
      off += stride[d];
      if (++idx[d] < dims[d]) break;
      off -= stride[d] * dims[d];
      idx[d] = 0;
    }
  }
  return out;
}

class Einsum final : public Kernel {
 public:
  explicit Einsum(const KernelInfo& info) {
    std::string eq;
    for (char c : info.node().get_string("equation", "")) if (c != ' ') eq += c;
    const size_t arrow = eq.find("->");
    explicit_ = arrow != std::string::npos;
    const std::string lhs = explicit_ ? eq.substr(0, arrow) : eq;
    size_t start = 0;
    while (true) {
      const size_t comma = lhs.find(',', start);
      inputs_.push_back(parse_term(lhs.substr(start, comma - start)));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (explicit_) output_ = parse_term(eq.substr(arrow + 2));
  }

  void compute(KernelContext& ctx) const override {
    if (ctx.input_count() != inputs_.size())
      fail(ctx, ErrorCode::kInvalidArgument, "the equation has " + std::to_string(inputs_.size()) + " operands but " +
                                                 std::to_string(ctx.input_count()) + " inputs are given");
    const Tensor& x0 = ctx.required_input(0);
    visit_dtype(EinsumTypes{}, x0.dtype(), "input", [&](auto tag) { run<typename decltype(tag)::type>(ctx); });
  }

 private:
  template <typename T>
  void run(KernelContext& ctx) const {
    using C = std::conditional_t<kIsHalf<T>, float, T>;
    const size_t n_in = inputs_.size();
    // Labels of every input dim, ellipsis dims right-aligned across inputs.
    int64_t ell_rank = 0;
    for (size_t i = 0; i < n_in; ++i) {
      const Tensor& t = ctx.required_input(i);
      const int64_t extra = static_cast<int64_t>(t.rank()) - static_cast<int64_t>(inputs_[i].letters.size());
      if (extra < 0 || (extra > 0 && inputs_[i].ellipsis_at < 0))
        fail(ctx, ErrorCode::kInvalidArgument, "input " + std::to_string(i) + " " + t.describe() +
                                                   " does not match its equation term's rank");
      ell_rank = std::max(ell_rank, extra);
    }
    if (ell_rank > kMaxLabels - kEllipsisBase) fail(ctx, ErrorCode::kInvalidArgument, "ellipsis covers too many dims");
    std::array<int64_t, kMaxLabels> sizes;
    sizes.fill(-1);
    std::array<int, kMaxLabels> count{};
    std::vector<std::vector<int>> in_labels(n_in);
    for (size_t i = 0; i < n_in; ++i) {
      const Tensor& t = ctx.required_input(i);
      if (t.dtype() != ctx.required_input(0).dtype())
        fail(ctx, ErrorCode::kInvalidArgument, "all inputs must have the same element type, got " + t.describe());
      const Term& term = inputs_[i];
      const int64_t extra = static_cast<int64_t>(t.rank()) - static_cast<int64_t>(term.letters.size());
      for (size_t k = 0; k < term.letters.size(); ++k) {
        if (static_cast<int>(k) == term.ellipsis_at)
          for (int64_t e = 0; e < extra; ++e) in_labels[i].push_back(kEllipsisBase + static_cast<int>(ell_rank - extra + e));
        in_labels[i].push_back(term.letters[k]);
      }
      if (term.ellipsis_at == static_cast<int>(term.letters.size()))
        for (int64_t e = 0; e < extra; ++e) in_labels[i].push_back(kEllipsisBase + static_cast<int>(ell_rank - extra + e));
      for (size_t d = 0; d < in_labels[i].size(); ++d) {
        const size_t l = static_cast<size_t>(in_labels[i][d]);
        const int64_t s = t.dim(d);
        if (sizes[l] < 0 || sizes[l] == 1) sizes[l] = s;
        else if (s != sizes[l] && s != 1)
          fail(ctx, ErrorCode::kInvalidArgument, "dimension sizes " + std::to_string(sizes[l]) + " and " +
                                                     std::to_string(s) + " of one label disagree (input " +
                                                     std::to_string(i) + " " + t.describe() + ")");
        ++count[l];
      }
    }
    // Output labels.
    std::vector<int> out_labels;
    if (explicit_) {
      for (size_t k = 0; k <= output_.letters.size(); ++k) {
        if (static_cast<int>(k) == output_.ellipsis_at)
          for (int64_t e = 0; e < ell_rank; ++e) out_labels.push_back(kEllipsisBase + static_cast<int>(e));
        if (k < output_.letters.size()) out_labels.push_back(output_.letters[k]);
      }
      for (int l : out_labels)
        if (sizes[static_cast<size_t>(l)] < 0)
          fail(ctx, ErrorCode::kInvalidArgument, "output label does not appear in any input");
    } else {
      for (int64_t e = 0; e < ell_rank; ++e) out_labels.push_back(kEllipsisBase + static_cast<int>(e));
      // Letters used once, in character order (uppercase sorts before lowercase).
      for (int l = 26; l < 52; ++l) if (count[static_cast<size_t>(l)] == 1) out_labels.push_back(l);
      for (int l = 0; l < 26; ++l) if (count[static_cast<size_t>(l)] == 1) out_labels.push_back(l);
    }
    std::vector<int64_t> out_dims;
    for (int l : out_labels) out_dims.push_back(sizes[static_cast<size_t>(l)]);
    if constexpr (std::is_same_v<T, float>)
      if (n_in == 2 && einsum_gemm(ctx, ctx.required_input(0), in_labels[0], ctx.required_input(1), in_labels[1],
                                   out_labels, out_dims))
        return;
    std::array<bool, kMaxLabels> in_out{};
    for (int l : out_labels) in_out[static_cast<size_t>(l)] = true;

    // Operand-local reduction: unique labels, summing labels no one else needs.
    std::vector<Operand<C>> ops;
    for (size_t i = 0; i < n_in; ++i) {
      const Tensor& t = ctx.required_input(i);
      std::array<int, kMaxLabels> others{};
      for (size_t j = 0; j < n_in; ++j)
        if (j != i)
          for (int l : in_labels[j]) others[static_cast<size_t>(l)] = 1;
      ops.push_back(reduce_operand<T, C>(t, in_labels[i], [&](int l) {
        return in_out[static_cast<size_t>(l)] || others[static_cast<size_t>(l)];
      }));
    }
    // Pairwise contraction.
    Operand<C> acc = std::move(ops[0]);
    for (size_t i = 1; i < n_in; ++i) {
      std::array<bool, kMaxLabels> keep = in_out;
      for (size_t j = i + 1; j < n_in; ++j)
        for (int l : ops[j].labels) keep[static_cast<size_t>(l)] = true;
      acc = contract(ctx, acc, ops[i], keep, sizes);
    }
    Tensor& y = ctx.allocate_output(0, ctx.required_input(0).dtype(), out_dims);
    // Labels summed in no step (a single operand's labels that are in no output) were summed in
    // reduce_operand; what is left are exactly the output labels.
    const std::vector<C> res = gather(acc, out_labels, sizes);
    T* py = y.data<T>();
    for (size_t k = 0; k < res.size(); ++k) py[k] = from_compute<T>(res[k]);
  }

  /// Takes diagonals of repeated labels and sums labels for which `needed` is false.
  template <typename T, typename C, typename Needed>
  static Operand<C> reduce_operand(const Tensor& t, const std::vector<int>& labels, Needed needed) {
    Operand<C> r;
    std::vector<int> summed;
    std::vector<int64_t> kept_dims, summed_dims;
    for (size_t d = 0; d < labels.size(); ++d) {
      const int l = labels[d];
      bool seen = false;
      for (size_t e = 0; e < d; ++e) seen = seen || labels[e] == l;
      if (seen) continue;
      if (needed(l)) {
        r.labels.push_back(l);
        r.dims.push_back(t.dim(d));
      } else {
        summed.push_back(l);
        summed_dims.push_back(t.dim(d));
      }
    }
    std::vector<int64_t> stride(labels.size(), 1);
    for (size_t d = labels.size(); d-- > 1;) stride[d - 1] = stride[d] * t.dim(d);
    // Stride of each unique label = sum of the strides of its dims (diagonal walk).
    auto label_stride = [&](int l) {
      int64_t s = 0;
      for (size_t d = 0; d < labels.size(); ++d) if (labels[d] == l) s += stride[d];
      return s;
    };
    std::vector<int64_t> ks, ss;
    for (int l : r.labels) ks.push_back(label_stride(l));
    for (int l : summed) ss.push_back(label_stride(l));
    const int64_t n_out = product(r.dims), n_sum = product(summed_dims);
    r.data.assign(static_cast<size_t>(n_out), C(0));
    const T* px = t.data<T>();
    std::vector<int64_t> oi(r.dims.size(), 0), si(summed_dims.size(), 0);
    int64_t ooff = 0;
    for (int64_t o = 0; o < n_out; ++o) {
      C sum = C(0);
      std::fill(si.begin(), si.end(), 0);
      int64_t soff = 0;
      for (int64_t s = 0; s < n_sum; ++s) {
        sum = static_cast<C>(sum + static_cast<C>(to_compute(px[ooff + soff])));
        for (size_t d = si.size(); d-- > 0;) {
          soff += ss[d];
          if (++si[d] < summed_dims[d]) break;
          soff -= ss[d] * summed_dims[d];
          si[d] = 0;
        }
      }
      r.data[static_cast<size_t>(o)] = sum;
      for (size_t d = oi.size(); d-- > 0;) {
        ooff += ks[d];
        if (++oi[d] < r.dims[d]) break;
        ooff -= ks[d] * r.dims[d];
        oi[d] = 0;
      }
    }
    return r;
  }

  template <typename C>
  static Operand<C> contract(const KernelContext& ctx, const Operand<C>& a, const Operand<C>& b,
                             const std::array<bool, kMaxLabels>& keep, const std::array<int64_t, kMaxLabels>& sizes) {
    auto has = [](const Operand<C>& o, int l) { return std::find(o.labels.begin(), o.labels.end(), l) != o.labels.end(); };
    std::vector<int> batch, a_only, b_only, summed;
    for (int l : a.labels) {
      if (has(b, l)) (keep[static_cast<size_t>(l)] ? batch : summed).push_back(l);
      else a_only.push_back(l);
    }
    for (int l : b.labels)
      if (!has(a, l)) b_only.push_back(l);
    auto size_of = [&](const std::vector<int>& ls) {
      int64_t p = 1;
      for (int l : ls) p *= sizes[static_cast<size_t>(l)];
      return p;
    };
    const int64_t nb = size_of(batch), m = size_of(a_only), k = size_of(summed), n = size_of(b_only);
    const double limit = static_cast<double>(Tensor::max_allocation_bytes()) / sizeof(C);
    const double dnb = static_cast<double>(nb), dm = static_cast<double>(m), dk = static_cast<double>(k),
                 dn = static_cast<double>(n);
    if (dnb * dm * dn > limit || dnb * dm * dk > limit || dnb * dk * dn > limit)
      fail(ctx, ErrorCode::kInvalidArgument, "an intermediate product is larger than the allocation limit");
    std::vector<int> a_order = batch, b_order = batch;
    a_order.insert(a_order.end(), a_only.begin(), a_only.end());
    a_order.insert(a_order.end(), summed.begin(), summed.end());
    b_order.insert(b_order.end(), summed.begin(), summed.end());
    b_order.insert(b_order.end(), b_only.begin(), b_only.end());
    const std::vector<C> ga = gather(a, a_order, sizes), gb = gather(b, b_order, sizes);
    Operand<C> r;
    r.labels = batch;
    r.labels.insert(r.labels.end(), a_only.begin(), a_only.end());
    r.labels.insert(r.labels.end(), b_only.begin(), b_only.end());
    for (int l : r.labels) r.dims.push_back(sizes[static_cast<size_t>(l)]);
    r.data.assign(static_cast<size_t>(nb * m * n), C(0));
    using Mat = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    ctx.thread_pool().parallel_for(nb, static_cast<double>(m * n * k), [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) {
        Eigen::Map<const Mat> am(ga.data() + i * m * k, m, k);
        Eigen::Map<const Mat> bm(gb.data() + i * k * n, k, n);
        Eigen::Map<Mat> cm(r.data.data() + i * m * n, m, n);
        if (k > 0) cm.noalias() = am * bm;
      }
    });
    return r;
  }

  std::vector<Term> inputs_;
  Term output_;
  bool explicit_ = false;
};

}  // namespace

void register_einsum_kernels(KernelRegistry& r) {
  r.add("Einsum", {12, 28}, make_kernel<Einsum>, EinsumTypes::dtypes());
}

}  // namespace ferry::ep::cpu
