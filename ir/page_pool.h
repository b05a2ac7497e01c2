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
/// else unmapped.
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

}  // namespace ferry::mem
