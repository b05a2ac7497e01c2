// TensorScatter (24): present = past_cache with `update` written along `axis` (default -2) at
// write_indices[batch] (0 when omitted) for each batch; "linear" mode requires the write to fit,
// "circular" wraps modulo the cache length (a negative index too, as Python's % does). Type-agnostic (element copies); output 0 may reuse
// past_cache's buffer, which makes a KV-cache update in place.
#include <cstring>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {

namespace {

struct TensorScatterAttributes {
  bool circular;  // "mode": "linear"
  int64_t axis;   // "axis": -2
  explicit TensorScatterAttributes(const ir::Node& n) : axis(n.get_int("axis", -2)) {
    const std::string mode = n.get_string("mode", "linear");
    if (mode != "linear" && mode != "circular")
      throw Error(ErrorCode::kInvalidModel, "attribute 'mode' is '" + mode + "' (valid: linear, circular)");
    circular = mode == "circular";
  }
};

class TensorScatter final : public Kernel {
 public:
  explicit TensorScatter(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& past = ctx.required_input(0);
    const Tensor& update = ctx.required_input(1);
    const Tensor* wi = ctx.input_count() > 2 ? ctx.input(2) : nullptr;
    const int64_t rank = static_cast<int64_t>(past.rank());
    const int64_t axis = checked_axis(a_.axis, rank, "attribute 'axis'");
    if (axis == 0) fail(ctx, ErrorCode::kInvalidArgument, "attribute 'axis' must not be the batch dim 0");
    if (update.dtype() != past.dtype() || update.rank() != past.rank())
      fail(ctx, ErrorCode::kInvalidArgument, "input 'update' " + update.describe() + " must match past_cache " + past.describe() + " in element type and rank");
    for (int64_t i = 0; i < rank; ++i) {
      const bool bad = i == axis ? update.dim(i) > past.dim(i) : update.dim(i) != past.dim(i);
      if (bad)
        fail(ctx, ErrorCode::kInvalidArgument, "input 'update' " + update.describe() + " does not fit past_cache " + past.describe() +
                                                   " at dim " + std::to_string(i) + " (axis " + std::to_string(axis) + ")");
    }
    const int64_t batch = past.dim(0), max_len = past.dim(axis), seq = update.dim(axis);
    std::vector<int64_t> write(static_cast<size_t>(batch), 0);
    if (wi) {
      if (wi->rank() != 1 || wi->dim(0) != batch)
        fail(ctx, ErrorCode::kInvalidArgument, "input 'write_indices' must have shape [" + std::to_string(batch) + "], got " + wi->describe());
      write = read_ints(*wi, "input 'write_indices'");
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t w = write[static_cast<size_t>(b)];
      if (!a_.circular && (w < 0 || w + seq > max_len))
        fail(ctx, ErrorCode::kInvalidArgument,
             "write_indices[" + std::to_string(b) + "] = " + std::to_string(w) + " with " + std::to_string(seq) +
                 " updates does not fit the cache length " + std::to_string(max_len) + " (linear mode)");
      if (a_.circular && seq > 0) write[static_cast<size_t>(b)] = (w % max_len + max_len) % max_len;  // Python's modulo
    }
    const int64_t outer = product(past.shape(), 0, static_cast<size_t>(axis));
    const int64_t per_batch = batch > 0 ? outer / batch : 0;
    const int64_t inner = product(past.shape(), static_cast<size_t>(axis) + 1, past.shape().size());
    Tensor& out = ctx.allocate_output(0, past.dtype(), past.shape());
    copy_elements(past, out);
    visit_by_size(past.dtype(), "input 'past_cache'", [&](auto tag) {
      using E = typename decltype(tag)::type;
      const E* src = update.data<E>();
      E* dst = out.template data<E>();
      ctx.thread_pool().parallel_for(outer, static_cast<double>(seq * inner), [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t w = write[static_cast<size_t>(p / per_batch)];
          for (int64_t s = 0; s < seq; ++s) {
            const int64_t cs = a_.circular ? (w + s) % max_len : w + s;
            const E* from = src + (p * seq + s) * inner;
            E* to = dst + (p * max_len + cs) * inner;
            for (int64_t i = 0; i < inner; ++i) to[i] = from[i];
          }
        }
      });
    });
  }

 private:
  TensorScatterAttributes a_;
};

}  // namespace

void register_tensor_scatter_kernels(KernelRegistry& r) {
  auto& def = r.add("TensorScatter", {24}, make_kernel<TensorScatter>,
                    {DataType::kFloat, DataType::kDouble, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                     DataType::kUInt8, DataType::kInt16, DataType::kUInt16, DataType::kInt32, DataType::kUInt32,
                     DataType::kInt64, DataType::kUInt64, DataType::kBool, DataType::kString,
                     DataType::kFloat8E4M3FN, DataType::kFloat8E4M3FNUZ, DataType::kFloat8E5M2,
                     DataType::kFloat8E5M2FNUZ, DataType::kFloat8E8M0});
  def.in_place_inputs = {0};
  def.supports = [](const ir::Node& n, int64_t) {
    return n.inputs().empty() || !n.input(0) || byte_addressable(n.input(0)->type().elem);
  };
}

}  // namespace ferry::ep::cpu
