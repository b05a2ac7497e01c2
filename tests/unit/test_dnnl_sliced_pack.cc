// reorder_to_owned packs a large weight that lies in a file mapping slice by slice, dropping each
// slice's file pages once read: the result must equal a one-go reorder (padding included), and
// the source's pages must have left the process.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "execution_providers/cpu/dnnl/dnnl_runtime.h"
#include "ir/page_pool.h"

namespace ferry::ep::cpu::dnnl_rt {
namespace {

using tag = dnnl::memory::format_tag;

/// A private read-write mapping of a temporary file holding `values`, registered as a file
/// mapping (as the model loader does); unmapped and unregistered on destruction.
class MappedFloats {
 public:
  explicit MappedFloats(const std::vector<float>& values) : bytes_(values.size() * sizeof(float)) {
    char path[] = "/tmp/ferry_sliced_pack_XXXXXX";
    const int fd = ::mkstemp(path);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, values.data(), bytes_), static_cast<ssize_t>(bytes_));
    addr_ = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ::close(fd);
    ::unlink(path);
    EXPECT_NE(addr_, MAP_FAILED);
    mem::register_file_mapping(addr_, bytes_);
  }
  ~MappedFloats() {
    mem::unregister_file_mapping(addr_);
    ::munmap(addr_, bytes_);
  }
  float* data() const { return static_cast<float*>(addr_); }
  size_t bytes() const { return bytes_; }

  /// This process's resident KiB of the mapping (/proc/self/smaps).
  long resident_kib() const {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    char start[32];
    std::snprintf(start, sizeof start, "%lx-", reinterpret_cast<unsigned long>(addr_));
    bool in = false;
    while (std::getline(smaps, line)) {
      if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') && std::isxdigit(line[0]))
        in = line.rfind(start, 0) == 0;
      if (in && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
    }
    return -1;
  }

 private:
  size_t bytes_;
  void* addr_;
};

std::vector<float> pattern(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((i * 2654435761u) % 1000003) * 1e-3f - 500.f;
  return v;
}

/// Packs a file-mapped source of `dims`/`strides` into `packed_tag` and compares every byte of
/// the result (padding included) with a one-go reorder of an in-memory copy.
void expect_sliced_equals_whole(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides, tag packed_tag) {
  size_t count = 1;
  for (auto d : dims) count *= static_cast<size_t>(d);
  const std::vector<float> values = pattern(count);
  MappedFloats file(values);
  const dnnl::memory::desc src_desc(dims, dnnl::memory::data_type::f32, strides);
  const dnnl::memory::desc packed_desc(dims, dnnl::memory::data_type::f32, packed_tag);
  ASSERT_GE(src_desc.get_size(), size_t{16} << 20) << "too small to be sliced";

  const auto* touch = reinterpret_cast<const volatile char*>(file.data());
  for (size_t i = 0; i < file.bytes(); i += 4096) (void)touch[i];
  ASSERT_GT(file.resident_kib(), static_cast<long>(file.bytes() / 1024 / 2));

  // Garbage in recycled pages must not survive in the padding: fill the next buffer's pages.
  {
    const mem::RecycleScope scope;
    void* junk = mem::map_pages(packed_desc.get_size());
    std::memset(junk, 0xff, packed_desc.get_size());
    mem::unmap_pages(junk, packed_desc.get_size());
    const std::shared_ptr<dnnl::memory> sliced =
        reorder_to_owned(dnnl::memory(src_desc, engine(), file.data()), packed_desc);
    EXPECT_LT(file.resident_kib(), 8 * 1024) << "the source's file pages stayed resident";

    std::vector<float> copy(values);
    std::vector<uint8_t> whole(packed_desc.get_size(), 0);
    dnnl::memory src(src_desc, engine(), copy.data()), dst(packed_desc, engine(), whole.data());
    execute(dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, 1);
    EXPECT_EQ(std::memcmp(sliced->get_data_handle(), whole.data(), whole.size()), 0);
  }
  // The dropped pages read back with the file's contents.
  EXPECT_EQ(std::memcmp(file.data(), values.data(), file.bytes()), 0);
}

TEST(DnnlSlicedPack, RowMajorMatrixIntoPaddedBlocksEqualsOneReorder) {
  // K x N = 1000 x 4200: neither a multiple of 16 nor of 64, so the last slice is partial and
  // the packed layout is padded on both dims.
  expect_sliced_equals_whole({1000, 4200}, {4200, 1}, tag::BA16a64b);
}

TEST(DnnlSlicedPack, TransposedMatrixSlicesAlongItsOuterDimension) {
  // Stored N-major (a transposed B): slices run along dim 1.
  expect_sliced_equals_whole({1000, 4200}, {1, 1000}, tag::BA16a64b);
}

TEST(DnnlSlicedPack, ConvWeightIntoChannelBlocks) {
  expect_sliced_equals_whole({1032, 520, 3, 3}, {520 * 9, 9, 3, 1}, tag::OIhw16i16o);
}

TEST(DnnlSlicedPack, SameLayoutCopies) {
  expect_sliced_equals_whole({1100, 4000}, {4000, 1}, tag::ab);
}

TEST(DnnlSlicedPack, SourcesOutsideFileMappingsAreLeftResident) {
  std::vector<float> values = pattern(1100 * 4000);
  const dnnl::memory::desc d({1100, 4000}, dnnl::memory::data_type::f32, tag::ab);
  EXPECT_FALSE(mem::in_file_mapping(values.data(), values.size() * sizeof(float)));
  const auto packed = reorder_to_owned(dnnl::memory(d, engine(), values.data()),
                                       dnnl::memory::desc({1100, 4000}, dnnl::memory::data_type::f32, tag::BA16a64b));
  EXPECT_EQ(values[12345], pattern(1100 * 4000)[12345]);
}

}  // namespace
}  // namespace ferry::ep::cpu::dnnl_rt
