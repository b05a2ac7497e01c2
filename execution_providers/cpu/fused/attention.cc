// CPU kernels of the ferry attention ops (ir/ferry_schemas_attention.cc). ferry.RotaryEmbedding
// is ai.onnx RotaryEmbedding-23's kernel for older opsets. ferry.MultiHeadAttention: the unfused
// MatMul(Softmax(scale * Q·K^T + bias), V) with numpy broadcasting of every leading dim, an
// optional key/value cache concatenated before K and V, bottom-right causal masking, the SDPA
// export's NaN-to-zero on the probabilities, and Q, K, V, Y in [B, H, S, D] or [B, S, H, D].
//
// Float (the fast paths): each (batch, head, block of query rows) is one task on the thread
// pool. On CPUs with AVX-512, queries of 9 rows or more run in blocks of at most 32 rows,
// register-tiled (fused/attention_tiles.h: scores kept transposed, K and V read in place, the
// same steps as below). Otherwise Q, K, V, Y, and the key/value cache are read and written in
// place through oneDNN's dnnl_sgemm with leading dimensions (no per-head copies): scores =
// scale * Q·K^T (cache columns
// first, then the new keys), then bias, causal mask and softmax (simd/vmath.h) per row, then
// Y = P·V (cache rows, then the new ones, accumulated). The softmax's division by each row's sum
// is applied to that row of Y (Dv values, not `keys`), except under NaN-to-zero, which needs P.
// Under causal masking a block computes only the key columns its last row can see. Double, and a
// query whose sequence broadcasts up to the bias's, take the generic path: one task per (batch,
// head), which copies its Q, K, V rows and multiplies them with dnnl_sgemm (float) or Eigen
// (double).
#include <Eigen/Core>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "execution_providers/cpu/attention/attention.h"
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/fused/attention_tiles.h"
#include "execution_providers/cpu/fused/fused.h"
#include "execution_providers/cpu/simd/vmath.h"

namespace ferry::ep::cpu {
namespace {

struct MultiHeadAttentionAttributes {
  float scale = 0.0f;         // 0: 1/sqrt(head size)
  bool is_causal = false;     // 0
  bool nan_to_zero = false;   // softmax_nan_to_zero = 0
  // query_layout, key_layout, value_layout, output_layout: "BHSD" (default) or "BSHD".
  bool bshd[4] = {false, false, false, false};

