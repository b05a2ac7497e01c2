#include "execution_providers/cpu/run_buffers.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>

namespace ferry::ep::cpu {
namespace {

/// The calling thread's cached RunBuffers storage (null while a RunBuffers holds it).
struct CachedBuffer {
  float* data = nullptr;
  int64_t size = 0;
  ~CachedBuffer() { std::free(data); }
};
thread_local CachedBuffer cached_buffer;

}  // namespace

RunBuffers::RunBuffers(int64_t floats) : size_(padded(std::max<int64_t>(floats, 1))) {
  CachedBuffer& c = cached_buffer;
  if (c.data != nullptr && c.size >= size_) {
    data_ = c.data;
    size_ = c.size;
    c.data = nullptr;
    c.size = 0;
    return;
  }
  data_ = static_cast<float*>(std::aligned_alloc(64, static_cast<size_t>(size_) * sizeof(float)));
  if (data_ == nullptr) throw std::bad_alloc();
}

RunBuffers::~RunBuffers() {
  // Buffers past 64 MiB are not kept: a run that needs one costs far more than its page faults.
  constexpr int64_t kMaxCachedFloats = int64_t{16} << 20;
  CachedBuffer& c = cached_buffer;
  if (c.size >= size_ || size_ > kMaxCachedFloats) {
    std::free(data_);
    return;
  }
  std::free(c.data);
  c.data = data_;
  c.size = size_;
}

float* RunBuffers::take(int64_t n, bool zero) {
  if (used_ + padded(n) > size_) throw std::logic_error("RunBuffers: more floats taken than reserved");
  float* p = data_ + used_;
  used_ += padded(n);
  if (zero) std::fill_n(p, n, 0.0f);
  return p;
}

}  // namespace ferry::ep::cpu
