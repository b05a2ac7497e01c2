// Index-driven gathers and scatters: GatherElements, GatherND (batch_dims), ScatterElements and
// its deprecated form Scatter, ScatterND; the scatters with reduction none/add/mul (opset 16)
// and max/min (opset 18). Every index is range-checked (negative counts from the end) before
// anything is written. Scatters with duplicate indices apply updates in index order.
#include "execution_providers/cpu/tensor/tensor_ext.h"

namespace ferry::ep::cpu {
namespace {

using namespace tensor_ext;

using ReduceTypes = Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t,
                          bool, Float16, BFloat16>;

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction parse_reduction(const KernelInfo& info) {
  const std::string r = info.node().get_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add" && info.opset() >= 16) return Reduction::kAdd;
  if (r == "mul" && info.opset() >= 16) return Reduction::kMul;
  if (r == "max" && info.opset() >= 18) return Reduction::kMax;
  if (r == "min" && info.opset() >= 18) return Reduction::kMin;
  throw Error(ErrorCode::kInvalidModel, "attribute 'reduction' is '" + r + "'; valid at opset " +
                                            std::to_string(info.opset()) + ": none" +
                                            (info.opset() >= 16 ? ", add, mul" : "") + (info.opset() >= 18 ? ", max, min" : ""));
}

template <typename T> void reduce_into(T& dst, const T& src, Reduction r) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    float d = to_float(dst);
    reduce_into(d, to_float(src), r);
    if constexpr (std::is_same_v<T, Float16>) dst = to_float16(d);
    else dst = to_bfloat16(d);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (r == Reduction::kAdd || r == Reduction::kMax) dst = dst || src;
    else dst = dst && src;
  } else {
    switch (r) {
      case Reduction::kNone: dst = src; break;
      case Reduction::kAdd:
        if constexpr (std::is_integral_v<T>) dst = static_cast<T>(static_cast<std::make_unsigned_t<T>>(dst) + static_cast<std::make_unsigned_t<T>>(src));
        else dst = dst + src;
        break;
      case Reduction::kMul:
        if constexpr (std::is_integral_v<T>) dst = static_cast<T>(static_cast<uint64_t>(dst) * static_cast<uint64_t>(src));
        else dst = dst * src;
        break;
      case Reduction::kMax: dst = std::max(dst, src); break;
      case Reduction::kMin: dst = std::min(dst, src); break;
    }
  }
}

/// Indices as int64, each made non-negative against `dim(i)`; kInvalidArgument when out of range.
template <typename DimOf>
std::vector<int64_t> checked_indices(const Tensor& indices, DimOf dim_of, const std::string& what) {
  std::vector<int64_t> idx = ints_of(indices, "input 'indices'");
  for (size_t i = 0; i < idx.size(); ++i) {
    const int64_t dim = dim_of(i);
    if (idx[i] < -dim || idx[i] >= dim)
      invalid("index " + std::to_string(idx[i]) + " at position " + std::to_string(i) + " of indices " +
              shape_to_string(indices.shape()) + " is out of range for " + what + " of size " + std::to_string(dim) +
              " (valid: [" + std::to_string(-dim) + ", " + std::to_string(dim - 1) + "])");
    if (idx[i] < 0) idx[i] += dim;
  }
  return idx;
}

/// For GatherElements / ScatterElements: the data offset of element i of `indices` (shape
/// `ishape`) with its axis coordinate replaced by idx[i].
struct ElementOffsets {
  std::vector<int64_t> offsets;
  ElementOffsets(const std::vector<int64_t>& ishape, const std::vector<int64_t>& dshape, size_t axis,
                 const std::vector<int64_t>& idx) {
    const std::vector<int64_t> ds = strides_of(dshape);
    const std::vector<int64_t> is = strides_of(ishape);
    offsets.resize(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < ishape.size(); ++d) {
        const int64_t c = d == axis ? idx[i] : static_cast<int64_t>(i) / is[d] % ishape[d];
        off += c * ds[d];
      }
      offsets[i] = off;
    }
  }
};

void check_element_shapes(const Tensor& data, const Tensor& indices, size_t axis, const char* name) {
  if (indices.rank() != data.rank())
    invalid("input 'indices' " + indices.describe() + " must have the rank of input 'data' " + data.describe());
  for (size_t d = 0; d < data.rank(); ++d)
    if (d != axis && indices.dim(d) > data.dim(d))
      invalid(std::string("input '") + name + "' " + indices.describe() + " is larger than input 'data' " +
              data.describe() + " outside axis " + std::to_string(axis));
}

