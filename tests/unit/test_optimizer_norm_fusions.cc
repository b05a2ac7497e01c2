// Normalisation and activation fusions: fuse_gelu, fuse_layer_norm, fuse_rms_norm,
// fuse_skip_layer_norm, fuse_silu. Each: the operand orders exporters write, cases that must not
// fire, numeric parity before/after, printed IR against a golden string. The goldens show one
// pass's work: constants it left unused stay until eliminate_dead_code sweeps them, and epsilon
// prints as the float the attribute holds (1e-12f is 9.99999996e-13).

#include <gtest/gtest.h>

#include <cmath>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using testing::PassTest;
using testing::expect_close;
using testing::random_tensor;

Tensor scalar(float v) { return Tensor::from_vector<float>(DataType::kFloat, {}, {v}); }
Tensor vec(int64_t n, uint32_t seed) { return random_tensor({n}, seed); }

// ---- fuse_gelu --------------------------------------------------------------------------------

/// distilbert's order: Mul(Mul(x, Add(Erf(Div(x, sqrt2)), 1)), 0.5).
ir::Value* exact_gelu_div_form(PassTest& t, ir::Value* x, float sqrt2 = 1.4142135f) {
  ir::Value* e = t.node("Erf", {t.node("Div", {x, t.initializer("sqrt2", scalar(sqrt2))})});
  ir::Value* a = t.node("Add", {e, t.initializer("one", scalar(1.f))});
  return t.node("Mul", {t.node("Mul", {x, a}), t.initializer("half", scalar(0.5f))}, {}, "y");
}

TEST(FuseGelu, ExactDivFormBelowOpset20BecomesFerryGelu) {
  PassTest t(17);
  ir::Value* x = t.input("x", {"batch", 8});
  t.output(exact_gelu_div_form(t, x));
  Tensor in = random_tensor({3, 8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gelu));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,8], sqrt2: float[] = initializer, one: float[] = initializer, half: float[] = "
            "initializer) -> (y: float[batch,8]) {\n"
            "  y = ferry:Gelu(x)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_EQ(t.model().opset("ferry"), 1);
}

TEST(FuseGelu, ExactMulFormWithHalfFirstAtOpset20BecomesOnnxGelu) {
  // 0.5 * x first, then times (1 + erf(x * 0.70710677)); operands swapped throughout.
  PassTest t(20);
  ir::Value* x = t.input("x", {2, 8});
  ir::Value* h = t.node("Mul", {t.initializer("half", scalar(0.5f)), x});
  ir::Value* e = t.node("Erf", {t.node("Mul", {t.initializer("inv_sqrt2", scalar(0.70710677f)), x})});
  ir::Value* a = t.node("Add", {t.initializer("one", scalar(1.f)), e});
  t.output(t.node("Mul", {a, h}, {}, "y"));
  Tensor in = random_tensor({2, 8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gelu));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,8], half: float[] = initializer, inv_sqrt2: float[] = initializer, one: float[] = "
            "initializer) -> (y: float[2,8]) {\n"
            "  y = Gelu(x)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
  EXPECT_EQ(t.model().opset("ferry"), 0);
}

TEST(FuseGelu, TanhFormAsGpt2WritesIt) {
  // 0.5 * x * (1 + tanh(0.7978846 * (x + 0.044715 * x^3))), GPT-2's NewGELU.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 8});
  ir::Value* h = t.node("Mul", {x, t.initializer("half", scalar(0.5f))});
  ir::Value* cube = t.node("Pow", {x, t.initializer("three", scalar(3.f))});
  ir::Value* inner = t.node("Add", {x, t.node("Mul", {cube, t.initializer("c", scalar(0.044715f))})});
  ir::Value* th = t.node("Tanh", {t.node("Mul", {inner, t.initializer("k", scalar(0.7978846f))})});
  t.output(t.node("Mul", {h, t.node("Add", {th, t.initializer("one", scalar(1.f))})}, {}, "y"));
  Tensor in = random_tensor({2, 8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gelu));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,8], half: float[] = initializer, three: float[] = initializer, c: float[] = "
            "initializer, k: float[] = initializer, one: float[] = initializer) -> (y: float[2,8]) {\n"
            "  y = ferry:Gelu(x) {approximate=\"tanh\"}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseGelu, ConstantBiasAddFoldsIn) {
  PassTest t(17);
  ir::Value* h = t.input("h", {2, 3, 8});
  ir::Value* x = t.node("Add", {t.initializer("bias", vec(8, 7)), h});
  t.output(exact_gelu_div_form(t, x));
  Tensor in = random_tensor({2, 3, 8});
  auto before = t.run({{"h", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gelu));
  EXPECT_EQ(t.print(),
            "graph main (h: float[2,3,8], bias: float[8] = initializer, sqrt2: float[] = initializer, one: float[] = "
            "initializer, half: float[] = initializer) -> (y: float[2,3,8]) {\n"
            "  y = ferry:Gelu(h, bias) {approximate=\"none\"}\n"
            "}\n");
  expect_close(t.run({{"h", in}}), before);
}

