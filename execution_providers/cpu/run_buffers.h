// RunBuffers: per-run scratch floats carved from a buffer cached per thread, so that a kernel's
// scratch pages are faulted in once per thread rather than on every run.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu {

/// Per-run float arrays of a kernel (the recurrent kernels, the Winograd convolution), carved from
/// one buffer reused across runs: the calling thread's cached buffer when it is free and large
/// enough, else a fresh one (cached on destruction when larger than the cached one and at most
/// 64 MiB). A fresh large allocation every run would come from mmap and fault its pages in each
/// run, or not, depending on the process's malloc history (glibc raises its mmap threshold as it
/// frees): run times would then differ by session.
class RunBuffers {
 public:
  /// Room for `floats` floats: the sum of padded(n) over the arrays to be taken.
  explicit RunBuffers(int64_t floats);
  ~RunBuffers();
  RunBuffers(const RunBuffers&) = delete;
  RunBuffers& operator=(const RunBuffers&) = delete;

  /// The next n floats, 64-byte aligned, zeroed when `zero` (else uninitialized).
  float* take(int64_t n, bool zero = true);

  /// Floats an array of n occupies (n rounded up to a cache line).
  static int64_t padded(int64_t n) { return (n + 15) / 16 * 16; }

 private:
  float* data_ = nullptr;
  int64_t size_ = 0, used_ = 0;
};

}  // namespace ferry::ep::cpu