class GatherElements final : public Kernel {
 public:
  explicit GatherElements(const KernelInfo& info) : axis_(info.node().get_int("axis", 0)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.required_input(0);
    const Tensor& indices = ctx.required_input(1);
    const size_t axis = static_cast<size_t>(axis_in(axis_, static_cast<int64_t>(data.rank()), "axis"));
    check_element_shapes(data, indices, axis, "indices");
    const int64_t dim = data.dim(axis);
    const auto idx = checked_indices(indices, [&](size_t) { return dim; }, "axis " + std::to_string(axis));
    const ElementOffsets off(indices.shape(), data.shape(), axis, idx);
    Tensor& y = ctx.allocate_output(0, data.dtype(), indices.shape());
    if (y.element_count() == 0) return;
    visit_by_size(data.dtype(), "input 'data'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = data.data<T>();
      T* dst = y.data<T>();
      ctx.thread_pool().parallel_for(y.element_count(), 2.0, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) dst[i] = src[off.offsets[static_cast<size_t>(i)]];
      });
    });
  }

 private:
  int64_t axis_;  // "axis": 0
};

class ScatterElements final : public Kernel {
 public:
  explicit ScatterElements(const KernelInfo& info)
      : axis_(info.node().get_int("axis", 0)), reduction_(parse_reduction(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.required_input(0);
    const Tensor& indices = ctx.required_input(1);
    const Tensor& updates = ctx.required_input(2);
    const size_t axis = static_cast<size_t>(axis_in(axis_, static_cast<int64_t>(data.rank()), "axis"));
    check_element_shapes(data, indices, axis, "indices");
    if (updates.shape() != indices.shape() || updates.dtype() != data.dtype())
      invalid("input 'updates' " + updates.describe() + " must have the shape of 'indices' " + indices.describe() +
              " and the type of 'data' " + data.describe());
    const int64_t dim = data.dim(axis);
    const auto idx = checked_indices(indices, [&](size_t) { return dim; }, "axis " + std::to_string(axis));
    const ElementOffsets off(indices.shape(), data.shape(), axis, idx);
    Tensor& y = ctx.allocate_output(0, data.dtype(), data.shape());
    copy_elements(data, y);
    scatter(y, updates, off.offsets, 1, reduction_);
  }

  /// y[offsets[i] * block + j] (op)= updates[i * block + j].
  static void scatter(Tensor& y, const Tensor& updates, const std::vector<int64_t>& offsets, int64_t block,
                      Reduction r) {
    if (r == Reduction::kNone) {
      visit_by_size(y.dtype(), "input 'data'", [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* dst = y.data<T>();
        const T* src = updates.data<T>();
        for (size_t i = 0; i < offsets.size(); ++i)
          std::copy(src + static_cast<int64_t>(i) * block, src + static_cast<int64_t>(i + 1) * block, dst + offsets[i] * block);
      });
      return;
    }
    visit_dtype(ReduceTypes{}, y.dtype(), "input 'data'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* dst = y.data<T>();
      const T* src = updates.data<T>();
      for (size_t i = 0; i < offsets.size(); ++i)
        for (int64_t j = 0; j < block; ++j) reduce_into(dst[offsets[i] * block + j], src[static_cast<int64_t>(i) * block + j], r);
    });
  }

 private:
  int64_t axis_;         // "axis": 0
  Reduction reduction_;  // "reduction": "none"
};

/// GatherND / ScatterND addressing: indices [..., k] pick slices of data[b..., i_1..i_k, ...].
struct NdPlan {
  int64_t batch = 1;         // product of the batch dims
  int64_t per_batch = 1;     // index tuples per batch
  int64_t block = 1;         // elements per picked slice
  std::vector<int64_t> slices;  // per tuple: slice number in data (in units of block)