  explicit MultiHeadAttentionAttributes(const KernelInfo& info) {
    const ir::Node& n = info.node();
    scale = n.get_float("scale", 0.0f);
    is_causal = n.get_int("is_causal", 0) != 0;
    nan_to_zero = n.get_int("softmax_nan_to_zero", 0) != 0;
    if (!std::isfinite(scale)) fail_model(info, "attribute 'scale' must be finite, got " + std::to_string(scale));
    const char* names[4] = {"query_layout", "key_layout", "value_layout", "output_layout"};
    for (int i = 0; i < 4; ++i) {
      const std::string layout = n.get_string(names[i], "BHSD");
      if (layout != "BHSD" && layout != "BSHD")
        fail_model(info, std::string("attribute '") + names[i] + "' must be \"BHSD\" or \"BSHD\", got \"" + layout + "\"");
      bshd[i] = layout == "BSHD";
    }
  }
};

/// A 4-D tensor of heads in either layout: [batch, heads, seq, size] or [batch, seq, heads, size].
struct Heads {
  int64_t batch = 0, heads = 0, seq = 0, size = 0;
  bool bshd = false;
  Heads(const std::vector<int64_t>& shape, bool bshd_layout)
      : batch(shape[0]), heads(shape[bshd_layout ? 2 : 1]), seq(shape[bshd_layout ? 1 : 2]), size(shape[3]),
        bshd(bshd_layout) {}
  /// Offset (elements) of row s of head h in batch b.
  int64_t row(int64_t b, int64_t h, int64_t s) const {
    return (bshd ? (b * seq + s) * heads + h : (b * heads + h) * seq + s) * size;
  }
  /// Elements between rows s and s + 1 of one head.
  int64_t stride() const { return bshd ? heads * size : size; }
};

/// numpy broadcast of two dims; 0 when they do not broadcast.
int64_t broadcast_dim(int64_t a, int64_t b) { return a == b || b == 1 ? a : (a == 1 ? b : 0); }
/// Index into a dim of size `n` for the broadcast index `i`.
int64_t at(int64_t n, int64_t i) { return n == 1 ? 0 : i; }

/// One task of the float paths: batch b, head h, query rows [i0, i0 + m), and the keys they
/// read, [0, cols) (causal: row i sees keys j <= i + total - S, so keys past the block's last
/// row's are skipped). Tasks are numbered (batch, head, block), blocks of `rows` query rows.
struct TaskBlock {
  int64_t b, h, i0, m, cols;
};
TaskBlock task_block(int64_t task, int64_t blocks, int64_t rows, int64_t heads, int64_t S, int64_t total,
                     bool causal) {
  const int64_t bh = task / blocks, i0 = (task % blocks) * rows, m = std::min(S, i0 + rows) - i0;
  int64_t cols = total;
  if (causal) {
    const int64_t last = i0 + m - 1 + total - S;
    if (last >= 0 && last + 1 < total) cols = last + 1;
  }
  return {bh / heads, bh % heads, i0, m, cols};
}

/// Query rows per task of the float path: up to 256 (fewer GEMM calls, each packing K and V
/// again), 64 under causal masking (finer blocks skip more hidden keys), halved down to 32 while
/// a block's scores exceed 1 MiB or there are fewer than about four tasks per thread. The rows
/// are then spread evenly over that many blocks (197 rows: 50, 50, 50, 47, not 64, 64, 64, 5),
/// so that tasks, and the pool's chunks of them, cost alike.
int64_t query_rows_per_task(int64_t seq, int64_t keys, int64_t heads, int threads, bool causal) {
  int64_t rows = causal ? 64 : 256;
  while (rows > 32 && (rows * keys > 262144 || heads * ((seq + rows - 1) / rows) < 4 * static_cast<int64_t>(threads)))
    rows /= 2;
  const int64_t blocks = std::max<int64_t>(1, (seq + rows - 1) / rows);
  return std::max<int64_t>(1, (seq + blocks - 1) / blocks);
}

/// C = alpha op(A) op(B) + beta C, row-major, with oneDNN's sgemm; an error names the node when it fails.
void sgemm(const KernelContext& ctx, char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) != dnnl_success)
    fail(ctx, ErrorCode::kRuntime, "oneDNN sgemm failed for [" + std::to_string(m) + ", " + std::to_string(k) +
                                       "] x [" + std::to_string(k) + ", " + std::to_string(n) + "]");
}

