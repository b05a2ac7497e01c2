// Session profiling in onnxruntime's format: a Chrome-trace JSON array of complete ("X")
// events, with session phases (cat "Session") and one event per node run (cat "Node", name
// "<node name>_kernel_time", args op_name, provider and input/output types and shapes).
// Enabled by SessionOptions::enable_profiling; when disabled the session holds no Profiler and
// the executor's only cost is a null check per node.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::runtime {

class Profiler {
 public:
  using Clock = std::chrono::steady_clock;

  /// `file_prefix`: end() writes `<prefix>_<local date and time>.json`. `start`: time 0.
  explicit Profiler(std::string file_prefix, Clock::time_point start = Clock::now());

  /// Microseconds since the profiler started (event timestamps).
  int64_t now_us() const;
  /// Wall-clock time at start, in nanoseconds since the epoch (get_profiling_start_time_ns).
  int64_t start_time_ns() const { return start_ns_; }

  struct Event {
    std::string category;  ///< "Session" or "Node"
    std::string name;
    int64_t ts_us = 0;
    int64_t dur_us = 0;
    /// Extra "args": key and a JSON value (already encoded).
    std::vector<std::pair<std::string, std::string>> args;
  };
  /// Thread-safe. Ignored after end().
  void add(Event e);

  /// Writes the events and returns the file name; stops recording. A second call returns the
  /// same name without writing again. Throws kIO when the file cannot be written.
  std::string end();

  /// `s` as a JSON string literal (quotes included).
  static std::string quote(const std::string& s);

 private:
  std::string prefix_;
  Clock::time_point start_;
  int64_t start_ns_ = 0;
  std::mutex mu_;
  std::vector<Event> events_;
  bool ended_ = false;
  std::string file_;
};

}  // namespace ferry::runtime
