// ferry::Session: load a model once, run it many times.
//
//   ferry::Session session("model.onnx");
//   std::vector<ferry::Tensor> out = session.run({{"input", ferry::Tensor::view(...)}});
//
// `run` is const and safe to call from many threads at once on one session; each call keeps
// its own per-run state. Construction, too, may happen on many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ferry/tensor.h"
#include "ferry/value.h"

namespace ferry {

/// Mirrors onnxruntime's GraphOptimizationLevel; the numbers match its Python enum.
enum class GraphOptimizationLevel { kDisabled = 0, kBasic = 1, kExtended = 2, kAll = 99 };

struct SessionOptions {
  /// Threads for work inside one kernel; 0 picks the number of cores.
  int intra_op_num_threads = 0;
  GraphOptimizationLevel graph_optimization_level = GraphOptimizationLevel::kAll;
  /// Execution providers in priority order, e.g. {"CPUExecutionProvider"}; empty = all available.
  std::vector<std::string> providers;
  /// When false, a node that no listed provider can run is an error naming it, not a CPU fallback.
  bool allow_cpu_fallback = true;
  /// Optimizer passes to skip, by name.
  std::vector<std::string> disabled_passes;
  /// When set, the optimized model is saved there as ONNX.
  std::string optimized_model_filepath;
  /// Memory plans kept per concrete input-shape signature (least recently used is dropped).
  size_t max_cached_plans = 16;
  /// Records session phases and every node run; Session::end_profiling writes them as a
  /// Chrome-trace JSON file (onnxruntime's profile format) named `<prefix>_<date_time>.json`.
  bool enable_profiling = false;
  std::string profile_file_prefix = "ferry_profile";
  /// onnxruntime-style session config entries (add_session_config_entry). Ferry reads
  /// "session.compute_precision": "f32" (default) or "bf16" (oneDNN Conv / MatMul / Gemm kernels
  /// round float32 operands to bfloat16, accumulating in float32, on CPUs with AVX512-BF16 or AMX;
  /// float32 elsewhere). Other keys are kept and ignored.
  std::map<std::string, std::string> config_entries;
};

/// One dimension as the model declares it: a fixed size, or a symbol ("batch", "unk__3").
struct DimInfo {
  int64_t value = -1;  ///< >= 0 when fixed
  std::string symbol;  ///< non-empty when symbolic
  bool is_fixed() const { return value >= 0; }
};

struct ValueInfo {
  std::string name;
  std::string type;  ///< onnxruntime spelling: "tensor(float)", "seq(tensor(int64))"
  DataType dtype = DataType::kUndefined;  ///< element type (of a tensor)
  std::vector<DimInfo> shape;             ///< empty with has_rank == false: rank unknown
  bool has_rank = true;
};

/// Facts about the loaded model, for `ferry info` and tools.
struct ModelInfo {
  std::string path;  ///< "<bytes>" when loaded from memory
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opset_imports;  ///< "" is ai.onnx
  std::string producer_name, producer_version, graph_name, doc_string;
  std::string domain;            ///< the model's domain (ModelProto.domain)
  int64_t model_version = 0;     ///< ModelProto.model_version
  std::string graph_doc_string;  ///< the main graph's doc_string (doc_string is the model's)
  std::vector<std::pair<std::string, std::string>> metadata;
  std::map<std::string, int64_t> op_histogram;  ///< "Conv" or "domain:Op" -> count, after optimization
  int64_t node_count = 0;
  int64_t parameter_count = 0;  ///< elements in all initializers
  int64_t parameter_bytes = 0;
  /// Of parameter_bytes, what was freed at creation because every kernel reading it keeps its
  /// own prepacked copy.
  int64_t released_parameter_bytes = 0;
};

/// Time spent creating the session, in milliseconds.
struct SessionTimings {
  double load_ms = 0, infer_shapes_ms = 0, optimize_ms = 0, partition_ms = 0, prepare_kernels_ms = 0;
  double total_ms = 0;
};

/// The memory plan for one concrete input-shape signature.
struct MemoryPlanReport {
  size_t peak_bytes = 0;          ///< arena size: the most intermediate bytes alive at once
  size_t total_bytes = 0;         ///< sum of all planned intermediates (what no reuse would need)
  size_t planned_values = 0;      ///< intermediates given an arena offset
  size_t dynamic_values = 0;      ///< intermediates whose size is only known while running
  size_t in_place_values = 0;     ///< outputs written over a dead input's buffer
  size_t view_values = 0;         ///< outputs that are views of their input (Reshape & co.)
};

/// One optimizer pass's work while the session was created (summed over rounds and subgraphs);
/// mirrors optimizer::PassRun.
struct OptimizerPassReport {
  std::string name;
  double ms = 0;
  size_t nodes_before = 0;  ///< nodes in all graphs when the pass first ran
  size_t nodes_after = 0;   ///< when it last ran
  int changed_rounds = 0;   ///< rounds in which it changed something
};

/// What the optimizer did: each pass of the level's pipeline, in order, and the totals.
struct OptimizerReport {
  std::vector<OptimizerPassReport> passes;
  int rounds = 0;           ///< times the pipeline ran (the last changed nothing, unless capped)
  size_t nodes_before = 0;  ///< nodes (subgraphs included) before the first pass
  size_t nodes_after = 0;   ///< and after the last
  double total_ms = 0;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct NamedValue {
  std::string name;
  Value value;
};

class SessionImpl;

class Session {
 public:
  explicit Session(const std::string& model_path, const SessionOptions& options = {});
  /// Loads from serialized ONNX bytes; external data is then not allowed.
  static Session from_bytes(const void* data, size_t size, const SessionOptions& options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  const ModelInfo& model_info() const;
  const SessionTimings& timings() const;
  /// Providers that got nodes, in priority order.
  std::vector<std::string> providers() const;
  /// What each optimizer pass did while the session was created.
  OptimizerReport optimizer_report() const;

  /// Runs the model. `output_names` empty = every graph output, in graph order. Inputs are
  /// checked first: an unknown or missing name, a wrong dtype, a wrong rank or a dim that
  /// contradicts the model throws kInvalidArgument naming the input, expected and given.
  /// Inputs are only read; the caller's tensors are never modified.
  std::vector<Tensor> run(const std::vector<NamedTensor>& feeds,
                          const std::vector<std::string>& output_names = {}) const;

  /// Like run, for models whose inputs or outputs are sequences, optionals or maps: takes and
  /// returns Values (a tensor output comes back as a tensor Value). A sequence or optional
  /// input takes a Value::sequence, Value::none() or the value an optional holds. `run` on such
  /// a model throws kInvalidArgument when a requested output is not a tensor.
  std::vector<Value> run_values(const std::vector<NamedValue>& feeds,
                                const std::vector<std::string>& output_names = {}) const;

  /// The memory plan `run` uses for inputs of these shapes (planned and cached if new).
  MemoryPlanReport memory_plan(const std::map<std::string, std::vector<int64_t>>& input_shapes) const;
  /// Number of memory plans in the cache now.
  size_t cached_plan_count() const;

  /// With SessionOptions::enable_profiling: writes the profile, stops profiling and returns the
  /// file name (the same name on later calls). Without profiling: "".
  std::string end_profiling();
  /// When profiling started (session creation), in ns since the epoch; 0 without profiling.
  int64_t profiling_start_time_ns() const;

 private:
  explicit Session(std::unique_ptr<SessionImpl> impl);
  std::unique_ptr<SessionImpl> impl_;
};

/// Providers compiled into this build, in default priority order ("CPUExecutionProvider" last).
std::vector<std::string> available_providers();

/// "0.1.0"
const char* version();

}  // namespace ferry
