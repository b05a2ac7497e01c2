// MaxPool (with optional Indices), AveragePool and GlobalAveragePool over any number of spatial
// dims. Each (image, channel) plane is an independent task on the thread pool. 1-D and 2-D pools
// take a direct loop over precomputed in-bounds window ranges; 3-D and up use a generic walk.
#include <limits>
#include <type_traits>
#include <utility>

#include "execution_providers/conv_pool_attributes.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"
#include "execution_providers/cpu/nn/pool_rows.h"
#include "execution_providers/cpu/nn/window.h"

namespace ferry::ep::cpu {
namespace {

using MaxPoolTypes = Types<float, double, int8_t, uint8_t>;

/// Calls visit(out_index, window) for every output position of one plane, where window(fn)
/// calls fn(in_index, spatial_index...) — here flattened: fn(in_index, in_bounds) for every
/// window position (in_bounds false for padding positions inside the padded extent).
template <typename Visit>
void for_each_window(const SpatialGeometry& g, Visit&& visit) {
  const size_t nd = g.in.size();
  std::vector<int64_t> o(nd, 0), k(nd, 0), start(nd);
  const int64_t out_size = g.out_size(), ksize = g.kernel_size();
  for (int64_t out = 0; out < out_size; ++out) {
    for (size_t d = 0; d < nd; ++d) start[d] = o[d] * g.stride[d] - g.pad_begin[d];
    visit(out, [&](auto&& fn) {
      std::fill(k.begin(), k.end(), 0);
      for (int64_t kk = 0; kk < ksize; ++kk) {
        int64_t idx = 0;
        bool inside = true, in_padded = true;
        for (size_t d = 0; d < nd; ++d) {
          const int64_t i = start[d] + k[d] * g.dilation[d];
          if (i < 0 || i >= g.in[d]) inside = false;
          if (i >= g.in[d] + g.pad_end[d]) in_padded = false;
          idx = idx * g.in[d] + i;
        }
        fn(inside ? idx : int64_t(-1), in_padded);
        for (size_t d = nd; d-- > 0;) {
          if (++k[d] < g.kernel[d]) break;
          k[d] = 0;
        }
      }
    });
    for (size_t d = nd; d-- > 0;) {
      if (++o[d] < g.out[d]) break;
      o[d] = 0;
    }
  }
}

/// Row-major flat index -> column-major flat index over dims (MaxPool storage_order 1).
inline int64_t to_column_major(int64_t idx, const std::vector<int64_t>& dims) {
  int64_t out = 0, stride = 1;
  std::vector<int64_t> sub(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    sub[d] = idx % dims[d];
    idx /= dims[d];
  }
  for (size_t d = 0; d < dims.size(); ++d) {
    out += sub[d] * stride;
    stride *= dims[d];
  }
  return out;
}

enum class PoolKind { kMax, kAverage };

/// One (image, channel) plane of a 2-D pool (1-D pools run as 2-D with height 1).
template <PoolKind kind, typename T>
void pool_plane_2d(const T* x, T* y, int64_t* indices, int64_t index_base, const SpatialGeometry& g,
                   const std::vector<WindowRange>& rows, const std::vector<WindowRange>& cols,
                   bool include_pad, bool col_major) {
  const int64_t h_in = g.in[0], w_in = g.in[1], dh = g.dilation[0], dw = g.dilation[1];
  for (size_t oh = 0; oh < rows.size(); ++oh) {
    const WindowRange& rh = rows[oh];
    for (size_t ow = 0; ow < cols.size(); ++ow) {
      const WindowRange& rw = cols[ow];
      if constexpr (kind == PoolKind::kMax) {
        T best = std::numeric_limits<T>::lowest();
        int64_t best_h = -1, best_w = 0;
        for (int64_t kh = rh.lo; kh < rh.hi; ++kh) {
          const int64_t h = rh.start + kh * dh;
          const T* row = x + h * w_in;
          for (int64_t kw = rw.lo; kw < rw.hi; ++kw) {
            const int64_t w = rw.start + kw * dw;
            if (best_h < 0 || row[w] > best) {
              best = row[w];
              best_h = h;
              best_w = w;
            }
          }
        }
        *y++ = best;
        if (indices != nullptr)
          *indices++ = index_base + (best_h < 0 ? 0 : col_major ? best_h + best_w * h_in : best_h * w_in + best_w);
      } else {
        T sum = 0;
        for (int64_t kh = rh.lo; kh < rh.hi; ++kh) {
          const T* row = x + (rh.start + kh * dh) * w_in;
          for (int64_t kw = rw.lo; kw < rw.hi; ++kw) sum += row[rw.start + kw * dw];
        }
        const int64_t count = include_pad ? rh.pad_hi * rw.pad_hi : (rh.hi - rh.lo) * (rw.hi - rw.lo);
        *y++ = count > 0 ? sum / static_cast<T>(count) : T(0);
      }
    }
  }
}

/// One float (image, channel) plane of a 2-D pool without Indices, row by row: the output
/// columns whose window lies wholly inside the input ([c0, c1)) accumulate one kernel column
/// at a time over the whole run (pool_rows.h); the border columns walk their in-bounds
/// window. Same results as pool_plane_2d (which it replaces for float), except that a NaN is
/// never taken as the maximum. `acc` holds cols.size() floats.
template <PoolKind kind>
void pool_plane_2d_rows(const float* x, float* y, const SpatialGeometry& g, const std::vector<WindowRange>& rows,
                        const std::vector<WindowRange>& cols, int64_t c0, int64_t c1, bool include_pad, float* acc) {
  const int64_t w_in = g.in[1], dh = g.dilation[0], dw = g.dilation[1], sw = g.stride[1], kw_size = g.kernel[1];
  const int64_t ow_size = static_cast<int64_t>(cols.size());
  constexpr float init = kind == PoolKind::kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
  for (size_t oh = 0; oh < rows.size(); ++oh) {
    const WindowRange& rh = rows[oh];
    std::fill(acc, acc + ow_size, init);
    for (int64_t kh = rh.lo; kh < rh.hi; ++kh) {
      const float* row = x + (rh.start + kh * dh) * w_in;
      auto border = [&](int64_t ow) {
        const WindowRange& rw = cols[static_cast<size_t>(ow)];
        float a = acc[ow];
        for (int64_t kw = rw.lo; kw < rw.hi; ++kw) {
          const float v = row[rw.start + kw * dw];
          if constexpr (kind == PoolKind::kMax)
            a = v > a ? v : a;
          else
            a += v;
        }
        acc[ow] = a;
      };
      for (int64_t ow = 0; ow < c0; ++ow) border(ow);
      for (int64_t ow = c1; ow < ow_size; ++ow) border(ow);
      if (c1 > c0) {
        const float* base = row + cols[static_cast<size_t>(c0)].start;
        for (int64_t kw = 0; kw < kw_size; ++kw) {
          if constexpr (kind == PoolKind::kMax)
            pool_max_row(acc + c0, base + kw * dw, c1 - c0, sw);
          else
            pool_add_row(acc + c0, base + kw * dw, c1 - c0, sw);
        }
      }
    }
    for (int64_t ow = 0; ow < ow_size; ++ow) {
      const WindowRange& rw = cols[static_cast<size_t>(ow)];
      if constexpr (kind == PoolKind::kMax) {
        // A window wholly in the padding gives lowest(), as pool_plane_2d does.
        y[ow] = rh.hi > rh.lo && rw.hi > rw.lo ? acc[ow] : std::numeric_limits<float>::lowest();
      } else {
        const int64_t count = include_pad ? rh.pad_hi * rw.pad_hi : (rh.hi - rh.lo) * (rw.hi - rw.lo);
        y[ow] = count > 0 ? acc[ow] / static_cast<float>(count) : 0.0f;
      }
    }
    y += ow_size;
  }
}

/// [c0, c1): the output columns whose whole window is inside the input, in one run.
std::pair<int64_t, int64_t> interior_columns(const SpatialGeometry& g, const std::vector<WindowRange>& cols) {
  const int64_t n = static_cast<int64_t>(cols.size());
  int64_t c0 = 0;
  while (c0 < n && !(cols[static_cast<size_t>(c0)].lo == 0 && cols[static_cast<size_t>(c0)].hi == g.kernel[1])) ++c0;
  int64_t c1 = c0;
  while (c1 < n && cols[static_cast<size_t>(c1)].lo == 0 && cols[static_cast<size_t>(c1)].hi == g.kernel[1]) ++c1;
  return {c0, c1};
}

/// The 2-D view of a 1-D or 2-D geometry (height 1 for 1-D); nullopt-like empty for 3-D+.
inline bool as_2d(const SpatialGeometry& g, SpatialGeometry& out) {
  if (g.in.size() == 2) {
    out = g;
    return true;
  }
  if (g.in.size() != 1) return false;
  auto lift = [](const std::vector<int64_t>& v, int64_t first) { return std::vector<int64_t>{first, v[0]}; };
  out.in = lift(g.in, 1);
  out.kernel = lift(g.kernel, 1);
  out.stride = lift(g.stride, 1);
  out.dilation = lift(g.dilation, 1);
  out.pad_begin = lift(g.pad_begin, 0);
  out.pad_end = lift(g.pad_end, 0);
  out.out = lift(g.out, 1);
  return true;
}

/// Every plane through pool_plane_2d_rows on the thread pool.
template <PoolKind kind>
void run_rows_2d(KernelContext& ctx, const float* px, float* py, int64_t planes, double cost, const SpatialGeometry& g,
                 const std::vector<WindowRange>& rows, const std::vector<WindowRange>& cols, bool include_pad) {
  const auto [c0, c1] = interior_columns(g, cols);
  const int64_t in_size = g.in_size(), out_size = g.out_size();
  ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
    std::vector<float> acc(cols.size());
    for (int64_t p = p0; p < p1; ++p)
      pool_plane_2d_rows<kind>(px + p * in_size, py + p * out_size, g, rows, cols, c0, c1, include_pad, acc.data());
  });
}

