#include "ir/page_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace ferry::mem {
namespace {

#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14
#endif

struct Pool {
  std::mutex mu;
  int scopes = 0;
  size_t bytes = 0;
  size_t largest_request = 0;  // the largest map_pages in the current scopes
  std::vector<std::pair<uintptr_t, size_t>> regions;  // page-aligned, most recently freed last
};

// While scopes live, kept pages beyond this many times the largest request are unmapped (oldest
// first): pages freed where nothing maps new buffers (weights packed into other storage) would
// otherwise stay resident beside their packed copies until the scope ends.
constexpr size_t kKeptPerLargestRequest = 2;

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: mappings may be freed during static destruction
  return *p;
}

}  // namespace

size_t page_size() {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

size_t page_round(size_t bytes) {
  const size_t page = page_size();
  return (bytes + page - 1) / page * page;
}

void* map_pages(size_t bytes) {
  const size_t len = page_round(bytes == 0 ? 1 : bytes);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  if (pl.scopes > 0) pl.largest_request = std::max(pl.largest_request, len);
  // Move kept pages over the new mapping's (untouched) ones, front to back.
  size_t at = 0;
  while (at < len && !pl.regions.empty()) {
    auto& [addr, n] = pl.regions.back();
    const size_t take = std::min(n, len - at);
    void* to = static_cast<char*>(p) + at;
    if (::mremap(reinterpret_cast<void*>(addr), take, take, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED) {
      ::munmap(reinterpret_cast<void*>(addr), n);  // not movable: give it back instead
      pl.bytes -= n;
      pl.regions.pop_back();
      continue;
    }
    at += take;
    addr += take;
    n -= take;
    pl.bytes -= take;
    if (n == 0) pl.regions.pop_back();
  }
  // The rest are fresh: fault them in with one call rather than one trap per page (about 15%
  // faster here); kernels without MADV_POPULATE_WRITE (before 5.14) fault them on first write.
  if (at < len) ::madvise(static_cast<char*>(p) + at, len - at, kPopulateWrite);
  return p;
}

void unmap_pages(void* p, size_t bytes) {
  if (p == nullptr) return;
  const size_t len = page_round(bytes == 0 ? 1 : bytes);
  Pool& pl = pool();
  std::vector<std::pair<uintptr_t, size_t>> drop;
  {
    std::lock_guard<std::mutex> lock(pl.mu);
    if (pl.scopes == 0) {
      drop.emplace_back(reinterpret_cast<uintptr_t>(p), len);
    } else {
      pl.regions.emplace_back(reinterpret_cast<uintptr_t>(p), len);
      pl.bytes += len;
      const size_t cap = kKeptPerLargestRequest * pl.largest_request;
      size_t oldest = 0;
      while (pl.bytes > cap && oldest < pl.regions.size()) {
        drop.push_back(pl.regions[oldest]);
        pl.bytes -= pl.regions[oldest++].second;
      }
      pl.regions.erase(pl.regions.begin(), pl.regions.begin() + static_cast<std::ptrdiff_t>(oldest));
    }
  }
  for (const auto& [addr, n] : drop) ::munmap(reinterpret_cast<void*>(addr), n);
}

RecycleScope::RecycleScope() {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  if (pl.scopes++ == 0) pl.largest_request = 0;
}

RecycleScope::~RecycleScope() {
  Pool& pl = pool();
  std::vector<std::pair<uintptr_t, size_t>> drop;
  {
    std::lock_guard<std::mutex> lock(pl.mu);
    if (--pl.scopes > 0) return;
    drop.swap(pl.regions);
    pl.bytes = 0;
  }
  for (const auto& [addr, n] : drop) ::munmap(reinterpret_cast<void*>(addr), n);
}

size_t recycled_bytes() {
  Pool& pl = pool();
  std::lock_guard<std::mutex> lock(pl.mu);
  return pl.bytes;
}

namespace {

struct FileMappings {
  std::mutex mu;
  std::vector<std::pair<uintptr_t, size_t>> live;  // base, size
};

FileMappings& file_mappings() {
  static FileMappings* f = new FileMappings();  // never destroyed, like the pool
  return *f;
}

bool inside(const FileMappings& f, uintptr_t p, size_t size) {
  for (const auto& [base, n] : f.live)
    if (p >= base && size <= n && p - base <= n - size) return true;
  return false;
}

}  // namespace

void register_file_mapping(const void* base, size_t size) {
  FileMappings& f = file_mappings();
  std::lock_guard<std::mutex> lock(f.mu);
  f.live.emplace_back(reinterpret_cast<uintptr_t>(base), size);
}

void unregister_file_mapping(const void* base) {
  FileMappings& f = file_mappings();
  std::lock_guard<std::mutex> lock(f.mu);
  for (size_t i = 0; i < f.live.size(); ++i)
    if (f.live[i].first == reinterpret_cast<uintptr_t>(base)) {
      f.live.erase(f.live.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
}

bool in_file_mapping(const void* data, size_t size) {
  FileMappings& f = file_mappings();
  std::lock_guard<std::mutex> lock(f.mu);
  return inside(f, reinterpret_cast<uintptr_t>(data), size);
}

bool drop_file_pages(const void* data, size_t size) {
  FileMappings& f = file_mappings();
  const auto p = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(f.mu);  // held: the mapping cannot go meanwhile
  if (!inside(f, p, size)) return false;
  const uintptr_t page = page_size();
  const uintptr_t b = (p + page - 1) / page * page, e = (p + size) / page * page;
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
  return true;
}

}  // namespace ferry::mem
