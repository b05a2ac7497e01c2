// Symbolic dimensions. A Dim is either a known integer or an expression over named symbols
// ("batch", "seq", "unk__3"). Expressions are kept in a canonical form (a sum of
// coefficient * product-of-symbols terms, plus opaque floor/ceil-division terms), so that
// structurally different but equal expressions compare equal: (s + s) == 2*s, s*2/2 == s.
// A run binds symbols to integers and `evaluate` turns every Dim into a number.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ferry::ir {

using SymbolBindings = std::map<std::string, int64_t>;

class DimExpr;  // canonical expression, defined in dim.cc

class Dim {
 public:
  /// A known size. Throws ferry::Error(kInvalidModel) when negative.
  Dim(int64_t value = 0);  // NOLINT: implicit so that Dim d = 3 reads naturally
  static Dim symbol(const std::string& name);

  bool is_constant() const { return expr_ == nullptr; }
  bool is_symbolic() const { return expr_ != nullptr; }
  /// The known size; only when is_constant().
  int64_t value() const { return value_; }
  /// The symbol's name when this Dim is exactly one symbol, else empty.
  std::string symbol_name() const;
  /// Every symbol the expression mentions, inside floor/ceil divisions too, sorted, each once.
  std::vector<std::string> symbols() const;

  /// "3", "batch", "2*seq + 1", "floor(seq/2)"
  std::string to_string() const;

  /// Substitutes bindings; nullopt when a symbol is unbound.
  std::optional<int64_t> evaluate(const SymbolBindings& bindings) const;

  friend Dim operator+(const Dim& a, const Dim& b);
  friend Dim operator-(const Dim& a, const Dim& b);
  friend Dim operator*(const Dim& a, const Dim& b);
  /// floor(a / b); b must not be the constant 0.
  friend Dim floor_div(const Dim& a, const Dim& b);
  friend Dim ceil_div(const Dim& a, const Dim& b);
  friend bool operator==(const Dim& a, const Dim& b);
  friend bool operator!=(const Dim& a, const Dim& b) { return !(a == b); }

 private:
  int64_t value_ = 0;
  std::shared_ptr<const DimExpr> expr_;  // null when constant
  friend class DimExpr;
};

/// A tensor shape: rank unknown, or a list of dims.
struct Shape {
  bool has_rank = false;
  std::vector<Dim> dims;

  Shape() = default;
  explicit Shape(std::vector<Dim> d) : has_rank(true), dims(std::move(d)) {}
  static Shape unknown() { return Shape(); }
  static Shape from_ints(const std::vector<int64_t>& v);

  size_t rank() const { return dims.size(); }
  bool is_fully_constant() const;
  /// Concrete dims under `bindings`; nullopt when the rank or a symbol is unknown.
  std::optional<std::vector<int64_t>> evaluate(const SymbolBindings& bindings) const;
  /// "[batch,3,224,224]", "[?]" for unknown rank
  std::string to_string() const;
  friend bool operator==(const Shape& a, const Shape& b);
};

/// Hands out fresh symbols "unk__0", "unk__1", ... for dims that inference cannot express.
class SymbolFactory {
 public:
  Dim fresh();
  /// Continue after names already used in a model, so fresh names never collide.
  void reserve(const std::string& name);
  /// Whether `name` has the form fresh() hands out ("unk__" and a number).
  static bool is_fresh(const std::string& name);

 private:
  int64_t next_ = 0;
};

}  // namespace ferry::ir
