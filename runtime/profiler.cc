#include "runtime/profiler.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>

#include "ferry/error.h"

namespace ferry::runtime {

Profiler::Profiler(std::string file_prefix, Clock::time_point start)
    : prefix_(std::move(file_prefix)),
      start_(start),
      start_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch() - (Clock::now() - start))
                    .count()) {
  if (prefix_.empty()) prefix_ = "ferry_profile";
}

int64_t Profiler::now_us() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count();
}

void Profiler::add(Event e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ended_) events_.push_back(std::move(e));
}

std::string Profiler::quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Profiler::end() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_) return file_;
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[64];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d_%H-%M-%S", &tm);
  std::string file = prefix_ + "_" + stamp + ".json";
  std::ofstream out(file);
  if (!out) throw Error(ErrorCode::kIO, "cannot write the profile '" + file + "'");
  const std::string pid = std::to_string(::getpid());
  out << "[\n";
  for (size_t i = 0; i < events_.size(); ++i) {
    const Event& e = events_[i];
    out << "{\"cat\" : " << quote(e.category) << ",\"pid\" :" << pid << ",\"tid\" :0,\"dur\" :" << e.dur_us
        << ",\"ts\" :" << e.ts_us << ",\"ph\" : \"X\",\"name\" :" << quote(e.name) << ",\"args\" : {";
    for (size_t k = 0; k < e.args.size(); ++k)
      out << (k ? "," : "") << quote(e.args[k].first) << " : " << e.args[k].second;
    out << "}}" << (i + 1 < events_.size() ? "," : "") << "\n";
  }
  out << "]\n";
  out.close();
  if (!out) throw Error(ErrorCode::kIO, "cannot write the profile '" + file + "'");
  ended_ = true;
  events_.clear();
  file_ = file;
  return file_;
}

}  // namespace ferry::runtime
