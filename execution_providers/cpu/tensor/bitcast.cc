// BitCast (26): reinterprets the little-endian bytes of a tensor as another element type of the
// same bit width ('to'); the shape is unchanged. Strings are not bit-castable.
#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/families.h"

namespace ferry::ep::cpu {

namespace {

struct BitCastAttributes {
  DataType to;  // "to": required
  explicit BitCastAttributes(const ir::Node& n) {
    const int64_t code = n.get_int("to", 0);
    if (code > kMaxDataTypeCode || code < 1 || !is_known_dtype_code(static_cast<int32_t>(code)) ||
        static_cast<DataType>(code) == DataType::kString)
      throw Error(ErrorCode::kInvalidModel, "attribute 'to' is " + std::to_string(code) +
                                                ", expected a non-string element type code");
    to = static_cast<DataType>(code);
  }
};

class BitCast final : public Kernel {
 public:
  explicit BitCast(const KernelInfo& info) : a_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() == DataType::kString)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'input' is a string tensor, which has no bit pattern to reinterpret");
    if (dtype_bits(x.dtype()) != dtype_bits(a_.to))
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'input' " + x.describe() + " has " + std::to_string(dtype_bits(x.dtype())) + "-bit elements but 'to' (" +
               std::string(dtype_name(a_.to)) + ") has " + std::to_string(dtype_bits(a_.to)) + "; the widths must match");
    Tensor& y = ctx.allocate_output(0, a_.to, x.shape());
    if (x.byte_size() > 0) std::memcpy(y.raw_data(), x.raw_data(), x.byte_size());
  }

 private:
  BitCastAttributes a_;
};

std::vector<DataType> bitcast_types() {
  std::vector<DataType> t;
  for (int32_t c = 1; c <= kMaxDataTypeCode; ++c)
    if (is_known_dtype_code(c) && static_cast<DataType>(c) != DataType::kString) t.push_back(static_cast<DataType>(c));
  return t;
}

}  // namespace

void register_bitcast_kernels(KernelRegistry& r) {
  r.add("BitCast", {26}, make_kernel<BitCast>, bitcast_types());
}

}  // namespace ferry::ep::cpu
