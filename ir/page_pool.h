// Page-aligned anonymous mappings for large buffers (weights copied out of a model file at load,
// prepacked weights), whose pages can be handed from a freed buffer to the next one.
//
// A fresh anonymous page costs a fault and zeroing on first touch (about 2 µs a page on the
// 2-core VM, 0.5 ms per MiB: more than the copy that fills it). Session creation frees one
// weight copy (the loaded one, once every reader has packed it) and allocates another (the
// packed one) per node, so while a RecycleScope is alive a freed mapping's pages are kept,
// still resident, and map_pages moves them into the next buffer with mremap (page-table
// entries move; no fault, no zeroing). When the last scope ends, kept pages are unmapped.
// Outside any scope, unmap_pages unmaps at once. Thread-safe.
#pragma once

#include <cstddef>

namespace ferry::mem {

/// The page size (4096 on x86-64 Linux).
size_t page_size();

/// `bytes` rounded up to whole pages.
size_t page_round(size_t bytes);

/// A read-write private anonymous mapping of page_round(bytes) bytes, page-aligned; nullptr when
/// the system refuses. Its contents are unspecified (recycled pages keep old data): callers
/// overwrite all of it.
void* map_pages(size_t bytes);

/// Returns a mapping from map_pages (same `bytes`): kept for reuse while a RecycleScope is alive,
/// else unmapped. Kept pages are bounded by twice the largest map_pages request made since the
/// outermost scope began (the oldest go first): pages no later buffer will take are not held.
void unmap_pages(void* p, size_t bytes);

/// While one lives (any thread), freed mappings are kept for map_pages to reuse.
class RecycleScope {
 public:
  RecycleScope();
  ~RecycleScope();
  RecycleScope(const RecycleScope&) = delete;
  RecycleScope& operator=(const RecycleScope&) = delete;
};

/// Buffers for unmap_pages carved one after another from one reservation that asks for
/// transparent huge pages (MADV_HUGEPAGE): where the system grants them, one fault maps and zeroes
/// 2 MiB, instead of 512 faults of 4 KiB (ferry loads MobileNetV2's 13 MiB of copied weights in
/// a third of the CPU time). Each buffer is its own page range: unmap_pages releases (or recycles)
/// it alone, splitting a huge page it shares with a neighbour. Where huge pages are off
/// ("never"), buffers fault in 4 KiB pages as map_pages' do. Not thread-safe.
class HugePageArena {
 public:
  /// Reserves `capacity` bytes of address space, 2 MiB-aligned; nothing is faulted in yet.
  /// An arena the system refuses hands out nothing.
  explicit HugePageArena(size_t capacity);
  /// Unmaps the part of the reservation never handed out.
  ~HugePageArena();
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  /// page_round(bytes) bytes, page-aligned, contents unspecified, to be released with
  /// unmap_pages(p, bytes); nullptr when the rest of the reservation is smaller.
  void* take(size_t bytes);

 private:
  char* base_ = nullptr;
  size_t used_ = 0, capacity_ = 0;
};

/// Bytes kept for reuse now (for tests).
size_t recycled_bytes();

// ---- read-only file mappings (model and external-data files) ----
//
// Pages of a private file mapping that nobody writes can leave the process at any time
// (MADV_DONTNEED): the page cache keeps them, and the next read maps them back with the file's
// contents. A consumer that has read a weight (e.g. packed it) drops its pages to keep the
// weight from being resident twice, whether or not other readers will come.

/// Records [base, base + size) as a file mapping whose pages may be dropped.
void register_file_mapping(const void* base, size_t size);
/// Forgets the mapping starting at `base` (before unmapping it).
void unregister_file_mapping(const void* base);
/// Whether [data, data + size) lies inside a registered file mapping.
bool in_file_mapping(const void* data, size_t size);
/// When [data, data + size) lies inside a registered file mapping, drops the whole pages inside
/// it from the process and returns true; else does nothing and returns false.
bool drop_file_pages(const void* data, size_t size);

}  // namespace ferry::mem