  NdPlan(const Tensor& data, const Tensor& indices, int64_t batch_dims) {
    const int64_t r = static_cast<int64_t>(data.rank()), q = static_cast<int64_t>(indices.rank());
    if (q < 1) invalid("input 'indices' must have rank >= 1, got " + indices.describe());
    if (batch_dims < 0 || batch_dims >= std::min(r, q))
      invalid("'batch_dims' " + std::to_string(batch_dims) + " must be in [0, min(rank(data), rank(indices)))");
    const int64_t k = indices.dim(static_cast<size_t>(q - 1));
    if (k < 1 || k > r - batch_dims)
      invalid("the last dim of 'indices' " + indices.describe() + " must be in [1, " + std::to_string(r - batch_dims) +
              "] for data " + data.describe());
    for (int64_t d = 0; d < batch_dims; ++d)
      if (data.dim(static_cast<size_t>(d)) != indices.dim(static_cast<size_t>(d)))
        invalid("batch dims of 'data' " + data.describe() + " and 'indices' " + indices.describe() + " differ");
    batch = product(data.shape(), 0, static_cast<size_t>(batch_dims));
    per_batch = product(indices.shape(), static_cast<size_t>(batch_dims), static_cast<size_t>(q - 1));
    block = product(data.shape(), static_cast<size_t>(batch_dims + k), data.rank());
    const int64_t slices_per_batch = product(data.shape(), static_cast<size_t>(batch_dims), static_cast<size_t>(batch_dims + k));
    const auto idx = checked_indices(indices, [&](size_t i) { return data.dim(static_cast<size_t>(batch_dims) + i % static_cast<size_t>(k)); },
                                     "its data dim");
    slices.resize(static_cast<size_t>(batch * per_batch));
    for (int64_t t = 0; t < batch * per_batch; ++t) {
      int64_t s = 0;
      for (int64_t j = 0; j < k; ++j) s = s * data.dim(static_cast<size_t>(batch_dims + j)) + idx[static_cast<size_t>(t * k + j)];
      slices[static_cast<size_t>(t)] = (t / per_batch) * slices_per_batch + s;
    }
  }
};

class GatherND final : public Kernel {
 public:
  explicit GatherND(const KernelInfo& info) : batch_dims_(info.node().get_int("batch_dims", 0)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.required_input(0);
    const Tensor& indices = ctx.required_input(1);
    const NdPlan plan(data, indices, batch_dims_);
    const int64_t k = indices.dim(indices.rank() - 1);
    std::vector<int64_t> out_shape(indices.shape().begin(), indices.shape().end() - 1);
    out_shape.insert(out_shape.end(), data.shape().begin() + batch_dims_ + k, data.shape().end());
    Tensor& y = ctx.allocate_output(0, data.dtype(), out_shape);
    if (y.element_count() == 0) return;
    visit_by_size(data.dtype(), "input 'data'", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* src = data.data<T>();
      T* dst = y.data<T>();
      const int64_t block = plan.block;
      ctx.thread_pool().parallel_for(static_cast<int64_t>(plan.slices.size()), static_cast<double>(block), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
          const T* from = src + plan.slices[static_cast<size_t>(t)] * block;
          std::copy(from, from + block, dst + t * block);
        }
      });
    });
  }

 private:
  int64_t batch_dims_;  // "batch_dims": 0 (opset 12)
};

class ScatterND final : public Kernel {
 public:
  explicit ScatterND(const KernelInfo& info) : reduction_(parse_reduction(info)) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& data = ctx.required_input(0);
    const Tensor& indices = ctx.required_input(1);
    const Tensor& updates = ctx.required_input(2);
    const NdPlan plan(data, indices, 0);
    const int64_t k = indices.dim(indices.rank() - 1);
    std::vector<int64_t> want(indices.shape().begin(), indices.shape().end() - 1);
    want.insert(want.end(), data.shape().begin() + k, data.shape().end());
    if (updates.shape() != want || updates.dtype() != data.dtype())
      invalid("input 'updates' " + updates.describe() + " must have shape " + shape_to_string(want) +
              " and the type of 'data' " + data.describe());
    Tensor& y = ctx.allocate_output(0, data.dtype(), data.shape());
    copy_elements(data, y);
    ScatterElements::scatter(y, updates, plan.slices, plan.block, reduction_);
  }

 private:
  Reduction reduction_;  // "reduction": "none"
};

}  // namespace

void register_scatter_kernels(KernelRegistry& r) {
  r.add("GatherElements", {11, 13}, make_kernel<GatherElements>).supports = input0_byte_addressable;
  r.add("GatherND", {11, 12, 13}, make_kernel<GatherND>).supports = input0_byte_addressable;
  r.add("Scatter", {9, 11}, make_kernel<ScatterElements>).supports = input0_byte_addressable;
  r.add("ScatterElements", {11, 13, 16, 18}, make_kernel<ScatterElements>).supports = input0_byte_addressable;
  r.add("ScatterND", {11, 13, 16, 18}, make_kernel<ScatterND>).supports = input0_byte_addressable;
}

}  // namespace ferry::ep::cpu
