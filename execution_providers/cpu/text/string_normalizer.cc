// StringNormalizer (10): drops stop words from a [C] or [1, C] string tensor, then lower- or
// upper-cases what is left. As in onnxruntime, each element is one word (stop words are matched
// against whole elements), case-insensitive matching compares in the case the output will take
// (upper for UPPER, else lower) so kept elements keep their own case under NONE, and when every
// element is dropped the output is one empty string, shaped [1] or [1, 1].
//
// Case mapping is per code point through the ctype<wchar_t> facet of the named locale. A locale
// the system lacks ("en_US" on a minimal machine) falls back to C.UTF-8, then to the classic
// locale (ASCII only); it never fails the model.
#include <locale>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/text/text.h"

namespace ferry::ep::cpu {
namespace {

enum class CaseChange { kNone, kLower, kUpper };

struct StringNormalizerAttributes {
  CaseChange case_change = CaseChange::kNone;  // "case_change_action": "NONE"
  bool case_sensitive = false;                 // "is_case_sensitive": 0
  std::string locale;                          // "locale": "" (C.UTF-8)
  std::vector<std::string> stopwords;          // "stopwords": none

  explicit StringNormalizerAttributes(const ir::Node& n)
      : case_sensitive(n.get_int("is_case_sensitive", 0) != 0),
        locale(n.get_string("locale", "")),
        stopwords(n.get_strings("stopwords", {})) {
    const std::string action = n.get_string("case_change_action", "NONE");
    if (action == "LOWER") case_change = CaseChange::kLower;
    else if (action == "UPPER") case_change = CaseChange::kUpper;
    else if (action != "NONE")
      throw Error(ErrorCode::kInvalidModel,
                  "attribute 'case_change_action' is '" + action + "' (valid: LOWER, UPPER, NONE)");
  }
};

std::locale pick_locale(const std::string& name) {
  for (const std::string& candidate : {name, std::string("C.UTF-8")}) {
    if (candidate.empty()) continue;
    try {
      return std::locale(candidate);
    } catch (const std::runtime_error&) {
      // Not installed on this system: try the next one.
    }
  }
  return std::locale::classic();
}

/// Decodes UTF-8 into code points; false when `s` is not valid UTF-8.
bool decode_utf8(const std::string& s, std::wstring& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int len;
    char32_t cp, min;
    if (b0 < 0x80) { len = 1; cp = b0; min = 0; }
    else if ((b0 & 0xe0) == 0xc0) { len = 2; cp = b0 & 0x1f; min = 0x80; }
    else if ((b0 & 0xf0) == 0xe0) { len = 3; cp = b0 & 0x0f; min = 0x800; }
    else if ((b0 & 0xf8) == 0xf0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
    else return false;
    if (i + static_cast<size_t>(len) > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out.push_back(static_cast<wchar_t>(cp));
    i += static_cast<size_t>(len);
  }
  return true;
}

std::string encode_utf8(const std::wstring& w) {
  std::string out;
  out.reserve(w.size());
  for (wchar_t wc : w) {
    const auto cp = static_cast<char32_t>(wc);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }
  return out;
}

class StringNormalizer final : public Kernel {
 public:
  explicit StringNormalizer(const KernelInfo& info)
      : attrs_(info.node()),
        locale_(pick_locale(attrs_.locale)),
        ctype_(&std::use_facet<std::ctype<wchar_t>>(locale_)) {
    compare_case_ = attrs_.case_sensitive ? CaseChange::kNone
                    : attrs_.case_change == CaseChange::kUpper ? CaseChange::kUpper
                                                               : CaseChange::kLower;
    for (const std::string& w : attrs_.stopwords) {
      std::string key = w;
      if (compare_case_ != CaseChange::kNone && !change_case(key, compare_case_))
        fail_model(info, "stop word '" + w + "' is not valid UTF-8");
      stopwords_.insert(std::move(key));
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    if (x.dtype() != DataType::kString)
      fail(ctx, ErrorCode::kInvalidArgument, "input 'X' must be a string tensor, got " + x.describe());
    const bool two_d = x.rank() == 2;
    if (!(x.rank() == 1 || (two_d && x.dim(0) == 1)))
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'X' has shape " + shape_to_string(x.shape()) + ", expected [C] or [1, C]");
    const std::string* in = x.data<std::string>();
    std::vector<std::string> kept;
    kept.reserve(static_cast<size_t>(x.element_count()));
    for (int64_t i = 0; i < x.element_count(); ++i) {
      if (!stopwords_.empty()) {
        std::string key = in[i];
        if (compare_case_ != CaseChange::kNone && !change_case(key, compare_case_)) invalid_utf8(ctx, i);
        if (stopwords_.count(key)) continue;
      }
      kept.push_back(in[i]);
      if (attrs_.case_change != CaseChange::kNone && !change_case(kept.back(), attrs_.case_change))
        invalid_utf8(ctx, i);
    }
    if (kept.empty()) kept.emplace_back();  // every element dropped: one empty string
    const auto c = static_cast<int64_t>(kept.size());
    Tensor& y = ctx.allocate_output(0, DataType::kString,
                                    two_d ? std::vector<int64_t>{1, c} : std::vector<int64_t>{c});
    std::string* out = y.data<std::string>();
    for (size_t i = 0; i < kept.size(); ++i) out[i] = std::move(kept[i]);
  }

 private:
  [[noreturn]] static void invalid_utf8(const KernelContext& ctx, int64_t i) {
    fail(ctx, ErrorCode::kInvalidArgument, "element " + std::to_string(i) + " of input 'X' is not valid UTF-8");
  }

  /// Lower- or upper-cases `s` in place; false when it is not valid UTF-8.
  bool change_case(std::string& s, CaseChange how) const {
    std::wstring w;
    if (!decode_utf8(s, w)) return false;
    if (how == CaseChange::kUpper) ctype_->toupper(w.data(), w.data() + w.size());
    else ctype_->tolower(w.data(), w.data() + w.size());
    s = encode_utf8(w);
    return true;
  }

  StringNormalizerAttributes attrs_;
  std::locale locale_;
  const std::ctype<wchar_t>* ctype_;
  CaseChange compare_case_ = CaseChange::kNone;
  std::unordered_set<std::string> stopwords_;  ///< in compare_case_
};

}  // namespace

void register_string_normalizer_kernels(KernelRegistry& r) {
  r.add("StringNormalizer", {10}, make_kernel<StringNormalizer>, {DataType::kString});
}

}  // namespace ferry::ep::cpu