class MultiHeadAttention final : public Kernel {
 public:
  explicit MultiHeadAttention(const KernelInfo& info) : a_(info) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& q = ctx.required_input(0);
    visit_dtype(Types<float, double>{}, q.dtype(), "input 'query'", [&](auto tag) {
      run<typename decltype(tag)::type>(ctx);
    });
  }

 private:
  template <typename T>
  void run(KernelContext& ctx) const {
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Tensor& q = ctx.required_input(0);
    const Tensor& k = ctx.required_input(1);
    const Tensor& v = ctx.required_input(2);
    const Tensor* bias = ctx.input(3);
    const Tensor* past_k = ctx.input(4);
    const Tensor* past_v = ctx.input(5);
    auto shapes = [&] {
      std::string s = "query " + q.describe() + ", key " + k.describe() + ", value " + v.describe();
      if (bias) s += ", attention_bias " + bias->describe();
      if (past_k) s += ", past_key " + past_k->describe();
      if (past_v) s += ", past_value " + past_v->describe();
      return s;
    };
    for (const Tensor* t : {&k, &v, bias, past_k, past_v})
      if (t && t->dtype() != q.dtype()) fail(ctx, ErrorCode::kInvalidArgument, "inputs must have one element type, got " + shapes());
    if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4)
      fail(ctx, ErrorCode::kInvalidArgument, "query, key and value must be 4-D, got " + shapes());
    if ((past_k == nullptr) != (past_v == nullptr))
      fail(ctx, ErrorCode::kInvalidArgument, "past_key and past_value must be given together, got " + shapes());
    const Heads qh(q.shape(), a_.bshd[0]), kh(k.shape(), a_.bshd[1]), vh(v.shape(), a_.bshd[2]);
    const int64_t S = qh.seq, D = qh.size, T_new = kh.seq, Dv = vh.size;
    const int64_t P = past_k ? past_k->dim(2) : 0, total = P + T_new;
    if (kh.size != D || vh.seq != T_new)
      fail(ctx, ErrorCode::kInvalidArgument, "key must have query's head size and value key's sequence length, got " + shapes());
    if (past_k && (past_k->rank() != 4 || past_v->rank() != 4 || past_k->dim(0) != kh.batch ||
                   past_k->dim(1) != kh.heads || past_k->dim(3) != D || past_v->dim(0) != vh.batch ||
                   past_v->dim(1) != vh.heads || past_v->dim(2) != P || past_v->dim(3) != Dv))
      fail(ctx, ErrorCode::kInvalidArgument,
           "past_key and past_value must be 4-D [batch, heads, past, size] with key's and value's batch, heads and "
           "head size and one length, got " + shapes());
    // Broadcast dims: scores [Bs, Hs, Ss, total], output [Bo, Ho, Ss, Dv].
    int64_t bias_dims[4] = {1, 1, 1, 1};
    if (bias) {
      if (bias->rank() < 1 || bias->rank() > 4)
        fail(ctx, ErrorCode::kInvalidArgument, "attention_bias must have rank 1 to 4, got " + shapes());
      for (int64_t d = 0; d < bias->rank(); ++d) bias_dims[4 - bias->rank() + d] = bias->dim(d);
    }
    const int64_t B1 = broadcast_dim(qh.batch, kh.batch), H1 = broadcast_dim(qh.heads, kh.heads);
    const int64_t Bs = broadcast_dim(B1, bias_dims[0]), Hs = broadcast_dim(H1, bias_dims[1]);
    const int64_t Ss = broadcast_dim(S, bias_dims[2]);
    const int64_t Bo = broadcast_dim(Bs, vh.batch), Ho = broadcast_dim(Hs, vh.heads);
    if (B1 == 0 || H1 == 0 || Bs == 0 || Hs == 0 || Ss == 0 || Bo == 0 || Ho == 0 ||
        (bias_dims[3] != 1 && bias_dims[3] != total))
      fail(ctx, ErrorCode::kInvalidArgument,
           "shapes do not broadcast to scores [batch, heads, " + std::to_string(S) + ", " + std::to_string(total) +
               "]: " + shapes());

    const T* pq = q.data<T>();
    const T* pk = k.data<T>();
    const T* pv = v.data<T>();
    const T* pb = bias ? bias->data<T>() : nullptr;
    const T* ppk = past_k ? past_k->data<T>() : nullptr;
    const T* ppv = past_v ? past_v->data<T>() : nullptr;
    auto key_row = [&](int64_t b, int64_t h, int64_t j) {  // b, h index key's own dims
      return j < P ? ppk + ((b * kh.heads + h) * P + j) * D : pk + kh.row(b, h, j - P);
    };
    auto value_row = [&](int64_t b, int64_t h, int64_t j) {
      return j < P ? ppv + ((b * vh.heads + h) * P + j) * Dv : pv + vh.row(b, h, j - P);
    };
    for (int which = 0; which < 2; ++which) {
      const size_t out = static_cast<size_t>(1 + which);
      if (ctx.output_count() <= out || !ctx.output_wanted(out)) continue;
      const Heads& src = which == 0 ? kh : vh;
      T* dst = ctx.allocate_output(out, q.dtype(), {src.batch, src.heads, total, src.size}).template data<T>();
      for (int64_t b = 0; b < src.batch; ++b)
        for (int64_t h = 0; h < src.heads; ++h)
          for (int64_t j = 0; j < total; ++j) {
            const T* row = which == 0 ? key_row(b, h, j) : value_row(b, h, j);
            std::copy(row, row + src.size, dst + ((b * src.heads + h) * total + j) * src.size);
          }
    }
    const bool out_bshd = a_.bshd[3];
    T* py = ctx.allocate_output(0, q.dtype(), out_bshd ? std::vector<int64_t>{Bo, Ss, Ho, Dv}
                                                       : std::vector<int64_t>{Bo, Ho, Ss, Dv})
                .template data<T>();
    const Heads yh({Bo, out_bshd ? Ss : Ho, out_bshd ? Ho : Ss, Dv}, out_bshd);

    const T scale = a_.scale != 0.0f ? static_cast<T>(a_.scale) : static_cast<T>(1.0 / std::sqrt(static_cast<double>(D)));
    if constexpr (std::is_same_v<T, float>) {
      if (S == Ss && total > 0 && D > 0 && Dv > 0) {
        const Strided in{qh, kh, vh, yh, pq, pk, pv, ppk, ppv, pb, py, P, total, S, Dv};
        return run_strided(ctx, in, scale, bias_dims, Bo, Ho);
      }
    }
    constexpr T kNegInf = -std::numeric_limits<T>::infinity();
    const double cost = static_cast<double>(Ss * total * (D + Dv + 4));
    ctx.thread_pool().parallel_for(Bo * Ho, cost, [&](int64_t begin, int64_t end) {
      Mat qs(Ss, D), ks(total, D), vs(total, Dv), s(Ss, total), y(Ss, Dv);
      for (int64_t task = begin; task < end; ++task) {
        const int64_t b = task / Ho, h = task % Ho;
        const int64_t bq = at(qh.batch, b), hq = at(qh.heads, h), bk = at(kh.batch, b), hk = at(kh.heads, h);
        for (int64_t i = 0; i < Ss; ++i) {
          const T* src = pq + qh.row(bq, hq, at(S, i));
          for (int64_t d = 0; d < D; ++d) qs(i, d) = src[d];
        }
        for (int64_t j = 0; j < total; ++j) {
          const T* kr = key_row(bk, hk, j);
          for (int64_t d = 0; d < D; ++d) ks(j, d) = kr[d];
          const T* vr = value_row(at(vh.batch, b), at(vh.heads, h), j);
          for (int64_t d = 0; d < Dv; ++d) vs(j, d) = vr[d];
        }
        if constexpr (std::is_same_v<T, float>) {
          omp_set_num_threads(1);  // this task is one of the pool's; oneDNN's gemm stays on its thread
          sgemm(ctx, 'N', 'T', Ss, total, D, 1.0f, qs.data(), D, ks.data(), D, 0.0f, s.data(), total);
        } else {
          s.noalias() = qs * ks.transpose();
        }
        const int64_t bb = at(bias_dims[0], b), bh = at(bias_dims[1], h);
        for (int64_t i = 0; i < Ss; ++i) {
          T* row = &s(i, 0);
          const T* brow = pb ? pb + ((bb * bias_dims[1] + bh) * bias_dims[2] + at(bias_dims[2], i)) * bias_dims[3] : nullptr;
          const int64_t last_visible = at(S, i) + total - S;  // causal: keys j <= i + (total - S)
          T mx = kNegInf;
          for (int64_t j = 0; j < total; ++j) {
            T x = row[j] * scale;
            if (brow) x += brow[at(bias_dims[3], j)];
            if (a_.is_causal && j > last_visible) x = kNegInf;
            row[j] = x;
            mx = std::max(mx, x);  // a NaN score never becomes the max; it propagates through exp
          }
          if constexpr (std::is_same_v<T, float>) {
            simd::softmax(row, row, total, false);
          } else {
            auto r = s.row(i).array();  // exp vectorised by Eigen (the scalar std::exp dominated)
            r = (r - mx).exp();
            r /= r.sum();
          }
          if (a_.nan_to_zero)
            for (int64_t j = 0; j < total; ++j)
              if (std::isnan(row[j])) row[j] = 0;
        }
        if constexpr (std::is_same_v<T, float>)
          sgemm(ctx, 'N', 'N', Ss, Dv, total, 1.0f, s.data(), total, vs.data(), Dv, 0.0f, y.data(), Dv);
        else
          y.noalias() = s * vs;
        for (int64_t i = 0; i < Ss; ++i) {
          T* dst = py + yh.row(b, h, i);
          for (int64_t d = 0; d < Dv; ++d) dst[d] = y(i, d);
        }
      }
    });
  }

  /// Inputs of the float path: the heads' geometry and data (the cache is [B, H, P, D]).
  struct Strided {
    const Heads &qh, &kh, &vh, &yh;
    const float *q, *k, *v, *past_k, *past_v, *bias;
    float* y;
    int64_t past, total, seq, v_size;
  };

  /// The float path (see the file comment); query rows do not broadcast (S == scores' S).
  void run_strided(KernelContext& ctx, const Strided& in, float scale, const int64_t* bias_dims, int64_t Bo,
                   int64_t Ho) const {
    if (attn::tiles_available() && in.seq >= attn::kTileMinRows) return run_tiles(ctx, in, scale, bias_dims, Bo, Ho);
    const Heads &qh = in.qh, &kh = in.kh, &vh = in.vh, &yh = in.yh;
    const int64_t S = in.seq, P = in.past, total = in.total, D = qh.size, Dv = in.v_size;
    const int64_t rows = query_rows_per_task(S, total, Bo * Ho, ctx.thread_pool().num_threads(), a_.is_causal);
    const int64_t blocks = (S + rows - 1) / rows;
    // Nanoseconds per task: the two GEMMs near 100 GFLOP/s, then about 1.5 ns per score.
    const double cost = static_cast<double>(std::min(S, rows) * total) * (0.02 * static_cast<double>(D + Dv) + 1.5);
    float* py = in.y;
    const float* pb = in.bias;
    const bool causal = a_.is_causal, nan_to_zero = a_.nan_to_zero;
    ctx.thread_pool().parallel_for(Bo * Ho * blocks, cost, [&](int64_t begin, int64_t end) {
      omp_set_num_threads(1);  // oneDNN's gemm stays on this task's thread
      // Reused per thread: a fresh block of this size per call is a fresh mapping (page faults).
      thread_local std::vector<float> scores;
      thread_local std::vector<float> inv_sums;  // per row of the block: 1 / its softmax's sum
      if (scores.size() < static_cast<size_t>(std::min(S, rows) * total))
        scores.resize(static_cast<size_t>(std::min(S, rows) * total));
      if (inv_sums.size() < static_cast<size_t>(std::min(S, rows)))
        inv_sums.resize(static_cast<size_t>(std::min(S, rows)));
      for (int64_t task = begin; task < end; ++task) {
        const auto [b, h, i0, m, cols] = task_block(task, blocks, rows, Ho, S, total, causal);
        const int64_t bk = at(kh.batch, b), hk = at(kh.heads, h), bv = at(vh.batch, b), hv = at(vh.heads, h);
        const float* q = in.q + qh.row(at(qh.batch, b), at(qh.heads, h), i0);
        float* s = scores.data();
        const int64_t cache_cols = std::min(P, cols);
        if (cache_cols > 0)
          sgemm(ctx, 'N', 'T', m, cache_cols, D, scale, q, qh.stride(), in.past_k + (bk * kh.heads + hk) * P * D, D,
                0.0f, s, cols);
        if (cols > P)
          sgemm(ctx, 'N', 'T', m, cols - P, D, scale, q, qh.stride(), in.k + kh.row(bk, hk, 0), kh.stride(), 0.0f,
                s + P, cols);
        const int64_t bb = at(bias_dims[0], b), bhead = at(bias_dims[1], h);
        for (int64_t r = 0; r < m; ++r) {
          const int64_t i = i0 + r;
          float* row = s + r * cols;
          if (pb != nullptr) {
            const float* brow = pb + ((bb * bias_dims[1] + bhead) * bias_dims[2] + at(bias_dims[2], i)) * bias_dims[3];
            simd::binary(simd::BinaryOp::kAdd, row, 1, brow, bias_dims[3] == 1 ? 0 : 1, row, cols);
          }
          if (causal) {
            const int64_t first_hidden = std::max<int64_t>(i + total - S + 1, 0);
            if (first_hidden < cols) std::fill(row + first_hidden, row + cols, -std::numeric_limits<float>::infinity());
          }
          if (nan_to_zero) {
            simd::softmax(row, row, cols, false);
            for (int64_t j = 0; j < cols; ++j)
              if (std::isnan(row[j])) row[j] = 0.0f;
          } else {
            inv_sums[static_cast<size_t>(r)] = 1.0f / simd::softmax_exp(row, row, cols);
          }
        }
        float* y = py + yh.row(b, h, i0);
        if (cache_cols > 0)
          sgemm(ctx, 'N', 'N', m, Dv, cache_cols, 1.0f, s, cols, in.past_v + (bv * vh.heads + hv) * P * Dv, Dv, 0.0f,
                y, yh.stride());
        if (cols > P)
          sgemm(ctx, 'N', 'N', m, Dv, cols - P, 1.0f, s + P, cols, in.v + vh.row(bv, hv, 0), vh.stride(),
                cache_cols > 0 ? 1.0f : 0.0f, y, yh.stride());
        if (!nan_to_zero)  // the softmax's division, on the Dv outputs of a row instead of its keys
          for (int64_t r = 0; r < m; ++r) {
            float* out = y + r * yh.stride();
            simd::scale(out, out, Dv, inv_sums[static_cast<size_t>(r)]);
          }
      }
    });
  }

  /// The float path on AVX-512 (fused/attention_tiles.h): one task per (batch, head, block of
  /// at most kTileRows query rows), the rows spread evenly over the blocks.
  void run_tiles(KernelContext& ctx, const Strided& in, float scale, const int64_t* bias_dims, int64_t Bo,
                 int64_t Ho) const {
    const Heads &qh = in.qh, &kh = in.kh, &vh = in.vh, &yh = in.yh;
    const int64_t S = in.seq, P = in.past, total = in.total;
    const int64_t blocks = (S + attn::kTileRows - 1) / attn::kTileRows, rows = (S + blocks - 1) / blocks;
    const double cost = static_cast<double>(rows * total) * (0.012 * static_cast<double>(qh.size + in.v_size) + 1.0);
    const bool causal = a_.is_causal;
    ctx.thread_pool().parallel_for(Bo * Ho * blocks, cost, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        const auto [b, h, i0, m, cols] = task_block(task, blocks, rows, Ho, S, total, causal);
        const int64_t bk = at(kh.batch, b), hk = at(kh.heads, h), bv = at(vh.batch, b), hv = at(vh.heads, h);
        attn::TileBlock t{};
        t.q = in.q + qh.row(at(qh.batch, b), at(qh.heads, h), i0);
        t.ldq = qh.stride();
        t.m = m;
        t.d = qh.size;
        t.scale = scale;
        t.nk[0] = std::min(P, cols);
        t.nk[1] = cols - t.nk[0];
        t.k[0] = P > 0 ? in.past_k + (bk * kh.heads + hk) * P * qh.size : nullptr;
        t.ldk[0] = qh.size;
        t.k[1] = in.k + kh.row(bk, hk, 0);
        t.ldk[1] = kh.stride();
        t.v[0] = P > 0 ? in.past_v + (bv * vh.heads + hv) * P * in.v_size : nullptr;
        t.ldv[0] = in.v_size;
        t.v[1] = in.v + vh.row(bv, hv, 0);
        t.ldv[1] = vh.stride();
        t.dv = in.v_size;
        if (in.bias != nullptr) {
          t.bias = in.bias + ((at(bias_dims[0], b) * bias_dims[1] + at(bias_dims[1], h)) * bias_dims[2] +
                              at(bias_dims[2], i0)) * bias_dims[3];
          t.bias_ld = bias_dims[2] == 1 ? 0 : bias_dims[3];
          t.bias_sj = bias_dims[3] == 1 ? 0 : 1;
        }
        t.causal = causal;
        t.first_hidden = i0 + total - S + 1;
        t.nan_to_zero = a_.nan_to_zero;
        t.y = in.y + yh.row(b, h, i0);
        t.ldy = yh.stride();
        attn::attention_block(t);
      }
    });
  }

  MultiHeadAttentionAttributes a_;
};

}  // namespace

void register_fused_attention_kernels(KernelRegistry& r) {
  r.add("MultiHeadAttention", {1}, make_kernel<MultiHeadAttention>, kFloatTypes, "ferry");
  // Same semantics as ai.onnx RotaryEmbedding-23: the same kernel (attention/rotary_embedding.cc).
  r.add("RotaryEmbedding", {1}, make_rotary_embedding_kernel,
        {DataType::kFloat, DataType::kFloat16, DataType::kBFloat16}, "ferry");
}

}  // namespace ferry::ep::cpu
