// What a kernel is, how it is registered, and what an execution provider offers.
//
// A kernel is created once per node when the session is created: its factory parses the
// node's attributes into a typed struct and may prepack constant weights. compute() does only
// the work, is const, and may run on many threads at once (per-run state lives in the
// KernelContext).
//
// Registration is one line in the op family's file, with the opset versions as data:
//
//   void register_activation_kernels(KernelRegistry& r) {
//     r.add("Relu", {6, 13, 14}, make_kernel<Unary<relu>>, kFloatTypes);
//   }
//
// The registry picks, for a node at opset N, the entry with the highest since_version <= N
// whose capability predicate (if any) accepts the node.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/tensor.h"
#include "ferry/value.h"
#include "ir/graph.h"
#include "runtime/thread_pool.h"

namespace ferry::ep {

class ExecutionProvider;
class KernelContext;

/// A subgraph (If branch, Loop / Scan / SequenceMap body) compiled once at session creation:
/// its kernels, created by the same providers, and its own memory planning. run() is const and
/// thread-safe; each call keeps its state on its own stack.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual const ir::Graph& graph() const = 0;
  size_t input_count() const { return graph().inputs().size(); }
  size_t output_count() const { return graph().outputs().size(); }
  /// Runs the body once. `inputs` are the body's inputs in order (tensors, sequences or
  /// optionals); the outer-scope values the body reads come from `ctx`, the context of the node
  /// that holds the subgraph, in the current run. Returns the body's outputs in order, owned
  /// (never aliasing the body's own memory).
  virtual std::vector<Value> run(const KernelContext& ctx, std::vector<Value> inputs) const = 0;
};

/// Compiles a subgraph for a kernel (implemented by the runtime).
using SubgraphCompiler = std::function<std::shared_ptr<SubgraphRunner>(const ir::Graph&)>;

/// Construction-time view of a node.
class KernelInfo {
 public:
  KernelInfo(const ir::Node& node, int64_t opset, ExecutionProvider& provider,
             SubgraphCompiler compiler = {})
      : node_(node), opset_(opset), provider_(provider), compiler_(std::move(compiler)) {}
  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  ExecutionProvider& provider() const { return provider_; }
  /// The initializer feeding input i, when it is a constant; null otherwise (for prepacking).
  const Tensor* constant_input(size_t i) const;
  /// Inferred type of input/output i (shapes may be symbolic).
  const ir::Type* input_type(size_t i) const;
  const ir::Type* output_type(size_t i) const;
  /// Compiles a graph attribute of this node (once, at session creation) for running it from
  /// compute(). kNotImplemented when the runtime offers no subgraph support.
  std::shared_ptr<SubgraphRunner> compile_subgraph(const ir::Graph& graph) const;
  /// The kernel keeps its own (prepacked) copy of constant input i, and compute() will read
  /// only that input's shape and dtype, never its data. The runtime may then release the
  /// initializer's storage once no other kernel needs it (peak memory: weights live once).
  void mark_prepacked(size_t i) const {
    if (prepacked_sink_ != nullptr) prepacked_sink_->push_back(i);
  }
  /// Where mark_prepacked records input indices (set by the runtime; none: ignored).
  void set_prepacked_sink(std::vector<size_t>* sink) { prepacked_sink_ = sink; }
  /// The session's config entry `key` (SessionOptions::config_entries, onnxruntime's
  /// add_session_config_entry), or `fallback` when the session has none.
  std::string config_entry(const std::string& key, const std::string& fallback = "") const {
    if (config_ == nullptr) return fallback;
    auto it = config_->find(key);
    return it == config_->end() ? fallback : it->second;
  }
  /// The session's config entries (set by the runtime; none: every entry takes its fallback).
  void set_config_entries(const std::map<std::string, std::string>* config) { config_ = config; }

 private:
  const ir::Node& node_;
  int64_t opset_;
  ExecutionProvider& provider_;
  SubgraphCompiler compiler_;
  std::vector<size_t>* prepacked_sink_ = nullptr;
  const std::map<std::string, std::string>* config_ = nullptr;
};