template <PoolKind kind>
class Pool final : public Kernel {
 public:
  explicit Pool(const KernelInfo& info) : attrs_(info.node()), opset_(info.opset()) {
    if (attrs_.kernel_shape.empty()) fail_model(info, "missing required attribute 'kernel_shape'");
    // Attributes that did not exist yet in the node's opset are ignored, as the spec defines
    // them only from that version on.
    if (kind == PoolKind::kAverage && opset_ < 19) attrs_.dilations.clear();
    if (opset_ < 10) attrs_.ceil_mode = false;
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 3)
      fail(ctx, ErrorCode::kInvalidArgument, "X must have rank >= 3, got " + x.describe());
    const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    const SpatialGeometry g = resolve_geometry(attrs_, in, attrs_.kernel_shape, attrs_.ceil_mode, ctx.node());
    std::vector<int64_t> y_shape = {x.dim(0), x.dim(1)};
    y_shape.insert(y_shape.end(), g.out.begin(), g.out.end());
    const int64_t planes = x.dim(0) * x.dim(1), in_size = g.in_size(), out_size = g.out_size();
    const double cost = static_cast<double>(out_size * g.kernel_size());

    if constexpr (kind == PoolKind::kMax) {
      visit_dtype(MaxPoolTypes{}, x.dtype(), "input", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* px = x.data<T>();
        T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
        int64_t* pi = nullptr;
        if (ctx.output_count() > 1 && ctx.output_wanted(1))
          pi = ctx.allocate_output(1, DataType::kInt64, y_shape).template data<int64_t>();
        const bool col_major = attrs_.storage_order != 0;
        SpatialGeometry g2;
        if (as_2d(g, g2)) {
          const auto rows = window_ranges(g2, 0), cols = window_ranges(g2, 1);
          if constexpr (std::is_same_v<T, float>) {
            if (pi == nullptr) {
              run_rows_2d<PoolKind::kMax>(ctx, px, py, planes, cost, g2, rows, cols, false);
              return;
            }
          }
          ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p)
              pool_plane_2d<PoolKind::kMax>(px + p * in_size, py + p * out_size, pi ? pi + p * out_size : nullptr,
                                            p * in_size, g2, rows, cols, false, col_major);
          });
          return;
        }
        ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) {
            const T* xp = px + p * in_size;
            for_each_window(g, [&](int64_t o, auto&& window) {
              T best = std::numeric_limits<T>::lowest();
              int64_t best_idx = -1;
              window([&](int64_t idx, bool) {
                if (idx >= 0 && (best_idx < 0 || xp[idx] > best)) {
                  best = xp[idx];
                  best_idx = idx;
                }
              });
              py[p * out_size + o] = best;
              if (pi != nullptr)
                pi[p * out_size + o] =
                    p * in_size + (best_idx < 0 ? 0 : col_major ? to_column_major(best_idx, g.in) : best_idx);
            });
          }
        });
      });
    } else {
      visit_dtype(FloatTypes{}, x.dtype(), "input", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* px = x.data<T>();
        T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
        const bool include_pad = attrs_.count_include_pad;
        SpatialGeometry g2;
        if (as_2d(g, g2)) {
          const auto rows = window_ranges(g2, 0), cols = window_ranges(g2, 1);
          if constexpr (std::is_same_v<T, float>) {
            run_rows_2d<PoolKind::kAverage>(ctx, px, py, planes, cost, g2, rows, cols, include_pad);
            return;
          }
          ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
            for (int64_t p = p0; p < p1; ++p)
              pool_plane_2d<PoolKind::kAverage>(px + p * in_size, py + p * out_size, nullptr, 0, g2, rows, cols,
                                                include_pad, false);
          });
          return;
        }
        ctx.thread_pool().parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) {
            const T* xp = px + p * in_size;
            for_each_window(g, [&](int64_t o, auto&& window) {
              T sum = 0;
              int64_t count = 0;
              window([&](int64_t idx, bool in_padded) {
                if (idx >= 0) sum += xp[idx];
                if (idx >= 0 || (include_pad && in_padded)) ++count;
              });
              py[p * out_size + o] = count > 0 ? sum / static_cast<T>(count) : T(0);
            });
          }
        });
      });
    }
  }

 private:
  ConvPoolAttributes attrs_;
  int64_t opset_;
};

