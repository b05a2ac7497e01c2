// RotaryEmbedding (ai.onnx 23): rotates the first rotary_embedding_dim elements of every head
// of X ([batch, heads, seq, head_size] or [batch, seq, heads*head_size]) by the angles whose
// cos/sin the caches hold: [max_position, rot/2] indexed by position_ids [batch, seq], or
// [batch, seq, rot/2] without position_ids. Pairs are (x[i], x[i + rot/2]), or (x[2i], x[2i+1])
// when interleaved. Half types compute through float, rounding where the reference rounds.
#include "execution_providers/cpu/attention/attention.h"

namespace ferry::ep::cpu {
namespace {

using attn::round_to;

struct RotaryAttributes {
  int64_t interleaved = 0;
  int64_t num_heads = 0;             // required for 3-D X
  int64_t rotary_embedding_dim = 0;  // 0: the whole head

  explicit RotaryAttributes(const KernelInfo& info) {
    const ir::Node& n = info.node();
    interleaved = n.get_int("interleaved", 0);
    num_heads = n.get_int("num_heads", 0);
    rotary_embedding_dim = n.get_int("rotary_embedding_dim", 0);
    if (num_heads < 0 || rotary_embedding_dim < 0 || rotary_embedding_dim % 2 != 0)
      fail_model(info, "attributes 'num_heads' (" + std::to_string(num_heads) + ") and 'rotary_embedding_dim' (" +
                           std::to_string(rotary_embedding_dim) + ") must be >= 0, the latter even");
  }
};

using RotaryTypes = Types<float, Float16, BFloat16>;

class RotaryEmbedding final : public Kernel {
 public:
  explicit RotaryEmbedding(const KernelInfo& info) : a_(info) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& cos = ctx.required_input(1);
    const Tensor& sin = ctx.required_input(2);
    const Tensor* pos = ctx.input(3);
    if (cos.dtype() != x.dtype() || sin.dtype() != x.dtype())
      fail(ctx, ErrorCode::kInvalidArgument,
           "cos_cache and sin_cache must have the type of X, got " + x.describe() + ", " + cos.describe() + ", " +
               sin.describe());
    if (x.rank() != 3 && x.rank() != 4)
      fail(ctx, ErrorCode::kInvalidArgument, "X must be 3-D or 4-D, got " + x.describe());
    const bool three_d = x.rank() == 3;
    const int64_t batch = x.dim(0);
    int64_t heads = 0, seq = 0, head = 0;
    if (three_d) {
      if (a_.num_heads <= 0 || x.dim(2) % a_.num_heads != 0)
        fail(ctx, ErrorCode::kInvalidArgument,
             "3-D X " + x.describe() + " needs the attribute 'num_heads' dividing its hidden size, got " +
                 std::to_string(a_.num_heads));
      heads = a_.num_heads;
      seq = x.dim(1);
      head = x.dim(2) / heads;
    } else {
      heads = x.dim(1);
      seq = x.dim(2);
      head = x.dim(3);
    }
    const int64_t rot = a_.rotary_embedding_dim == 0 ? head : a_.rotary_embedding_dim;
    if (rot > head || rot % 2 != 0)
      fail(ctx, ErrorCode::kInvalidArgument,
           "rotary_embedding_dim " + std::to_string(rot) + " must be even and at most the head size " +
               std::to_string(head));
    const int64_t half = rot / 2;
    // Row of the caches for (b, s): through position_ids, or the caches' own [batch, seq] rows.
    std::vector<int64_t> cache_row(static_cast<size_t>(batch * seq));
    if (pos) {
      if (cos.rank() != 2 || sin.shape() != cos.shape() || cos.dim(1) != half)
        fail(ctx, ErrorCode::kInvalidArgument,
             "with position_ids, cos_cache and sin_cache must be [max_position, " + std::to_string(half) +
                 "], got " + cos.describe() + " and " + sin.describe());
      if (pos->shape() != std::vector<int64_t>{batch, seq})
        fail(ctx, ErrorCode::kInvalidArgument,
             "position_ids must be [" + std::to_string(batch) + ", " + std::to_string(seq) + "], got " +
                 pos->describe());
      const std::vector<int64_t> ids = read_ints(*pos, "input 'position_ids'");
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= cos.dim(0))
          fail(ctx, ErrorCode::kInvalidArgument,
               "position_ids holds " + std::to_string(ids[i]) + ", outside the cache's [0, " +
                   std::to_string(cos.dim(0)) + ")");
        cache_row[i] = ids[i];
      }
    } else {
      if (cos.shape() != std::vector<int64_t>{batch, seq, half} || sin.shape() != cos.shape())
        fail(ctx, ErrorCode::kInvalidArgument,
             "without position_ids, cos_cache and sin_cache must be [" + std::to_string(batch) + ", " +
                 std::to_string(seq) + ", " + std::to_string(half) + "], got " + cos.describe() + " and " +
                 sin.describe());
      for (size_t i = 0; i < cache_row.size(); ++i) cache_row[i] = static_cast<int64_t>(i);
    }

    visit_dtype(RotaryTypes{}, x.dtype(), "input 'X'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const DataType dt = kDTypeOf<T>;
      const T* px = x.data<T>();
      const T* pc = cos.data<T>();
      const T* ps = sin.data<T>();
      T* py = ctx.allocate_output(0, x.dtype(), x.shape()).template data<T>();
      const int64_t rows = batch * seq * heads;
      ctx.thread_pool().parallel_for(rows, static_cast<double>(head * 4), [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
          const int64_t b = r / (seq * heads), s = (r / heads) % seq, h = r % heads;
          const int64_t off = three_d ? ((b * seq + s) * heads + h) * head : ((b * heads + h) * seq + s) * head;
          const T* xi = px + off;
          T* yo = py + off;
          const int64_t cr = cache_row[static_cast<size_t>(b * seq + s)] * half;
          for (int64_t i = 0; i < half; ++i) {
            const int64_t i1 = a_.interleaved ? 2 * i : i, i2 = a_.interleaved ? 2 * i + 1 : i + half;
            const float c = attn::load<float>(pc[cr + i]), sn = attn::load<float>(ps[cr + i]);
            const float x1 = attn::load<float>(xi[i1]), x2 = attn::load<float>(xi[i2]);
            yo[i1] = attn::store<T>(round_to(dt, c * x1) - round_to(dt, sn * x2));
            yo[i2] = attn::store<T>(round_to(dt, sn * x1) + round_to(dt, c * x2));
          }
          for (int64_t i = rot; i < head; ++i) yo[i] = xi[i];
        }
      });
    });
  }

 private:
  RotaryAttributes a_;
};

}  // namespace

std::unique_ptr<Kernel> make_rotary_embedding_kernel(const KernelInfo& info) { return make_kernel<RotaryEmbedding>(info); }

void register_rotary_embedding_kernels(KernelRegistry& r) {
  r.add("RotaryEmbedding", {23}, make_rotary_embedding_kernel, RotaryTypes::dtypes());
}

}  // namespace ferry::ep::cpu