TEST(FuseGelu, ConstantNodesServeAsConstants) {
  // Before constant folding turns them into initializers: the Constant nodes go with the pattern.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 8});
  auto constant = [&](float v) { return t.node("Constant", {}, {ir::Attribute::make_tensor("value", scalar(v))}); };
  ir::Value* e = t.node("Erf", {t.node("Div", {x, constant(1.4142135f)})});
  ir::Value* a = t.node("Add", {e, constant(1.f)});
  t.output(t.node("Mul", {t.node("Mul", {x, a}), constant(0.5f)}, {}, "y"));
  Tensor in = random_tensor({2, 8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_gelu));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,8]) -> (y: float[2,8]) {\n"
            "  y = ferry:Gelu(x)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseGelu, BiasThatIsNotConstantOrBroadcastsStaysOutside) {
  // A graph-input bias is not folded; nor is a bias that widens h ([8] + [2,3,1]).
  PassTest t(20);
  ir::Value* h = t.input("h", {2, 3, 8});
  ir::Value* b = t.input("b", {8});
  t.output(t.node("Gelu", {t.node("Add", {h, b})}, {}, "y"));
  ir::Value* narrow = t.input("narrow", {2, 3, 1});
  t.output(t.node("Gelu", {t.node("Add", {narrow, t.initializer("bias", vec(8, 3))})}, {}, "z"));
  EXPECT_FALSE(t.run_pass(passes::fuse_gelu));
}

TEST(FuseGelu, WrongConstantDoesNotFire) {
  PassTest t(17);
  t.output(exact_gelu_div_form(t, t.input("x", {2, 8}), 1.5f));
  EXPECT_FALSE(t.run_pass(passes::fuse_gelu));
}

TEST(FuseGelu, IntermediateWithASecondConsumerDoesNotFire) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 8});
  ir::Value* y = exact_gelu_div_form(t, x);
  t.output(y);
  ir::Node* erf = nullptr;
  for (ir::Node* n : t.graph().nodes())
    if (n->op_type() == "Erf") erf = n;
  ASSERT_NE(erf, nullptr);
  t.output(t.node("Neg", {erf->output(0)}, {}, "erf_too"));
  EXPECT_FALSE(t.run_pass(passes::fuse_gelu));
}

// ---- fuse_layer_norm --------------------------------------------------------------------------

/// The decomposed layer norm of exports below opset 17 (axes as an attribute, opset < 18).
ir::Value* decomposed_layer_norm(PassTest& t, ir::Value* x, int64_t axis = -1, float exponent = 2.f) {
  ir::Value* m = t.node("ReduceMean", {x}, {ir::Attribute::make_ints("axes", {axis})});
  ir::Value* d = t.node("Sub", {x, m});
  ir::Value* p = t.node("Pow", {d, t.initializer("two", scalar(exponent))});
  ir::Value* v = t.node("ReduceMean", {p}, {ir::Attribute::make_ints("axes", {axis})});
  ir::Value* s = t.node("Sqrt", {t.node("Add", {v, t.initializer("eps", scalar(1e-12f))})});
  return t.node("Div", {d, s}, {}, "n");
}