/// Run-time view of a node: its inputs, and a way to get output buffers.
class KernelContext {
 public:
  virtual ~KernelContext() = default;
  virtual const ir::Node& node() const = 0;
  virtual size_t input_count() const = 0;
  /// null when the optional input is omitted.
  virtual const Tensor* input(size_t i) const = 0;
  /// Like input(i), but throws a clear error naming the node when it is omitted.
  const Tensor& required_input(size_t i) const;
  virtual size_t output_count() const = 0;
  /// False when the model omits optional output i; the kernel may then skip computing it.
  virtual bool output_wanted(size_t i) const = 0;
  /// The buffer for output i with this shape and type: from the run's memory plan when it
  /// planned one that fits, else freshly allocated. When the kernel's registration declared
  /// in-place capability, the buffer may be the storage of that input (which is then dead).
  virtual Tensor& allocate_output(size_t i, DataType dtype, std::vector<int64_t> shape) = 0;
  /// Output i shares `source`'s storage with a new shape (Reshape, Squeeze, Flatten, Identity).
  /// The runtime copies instead when sharing would be unsafe.
  virtual Tensor& alias_output(size_t i, const Tensor& source, std::vector<int64_t> shape) = 0;
  /// Hands over a complete tensor (e.g. from a subgraph run or a non-tensor value).
  virtual void set_output(size_t i, Tensor value) = 0;
  virtual const runtime::ThreadPool& thread_pool() const = 0;

  // Non-tensor values (sequences, optionals, maps), for the kernels that take or make them.
  /// Input i as any value; an undefined Value when omitted.
  virtual Value input_value(size_t i) const;
  /// Hands over output i as any value (a tensor Value goes through set_output).
  virtual void set_output_value(size_t i, Value value);
  /// The current run's value of `v`, a value of an enclosing graph read by this node's
  /// subgraphs (SubgraphRunner::run asks for it). kRuntime when the run does not hold it.
  virtual Value outer_value(const ir::Value& v) const;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void compute(KernelContext& ctx) const = 0;
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInfo&)>;
/// Capability predicate: can this kernel run this node? (dtypes, attribute values...)
using Capability = std::function<bool(const ir::Node&, int64_t opset)>;

template <typename K>
std::unique_ptr<Kernel> make_kernel(const KernelInfo& info) { return std::make_unique<K>(info); }

struct KernelDef {
  std::string domain;  ///< "" for ai.onnx
  std::string op_type;
  /// Opset versions this kernel implements, ascending; the node's opset picks the highest
  /// version <= its opset. {6, 13, 14} serves opsets 6.. (until a newer schema version the
  /// list does not name exists).
  std::vector<int> versions;
  std::vector<DataType> types;  ///< for docs/supported_ops.md
  KernelFactory factory;
  Capability supports;  ///< empty: every node
  /// Input indices whose buffer the output 0 may overwrite (element-wise ops).
  std::vector<int> in_place_inputs;
  /// Output 0 is always a view of input 0 (Reshape & co.).
  bool output_is_view = false;
};

class KernelRegistry {
 public:
  KernelDef& add(std::string op_type, std::vector<int> versions, KernelFactory factory,
                 std::vector<DataType> types = {}, std::string domain = "");
  /// The kernel for this node at this opset, or null when none fits.
  const KernelDef* find(const ir::Node& node, int64_t opset) const;
  const std::vector<KernelDef>& all() const { return defs_; }

 private:
  std::vector<KernelDef> defs_;
};

class ExecutionProvider {
 public:
  virtual ~ExecutionProvider() = default;
  /// onnxruntime-style name: "CPUExecutionProvider".
  virtual std::string name() const = 0;
  virtual const KernelRegistry& registry() const = 0;
  /// True when memory this provider uses is host memory.
  virtual bool uses_host_memory() const { return true; }
  /// Whether this provider can run the node; default: a registered kernel fits.
  virtual bool can_run(const ir::Node& node, int64_t opset) const {
    return registry().find(node, opset) != nullptr;
  }
};

// Type lists for registrations.
inline const std::vector<DataType> kFloatTypes = {DataType::kFloat, DataType::kDouble};
inline const std::vector<DataType> kNumericTypes = {
    DataType::kFloat, DataType::kDouble, DataType::kInt32, DataType::kInt64,
    DataType::kInt8,  DataType::kUInt8,  DataType::kInt16, DataType::kUInt16,
    DataType::kUInt32, DataType::kUInt64};

}  // namespace ferry::ep
