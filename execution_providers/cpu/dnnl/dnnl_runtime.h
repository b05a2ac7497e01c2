// What every oneDNN-backed CPU kernel shares: one CPU engine for the process, and running a
// primitive on the calling thread with the session's intra-op thread count.
//
// The Debian oneDNN build uses OpenMP for its threads. OpenMP's thread count is a per-thread
// setting, so `execute` sets it on the calling thread to the session's intra_op_num_threads
// before each primitive: a session with 1 thread runs oneDNN on 1 thread, whatever other
// sessions in the process use. Primitives are created once, at kernel creation (weights
// reordered to the primitive's preferred layout there, see reorder_to), and are reused by
// every run; execute() is safe to call from several runs at once (oneDNN primitives are
// thread-safe for execution, each call makes its own stream and scratchpad).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu::dnnl_rt {

/// The process-wide CPU engine.
dnnl::engine& engine();

/// Runs `primitive` with `args` on the calling thread's stream, using `threads` OpenMP threads
/// (the session's intra-op count), and waits for it.
void execute(const dnnl::primitive& primitive, const std::unordered_map<int, dnnl::memory>& args, int threads);

/// Same, with the thread count taken from the running kernel's context.
inline void execute(const KernelContext& ctx, const dnnl::primitive& primitive,
                    const std::unordered_map<int, dnnl::memory>& args) {
  execute(primitive, args, ctx.thread_pool().num_threads());
}

/// dnnl::memory::dims from a shape.
inline dnnl::memory::dims dims(const std::vector<int64_t>& shape) { return {shape.begin(), shape.end()}; }

/// A memory object over caller-owned float data with a plain (row-major) layout of `shape`,
/// or the given format tag. The data is not copied.
dnnl::memory wrap(const std::vector<int64_t>& shape, const float* data,
                  dnnl::memory::format_tag tag = dnnl::memory::format_tag::undef);

/// A constant weight tensor reordered once into the layout `desc` that a primitive chose
/// (format_tag::any at creation). Owns its buffer; the source tensor may be released afterwards.
dnnl::memory reorder_to(const dnnl::memory& source, const dnnl::memory::desc& desc);

/// The plain row-major format tag for a rank (a, ab, abc, ...).
dnnl::memory::format_tag plain_tag(size_t rank);

}  // namespace ferry::ep::cpu::dnnl_rt