TEST(FuseLayerNorm, DecomposedBelowOpset17BecomesFerryLayerNorm) {
  PassTest t(13);
  ir::Value* x = t.input("x", {"batch", 4, 16});
  ir::Value* n = decomposed_layer_norm(t, x);
  ir::Value* g = t.node("Mul", {n, t.initializer("gamma", vec(16, 2))});
  t.output(t.node("Add", {g, t.initializer("beta", vec(16, 3))}, {}, "y"));
  Tensor in = random_tensor({2, 4, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,4,16], two: float[] = initializer, eps: float[] = initializer, gamma: float[16] = "
            "initializer, beta: float[16] = initializer) -> (y: float[batch,4,16]) {\n"
            "  y = ferry:LayerNormalization(x, gamma, beta) {axis=-1, epsilon=9.99999996e-13}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseLayerNorm, SwappedOperandsAtOpset17BecomeOnnxLayerNorm) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* n = decomposed_layer_norm(t, x, 1);
  ir::Value* g = t.node("Mul", {t.initializer("gamma", vec(16, 2)), n});
  t.output(t.node("Add", {t.initializer("beta", vec(16, 3)), g}, {}, "y"));
  Tensor in = random_tensor({2, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], two: float[] = initializer, eps: float[] = initializer, gamma: float[16] = "
            "initializer, beta: float[16] = initializer) -> (y: float[2,16]) {\n"
            "  y = LayerNormalization(x, gamma, beta) {axis=-1, epsilon=9.99999996e-13}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseLayerNorm, WithoutScaleAndBiasGetsAScaleOfOnes) {
  // Basic passes drop a Mul by ones and an Add of zeros: the Div ends the pattern and its output
  // has several readers.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* n = decomposed_layer_norm(t, x);
  t.output(t.node("Relu", {n}, {}, "y"));
  t.output(t.node("Neg", {n}, {}, "z"));
  Tensor in = random_tensor({2, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], two: float[] = initializer, eps: float[] = initializer, layer_norm_scale: "
            "float[16] = initializer) -> (y: float[2,16], z: float[2,16]) {\n"
            "  LayerNormalization_out = LayerNormalization(x, layer_norm_scale) {axis=-1, epsilon=9.99999996e-13}\n"
            "  y = Relu(LayerNormalization_out)\n"
            "  z = Neg(LayerNormalization_out)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseLayerNorm, BiasWithoutScaleGetsAScaleOfOnes) {
  // gamma of ones removed, beta kept: Add(beta, n).
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  t.output(t.node("Add", {t.initializer("beta", vec(16, 3)), decomposed_layer_norm(t, x)}, {}, "y"));
  Tensor in = random_tensor({2, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], beta: float[16] = initializer, two: float[] = initializer, eps: float[] = "
            "initializer, layer_norm_scale: float[16] = initializer) -> (y: float[2,16]) {\n"
            "  y = LayerNormalization(x, layer_norm_scale, beta) {axis=-1, epsilon=9.99999996e-13}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseLayerNorm, ReductionOverANonLastAxisDoesNotFire) {
  PassTest t(13);
  t.output(decomposed_layer_norm(t, t.input("x", {2, 16, 4}), 1));
  EXPECT_FALSE(t.run_pass(passes::fuse_layer_norm));
}

TEST(FuseLayerNorm, WrongExponentDoesNotFire) {
  PassTest t(13);
  t.output(decomposed_layer_norm(t, t.input("x", {2, 16}), -1, 3.f));
  EXPECT_FALSE(t.run_pass(passes::fuse_layer_norm));
}

TEST(FuseLayerNorm, IntermediateWithASecondConsumerDoesNotFire) {
  PassTest t(13);
  ir::Value* x = t.input("x", {2, 16});
  t.output(decomposed_layer_norm(t, x));
  ir::Node* sqrt = nullptr;
  for (ir::Node* n : t.graph().nodes())
    if (n->op_type() == "Sqrt") sqrt = n;
  t.output(t.node("Neg", {sqrt->output(0)}, {}, "std"));
  EXPECT_FALSE(t.run_pass(passes::fuse_layer_norm));
}

TEST(FuseLayerNorm, GammaOfTheWrongShapeIsNotFolded) {
  // gamma [4] against a last dimension of 16: only the core fuses (scale of ones), the Mul stays.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* n = decomposed_layer_norm(t, x);
  t.output(t.node("Mul", {n, t.input("gamma", {2, 1})}, {}, "y"));
  EXPECT_TRUE(t.run_pass(passes::fuse_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], gamma: float[2,1], two: float[] = initializer, eps: float[] = initializer, "
            "layer_norm_scale: float[16] = initializer) -> (y: float[2,16]) {\n"
            "  LayerNormalization_out = LayerNormalization(x, layer_norm_scale) {axis=-1, epsilon=9.99999996e-13}\n"
            "  y = Mul(LayerNormalization_out, gamma)\n"
            "}\n");
}

// ---- fuse_rms_norm ----------------------------------------------------------------------------

TEST(FuseRmsNorm, T5FormBelowOpset23BecomesFerryRmsNorm) {
  // Pow -> ReduceMean -> Add eps -> Sqrt -> Div(1, .) -> Mul x -> Mul weight (weight first).
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 3, 16});
  ir::Value* p = t.node("Pow", {x, t.initializer("two", scalar(2.f))});
  ir::Value* v = t.node("ReduceMean", {p}, {ir::Attribute::make_ints("axes", {-1})});
  ir::Value* s = t.node("Sqrt", {t.node("Add", {v, t.initializer("eps", scalar(1e-6f))})});
  ir::Value* r = t.node("Div", {t.initializer("one", scalar(1.f)), s});
  ir::Value* n = t.node("Mul", {x, r});
  t.output(t.node("Mul", {t.initializer("weight", vec(16, 5)), n}, {}, "y"));
  Tensor in = random_tensor({2, 3, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_rms_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,3,16], two: float[] = initializer, eps: float[] = initializer, one: float[] = "
            "initializer, weight: float[16] = initializer) -> (y: float[2,3,16]) {\n"
            "  y = ferry:RMSNormalization(x, weight) {axis=-1, epsilon=9.99999997e-07}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseRmsNorm, ReciprocalFormAtOpset23BecomesOnnxRmsNorm) {
  PassTest t(23);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* p = t.node("Pow", {x, t.initializer("two", scalar(2.f))});
  ir::Value* axes = t.initializer("axes", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {1}));
  ir::Value* v = t.node("ReduceMean", {p, axes});
  ir::Value* s = t.node("Sqrt", {t.node("Add", {t.initializer("eps", scalar(1e-5f)), v})});
  ir::Value* n = t.node("Mul", {t.node("Reciprocal", {s}), x});
  t.output(t.node("Mul", {n, t.initializer("weight", vec(16, 5))}, {}, "y"));
  Tensor in = random_tensor({2, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_rms_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], two: float[] = initializer, axes: int64[1] = initializer, eps: float[] = "
            "initializer, weight: float[16] = initializer) -> (y: float[2,16]) {\n"
            "  y = RMSNormalization(x, weight) {axis=-1, epsilon=9.99999975e-06}\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseRmsNorm, DivByRootWithoutScaleGetsAScaleOfOnes) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* p = t.node("Pow", {x, t.initializer("two", scalar(2.f))});
  ir::Value* v = t.node("ReduceMean", {p}, {ir::Attribute::make_ints("axes", {1})});
  ir::Value* s = t.node("Sqrt", {t.node("Add", {v, t.initializer("eps", scalar(1e-6f))})});
  ir::Value* n = t.node("Div", {x, s}, {}, "n");
  t.output(t.node("MatMul", {n, t.initializer("w", random_tensor({16, 4}, 4))}, {}, "y"));
  Tensor in = random_tensor({2, 16});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_rms_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], two: float[] = initializer, eps: float[] = initializer, w: float[16,4] = "
            "initializer, rms_norm_scale: float[16] = initializer) -> (y: float[2,4]) {\n"
            "  RMSNormalization_out = ferry:RMSNormalization(x, rms_norm_scale) {axis=-1, epsilon=9.99999997e-07}\n"
            "  y = MatMul(RMSNormalization_out, w)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseRmsNorm, NonConstantEpsilonOrNonLastAxisDoesNotFire) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* p = t.node("Pow", {x, t.initializer("two", scalar(2.f))});
  ir::Value* v = t.node("ReduceMean", {p}, {ir::Attribute::make_ints("axes", {-1})});
  ir::Value* s = t.node("Sqrt", {t.node("Add", {v, t.input("eps", {})})});
  t.output(t.node("Div", {x, s}, {}, "y"));
  ir::Value* p2 = t.node("Pow", {x, t.initializer("two2", scalar(2.f))});
  ir::Value* v2 = t.node("ReduceMean", {p2}, {ir::Attribute::make_ints("axes", {0})});
  ir::Value* s2 = t.node("Sqrt", {t.node("Add", {v2, t.initializer("eps2", scalar(1e-6f))})});
  t.output(t.node("Div", {x, s2}, {}, "z"));
  EXPECT_FALSE(t.run_pass(passes::fuse_rms_norm));
}

// ---- fuse_skip_layer_norm ---------------------------------------------------------------------

TEST(FuseSkipLayerNorm, ResidualAndBiasAddsFoldIntoTheNorm) {
  PassTest t(17);
  ir::Value* h = t.input("h", {2, 3, 16});
  ir::Value* skip = t.input("skip", {2, 3, 16});
  ir::Value* biased = t.node("Add", {t.initializer("bias", vec(16, 4)), h});
  ir::Value* s = t.node("Add", {biased, skip});
  t.output(t.node("LayerNormalization", {s, t.initializer("gamma", vec(16, 2)), t.initializer("beta", vec(16, 3))},
                  {ir::Attribute::make_float("epsilon", 1e-12f)}, "y"));
  Tensor hin = random_tensor({2, 3, 16}, 1), sin = random_tensor({2, 3, 16}, 2);
  auto before = t.run({{"h", hin}, {"skip", sin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_skip_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (h: float[2,3,16], skip: float[2,3,16], bias: float[16] = initializer, gamma: float[16] = "
            "initializer, beta: float[16] = initializer) -> (y: float[2,3,16]) {\n"
            "  y = ferry:SkipLayerNormalization(h, skip, gamma, beta, bias) {epsilon=9.99999996e-13, simplified=0}\n"
            "}\n");
  expect_close(t.run({{"h", hin}, {"skip", sin}}), before);
}

TEST(FuseSkipLayerNorm, ResidualReadLaterComesFromTheSumOutput) {
  // Pre-norm transformers: the residual s also feeds the next residual Add.
  PassTest t(23);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* skip = t.input("skip", {2, 16});
  ir::Value* s = t.node("Add", {x, skip}, {}, "s");
  ir::Value* n = t.node("RMSNormalization", {s, t.initializer("gamma", vec(16, 2))},
                        {ir::Attribute::make_float("epsilon", 1e-6f)}, "n");
  t.output(t.node("Add", {n, s}, {}, "y"));
  Tensor xin = random_tensor({2, 16}, 1), sin = random_tensor({2, 16}, 2);
  auto before = t.run({{"x", xin}, {"skip", sin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_skip_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], skip: float[2,16], gamma: float[16] = initializer) -> (y: float[2,16]) {\n"
            "  SkipLayerNormalization_out, SkipLayerNormalization_out1 = ferry:SkipLayerNormalization(x, skip, gamma) "
            "{epsilon=9.99999997e-07, simplified=1}\n"
            "  y = Add(SkipLayerNormalization_out, SkipLayerNormalization_out1)\n"
            "}\n");
  expect_close(t.run({{"x", xin}, {"skip", sin}}), before);
}

TEST(FuseSkipLayerNorm, BroadcastingResidualOrNonLastAxisDoesNotFire) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 3, 16});
  ir::Value* s = t.node("Add", {x, t.input("pos", {1, 3, 16})});
  t.output(t.node("LayerNormalization", {s, t.initializer("gamma", vec(16, 2))}, {}, "y"));
  ir::Value* s2 = t.node("Add", {x, t.input("skip", {2, 3, 16})});
  t.output(t.node("LayerNormalization", {s2, t.initializer("gamma2", random_tensor({3, 16}, 2))},
                  {ir::Attribute::make_int("axis", 1)}, "z"));
  EXPECT_FALSE(t.run_pass(passes::fuse_skip_layer_norm));
}

TEST(FuseSkipLayerNorm, ResidualReadBeforeTheNormReadsTheSumOutput) {
  // A reader between the Add and the norm (ViT: the next block's Shape): the fused node goes
  // where the Add was, and the reader reads its Sum output.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* s = t.node("Add", {x, t.input("skip", {2, 16})}, {}, "s");
  t.output(t.node("Relu", {s}, {}, "early"));
  t.output(t.node("LayerNormalization", {s, t.initializer("gamma", vec(16, 2))}, {}, "y"));
  Tensor xin = random_tensor({2, 16}, 1), sin = random_tensor({2, 16}, 2);
  auto before = t.run({{"x", xin}, {"skip", sin}});
  EXPECT_TRUE(t.run_pass(passes::fuse_skip_layer_norm));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,16], skip: float[2,16], gamma: float[16] = initializer) -> "
            "(early: float[2,16], y: float[2,16]) {\n"
            "  y, SkipLayerNormalization_out1 = ferry:SkipLayerNormalization(x, skip, gamma) "
            "{epsilon=9.99999975e-06, simplified=0}\n"
            "  early = Relu(SkipLayerNormalization_out1)\n"
            "}\n");
  expect_close(t.run({{"x", xin}, {"skip", sin}}), before);
}

