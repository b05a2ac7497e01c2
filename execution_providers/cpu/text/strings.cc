// Element-wise string ops of opset 20: StringConcat (numpy broadcasting), StringSplit and
// RegexFullMatch (RE2 syntax, compiled once per node).
//
// StringSplit follows the ONNX reference (Python's str.split), which is what the spec's
// examples show: an empty or absent delimiter splits on runs of Unicode whitespace and ignores
// leading and trailing whitespace ("" gives no substrings); a delimiter splits at every
// occurrence ("" gives one empty substring); after `maxsplit` splits the remainder is the last
// substring, as it stands. A negative maxsplit means no limit. (onnxruntime 1.2x differs in
// corner cases: it splits on ' ' only, trims the remainder and gives "" no substrings.)
#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/text/text.h"

namespace ferry::ep::cpu {
namespace {

void require_strings(const KernelContext& ctx, const Tensor& t, const char* name) {
  if (t.dtype() != DataType::kString)
    fail(ctx, ErrorCode::kInvalidArgument,
         std::string("input '") + name + "' must be a string tensor, got " + t.describe());
}

class StringConcat final : public Kernel {
 public:
  explicit StringConcat(const KernelInfo&) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Tensor& y = ctx.required_input(1);
    require_strings(ctx, x, "X");
    require_strings(ctx, y, "Y");
    const BroadcastPlan plan(x.shape(), y.shape(), ctx.node());
    const std::string* px = x.data<std::string>();
    const std::string* py = y.data<std::string>();
    std::string* out = ctx.allocate_output(0, DataType::kString, plan.out_shape).data<std::string>();
    ctx.thread_pool().parallel_for(plan.rows, static_cast<double>(plan.inner), [&](int64_t begin, int64_t end) {
      plan.for_rows(begin, end, [&](int64_t row, int64_t xo, int64_t yo) {
        for (int64_t i = 0; i < plan.inner; ++i) {
          const std::string& a = px[xo + i * plan.a_step];
          const std::string& b = py[yo + i * plan.b_step];
          std::string& o = out[row * plan.inner + i];
          o.reserve(a.size() + b.size());
          o.assign(a).append(b);
        }
      });
    });
  }
};

/// Byte length of the whitespace character (Python's str.isspace) starting at s[i]; 0 when
/// s[i] does not start one.
size_t whitespace_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  const unsigned c0 = b(0);
  if (c0 == ' ' || (c0 >= 0x09 && c0 <= 0x0d) || (c0 >= 0x1c && c0 <= 0x1f)) return 1;
  if (c0 == 0xc2) return b(1) == 0x85 || b(1) == 0xa0 ? 2 : 0;                  // U+0085 U+00A0
  if (c0 == 0xe1) return b(1) == 0x9a && b(2) == 0x80 ? 3 : 0;                  // U+1680
  if (c0 == 0xe3) return b(1) == 0x80 && b(2) == 0x80 ? 3 : 0;                  // U+3000
  if (c0 == 0xe2) {
    const unsigned c1 = b(1), c2 = b(2);
    if (c1 == 0x80 && (c2 <= 0x8a || c2 == 0xa8 || c2 == 0xa9 || c2 == 0xaf) && c2 >= 0x80) return 3;  // U+2000..200A 2028 2029 202F
    if (c1 == 0x81 && c2 == 0x9f) return 3;                                     // U+205F
  }
  return 0;
}

void split_whitespace(std::string_view s, int64_t maxsplit, std::vector<std::string_view>& out) {
  const auto skip = [&](size_t i) {
    for (size_t w; i < s.size() && (w = whitespace_length(s, i)) > 0;) i += w;
    return i;
  };
  size_t pos = skip(0);
  while (pos < s.size()) {
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(s.substr(pos));
      return;
    }
    size_t end = pos;
    while (end < s.size() && whitespace_length(s, end) == 0) ++end;
    out.push_back(s.substr(pos, end - pos));
    pos = skip(end);
  }
}

void split_delimiter(std::string_view s, std::string_view delimiter, int64_t maxsplit,
                     std::vector<std::string_view>& out) {
  size_t pos = 0;
  while (true) {
    const size_t found = maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit
                             ? std::string_view::npos
                             : s.find(delimiter, pos);
    if (found == std::string_view::npos) {
      out.push_back(s.substr(pos));
      return;
    }
    out.push_back(s.substr(pos, found - pos));
    pos = found + delimiter.size();
  }
}

struct StringSplitAttributes {
  std::string delimiter;  // "delimiter": absent or "" = runs of whitespace
  int64_t maxsplit;       // "maxsplit": absent = no limit (-1)
  explicit StringSplitAttributes(const ir::Node& n)
      : delimiter(n.get_string("delimiter", "")), maxsplit(n.get_int("maxsplit", -1)) {}
};

class StringSplit final : public Kernel {
 public:
  explicit StringSplit(const KernelInfo& info) : attrs_(info.node()) {}

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    require_strings(ctx, x, "X");
    const std::string* in = x.data<std::string>();
    const auto n = static_cast<size_t>(x.element_count());
    std::vector<std::vector<std::string_view>> parts(n);
    ctx.thread_pool().parallel_for(x.element_count(), 16.0, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        if (attrs_.delimiter.empty()) split_whitespace(in[i], attrs_.maxsplit, parts[i]);
        else split_delimiter(in[i], attrs_.delimiter, attrs_.maxsplit, parts[i]);
      }
    });
    size_t width = 0;
    for (const auto& p : parts) width = std::max(width, p.size());
    std::vector<int64_t> y_shape = x.shape();
    y_shape.push_back(static_cast<int64_t>(width));
    std::string* y = ctx.allocate_output(0, DataType::kString, y_shape).data<std::string>();
    for (size_t i = 0; i < n; ++i)
      for (size_t k = 0; k < parts[i].size(); ++k) y[i * width + k] = parts[i][k];
    if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
      int64_t* z = ctx.allocate_output(1, DataType::kInt64, x.shape()).data<int64_t>();
      for (size_t i = 0; i < n; ++i) z[i] = static_cast<int64_t>(parts[i].size());
    }
  }

 private:
  StringSplitAttributes attrs_;
};

class RegexFullMatch final : public Kernel {
 public:
  explicit RegexFullMatch(const KernelInfo& info) {
    const ir::Node& n = info.node();
    if (!n.find_attribute("pattern")) fail_model(info, "missing required attribute 'pattern'");
    const std::string pattern = n.get_string("pattern", "");
    regex_ = std::make_unique<re2::RE2>(pattern, re2::RE2::Quiet);
    if (!regex_->ok())
      fail_model(info, "attribute 'pattern' \"" + pattern + "\" is not a valid RE2 pattern: " + regex_->error());
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    require_strings(ctx, x, "X");
    const std::string* in = x.data<std::string>();
    bool* out = ctx.allocate_output(0, DataType::kBool, x.shape()).data<bool>();
    ctx.thread_pool().parallel_for(x.element_count(), 64.0, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = re2::RE2::FullMatch(in[i], *regex_);
    });
  }

 private:
  std::unique_ptr<re2::RE2> regex_;  ///< RE2 matching is thread-safe
};

}  // namespace

void register_string_kernels(KernelRegistry& r) {
  r.add("StringConcat", {20}, make_kernel<StringConcat>, {DataType::kString});
  r.add("StringSplit", {20}, make_kernel<StringSplit>, {DataType::kString});
  r.add("RegexFullMatch", {20}, make_kernel<RegexFullMatch>, {DataType::kString});
}

}  // namespace ferry::ep::cpu
