// optimizer/passes/fuse_attention.cc: the exporters' forms of the scaled dot-product core fuse
// into ferry.MultiHeadAttention with outputs unchanged; near misses (another softmax axis, a
// scale that is not a constant, a bias that cannot broadcast, an intermediate read elsewhere)
// are left alone. The kernel's own cases (causal, caches, broadcasting) are in
// tests/ops/test_ferry_attention_ops.py against onnxruntime running the unfused graph.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optimizer/passes.h"
#include "pass_test_util.h"

namespace ferry::optimizer {
namespace {

using testing::PassTest;
using testing::expect_close;
using testing::random_tensor;

Tensor scalar(float v) { return Tensor::from_vector<float>(DataType::kFloat, {}, {v}); }

// Eager attention (TorchScript, opset 13): MatMul(Q, Transpose(K, [0,2,3,1])) / sqrt(8) + mask,
// Softmax, MatMul with V. K arrives unsplit-transposed as [B, T, H, D].
struct EagerGraph {
  explicit EagerGraph(PassTest& t, int64_t softmax_axis = -1) {
    q = t.input("q", {"batch", 4, 5, 8});
    k = t.input("k", {"batch", 6, 4, 8});
    v = t.input("v", {"batch", 4, 6, 8});
    mask = t.input("mask", {"batch", 1, 1, 6});
    t.initializer("sqrt_d", scalar(std::sqrt(8.0f)));
    kt = t.node("Transpose", {k}, {ir::Attribute::make_ints("perm", {0, 2, 3, 1})}, "kt");
    scores = t.node("MatMul", {q, kt}, {}, "scores");
    scaled = t.node("Div", {scores, t.graph().find_value("sqrt_d")}, {}, "scaled");
    biased = t.node("Add", {scaled, mask}, {}, "biased");
    probs = t.node("Softmax", {biased}, {ir::Attribute::make_int("axis", softmax_axis)}, "probs");
    y = t.node("MatMul", {probs, v}, {}, "y");
    t.output(y);
  }
  std::vector<NamedTensor> feeds() const {
    Tensor m = random_tensor({2, 1, 1, 6}, 4);
    m.span<float>()[5] = std::numeric_limits<float>::lowest();  // a padded key, as BERT's mask
    return {{"q", random_tensor({2, 4, 5, 8}, 1)}, {"k", random_tensor({2, 6, 4, 8}, 2)},
            {"v", random_tensor({2, 4, 6, 8}, 3)}, {"mask", m}};
  }
  ir::Value *q, *k, *v, *mask, *kt, *scores, *scaled, *biased, *probs, *y;
};

TEST(FuseAttention, EagerFormWithMask) {
  PassTest t(13);
  EagerGraph g(t);
  const auto before = t.run(g.feeds());
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  // K^T = Transpose(k, [0,2,3,1]) composed with the swap of its last two axes is [0,2,1,3]: k is
  // read as it is, [B, T, H, D] ("BSHD"). scale = 1 / sqrt(8) = 0.353553385 in float. The
  // divisor stays an unused initializer (for eliminate_dead_code).
  EXPECT_EQ(t.print(),
            "graph main (q: float[batch,4,5,8], k: float[batch,6,4,8], v: float[batch,4,6,8], "
            "mask: float[batch,1,1,6], sqrt_d: float[] = initializer) -> (y: float[batch,4,5,8]) {\n"
            "  y = ferry:MultiHeadAttention(q, k, v, mask) {key_layout=\"BSHD\", scale=0.353553385}\n"
            "}\n");
  expect_close(t.run(g.feeds()), before);
  EXPECT_EQ(t.model().opset("ferry"), 1);
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

// SDPA decomposed (TorchScript 17, dynamo 18): Q and K^T each scaled by sqrt(sqrt(1/8)), an
// additive mask from Where(mask, 0, -inf), Softmax, Where(IsNaN(P), 0, P), MatMul with V. K^T is
// Transpose(K, [0,1,3,2]) of a split K, so K is used as it is.
TEST(FuseAttention, SdpaFormWithNanToZero) {
  PassTest t(17);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* k = t.input("k", {2, 4, 6, 8});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* bias = t.input("bias", {2, 1, 5, 6});
  ir::Value* c = t.initializer("c", scalar(static_cast<float>(std::pow(8.0, -0.25))));
  ir::Value* zero = t.initializer("zero", Tensor::from_vector<float>(DataType::kFloat, {1}, {0.f}));
  ir::Value* kt = t.node("Transpose", {k}, {ir::Attribute::make_ints("perm", {0, 1, 3, 2})}, "kt");
  ir::Value* qs = t.node("Mul", {q, c}, {}, "qs");
  ir::Value* ks = t.node("Mul", {kt, c}, {}, "ks");
  ir::Value* s = t.node("MatMul", {qs, ks}, {}, "s");
  ir::Value* sb = t.node("Add", {s, bias}, {}, "sb");
  ir::Value* p = t.node("Softmax", {sb}, {ir::Attribute::make_int("axis", -1)}, "p");
  ir::Value* nan = t.node("IsNaN", {p}, {}, "nan");
  ir::Value* pz = t.node("Where", {nan, zero, p}, {}, "pz");
  t.output(t.node("MatMul", {pz, v}, {}, "y"));
  // Row 2 of batch 1 is fully masked: the unfused graph gives 0 there (NaN turned to 0).
  Tensor b = random_tensor({2, 1, 5, 6}, 4);
  for (int j = 0; j < 6; ++j) b.span<float>()[(5 + 2) * 6 + j] = -std::numeric_limits<float>::infinity();
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({2, 4, 5, 8}, 1)}, {"k", random_tensor({2, 4, 6, 8}, 2)},
                                          {"v", random_tensor({2, 4, 6, 8}, 3)}, {"bias", b}};
  const auto before = t.run(feeds);
  EXPECT_EQ(before[0].data<float>()[(1 * 4 * 5 + 2) * 8], 0.f);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  // scale = float(8^-0.25)^2 = 0.353553355 (1/sqrt(8) up to the rounding of c, as the export has it).
  EXPECT_EQ(t.print(),
            "graph main (q: float[2,4,5,8], k: float[2,4,6,8], v: float[2,4,6,8], bias: float[2,1,5,6], "
            "c: float[] = initializer, zero: float[1] = initializer) -> "
            "(y: float[2,4,5,8]) {\n"
            "  y = ferry:MultiHeadAttention(q, k, v, bias) {scale=0.353553355, softmax_nan_to_zero=1}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

// T5: no scale, a position bias of shape [1, H, S, T], K^T given as it is (no Transpose): the
// pass transposes it back.
TEST(FuseAttention, UnscaledWithPositionBiasAndPlainKeyTranspose) {
  PassTest t(17);
  ir::Value* q = t.input("q", {"batch", 4, "seq", 8});
  ir::Value* kt = t.input("kt", {"batch", 4, 8, "seq"});
  ir::Value* v = t.input("v", {"batch", 4, "seq", 8});
  ir::Value* bias = t.input("bias", {1, 4, "seq", "seq"});
  ir::Value* s = t.node("MatMul", {q, kt}, {}, "s");
  ir::Value* p = t.node("Softmax", {t.node("Add", {bias, s}, {}, "sb")}, {ir::Attribute::make_int("axis", 3)}, "p");
  t.output(t.node("MatMul", {p, v}, {}, "y"));
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({3, 4, 5, 8}, 1)}, {"kt", random_tensor({3, 4, 8, 5}, 2)},
                                          {"v", random_tensor({3, 4, 5, 8}, 3)}, {"bias", random_tensor({1, 4, 5, 5}, 4)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (q: float[batch,4,seq,8], kt: float[batch,4,8,seq], v: float[batch,4,seq,8], "
            "bias: float[1,4,seq,seq]) -> (y: float[batch,4,seq,8]) {\n"
            "  Transpose_out = Transpose(kt) {perm=[0,1,3,2]}\n"
            "  y = ferry:MultiHeadAttention(q, Transpose_out, v, bias) {scale=1}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

// The head split and merge around the core: Q and V from Transpose(X [B, S, H, D], [0,2,1,3]),
// K^T from Transpose(X, [0,2,3,1]), the output through Transpose(., [0,2,1,3]) as BERT has them
// between its Reshapes. All four Transposes are absorbed as "BSHD" layouts.
TEST(FuseAttention, HeadSplitAndMergeTransposesAreAbsorbed) {
  PassTest t(13);
  ir::Value* qx = t.input("qx", {"batch", "seq", 4, 8});
  ir::Value* kx = t.input("kx", {"batch", "seq", 4, 8});
  ir::Value* vx = t.input("vx", {"batch", "seq", 4, 8});
  auto transpose = [&](ir::Value* x, std::vector<int64_t> perm, const char* name) {
    return t.node("Transpose", {x}, {ir::Attribute::make_ints("perm", std::move(perm))}, name);
  };
  ir::Value* s = t.node("MatMul", {transpose(qx, {0, 2, 1, 3}, "q"), transpose(kx, {0, 2, 3, 1}, "kt")}, {}, "s");
  ir::Value* ss = t.node("Div", {s, t.initializer("sqrt_d", scalar(std::sqrt(8.0f)))}, {}, "ss");
  ir::Value* p = t.node("Softmax", {ss}, {ir::Attribute::make_int("axis", -1)}, "p");
  ir::Value* ctx = t.node("MatMul", {p, transpose(vx, {0, 2, 1, 3}, "v")}, {}, "ctx");
  t.output(transpose(ctx, {0, 2, 1, 3}, "y"));
  const std::vector<NamedTensor> feeds = {{"qx", random_tensor({3, 5, 4, 8}, 1)}, {"kx", random_tensor({3, 5, 4, 8}, 2)},
                                          {"vx", random_tensor({3, 5, 4, 8}, 3)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (qx: float[batch,seq,4,8], kx: float[batch,seq,4,8], vx: float[batch,seq,4,8], "
            "sqrt_d: float[] = initializer) -> (y: float[batch,seq,4,8]) {\n"
            "  y = ferry:MultiHeadAttention(qx, kx, vx) {key_layout=\"BSHD\", output_layout=\"BSHD\", "
            "query_layout=\"BSHD\", scale=0.353553385, value_layout=\"BSHD\"}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

// The scores as fuse_matmul_transpose_scale leaves them when it ran first: FusedMatMul(Q, K,
// transB=1, alpha) and then a Mul by the scale (folded later); K itself from a head split.
TEST(FuseAttention, FusedMatMulScoresAreRecognised) {
  PassTest t(17);
  t.model().opset_imports["ferry"] = 1;
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kx = t.input("kx", {2, 6, 4, 8});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* k = t.node("Transpose", {kx}, {ir::Attribute::make_ints("perm", {0, 2, 1, 3})}, "k");
  ir::Value* s = t.node("FusedMatMul", {q, k},
                        {ir::Attribute::make_int("transB", 1), ir::Attribute::make_float("alpha", 0.5f)}, "s", "ferry");
  ir::Value* ss = t.node("Mul", {s, t.initializer("c", scalar(0.25f))}, {}, "ss");
  t.output(t.node("MatMul", {t.node("Softmax", {ss}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({2, 4, 5, 8}, 1)}, {"kx", random_tensor({2, 6, 4, 8}, 2)},
                                          {"v", random_tensor({2, 4, 6, 8}, 3)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  // scale = alpha 0.5 * 0.25; K = kx read as [B, T, H, D].
  EXPECT_EQ(t.print(),
            "graph main (q: float[2,4,5,8], kx: float[2,6,4,8], v: float[2,4,6,8], c: float[] = initializer) -> "
            "(y: float[2,4,5,8]) {\n"
            "  y = ferry:MultiHeadAttention(q, kx, v) {key_layout=\"BSHD\", scale=0.125}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

TEST(FuseAttention, FusedMatMulWithActivationDoesNotFire) {
  PassTest t(17);
  t.model().opset_imports["ferry"] = 1;
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* k = t.input("k", {2, 4, 6, 8});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* s = t.node("FusedMatMul", {q, k},
                        {ir::Attribute::make_int("transB", 1), ir::Attribute::make_string("activation", "Relu")}, "s",
                        "ferry");
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

// dynamo's form of the key: K = Transpose(kx, [0,2,1,3]) split into heads, then K^T =
// Transpose(K, [0,1,3,2]); both compose with the swap into reading kx as "BSHD".
TEST(FuseAttention, TwoTransposesOfTheKeyCompose) {
  PassTest t(18);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kx = t.input("kx", {2, 6, 4, 8});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* k = t.node("Transpose", {kx}, {ir::Attribute::make_ints("perm", {0, 2, 1, 3})}, "k");
  ir::Value* kt = t.node("Transpose", {k}, {ir::Attribute::make_ints("perm", {0, 1, 3, 2})}, "kt");
  ir::Value* s = t.node("MatMul", {q, kt}, {}, "s");
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({2, 4, 5, 8}, 1)}, {"kx", random_tensor({2, 6, 4, 8}, 2)},
                                          {"v", random_tensor({2, 4, 6, 8}, 3)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (q: float[2,4,5,8], kx: float[2,6,4,8], v: float[2,4,6,8]) -> (y: float[2,4,5,8]) {\n"
            "  y = ferry:MultiHeadAttention(q, kx, v) {key_layout=\"BSHD\", scale=1}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

// T5 at opset 13: (scores + position_bias) + mask; the two biases are summed into one.
TEST(FuseAttention, PositionBiasThenMaskAreSummed) {
  PassTest t(13);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kt = t.input("kt", {2, 4, 8, 5});
  ir::Value* v = t.input("v", {2, 4, 5, 8});
  ir::Value* position = t.input("position", {1, 4, 5, 5});
  ir::Value* mask = t.input("mask", {2, 1, 1, 5});
  ir::Value* s = t.node("Add", {t.node("Add", {t.node("MatMul", {q, kt}, {}, "s"), position}, {}, "sp"), mask}, {}, "spm");
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
  Tensor m = random_tensor({2, 1, 1, 5}, 5);
  m.span<float>()[9] = std::numeric_limits<float>::lowest();
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({2, 4, 5, 8}, 1)}, {"kt", random_tensor({2, 4, 8, 5}, 2)},
                                          {"v", random_tensor({2, 4, 5, 8}, 3)},
                                          {"position", random_tensor({1, 4, 5, 5}, 4)}, {"mask", m}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (q: float[2,4,5,8], kt: float[2,4,8,5], v: float[2,4,5,8], position: float[1,4,5,5], "
            "mask: float[2,1,1,5]) -> (y: float[2,4,5,8]) {\n"
            "  Transpose_out = Transpose(kt) {perm=[0,1,3,2]}\n"
            "  Add_out = Add(position, mask)\n"
            "  y = ferry:MultiHeadAttention(q, Transpose_out, v, Add_out) {scale=1}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

// ViT: no mask, the scale a Mul after the MatMul.
TEST(FuseAttention, NoMaskScaleAfterMatMul) {
  PassTest t(13);
  ir::Value* q = t.input("q", {2, 3, 7, 16});
  ir::Value* kt = t.input("kt", {2, 3, 16, 7});
  ir::Value* v = t.input("v", {2, 3, 7, 16});
  ir::Value* s = t.node("MatMul", {q, kt}, {}, "s");
  ir::Value* ss = t.node("Mul", {s, t.initializer("c", scalar(0.25f))}, {}, "ss");
  t.output(t.node("MatMul", {t.node("Softmax", {ss}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({2, 3, 7, 16}, 1)}, {"kt", random_tensor({2, 3, 16, 7}, 2)},
                                          {"v", random_tensor({2, 3, 7, 16}, 3)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (q: float[2,3,7,16], kt: float[2,3,16,7], v: float[2,3,7,16], c: float[] = initializer) -> "
            "(y: float[2,3,7,16]) {\n"
            "  Transpose_out = Transpose(kt) {perm=[0,1,3,2]}\n"
            "  y = ferry:MultiHeadAttention(q, Transpose_out, v) {scale=0.25}\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

TEST(FuseAttention, SoftmaxOverAnotherAxisDoesNotFire) {
  PassTest t(13);
  EagerGraph g(t, /*softmax_axis=*/2);
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, ScaleThatIsNotAConstantDoesNotFire) {
  PassTest t(17);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kt = t.input("kt", {2, 4, 8, 5});
  ir::Value* v = t.input("v", {2, 4, 5, 8});
  ir::Value* scale = t.input("scale", {});
  ir::Value* s = t.node("Mul", {t.node("MatMul", {q, kt}), scale});
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}), v}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, ScaleOfAnotherShapeDoesNotFire) {
  // A [4, 1, 1] "scale" is not a scalar: it scales each head differently.
  PassTest t(17);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kt = t.input("kt", {2, 4, 8, 5});
  ir::Value* v = t.input("v", {2, 4, 5, 8});
  ir::Value* c = t.initializer("c", Tensor::from_vector<float>(DataType::kFloat, {4, 1, 1}, {1.f, 2.f, 3.f, 4.f}));
  ir::Value* s = t.node("Mul", {t.node("MatMul", {q, kt}), c});
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}), v}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, DoubleScaleIsKeptOnlyWhenFloatHoldsIt) {
  // The op's scale is a float attribute: 1/sqrt(3) in double would be rounded, 0.25 is exact.
  for (const double c : {1.0 / std::sqrt(3.0), 0.25}) {
    PassTest t(17);
    ir::Value* q = t.input("q", {2, 4, 5, 3}, DataType::kDouble);
    ir::Value* kt = t.input("kt", {2, 4, 3, 5}, DataType::kDouble);
    ir::Value* v = t.input("v", {2, 4, 5, 3}, DataType::kDouble);
    ir::Value* cv = t.initializer("c", Tensor::from_vector<double>(DataType::kDouble, {}, {c}));
    ir::Value* s = t.node("Mul", {t.node("MatMul", {q, kt}), cv});
    t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}), v}, {}, "y"));
    EXPECT_EQ(t.run_pass(passes::fuse_attention), c == 0.25) << c;
  }
}

TEST(FuseAttention, MaskOfUnknownShapeDoesNotFire) {
  // Nothing proves that the mask broadcasts against the scores.
  PassTest t(17);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kt = t.input("kt", {2, 4, 8, 6});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* mask = t.graph().add_value("mask", ir::Type::tensor(DataType::kFloat));
  t.graph().add_input(mask);
  ir::Value* s = t.node("Add", {t.node("MatMul", {q, kt}), mask});
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}), v}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, MaskOfWrongRankDoesNotFire) {
  // A rank-5 mask makes the scores 5-D: not the [B, H, S, T] core.
  PassTest t(17);
  ir::Value* q = t.input("q", {2, 4, 5, 8});
  ir::Value* kt = t.input("kt", {2, 4, 8, 6});
  ir::Value* v = t.input("v", {2, 4, 6, 8});
  ir::Value* mask = t.input("mask", {1, 1, 1, 1, 6});
  ir::Value* s = t.node("Add", {t.node("MatMul", {q, kt}), mask});
  t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}), v}, {}, "y"));
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, ProbabilitiesReadElsewhereDoNotFire) {
  PassTest t(13);
  EagerGraph g(t);
  t.output(t.node("Neg", {g.probs}, {}, "probs_neg"));  // e.g. attention weights returned
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, ScoresAsGraphOutputDoNotFire) {
  PassTest t(13);
  EagerGraph g(t);
  t.output(g.scores);
  EXPECT_FALSE(t.run_pass(passes::fuse_attention));
}

TEST(FuseAttention, ScaledQueryReadElsewhereStaysAndIsNotFolded) {
  // Mul(q, c) has a second consumer: it stays, and the fused node reads its output (scale 1).
  PassTest t(17);
  ir::Value* q = t.input("q", {1, 2, 3, 4});
  ir::Value* kt = t.input("kt", {1, 2, 4, 3});
  ir::Value* v = t.input("v", {1, 2, 3, 4});
  ir::Value* qs = t.node("Mul", {q, t.initializer("c", scalar(0.5f))}, {}, "qs");
  ir::Value* p = t.node("Softmax", {t.node("MatMul", {qs, kt}, {}, "s")}, {ir::Attribute::make_int("axis", -1)}, "p");
  t.output(t.node("MatMul", {p, v}, {}, "y"));
  t.output(t.node("Neg", {qs}, {}, "z"));
  const std::vector<NamedTensor> feeds = {{"q", random_tensor({1, 2, 3, 4}, 1)}, {"kt", random_tensor({1, 2, 4, 3}, 2)},
                                          {"v", random_tensor({1, 2, 3, 4}, 3)}};
  const auto before = t.run(feeds);
  EXPECT_TRUE(t.run_pass(passes::fuse_attention));
  EXPECT_EQ(t.print(),
            "graph main (q: float[1,2,3,4], kt: float[1,2,4,3], v: float[1,2,3,4], c: float[] = initializer) -> "
            "(y: float[1,2,3,4], z: float[1,2,3,4]) {\n"
            "  qs = Mul(q, c)\n"
            "  Transpose_out = Transpose(kt) {perm=[0,1,3,2]}\n"
            "  y = ferry:MultiHeadAttention(qs, Transpose_out, v) {scale=1}\n"
            "  z = Neg(qs)\n"
            "}\n");
  expect_close(t.run(feeds), before);
}

TEST(FuseAttention, RunsFromTheExtendedLevel) {
  PassTest t(13);
  EagerGraph g(t);
  const auto before = t.run(g.feeds());
  t.run_level(GraphOptimizationLevel::kExtended);
  int fused = 0;
  for (const ir::Node* n : t.graph().nodes()) fused += n->op_type() == "MultiHeadAttention" && n->domain() == "ferry";
  EXPECT_EQ(fused, 1) << t.print();
  expect_close(t.run(g.feeds()), before);
}

// ---- fuse_rotary_embedding ---------------------------------------------------------------------

Tensor i64(std::vector<int64_t> shape, std::vector<int64_t> values) {
  return Tensor::from_vector<int64_t>(DataType::kInt64, std::move(shape), values);
}

/// An HF-style cos or sin table [16, 8]: cat(f(p * w), f(p * w)) over positions p and 4 angles.
Tensor rotary_table(bool sine, bool equal_halves = true) {
  Tensor t = Tensor::empty(DataType::kFloat, {16, 8});
  float* p = t.data<float>();
  for (int r = 0; r < 16; ++r)
    for (int j = 0; j < 8; ++j) {
      const double angle = r * std::pow(10000.0, -(j % 4) / 4.0) + (equal_halves || j < 4 ? 0.0 : 0.1);
      p[r * 8 + j] = static_cast<float>(sine ? std::sin(angle) : std::cos(angle));
    }
  return t;
}

// HF's apply_rotary_pos_emb: q * cos + rotate_half(q) * sin, cos = cos_cached[position_ids]
// unsqueezed at axis 1, rotate_half = Concat(-x[..., 4:], x[..., :4]).
struct RotaryGraph {
  RotaryGraph(PassTest& t, bool use_split, bool equal_halves = true, bool swapped_concat = false) {
    x = t.input("x", {"batch", 2, "seq", 8});
    pos = t.input("pos", {"batch", "seq"}, DataType::kInt64);
    ir::Value* cos_table = t.initializer("COS", rotary_table(false, equal_halves));
    ir::Value* sin_table = t.initializer("SIN", rotary_table(true, equal_halves));
    ir::Value* axis1 = t.initializer("axis1", i64({1}, {1}));
    ir::Value* cos = t.node("Unsqueeze", {t.node("Gather", {cos_table, pos}, {}, "cos_rows"), axis1}, {}, "cos");
    ir::Value* sin = t.node("Unsqueeze", {t.node("Gather", {sin_table, pos}, {}, "sin_rows"), axis1}, {}, "sin");
    ir::Value *x1, *x2;
    if (use_split) {
      t.node("Split", {x}, {ir::Attribute::make_int("axis", -1), ir::Attribute::make_int("num_outputs", 2)}, "x1",
             "", 2);
      x1 = t.last_node()->output(0);
      x2 = t.last_node()->output(1);
    } else {
      ir::Value* last = t.initializer("last", i64({1}, {-1}));
      x1 = t.node("Slice", {x, t.initializer("zero", i64({1}, {0})), t.initializer("half", i64({1}, {4})), last}, {},
                  "x1");
      x2 = t.node("Slice", {x, t.graph().find_value("half"), t.initializer("end", i64({1}, {INT64_MAX})), last}, {},
                  "x2");
    }
    ir::Value* nx2 = t.node("Neg", {x2}, {}, "nx2");
    ir::Value* rot = t.node("Concat", swapped_concat ? std::vector<ir::Value*>{x1, nx2} : std::vector<ir::Value*>{nx2, x1},
                            {ir::Attribute::make_int("axis", -1)}, "rot");
    y = t.node("Add", {t.node("Mul", {x, cos}, {}, "xc"), t.node("Mul", {rot, sin}, {}, "rs")}, {}, "y");
    t.output(y);
  }
  static std::vector<NamedTensor> feeds() {
    return {{"x", random_tensor({2, 2, 5, 8}, 1)}, {"pos", i64({2, 5}, {0, 1, 2, 3, 4, 7, 8, 9, 10, 15})}};
  }
  ir::Value *x, *pos, *y;
};

TEST(FuseRotaryEmbedding, SlicesBeforeOpset23BecomeFerryRotaryEmbedding) {
  PassTest t(17);
  RotaryGraph g(t, /*use_split=*/false);
  const auto before = t.run(g.feeds());
  EXPECT_TRUE(t.run_pass(passes::fuse_rotary_embedding));
  const std::string printed = t.print();
  // The caches are the tables' first halves [16, 4]; the Gathers and Slices are gone.
  EXPECT_NE(printed.find("  y = ferry:RotaryEmbedding(x, rotary_cos_cache, rotary_sin_cache, pos)\n"), std::string::npos)
      << printed;
  EXPECT_NE(printed.find("rotary_cos_cache: float[16,4] = initializer"), std::string::npos) << printed;
  EXPECT_EQ(t.graph().node_count(), 1u) << printed;
  expect_close(t.run(g.feeds()), before);
  EXPECT_EQ(t.model().opset("ferry"), 1);
}

TEST(FuseRotaryEmbedding, SplitAtOpset23BecomesOnnxRotaryEmbedding) {
  PassTest t(23);
  RotaryGraph g(t, /*use_split=*/true);
  const auto before = t.run(g.feeds());
  EXPECT_TRUE(t.run_pass(passes::fuse_rotary_embedding));
  EXPECT_EQ(t.print(),
            "graph main (x: float[batch,2,seq,8], pos: int64[batch,seq], COS: float[16,8] = initializer, "
            "SIN: float[16,8] = initializer, axis1: int64[1] = initializer, rotary_cos_cache: float[16,4] = "
            "initializer, rotary_sin_cache: float[16,4] = initializer) -> (y: float[batch,2,seq,8]) {\n"
            "  y = RotaryEmbedding(x, rotary_cos_cache, rotary_sin_cache, pos)\n"
            "}\n");
  expect_close(t.run(g.feeds()), before);
  EXPECT_EQ(t.model().opset("ferry"), 0);
}

TEST(FuseRotaryEmbedding, TableHalvesThatDifferDoNotFire) {
  PassTest t(17);
  RotaryGraph g(t, false, /*equal_halves=*/false);
  EXPECT_FALSE(t.run_pass(passes::fuse_rotary_embedding));
}

TEST(FuseRotaryEmbedding, HalvesInTheOtherOrderDoNotFire) {
  // Concat(x1, -x2) is not rotate_half.
  PassTest t(17);
  RotaryGraph g(t, false, true, /*swapped_concat=*/true);
  EXPECT_FALSE(t.run_pass(passes::fuse_rotary_embedding));
}

TEST(FuseRotaryEmbedding, RotatedHalfReadElsewhereDoesNotFire) {
  PassTest t(17);
  RotaryGraph g(t, false);
  t.output(t.graph().find_value("rot"));
  EXPECT_FALSE(t.run_pass(passes::fuse_rotary_embedding));
}

// ViT's packed projection: X [B, S, 3, H, D] -> Transpose [2, 0, 3, 1, 4] -> Split(axis 0) ->
// Squeeze(0) x3 gives Q, K, V as [B, H, S, D]; the op then reads the Squeezes of X split on axis 2
// as "BSHD" and the Transpose goes. A part read elsewhere leaves the chain alone.
TEST(FuseAttention, PackedProjectionSplitsWithoutItsTranspose) {
  for (const bool part_read_elsewhere : {false, true}) {
    SCOPED_TRACE(part_read_elsewhere);
    PassTest t(17);
    ir::Value* x = t.input("x", {2, 5, 3, 4, 8});
    ir::Value* xt = t.node("Transpose", {x}, {ir::Attribute::make_ints("perm", {2, 0, 3, 1, 4})}, "xt");
    ir::Value* sizes = t.initializer("sizes", Tensor::from_vector<int64_t>(DataType::kInt64, {3}, {1, 1, 1}));
    t.node("Split", {xt, sizes}, {ir::Attribute::make_int("axis", 0)}, "p0", "", 3);
    ir::Node* split = t.last_node();
    ir::Value* axes = t.initializer("axes", Tensor::from_vector<int64_t>(DataType::kInt64, {1}, {0}));
    ir::Value* q = t.node("Squeeze", {split->output(0), axes}, {}, "q");
    ir::Value* k = t.node("Squeeze", {split->output(1), axes}, {}, "k");
    ir::Value* v = t.node("Squeeze", {split->output(2), axes}, {}, "v");
    ir::Value* kt = t.node("Transpose", {k}, {ir::Attribute::make_ints("perm", {0, 1, 3, 2})}, "kt");
    ir::Value* s = t.node("Mul", {t.node("MatMul", {q, kt}, {}, "s0"), t.initializer("c", scalar(0.25f))}, {}, "s");
    t.output(t.node("MatMul", {t.node("Softmax", {s}, {ir::Attribute::make_int("axis", -1)}, "p"), v}, {}, "y"));
    if (part_read_elsewhere) t.output(t.node("Neg", {v}, {}, "z"));
    const std::vector<NamedTensor> feeds = {{"x", random_tensor({2, 5, 3, 4, 8}, 1)}};
    const auto before = t.run(feeds);
    EXPECT_TRUE(t.run_pass(passes::fuse_attention));
    const std::string printed = t.print();
    EXPECT_NE(printed.find("ferry:MultiHeadAttention"), std::string::npos) << printed;
    if (part_read_elsewhere) {
      EXPECT_NE(printed.find("xt = Transpose(x)"), std::string::npos) << printed;
    } else {
      EXPECT_EQ(printed.find("Transpose"), std::string::npos) << printed;
      EXPECT_NE(printed.find("{axis=2}"), std::string::npos) << printed;
      EXPECT_NE(printed.find("key_layout=\"BSHD\""), std::string::npos) << printed;
      EXPECT_NE(printed.find("query_layout=\"BSHD\""), std::string::npos) << printed;
      EXPECT_NE(printed.find("value_layout=\"BSHD\""), std::string::npos) << printed;
    }
    expect_close(t.run(feeds), before);
  }
}

}  // namespace
}  // namespace ferry::optimizer