TEST(FuseSkipLayerNorm, ResidualReadBeforeTheNormWithAComputedScaleDoesNotFire) {
  // The scale is made between the Add and the norm: the fused node cannot go at the Add.
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 16});
  ir::Value* s = t.node("Add", {x, t.input("skip", {2, 16})});
  t.output(t.node("Relu", {s}, {}, "early"));
  ir::Value* gamma = t.node("Neg", {t.input("g", {16})}, {}, "gamma");
  t.output(t.node("LayerNormalization", {s, gamma}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_skip_layer_norm));
}

// ---- fuse_silu --------------------------------------------------------------------------------

TEST(FuseSilu, MulBySigmoidOfItselfBecomesSilu) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 8});
  t.output(t.node("Mul", {t.node("Sigmoid", {x}), x}, {}, "y"));
  Tensor in = random_tensor({2, 8});
  auto before = t.run({{"x", in}});
  EXPECT_TRUE(t.run_pass(passes::fuse_silu));
  EXPECT_EQ(t.print(),
            "graph main (x: float[2,8]) -> (y: float[2,8]) {\n"
            "  y = ferry:Silu(x)\n"
            "}\n");
  expect_close(t.run({{"x", in}}), before);
}

TEST(FuseSilu, SigmoidOfAnotherValueOrReadTwiceDoesNotFire) {
  PassTest t(17);
  ir::Value* x = t.input("x", {2, 8});
  ir::Value* other = t.input("other", {2, 8});
  t.output(t.node("Mul", {x, t.node("Sigmoid", {other})}, {}, "y"));
  ir::Value* sig = t.node("Sigmoid", {x}, {}, "sig");
  t.output(t.node("Mul", {x, sig}, {}, "z"));
  t.output(sig);
  EXPECT_FALSE(t.run_pass(passes::fuse_silu));
}

