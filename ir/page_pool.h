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
