#include "ir/dim.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "ferry/error.h"

namespace ferry::ir {

// Canonical form: a map from monomial (sorted list of atoms) to a non-zero coefficient. The empty
// monomial is the constant term. An expression whose only term is the constant one is never
// stored as a DimExpr: such a Dim is a plain constant (expr_ == nullptr). Atoms are symbols or
// opaque floor/ceil divisions whose numerator and denominator are themselves canonical, so the
// printed text of an atom identifies it.
class DimExpr {
 public:
  struct Atom {
    enum Kind { kSymbol = 0, kFloor = 1, kCeil = 2 };
    int kind = kSymbol;
    std::string text;  // symbol name, or "floor(a/b)" / "ceil(a/b)"
    Dim num, den;
    friend bool operator<(const Atom& a, const Atom& b) {
      return a.kind != b.kind ? a.kind < b.kind : a.text < b.text;
    }
    friend bool operator==(const Atom& a, const Atom& b) { return a.kind == b.kind && a.text == b.text; }
  };
  using Monomial = std::vector<Atom>;
  using Poly = std::map<Monomial, int64_t>;

  Poly terms;

  static Dim make_const(int64_t v) {
    Dim d;
    d.value_ = v;
    return d;
  }
  static Poly poly(const Dim& d) {
    if (d.expr_) return d.expr_->terms;
    Poly p;
    if (d.value_ != 0) p[{}] = d.value_;
    return p;
  }
  static Dim from_poly(Poly p) {
    for (auto it = p.begin(); it != p.end();) it = it->second == 0 ? p.erase(it) : std::next(it);
    if (p.empty()) return make_const(0);
    if (p.size() == 1 && p.begin()->first.empty()) return make_const(p.begin()->second);
    auto e = std::make_shared<DimExpr>();
    e->terms = std::move(p);
    Dim d;
    d.expr_ = std::move(e);
    return d;
  }
  static const Poly* terms_of(const Dim& d) { return d.expr_ ? &d.expr_->terms : nullptr; }
};

namespace {

using Atom = DimExpr::Atom;
using Monomial = DimExpr::Monomial;
using Poly = DimExpr::Poly;

[[noreturn]] void overflow() {
  throw Error(ErrorCode::kInvalidModel, "symbolic dimension arithmetic overflows int64");
}
int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}
int64_t floor_div_int(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t ceil_div_int(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) == (b < 0))) ++q;
  return q;
}

std::string monomial_text(const Monomial& m) {
  std::string s;
  for (size_t i = 0; i < m.size(); ++i) s += (i ? "*" : "") + m[i].text;
  return s;
}

// Wraps anything but a non-negative constant or a single atom in parentheses.
std::string operand_text(const Dim& d) {
  if (d.is_constant() && d.value() >= 0) return d.to_string();
  const Poly* p = DimExpr::terms_of(d);
  if (p && p->size() == 1 && p->begin()->second == 1 && p->begin()->first.size() == 1) return d.to_string();
  return "(" + d.to_string() + ")";
}

Dim division_atom(int kind, const Dim& a, const Dim& b) {
  Atom atom;
  atom.kind = kind;
  atom.text = std::string(kind == Atom::kFloor ? "floor(" : "ceil(") + operand_text(a) + "/" + operand_text(b) + ")";
  atom.num = a;
  atom.den = b;
  Poly p;
  p[{atom}] = 1;
  return DimExpr::from_poly(std::move(p));
}

bool monomial_contains(const Monomial& big, const Monomial& small, Monomial* rest) {
  // Multiset difference of sorted lists.
  rest->clear();
  size_t j = 0;
  for (size_t i = 0; i < big.size(); ++i) {
    if (j < small.size() && big[i] == small[j]) {
      ++j;
    } else {
      rest->push_back(big[i]);
    }
  }
  return j == small.size();
}