TEST(FuseSilu, SiluOfAConvOutputIsLeftToTheConvFusion) {
  // fuse_conv_activation folds Mul(c, Sigmoid(c)) into the Conv itself (one node, not two).
  PassTest t(17);
  ir::Value* x = t.input("x", {1, 2, 5, 5});
  ir::Value* c = t.node("Conv", {x, t.initializer("w", random_tensor({3, 2, 1, 1}))});
  t.output(t.node("Mul", {c, t.node("Sigmoid", {c})}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_silu));
}

// ---- the extended level as a whole --------------------------------------------------------------

TEST(NormFusionsAtExtendedLevel, BertBlockTailFusesToSkipLayerNormAndBiasGelu) {
  // h -> Add bias -> exact GELU -> Add residual -> decomposed layer norm, at opset 13.
  PassTest t(13);
  ir::Value* h = t.input("h", {2, 3, 16});
  ir::Value* res = t.input("res", {2, 3, 16});
  ir::Value* x = t.node("Add", {h, t.initializer("b1", vec(16, 9))});
  ir::Value* g = exact_gelu_div_form(t, x);
  ir::Value* s = t.node("Add", {g, res});
  ir::Value* n = decomposed_layer_norm(t, s);
  ir::Value* m = t.node("Mul", {n, t.initializer("gamma", vec(16, 2))});
  t.output(t.node("Add", {m, t.initializer("beta", vec(16, 3))}, {}, "out"));
  Tensor hin = random_tensor({2, 3, 16}, 1), rin = random_tensor({2, 3, 16}, 2);
  auto before = t.run({{"h", hin}, {"res", rin}});
  t.run_level(GraphOptimizationLevel::kExtended);
  size_t gelus = 0, skips = 0;
  for (ir::Node* node : t.graph().nodes()) {
    gelus += node->op_type() == "Gelu" && node->domain() == "ferry" && node->inputs().size() == 2;
    skips += node->op_type() == "SkipLayerNormalization";
  }
  EXPECT_EQ(t.graph().node_count(), 2u) << t.print();
  EXPECT_EQ(gelus, 1u) << t.print();
  EXPECT_EQ(skips, 1u) << t.print();
  expect_close(t.run({{"h", hin}, {"res", rin}}), before, 1e-5, 1e-5);
}

}  // namespace
}  // namespace ferry::optimizer
