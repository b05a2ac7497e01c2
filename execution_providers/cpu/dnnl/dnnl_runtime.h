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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "execution_providers/kernel.h"

namespace ferry::ep::cpu::dnnl_rt {

/// One oneDNN eltwise post-op: dst = algorithm(dst; alpha, beta).
struct DnnlEltwise {
  dnnl::algorithm algorithm;
  float alpha = 0.f, beta = 0.f;
};

/// The eltwise post-ops that compute a FusedConv / FusedGemm / FusedMatMul `activation` with
/// `activation_params` (ir/ferry_schemas_fusion.cc, fused/fused_activation.h): Relu, LeakyRelu
/// (relu with slope), Clip (clip_v2; only when min <= max, where oneDNN's answer equals
/// min(max(y, min), max)), Sigmoid (logistic), Tanh, SiLU (swish, 1), HardSigmoid (linear then
/// clip_v2 to [0, 1]: oneDNN 2.6 has no hardsigmoid). Empty for "". std::nullopt for any other
/// name or a wrong parameter count (the kernel then applies the activation itself).
std::optional<std::vector<DnnlEltwise>> dnnl_activation(const std::string& name, const std::vector<float>& params);

/// The process-wide CPU engine.
dnnl::engine& engine();

/// Runs `primitive` with `args` on the calling thread's stream, using `threads` OpenMP threads
/// (the session's intra-op count), and waits for it. The calling thread's OpenMP count is
/// restored afterwards (primitives created later on it are sized by that count).
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
/// (format_tag::any at creation), on one thread. Owns its buffer; the source tensor may be
/// released afterwards.
///
/// This and reorder_to_owned create their reorder under an OpenMP count of 1, whatever the
/// caller's: oneDNN fixes a reorder's thread split when it is created and keeps it whatever count
/// execute() sets, so one made under a session's count of 2 ran 2-thread parallel regions at
/// kernel creation (31 in MobileNetV2's), each waking a second thread on a shared core.
dnnl::memory reorder_to(const dnnl::memory& source, const dnnl::memory::desc& desc);

/// The plain row-major format tag for a rank (a, ab, abc, ...).
dnnl::memory::format_tag plain_tag(size_t rank);

// ---- memory for packed weights ----------------------------------------------------
// Buffers for prepacked weights that are anonymous mappings of their own from 128 KiB up: freeing
// one (a session closing, a shape's extra layout dropped) returns its pages to the system at once
// instead of leaving a hole in the heap that keeps the process's resident size up.
// (Transparent huge pages were tried here: on this VM clearing fresh 2 MiB pages cost more system
// time than the 4 KiB faults they save.)

/// A memory object of `desc` over such a buffer, freed with the last handle. Uninitialized.
std::shared_ptr<dnnl::memory> owned_memory(const dnnl::memory::desc& desc);

/// `source` reordered (or copied, when the layouts are equal) into owned_memory(desc), on one thread.
std::shared_ptr<dnnl::memory> reorder_to_owned(const dnnl::memory& source, const dnnl::memory::desc& desc);

/// A constant weight kept in the oneDNN layouts that primitives chose: the first copy is packed at
/// kernel creation (after which the initializer may be released); a primitive for a new input
/// shape that prefers another layout gets a copy reordered from the first. Copies are
/// owned_memory. pack() runs once, at creation; in_layout() and first() are thread-safe.
class PackedWeights {
 public:
  void pack(const dnnl::memory& source, const dnnl::memory::desc& desc);
  bool empty() const { return !packed_; }
  /// The weights in layout `desc` (made on first request).
  dnnl::memory in_layout(const dnnl::memory::desc& desc) const;
  /// The copy made at creation.
  dnnl::memory first() const;

 private:
  bool packed_ = false;
  mutable std::mutex mutex_;
  mutable std::vector<std::shared_ptr<dnnl::memory>> copies_;
};

/// Per-shape state (a primitive and its layouts), made on first use of a key and kept; a kernel's
/// compute() may ask from several threads at once.
template <typename P>
class ShapeCache {
 public:
  /// The entry for `key`, made by `make()` (under the cache's lock) when new.
  template <typename Make>
  std::shared_ptr<const P> get(std::vector<int64_t> key, Make&& make) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) return it->second;
    std::shared_ptr<const P> p = make();
    entries_.emplace(std::move(key), p);
    return p;
  }
  void put(std::vector<int64_t> key, std::shared_ptr<const P> p) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.emplace(std::move(key), std::move(p));
  }

 private:
  mutable std::mutex mutex_;
  mutable std::map<std::vector<int64_t>, std::shared_ptr<const P>> entries_;
};

// ---- CPU features for int8 / bf16, and the opt-in compute precision ----

/// True when oneDNN's int8 kernels compute exact int32 dot products here (AVX512-VNNI or
/// AVX-VNNI). Without VNNI they use vpmaddubsw, whose int16 pair sums saturate.
bool cpu_has_int8_dot();
/// True when the CPU has bf16 arithmetic (AVX512-BF16 or AMX).
bool cpu_has_bf16();

/// SessionOptions config entry "session.compute_precision": "f32" (the default: every kernel
/// computes in float32, as without the entry) or "bf16" (oneDNN Conv / MatMul / Gemm kernels may
/// round their float32 operands to bfloat16, accumulating in float32, where the CPU has bf16
/// arithmetic; on a CPU without AVX512-BF16 or AMX they stay float32).
enum class ComputePrecision { kF32, kBF16 };
inline constexpr const char* kComputePrecisionKey = "session.compute_precision";
/// Parses the entry's value; throws kInvalidArgument naming the valid values.
ComputePrecision parse_compute_precision(const std::string& value);

/// The element type a oneDNN float kernel being created with `info` computes in: bf16 when the
/// session's "session.compute_precision" entry is bf16 and cpu_has_bf16(), else f32. (oneDNN 2.6
/// ignores fpmath_mode::bf16 on AVX512-BF16, so kernels give their primitives bf16 operand
/// descriptors instead.) Throws kInvalidArgument for a value that is neither.
dnnl::memory::data_type compute_type(const KernelInfo& info);

}  // namespace ferry::ep::cpu::dnnl_rt

namespace ferry::ep::cpu {
using dnnl_rt::dnnl_activation;
using dnnl_rt::DnnlEltwise;
}  // namespace ferry::ep::cpu
