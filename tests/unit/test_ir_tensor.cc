#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>

#include "ferry/tensor.h"
#include "ir/attribute.h"

namespace ferry {
namespace {

TEST(Dtype, NamesBitsAndClasses) {
  EXPECT_EQ(dtype_name(DataType::kFloat), "float");
  EXPECT_EQ(dtype_name(DataType::kFloat8E4M3FN), "float8e4m3fn");
  EXPECT_EQ(tensor_type_string(DataType::kInt64), "tensor(int64)");
  EXPECT_EQ(dtype_bits(DataType::kInt4), 4u);
  EXPECT_EQ(dtype_bits(DataType::kUInt2), 2u);
  EXPECT_EQ(dtype_bits(DataType::kComplex128), 128u);
  EXPECT_EQ(dtype_storage_bytes(DataType::kInt4, 3), 2u);
  EXPECT_EQ(dtype_storage_bytes(DataType::kFloat, 3), 12u);
  EXPECT_TRUE(dtype_is_float(DataType::kBFloat16));
  EXPECT_FALSE(dtype_is_float(DataType::kInt8));
  EXPECT_TRUE(dtype_is_integer(DataType::kUInt4));
  EXPECT_TRUE(dtype_is_signed(DataType::kInt8));
  EXPECT_FALSE(dtype_is_signed(DataType::kUInt8));
  EXPECT_TRUE(is_known_dtype_code(26));
  EXPECT_FALSE(is_known_dtype_code(27));
  EXPECT_FALSE(is_known_dtype_code(0));
}

TEST(Tensor, ZerosAlignedAndCounted) {
  Tensor t = Tensor::zeros(DataType::kFloat, {2, 3});
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.element_count(), 6);
  EXPECT_EQ(t.byte_size(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
  for (float v : t.span<float>()) EXPECT_EQ(v, 0.0f);
  EXPECT_FALSE(t.is_borrowed());
  EXPECT_EQ(t.describe(), "float[2,3]");
  Tensor scalar = Tensor::zeros(DataType::kInt64, {});
  EXPECT_EQ(scalar.element_count(), 1);
  Tensor none = Tensor::zeros(DataType::kInt64, {0, 5});
  EXPECT_EQ(none.element_count(), 0);
  EXPECT_FALSE(Tensor().defined());
}

TEST(Tensor, HandlesShareCloneCopies) {
  Tensor a = Tensor::from_vector<int64_t>(DataType::kInt64, {3}, {1, 2, 3});
  Tensor shared = a;
  Tensor deep = a.clone();
  a.data<int64_t>()[0] = 42;
  EXPECT_EQ(shared.data<int64_t>()[0], 42);
  EXPECT_EQ(deep.data<int64_t>()[0], 1);
  Tensor r = a.reshaped({1, 3});
  EXPECT_EQ(r.data<int64_t>(), a.data<int64_t>());
  EXPECT_THROW(a.reshaped({2, 2}), Error);
  EXPECT_THROW((Tensor::from_vector<int64_t>(DataType::kInt64, {2}, {1, 2, 3})), Error);
}

TEST(Tensor, StringsAreConstructedAndCopied) {
  Tensor s = Tensor::zeros(DataType::kString, {2});
  EXPECT_EQ(s.data<std::string>()[0], "");
  s.data<std::string>()[1] = std::string(100, 'x');  // heap-allocated string, freed by the deleter
  Tensor c = s.clone();
  s.data<std::string>()[1] = "changed";
  EXPECT_EQ(c.data<std::string>()[1], std::string(100, 'x'));
  Tensor v = Tensor::from_vector<std::string>(DataType::kString, {2}, {"a", "bc"});
  EXPECT_EQ(v.data<std::string>()[1], "bc");
  EXPECT_THROW(Tensor::from_bytes(DataType::kString, {1}, "x", 1), Error);
}

TEST(Tensor, ViewsAndWraps) {
  float buf[4] = {1, 2, 3, 4};
  Tensor v = Tensor::view(DataType::kFloat, {2, 2}, buf);
  EXPECT_TRUE(v.is_borrowed());
  EXPECT_EQ(v.data<float>(), buf);
  Tensor c = v.clone();
  EXPECT_FALSE(c.is_borrowed());
  EXPECT_NE(c.data<float>(), buf);
  EXPECT_EQ(c.data<float>()[3], 4.0f);
  auto keeper = std::make_shared<std::vector<float>>(6, 1.5f);
  Tensor w = Tensor::wrap(DataType::kFloat, {6}, keeper->data(), keeper);
  EXPECT_FALSE(w.is_borrowed());
  std::weak_ptr<std::vector<float>> weak = keeper;
  keeper.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(w.data<float>()[5], 1.5f);
  w = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Tensor, FromBytesChecksSize) {
  const uint8_t bytes[2] = {0x21, 0x43};
  Tensor t = Tensor::from_bytes(DataType::kInt4, {4}, bytes, 2);
  EXPECT_EQ(t.byte_size(), 2u);
  EXPECT_EQ(static_cast<const uint8_t*>(t.raw_data())[1], 0x43);
  EXPECT_THROW(Tensor::from_bytes(DataType::kInt4, {5}, bytes, 2), Error);
  EXPECT_THROW(Tensor::from_bytes(DataType::kFloat, {1}, bytes, 2), Error);
}

TEST(Tensor, AbsurdShapesFailCleanly) {
  const int64_t huge = int64_t{1} << 62;
  try {
    Tensor::zeros(DataType::kFloat, {huge});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    // 2^62 floats is 2^64 bytes: either the byte count overflows or exceeds the limit.
    EXPECT_TRUE(e.code() == ErrorCode::kRuntime || e.code() == ErrorCode::kInvalidArgument);
  }
  try {
    Tensor::empty(DataType::kUInt8, {huge});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kRuntime);
    EXPECT_NE(std::string(e.what()).find("allocation limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tensor::zeros(DataType::kFloat, {huge, huge}), Error);  // element count overflows
  EXPECT_THROW(Tensor::zeros(DataType::kString, {huge}), Error);
  EXPECT_THROW(Tensor::zeros(DataType::kFloat, {-1}), Error);
  EXPECT_THROW(Tensor::zeros(DataType::kUndefined, {1}), Error);
  EXPECT_THROW(shape_element_count(std::vector<int64_t>{huge, 4}), Error);
  EXPECT_EQ(shape_element_count(std::vector<int64_t>{}), 1);
}

TEST(Tensor, AllocationLimitFromEnvironment) {
  setenv("FERRY_MAX_ALLOCATION_BYTES", "1000", 1);
  EXPECT_EQ(Tensor::max_allocation_bytes(), 1000u);
  EXPECT_THROW(Tensor::zeros(DataType::kFloat, {251}), Error);
  EXPECT_NO_THROW(Tensor::zeros(DataType::kFloat, {250}));
  unsetenv("FERRY_MAX_ALLOCATION_BYTES");
  EXPECT_EQ(Tensor::max_allocation_bytes(), size_t{64} << 30);
}

TEST(SparseTensor, ToDense) {
  ir::SparseTensor sp;
  sp.dims = {2, 3};
  sp.values = Tensor::from_vector<float>(DataType::kFloat, {2}, {5.0f, 7.0f});
  sp.indices = Tensor::from_vector<int64_t>(DataType::kInt64, {2, 2}, {0, 1, 1, 2});
  Tensor d = sp.to_dense();
  EXPECT_EQ(d.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(d.data<float>()[1], 5.0f);
  EXPECT_EQ(d.data<float>()[5], 7.0f);
  EXPECT_EQ(d.data<float>()[0], 0.0f);
  sp.indices = Tensor::from_vector<int64_t>(DataType::kInt64, {2}, {0, 4});
  EXPECT_EQ(sp.to_dense().data<float>()[4], 7.0f);
  sp.indices = Tensor::from_vector<int64_t>(DataType::kInt64, {2}, {0, 6});
  EXPECT_THROW(sp.to_dense(), Error);
  sp.indices = Tensor::from_vector<int64_t>(DataType::kInt64, {2, 2}, {0, 3, 1, 0});
  EXPECT_THROW(sp.to_dense(), Error);
  sp.indices = Tensor::from_vector<int64_t>(DataType::kInt64, {3}, {0, 1, 2});
  EXPECT_THROW(sp.to_dense(), Error);
}

}  // namespace
}  // namespace ferry
