#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "ir/page_pool.h"

namespace ferry::mem {
namespace {

/// A mapping from map_pages with no RecycleScope of this test's involved (its size is not a
/// request of the scope that frees it).
void* map_pages_outside_scope(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

TEST(PagePool, OutsideAScopeFreedPagesAreUnmapped) {
  void* p = map_pages(3 * page_size());
  ASSERT_NE(p, nullptr);
  std::memset(p, 7, 3 * page_size());
  unmap_pages(p, 3 * page_size());
  EXPECT_EQ(recycled_bytes(), 0u);
}

TEST(PagePool, InAScopeFreedPagesMoveIntoTheNextBufferWithTheirContents) {
  const size_t page = page_size();
  {
    const RecycleScope scope;
    auto* a = static_cast<unsigned char*>(map_pages(4 * page - 10));  // rounds up to 4 pages
    ASSERT_NE(a, nullptr);
    for (size_t i = 0; i < 4 * page; ++i) a[i] = static_cast<unsigned char>(i % 251);
    unmap_pages(a, 4 * page - 10);
    EXPECT_EQ(recycled_bytes(), 4 * page);

    // 6 pages: the first 4 are a's (same data, moved), the last 2 fresh (zero).
    auto* b = static_cast<unsigned char*>(map_pages(6 * page));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(recycled_bytes(), 0u);
    for (size_t i = 0; i < 4 * page; ++i) ASSERT_EQ(b[i], static_cast<unsigned char>(i % 251)) << i;
    for (size_t i = 4 * page; i < 6 * page; ++i) ASSERT_EQ(b[i], 0) << i;

    // A smaller request takes part of a kept region; the remainder stays kept.
    unmap_pages(b, 6 * page);
    auto* c = static_cast<unsigned char*>(map_pages(page));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c[1], 1);  // b's first page, which holds a's data
    EXPECT_EQ(recycled_bytes(), 5 * page);
    c[page - 1] = 1;  // writable
    unmap_pages(c, page);
  }
  EXPECT_EQ(recycled_bytes(), 0u);  // the last scope unmapped what was kept
}

TEST(PagePool, NestedScopesKeepPagesUntilTheOutermostEnds) {
  const RecycleScope outer;
  {
    const RecycleScope inner;
    unmap_pages(map_pages(page_size()), page_size());
  }
  EXPECT_EQ(recycled_bytes(), page_size());
}

TEST(PagePool, KeptPagesAreBoundedByTwiceTheLargestRequest) {
  const size_t page = page_size();
  const RecycleScope scope;
  // Nothing requested yet in this scope: a freed mapping is not kept (no buffer will take it).
  unmap_pages(map_pages_outside_scope(3 * page), 3 * page);
  EXPECT_EQ(recycled_bytes(), 0u);

  void* a = map_pages(2 * page);  // largest request: 2 pages, so at most 4 are kept
  void* b = map_pages(page);
  void* c = map_pages(2 * page);
  auto* d = static_cast<unsigned char*>(map_pages(2 * page));
  d[0] = 42;
  unmap_pages(a, 2 * page);
  unmap_pages(b, page);
  EXPECT_EQ(recycled_bytes(), 3 * page);
  unmap_pages(c, 2 * page);  // 5 pages > 4: the oldest (a's) go
  EXPECT_EQ(recycled_bytes(), 3 * page);
  unmap_pages(d, 2 * page);  // 5 again: b's go
  EXPECT_EQ(recycled_bytes(), 4 * page);
  // The newest pages are the ones reused.
  auto* e = static_cast<unsigned char*>(map_pages(2 * page));
  EXPECT_EQ(e[0], 42);
  unmap_pages(e, 2 * page);
}

TEST(FileMappings, OnlyRegisteredRangesArePagedOutAndTheyReadBackFromTheFile) {
  const size_t page = page_size();
  char path[] = "/tmp/ferry_file_pages_XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<unsigned char> bytes(8 * page);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i % 253);
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  void* addr = ::mmap(nullptr, bytes.size(), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  ::unlink(path);
  ASSERT_NE(addr, MAP_FAILED);
  auto* p = static_cast<unsigned char*>(addr);

  EXPECT_FALSE(in_file_mapping(p, page));
  EXPECT_FALSE(drop_file_pages(p, page));  // not registered: untouched
  register_file_mapping(addr, bytes.size());
  EXPECT_TRUE(in_file_mapping(p + page, 2 * page));
  EXPECT_FALSE(in_file_mapping(p + page, 8 * page));  // runs past the end
  EXPECT_TRUE(drop_file_pages(p + 10, 5 * page));
  EXPECT_EQ(std::memcmp(p, bytes.data(), bytes.size()), 0);

  // Anonymous memory is never registered, so a drop cannot zero it.
  std::vector<unsigned char> anon(bytes);
  EXPECT_FALSE(drop_file_pages(anon.data(), anon.size()));
  EXPECT_EQ(anon, bytes);

  unregister_file_mapping(addr);
  EXPECT_FALSE(in_file_mapping(p, page));
  ::munmap(addr, bytes.size());
}

}  // namespace
}  // namespace ferry::mem