/// MaxPool's int8/uint8 inputs exist from opset 12.
bool max_pool_supports(const ir::Node& node, int64_t opset) {
  const ir::Value* x = node.input(0);
  return opset >= 12 || x == nullptr || dtype_is_float(x->dtype()) || x->dtype() == DataType::kUndefined;
}

class GlobalAveragePool final : public Kernel {
 public:
  explicit GlobalAveragePool(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.rank() < 3)
      fail(ctx, ErrorCode::kInvalidArgument, "X must have rank >= 3, got " + x.describe());
    std::vector<int64_t> y_shape(x.rank(), 1);
    y_shape[0] = x.dim(0);
    y_shape[1] = x.dim(1);
    const int64_t planes = x.dim(0) * x.dim(1), size = product(x.shape(), 2, x.rank());
    visit_dtype(FloatTypes{}, x.dtype(), "input", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), y_shape).template data<T>();
      ctx.thread_pool().parallel_for(planes, static_cast<double>(size), [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          T sum = 0;
          for (int64_t i = 0; i < size; ++i) sum += px[p * size + i];
          py[p] = size > 0 ? sum / static_cast<T>(size) : T(0);
        }
      });
    });
  }
};

}  // namespace

void register_channels_last_pool_kernels(KernelRegistry& r);  // nn/pool_channels_last.cc

void register_pool_kernels(KernelRegistry& r) {
  register_channels_last_pool_kernels(r);
  r.add("MaxPool", {1, 8, 10, 11, 12, 22}, make_kernel<Pool<PoolKind::kMax>>, MaxPoolTypes::dtypes())
      .supports = max_pool_supports;
  r.add("AveragePool", {7, 10, 11, 19, 22}, make_kernel<Pool<PoolKind::kAverage>>, FloatTypes::dtypes());
  r.add("GlobalAveragePool", {1, 22}, make_kernel<GlobalAveragePool>, FloatTypes::dtypes());
}

}  // namespace ferry::ep::cpu