Dim divide(const Dim& a, const Dim& b, bool ceil) {
  const int kind = ceil ? Atom::kCeil : Atom::kFloor;
  if (b.is_constant() && b.value() == 0)
    throw Error(ErrorCode::kInvalidModel, "symbolic dimension " + a.to_string() + " divided by zero");
  if (a.is_constant() && b.is_constant())
    return DimExpr::make_const(ceil ? ceil_div_int(a.value(), b.value()) : floor_div_int(a.value(), b.value()));
  if (a.is_constant() && a.value() == 0) return DimExpr::make_const(0);
  if (b.is_constant()) {
    int64_t c = b.value();
    Poly pa = DimExpr::poly(a);
    if (c < 0) {
      if (c == INT64_MIN) overflow();
      for (auto& [m, k] : pa) k = checked_mul(k, -1);
      c = -c;
    }
    // a = c*q + r with 0 <= coefficients of r < c; floor(a/c) = q + floor(r/c) since q is integral.
    Poly q, r;
    for (const auto& [m, k] : pa) {
      const int64_t qk = floor_div_int(k, c);
      q[m] = qk;
      r[m] = k - qk * c;
    }
    Dim qd = DimExpr::from_poly(std::move(q));
    Dim rd = DimExpr::from_poly(std::move(r));
    if (rd.is_constant())  // 0 <= r < c
      return rd.value() == 0 ? qd : (ceil ? qd + Dim(1) : qd);
    return qd + division_atom(kind, rd, DimExpr::make_const(c));
  }
  if (a == b) return DimExpr::make_const(1);
  // Exact division by a single-term denominator.
  const Poly* pb = DimExpr::terms_of(b);
  if (pb->size() == 1 && !pb->begin()->first.empty()) {
    const auto& [mb, cb] = *pb->begin();
    Poly q;
    bool exact = true;
    for (const auto& [m, k] : DimExpr::poly(a)) {
      Monomial rest;
      if (!monomial_contains(m, mb, &rest) || k % cb != 0) {
        exact = false;
        break;
      }
      q[rest] = k / cb;
    }
    if (exact) return DimExpr::from_poly(std::move(q));
  }
  return division_atom(kind, a, b);
}

std::optional<int64_t> eval_atom(const Atom& atom, const SymbolBindings& bindings) {
  if (atom.kind == Atom::kSymbol) {
    auto it = bindings.find(atom.text);
    if (it == bindings.end()) return std::nullopt;
    return it->second;
  }
  auto n = atom.num.evaluate(bindings);
  auto d = atom.den.evaluate(bindings);
  if (!n || !d || *d == 0) return std::nullopt;
  return atom.kind == Atom::kFloor ? floor_div_int(*n, *d) : ceil_div_int(*n, *d);
}

}  // namespace

Dim::Dim(int64_t value) : value_(value) {
  if (value < 0) throw Error(ErrorCode::kInvalidModel, "dimension " + std::to_string(value) + " is negative");
}

Dim Dim::symbol(const std::string& name) {
  if (name.empty()) throw Error(ErrorCode::kInvalidModel, "a symbolic dimension needs a name");
  Atom atom;
  atom.text = name;
  Poly p;
  p[{atom}] = 1;
  return DimExpr::from_poly(std::move(p));
}

std::string Dim::symbol_name() const {
  if (!expr_ || expr_->terms.size() != 1) return "";
  const auto& [m, k] = *expr_->terms.begin();
  if (k != 1 || m.size() != 1 || m[0].kind != Atom::kSymbol) return "";
  return m[0].text;
}

namespace {
void collect_symbols(const Dim& d, std::vector<std::string>& out) {
  const DimExpr::Poly* terms = DimExpr::terms_of(d);
  if (!terms) return;
  for (const auto& [monomial, coefficient] : *terms) {
    for (const DimExpr::Atom& atom : monomial) {
      if (atom.kind == DimExpr::Atom::kSymbol) {
        out.push_back(atom.text);
      } else {
        collect_symbols(atom.num, out);
        collect_symbols(atom.den, out);
      }
    }
  }
}
}  // namespace

