#include <gtest/gtest.h>

#include "ferry/error.h"
#include "ir/dim.h"

namespace ferry::ir {
namespace {

TEST(IrDim, ConstantsAndSymbols) {
  Dim three = 3;
  EXPECT_TRUE(three.is_constant());
  EXPECT_EQ(three.value(), 3);
  EXPECT_EQ(three.to_string(), "3");
  Dim b = Dim::symbol("batch");
  EXPECT_TRUE(b.is_symbolic());
  EXPECT_EQ(b.symbol_name(), "batch");
  EXPECT_EQ(b.to_string(), "batch");
  EXPECT_THROW(Dim(-1), Error);
  EXPECT_THROW(Dim::symbol(""), Error);
}

TEST(IrDim, CanonicalFormMakesEqualExpressionsEqual) {
  Dim s = Dim::symbol("s");
  Dim t = Dim::symbol("t");
  EXPECT_EQ(s + s, Dim(2) * s);
  EXPECT_EQ(floor_div(s * Dim(2), Dim(2)), s);
  EXPECT_EQ(s * t, t * s);
  EXPECT_EQ((s + t) * (s + t), s * s + Dim(2) * s * t + t * t);
  EXPECT_EQ(s - s, Dim(0));
  EXPECT_TRUE((s - s).is_constant());
  EXPECT_EQ((s + Dim(1)) - Dim(1), s);
  EXPECT_NE(s, t);
  EXPECT_NE(s, Dim(1));
  EXPECT_EQ((s * t).symbol_name(), "");
  EXPECT_EQ((Dim(2) * s + Dim(1)).to_string(), "2*s + 1");
  EXPECT_EQ((s - Dim(1)).to_string(), "s - 1");
  EXPECT_EQ((Dim(0) - s).to_string(), "-s");
  EXPECT_EQ((s * t * Dim(3)).to_string(), "3*s*t");
}

TEST(IrDim, Division) {
  Dim s = Dim::symbol("seq");
  EXPECT_EQ(floor_div(Dim(7), Dim(2)), Dim(3));
  EXPECT_EQ(ceil_div(Dim(7), Dim(2)), Dim(4));
  EXPECT_EQ(floor_div(s, Dim(2)).to_string(), "floor(seq/2)");
  EXPECT_EQ(ceil_div(s, Dim(2)).to_string(), "ceil(seq/2)");
  EXPECT_EQ(floor_div(s, Dim(2)), floor_div(s, Dim(2)));
  EXPECT_NE(floor_div(s, Dim(2)), ceil_div(s, Dim(2)));
  // (2s + 1) / 2 == s + floor(1/2) == s
  EXPECT_EQ(floor_div(Dim(2) * s + Dim(1), Dim(2)), s);
  EXPECT_EQ(ceil_div(Dim(2) * s + Dim(1), Dim(2)), s + Dim(1));
  // (4s + 2t) / 2 = 2s + t exactly
  Dim t = Dim::symbol("t");
  EXPECT_EQ(floor_div(Dim(4) * s + Dim(2) * t, Dim(2)), Dim(2) * s + t);
  EXPECT_EQ(floor_div(s * t, t), s);
  EXPECT_EQ(floor_div(s, s), Dim(1));
  EXPECT_EQ(floor_div(s, Dim(1)), s);
  EXPECT_THROW(floor_div(s, Dim(0)), Error);
  // Conv-style output: floor((seq + 2 - 3) / 1) + 1 == seq
  EXPECT_EQ(floor_div(s + Dim(2) - Dim(3), Dim(1)) + Dim(1), s);
}

TEST(IrDim, Evaluate) {
  Dim s = Dim::symbol("s");
  Dim t = Dim::symbol("t");
  Dim e = floor_div(Dim(3) * s + t, Dim(2)) + Dim(1);
  SymbolBindings b{{"s", 5}, {"t", 2}};
  EXPECT_EQ(e.evaluate(b), std::optional<int64_t>(9));  // floor(17/2) + 1
  EXPECT_EQ(e.evaluate({{"s", 5}}), std::nullopt);
  EXPECT_EQ(Dim(4).evaluate({}), std::optional<int64_t>(4));
  EXPECT_EQ(ceil_div(s, t).evaluate(b), std::optional<int64_t>(3));
  EXPECT_EQ(ceil_div(s, t).evaluate({{"s", 5}, {"t", 0}}), std::nullopt);
}

TEST(IrDim, OverflowIsAnError) {
  Dim big = Dim(int64_t{1} << 62);
  EXPECT_THROW(big * Dim(4), Error);
  EXPECT_THROW(big + big + big, Error);
  Dim s = Dim::symbol("s");
  EXPECT_THROW((s * big).evaluate({{"s", 8}}), Error);
}

TEST(IrShape, BasicsAndEvaluate) {
  Shape s({Dim::symbol("batch"), 3, 224, 224});
  EXPECT_EQ(s.to_string(), "[batch,3,224,224]");
  EXPECT_EQ(Shape::unknown().to_string(), "[?]");
  EXPECT_FALSE(s.is_fully_constant());
  EXPECT_TRUE(Shape::from_ints({1, 2}).is_fully_constant());
  EXPECT_EQ(s.evaluate({{"batch", 2}}), (std::optional<std::vector<int64_t>>({2, 3, 224, 224})));
  EXPECT_EQ(s.evaluate({}), std::nullopt);
  EXPECT_EQ(Shape::unknown().evaluate({}), std::nullopt);
  EXPECT_EQ(Shape::from_ints({}), Shape(std::vector<Dim>{}));
  EXPECT_FALSE(Shape::from_ints({}) == Shape::unknown());
  EXPECT_TRUE(Shape::from_ints({}).is_fully_constant());
}

TEST(IrSymbolFactory, FreshNamesSkipReserved) {
  SymbolFactory f;
  EXPECT_EQ(f.fresh().symbol_name(), "unk__0");
  f.reserve("unk__7");
  f.reserve("batch");
  f.reserve("unk__x");
  f.reserve("unk__3");
  EXPECT_EQ(f.fresh().symbol_name(), "unk__8");
}

TEST(IrSymbolFactory, IsFreshOnlyForItsOwnForm) {
  SymbolFactory f;
  EXPECT_TRUE(SymbolFactory::is_fresh(f.fresh().symbol_name()));
  EXPECT_TRUE(SymbolFactory::is_fresh("unk__12"));
  EXPECT_FALSE(SymbolFactory::is_fresh("unk__"));
  EXPECT_FALSE(SymbolFactory::is_fresh("unk__x"));
  EXPECT_FALSE(SymbolFactory::is_fresh("my_unk__0"));  // a user's name that merely contains the prefix
  EXPECT_FALSE(SymbolFactory::is_fresh("batch"));
}

TEST(IrDim, SymbolsListsEveryNameOnceIncludingInsideDivisions) {
  const Dim seq = Dim::symbol("seq"), batch = Dim::symbol("batch"), k = Dim::symbol("unk__2");
  EXPECT_TRUE(Dim(7).symbols().empty());
  EXPECT_EQ(seq.symbols(), std::vector<std::string>{"seq"});
  EXPECT_EQ((batch * seq + seq + 1).symbols(), (std::vector<std::string>{"batch", "seq"}));
  EXPECT_EQ((batch + floor_div(seq, k)).symbols(), (std::vector<std::string>{"batch", "seq", "unk__2"}));
  EXPECT_EQ(ceil_div(Dim(10), k).symbols(), std::vector<std::string>{"unk__2"});
}

}  // namespace
}  // namespace ferry::ir