std::vector<std::string> Dim::symbols() const {
  std::vector<std::string> out;
  collect_symbols(*this, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Dim::to_string() const {
  if (!expr_) return std::to_string(value_);
  std::string s;
  int64_t constant = 0;
  bool first = true;
  for (const auto& [m, k] : expr_->terms) {
    if (m.empty()) {
      constant = k;
      continue;
    }
    const uint64_t mag = k < 0 ? 0 - static_cast<uint64_t>(k) : static_cast<uint64_t>(k);
    if (first) {
      if (k < 0) s += "-";
    } else {
      s += k < 0 ? " - " : " + ";
    }
    if (mag != 1) s += std::to_string(mag) + "*";
    s += monomial_text(m);
    first = false;
  }
  if (constant > 0) s += " + " + std::to_string(constant);
  if (constant < 0) s += " - " + std::to_string(0 - static_cast<uint64_t>(constant));
  return s;
}

std::optional<int64_t> Dim::evaluate(const SymbolBindings& bindings) const {
  if (!expr_) return value_;
  int64_t total = 0;
  for (const auto& [m, k] : expr_->terms) {
    int64_t term = k;
    for (const Atom& atom : m) {
      auto v = eval_atom(atom, bindings);
      if (!v) return std::nullopt;
      term = checked_mul(term, *v);
    }
    total = checked_add(total, term);
  }
  return total;
}

Dim operator+(const Dim& a, const Dim& b) {
  if (a.is_constant() && b.is_constant()) return DimExpr::make_const(checked_add(a.value(), b.value()));
  Poly p = DimExpr::poly(a);
  for (const auto& [m, k] : DimExpr::poly(b)) p[m] = checked_add(p[m], k);
  return DimExpr::from_poly(std::move(p));
}

Dim operator-(const Dim& a, const Dim& b) {
  if (a.is_constant() && b.is_constant()) {
    int64_t r;
    if (__builtin_sub_overflow(a.value(), b.value(), &r)) overflow();
    return DimExpr::make_const(r);
  }
  Poly p = DimExpr::poly(a);
  for (const auto& [m, k] : DimExpr::poly(b)) p[m] = checked_add(p[m], checked_mul(k, -1));
  return DimExpr::from_poly(std::move(p));
}

Dim operator*(const Dim& a, const Dim& b) {
  if (a.is_constant() && b.is_constant()) return DimExpr::make_const(checked_mul(a.value(), b.value()));
  Poly p;
  for (const auto& [ma, ka] : DimExpr::poly(a)) {
    for (const auto& [mb, kb] : DimExpr::poly(b)) {
      Monomial m;
      std::merge(ma.begin(), ma.end(), mb.begin(), mb.end(), std::back_inserter(m));
      p[m] = checked_add(p[m], checked_mul(ka, kb));
    }
  }
  return DimExpr::from_poly(std::move(p));
}

Dim floor_div(const Dim& a, const Dim& b) { return divide(a, b, false); }
Dim ceil_div(const Dim& a, const Dim& b) { return divide(a, b, true); }

bool operator==(const Dim& a, const Dim& b) {
  if (a.is_constant() != b.is_constant()) return false;
  if (a.is_constant()) return a.value() == b.value();
  return a.expr_ == b.expr_ || a.expr_->terms == b.expr_->terms;
}

Shape Shape::from_ints(const std::vector<int64_t>& v) {
  std::vector<Dim> dims;
  dims.reserve(v.size());
  for (int64_t x : v) dims.emplace_back(x);
  return Shape(std::move(dims));
}

bool Shape::is_fully_constant() const {
  if (!has_rank) return false;
  for (const Dim& d : dims)
    if (!d.is_constant()) return false;
  return true;
}

std::optional<std::vector<int64_t>> Shape::evaluate(const SymbolBindings& bindings) const {
  if (!has_rank) return std::nullopt;
  std::vector<int64_t> out;
  out.reserve(dims.size());
  for (const Dim& d : dims) {
    auto v = d.evaluate(bindings);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

std::string Shape::to_string() const {
  if (!has_rank) return "[?]";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + dims[i].to_string();
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) { return a.has_rank == b.has_rank && a.dims == b.dims; }

Dim SymbolFactory::fresh() { return Dim::symbol("unk__" + std::to_string(next_++)); }

namespace {
/// N when `name` is "unk__N", the form SymbolFactory::fresh hands out.
std::optional<int64_t> fresh_index(const std::string& name) {
  constexpr std::string_view kPrefix = "unk__";
  if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  int64_t n = 0;
  const char* begin = name.data() + kPrefix.size();
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (ec != std::errc() || ptr != end || n < 0) return std::nullopt;
  return n;
}
}  // namespace

void SymbolFactory::reserve(const std::string& name) {
  std::optional<int64_t> n = fresh_index(name);
  if (n && *n >= next_) next_ = *n + 1;
}

bool SymbolFactory::is_fresh(const std::string& name) { return fresh_index(name).has_value(); }

}  // namespace ferry::ir
