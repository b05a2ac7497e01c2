// CPU kernels checked by hand on small cases, without the runtime (kernel_test_util.h).
// The broad comparison against onnxruntime lives in tests/ops/test_ops.py.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "execution_providers/cpu/common.h"
#include "kernel_test_util.h"

namespace ferry::ep {
namespace {

using ir::Attribute;
using testing::f32;
using testing::i32;
using testing::i64;
using testing::OpTest;
using testing::values;

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) {
      EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
    }
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// ------------------------------------------------------------------------------------ registry

TEST(KernelRegistry, PicksHighestVersionAtOrBelowOpset) {
  KernelRegistry r;
  auto f = [](const KernelInfo&) -> std::unique_ptr<Kernel> { return nullptr; };
  r.add("Softmax", {1, 11}, f);
  r.add("Softmax", {13}, f);
  ir::Graph g;
  ir::Node* n = g.add_node("Softmax", {g.add_value("x")}, {"y"});
  EXPECT_EQ(r.find(*n, 12)->versions, (std::vector<int>{1, 11}));
  EXPECT_EQ(r.find(*n, 13)->versions, (std::vector<int>{13}));
  EXPECT_EQ(r.find(*n, 18)->versions, (std::vector<int>{13}));
  ir::Node* other = g.add_node("Nope", {}, {"z"});
  EXPECT_EQ(r.find(*other, 13), nullptr);
}

TEST(KernelRegistry, RejectsNewerSchemaVersionAndConsultsCapability) {
  KernelRegistry r;
  auto f = [](const KernelInfo&) -> std::unique_ptr<Kernel> { return nullptr; };
  r.add("Softmax", {1, 11}, f);  // Softmax-13 exists in the spec: not served by this def
  auto& relu = r.add("Relu", {6, 13, 14}, f);
  relu.supports = [](const ir::Node&, int64_t opset) { return opset >= 14; };
  ir::Graph g;
  ir::Node* sm = g.add_node("Softmax", {g.add_value("x")}, {"y"});
  ir::Node* rl = g.add_node("Relu", {g.add_value("x2")}, {"y2"});
  EXPECT_EQ(r.find(*sm, 13), nullptr);
  EXPECT_EQ(r.find(*rl, 13), nullptr);
  EXPECT_NE(r.find(*rl, 14), nullptr);
}

TEST(KernelRegistry, CpuProviderRegistersEveryFamily) {
  for (const char* op : {"Add", "MatMul", "Gemm", "Relu", "Softmax", "Conv", "MaxPool", "BatchNormalization",
                         "Reshape", "Transpose", "Concat", "Gather", "Constant", "Cast", "Dropout"}) {
    bool found = false;
    for (const KernelDef& d : testing::test_provider().registry().all()) found = found || d.op_type == op;
    EXPECT_TRUE(found) << op;
  }
}

TEST(KernelContext, RequiredInputNamesNodeAndInput) {
  OpTest t{.op = "Add", .opset = 14, .inputs = {f32({1}, {1}), Tensor()}};
  try {
    t.run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    // The runtime puts the node in front; the kernel's own message does not repeat it.
    EXPECT_EQ(std::string(e.what()).find("node 'n0'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("required input 1 is missing"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------- elementwise

TEST(CpuBinary, BroadcastShapes) {
  auto y = OpTest{.op = "Add", .opset = 14, .inputs = {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3}));
  expect_near(values<float>(y[0]), {11, 22, 33, 14, 25, 36});
  y = OpTest{.op = "Sub", .opset = 14, .inputs = {f32({2, 1}, {1, 2}), f32({1, 3}, {1, 2, 3})}}.run();
  expect_near(values<float>(y[0]), {0, -1, -2, 1, 0, -1});
  y = OpTest{.op = "Mul", .opset = 7, .inputs = {f32({}, {2}), f32({2, 1, 2}, {1, 2, 3, 4})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 1, 2}));
  expect_near(values<float>(y[0]), {2, 4, 6, 8});
  // Middle-dim broadcast: [2,1,3] * [1,2,1].
  y = OpTest{.op = "Mul", .opset = 13, .inputs = {f32({2, 1, 3}, {1, 2, 3, 4, 5, 6}), f32({1, 2, 1}, {1, 10})}}.run();
  expect_near(values<float>(y[0]), {1, 2, 3, 10, 20, 30, 4, 5, 6, 40, 50, 60});
  // Empty.
  y = OpTest{.op = "Add", .opset = 14, .inputs = {f32({0, 3}, {}), f32({3}, {1, 2, 3})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_THROW((OpTest{.op = "Add", .opset = 14, .inputs = {f32({2}, {1, 2}), f32({3}, {1, 2, 3})}}.run()), Error);
}

TEST(CpuBinary, IntegerDivisionTruncatesAndRejectsZero) {
  auto y = OpTest{.op = "Div", .opset = 14, .inputs = {i32({4}, {-7, 7, -8, INT32_MIN}), i32({4}, {2, -2, 3, -1})}}.run();
  EXPECT_EQ(values<int32_t>(y[0]), (std::vector<int32_t>{-3, -3, -2, INT32_MIN}));
  EXPECT_THROW((OpTest{.op = "Div", .opset = 14, .inputs = {i64({2}, {1, 2}), i64({1}, {0})}}.run()), Error);
  y = OpTest{.op = "Add", .opset = 14, .inputs = {i64({1}, {INT64_MAX}), i64({1}, {1})}}.run();
  EXPECT_EQ(values<int64_t>(y[0])[0], INT64_MIN);  // wraps, no UB
}

TEST(CpuBinary, InPlaceExactAliasing) {
  for (int alias : {0, 1}) {
    Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6}), b = f32({2, 3}, {6, 5, 4, 3, 2, 1});
    auto y = OpTest{.op = "Sub", .opset = 14, .inputs = {a, b}, .threads = 3, .alias_output0_to = alias}.run();
    EXPECT_EQ(y[0].raw_data(), alias == 0 ? a.raw_data() : b.raw_data());
    expect_near(values<float>(y[0]), {-5, -3, -1, 1, 3, 5});
  }
  Tensor x = f32({4}, {-1, 2, -3, 4});
  auto y = OpTest{.op = "Relu", .opset = 14, .inputs = {x}, .alias_output0_to = 0}.run();
  expect_near(values<float>(x), {0, 2, 0, 4});
}

TEST(CpuBinary, ThreadedMatchesSerial) {
  const auto av = random_floats(7 * 13 * 11, 1), bv = random_floats(13 * 1, 2);
  Tensor a = f32({7, 13, 11}, av), b = f32({13, 1}, bv);
  auto y1 = OpTest{.op = "Mul", .inputs = {a, b}}.run();
  auto y4 = OpTest{.op = "Mul", .inputs = {a, b}, .threads = 4}.run();
  EXPECT_EQ(values<float>(y1[0]), values<float>(y4[0]));
  EXPECT_FLOAT_EQ(values<float>(y1[0])[1 * 143 + 2 * 11 + 5], av[1 * 143 + 2 * 11 + 5] * bv[2]);
}

TEST(CpuActivation, ReluSigmoidTanh) {
  auto y = OpTest{.op = "Relu", .inputs = {f32({3}, {-1, 0, 2})}}.run();
  expect_near(values<float>(y[0]), {0, 0, 2});
  y = OpTest{.op = "Relu", .opset = 14, .inputs = {i32({3}, {-1, 0, 2})}}.run();
  EXPECT_EQ(values<int32_t>(y[0]), (std::vector<int32_t>{0, 0, 2}));
  EXPECT_THROW((OpTest{.op = "Relu", .opset = 13, .inputs = {i32({1}, {1})}}.run()), Error);  // int from 14
  y = OpTest{.op = "Sigmoid", .inputs = {f32({3}, {0, 100, -100})}}.run();
  expect_near(values<float>(y[0]), {0.5f, 1.0f, 0.0f});
  y = OpTest{.op = "Tanh", .inputs = {f32({2}, {0, 1})}}.run();
  expect_near(values<float>(y[0]), {0.0f, std::tanh(1.0f)});
}

TEST(CpuActivation, SoftmaxAxisSemanticsChangeAtOpset13) {
  const Tensor x = f32({1, 2, 2}, {0, 1, 2, 3});
  // opset 11, axis 1: normalise over the flattened [2,2] block.
  auto y11 = OpTest{.op = "Softmax", .opset = 11, .attrs = {Attribute::make_int("axis", 1)}, .inputs = {x}}.run();
  const float z = 1 + std::exp(1.f) + std::exp(2.f) + std::exp(3.f);
  expect_near(values<float>(y11[0]), {1 / z, std::exp(1.f) / z, std::exp(2.f) / z, std::exp(3.f) / z});
  // opset 13, axis 1: normalise over dim 1 only (pairs {0,2} and {1,3}).
  auto y13 = OpTest{.op = "Softmax", .opset = 13, .attrs = {Attribute::make_int("axis", 1)}, .inputs = {x}}.run();
  const float p = 1 / (1 + std::exp(2.f));
  expect_near(values<float>(y13[0]), {p, p, 1 - p, 1 - p});
  // opset 13 default axis -1.
  auto yd = OpTest{.op = "Softmax", .opset = 13, .inputs = {x}}.run();
  const float q = 1 / (1 + std::exp(1.f));
  expect_near(values<float>(yd[0]), {q, 1 - q, q, 1 - q});
}

// ------------------------------------------------------------------------------------- linear

TEST(CpuMatMul, ShapesAndValues) {
  auto y = OpTest{.op = "MatMul", .inputs = {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3, 2}, {1, 0, 0, 1, 1, 1})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 2}));
  expect_near(values<float>(y[0]), {4, 5, 10, 11});
  y = OpTest{.op = "MatMul", .inputs = {f32({3}, {1, 2, 3}), f32({3, 2}, {1, 0, 0, 1, 1, 1})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2}));
  expect_near(values<float>(y[0]), {4, 5});
  y = OpTest{.op = "MatMul", .inputs = {f32({3}, {1, 2, 3}), f32({3}, {1, 1, 1})}}.run();
  EXPECT_EQ(y[0].rank(), 0u);
  expect_near(values<float>(y[0]), {6});
  y = OpTest{.op = "MatMul", .inputs = {i64({2, 1, 1, 2}, {1, 2, 3, 4}), i64({3, 2, 1}, {1, 1, 0, 1, 1, 0})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3, 1, 1}));
  EXPECT_EQ(values<int64_t>(y[0]), (std::vector<int64_t>{3, 2, 1, 7, 4, 3}));
  EXPECT_THROW((OpTest{.op = "MatMul", .inputs = {f32({2, 3}, std::vector<float>(6)), f32({2, 3}, std::vector<float>(6))}}.run()), Error);
}

TEST(CpuMatMul, BatchedThreadedMatchesNaive) {
  const int64_t b = 3, m = 17, k = 5, n = 7;
  const auto av = random_floats(b * m * k, 3), bv = random_floats(k * n, 4);
  auto y = OpTest{.op = "MatMul", .inputs = {f32({b, m, k}, av), f32({k, n}, bv)}, .threads = 3}.run();
  const auto got = values<float>(y[0]);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float s = 0;
        for (int64_t kk = 0; kk < k; ++kk) s += av[(bi * m + i) * k + kk] * bv[kk * n + j];
        EXPECT_NEAR(got[(bi * m + i) * n + j], s, 1e-5);
      }
}

TEST(CpuGemm, TransposesAlphaBetaAndBroadcastC) {
  // A^T = [[1,2],[3,4]] (A stored [[1,3],[2,4]]); B^T = [[1,0],[1,1]] (B stored [[1,1],[0,1]]).
  auto y = OpTest{.op = "Gemm", .opset = 13,
                  .attrs = {Attribute::make_int("transA", 1), Attribute::make_int("transB", 1),
                            Attribute::make_float("alpha", 2.0f), Attribute::make_float("beta", 0.5f)},
                  .inputs = {f32({2, 2}, {1, 3, 2, 4}), f32({2, 2}, {1, 1, 0, 1}), f32({2}, {10, 20})}}.run();
  // A^T B^T = [[3,2],[7,4]]; *2 + 0.5*[10,20].
  expect_near(values<float>(y[0]), {11, 14, 19, 18});
  y = OpTest{.op = "Gemm", .opset = 11, .inputs = {f32({1, 2}, {1, 2}), f32({2, 1}, {3, 4})}}.run();  // no C
  expect_near(values<float>(y[0]), {11});
  y = OpTest{.op = "Gemm", .opset = 9, .inputs = {f32({2, 1}, {1, 2}), f32({1, 2}, {3, 4}), f32({2, 1}, {1, -1})}}.run();
  expect_near(values<float>(y[0]), {4, 5, 5, 7});
}

// ---------------------------------------------------------------------------------------- conv

// Direct N-D convolution for reference (2-D only, with groups, strides, pads, dilations).
std::vector<float> naive_conv2d(const std::vector<float>& x, const std::vector<float>& w, int64_t n, int64_t c,
                                int64_t h, int64_t wd, int64_t m, int64_t kh, int64_t kw, int64_t group,
                                int64_t stride, int64_t pad, int64_t dil, int64_t& oh, int64_t& ow) {
  oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
  ow = (wd + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
  const int64_t cg = c / group, mg = m / group;
  std::vector<float> y(static_cast<size_t>(n * m * oh * ow), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          float s = 0;
          const int64_t gi = oc / mg;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t bb = 0; bb < kw; ++bb) {
                const int64_t yy = i * stride - pad + a * dil, xx = j * stride - pad + bb * dil;
                if (yy < 0 || yy >= h || xx < 0 || xx >= wd) continue;
                s += x[static_cast<size_t>(((b * c + gi * cg + ic) * h + yy) * wd + xx)] *
                     w[static_cast<size_t>(((oc * cg + ic) * kh + a) * kw + bb)];
              }
          y[static_cast<size_t>(((b * m + oc) * oh + i) * ow + j)] = s;
        }
  return y;
}

TEST(CpuConv, HandChecked) {
  // 3x3 input, 2x2 kernel of ones, bias 1.
  auto y = OpTest{.op = "Conv", .opset = 11,
                  .inputs = {f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), f32({1, 1, 2, 2}, {1, 1, 1, 1}), f32({1}, {1})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{1, 1, 2, 2}));
  expect_near(values<float>(y[0]), {13, 17, 25, 29});
  // SAME_UPPER with stride 2 on 1-D: in 5, k 3 -> out 3, pad total 2 (1, 1).
  y = OpTest{.op = "Conv", .opset = 11,
             .attrs = {Attribute::make_string("auto_pad", "SAME_UPPER"), Attribute::make_ints("strides", {2})},
             .inputs = {f32({1, 1, 5}, {1, 2, 3, 4, 5}), f32({1, 1, 3}, {1, 1, 1})}}.run();
  expect_near(values<float>(y[0]), {3, 9, 9});
}

TEST(CpuConv, MatchesNaiveAcrossGroupsStridesPadsDilations) {
  struct Case { int64_t n, c, h, w, m, k, group, stride, pad, dil, threads; };
  for (const Case& cs : {Case{1, 3, 7, 5, 4, 3, 1, 1, 1, 1, 1}, Case{2, 4, 9, 8, 6, 3, 2, 2, 1, 2, 3},
                        Case{1, 6, 6, 6, 6, 3, 6, 1, 1, 1, 2} /* depthwise */, Case{3, 5, 4, 4, 7, 1, 1, 1, 0, 1, 2} /* 1x1 */,
                        Case{1, 2, 11, 13, 3, 5, 1, 3, 2, 1, 1}}) {
    const auto xv = random_floats(static_cast<size_t>(cs.n * cs.c * cs.h * cs.w), 5);
    const auto wv = random_floats(static_cast<size_t>(cs.m * (cs.c / cs.group) * cs.k * cs.k), 6);
    int64_t oh = 0, ow = 0;
    const auto want = naive_conv2d(xv, wv, cs.n, cs.c, cs.h, cs.w, cs.m, cs.k, cs.k, cs.group, cs.stride, cs.pad, cs.dil, oh, ow);
    auto y = OpTest{.op = "Conv", .opset = 11,
                    .attrs = {Attribute::make_int("group", cs.group), Attribute::make_ints("strides", {cs.stride, cs.stride}),
                              Attribute::make_ints("pads", {cs.pad, cs.pad, cs.pad, cs.pad}),
                              Attribute::make_ints("dilations", {cs.dil, cs.dil})},
                    .inputs = {f32({cs.n, cs.c, cs.h, cs.w}, xv), f32({cs.m, cs.c / cs.group, cs.k, cs.k}, wv)},
                    .constant_inputs = {1}, .threads = static_cast<int>(cs.threads)}.run();
    EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{cs.n, cs.m, oh, ow}));
    expect_near(values<float>(y[0]), want, 1e-4f);
  }
}

// ----------------------------------------------------------------------------------------- pool

TEST(CpuPool, MaxPoolWithIndicesAndStorageOrder) {
  const Tensor x = f32({1, 1, 3, 3}, {1, 5, 3, 4, 2, 6, 9, 8, 7});
  auto y = OpTest{.op = "MaxPool", .opset = 12, .attrs = {Attribute::make_ints("kernel_shape", {2, 2})},
                  .inputs = {x}, .outputs = 2}.run();
  expect_near(values<float>(y[0]), {5, 6, 9, 8});
  EXPECT_EQ(values<int64_t>(y[1]), (std::vector<int64_t>{1, 5, 6, 7}));
  y = OpTest{.op = "MaxPool", .opset = 12,
             .attrs = {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_int("storage_order", 1)},
             .inputs = {x}, .outputs = 2}.run();
  EXPECT_EQ(values<int64_t>(y[1]), (std::vector<int64_t>{3, 7, 2, 5}));
  // ceil_mode: 3 -> kernel 2 stride 2 -> 2 outputs (the second window is partial).
  y = OpTest{.op = "MaxPool", .opset = 12,
             .attrs = {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("strides", {2, 2}),
                       Attribute::make_int("ceil_mode", 1)},
             .inputs = {x}}.run();
  expect_near(values<float>(y[0]), {5, 6, 9, 7});
}

TEST(CpuPool, AveragePoolPadding) {
  const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  auto excl = OpTest{.op = "AveragePool", .opset = 11,
                     .attrs = {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("pads", {1, 1, 1, 1})},
                     .inputs = {x}}.run();
  expect_near(values<float>(excl[0]), {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4});
  auto incl = OpTest{.op = "AveragePool", .opset = 11,
                     .attrs = {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("pads", {1, 1, 1, 1}),
                               Attribute::make_int("count_include_pad", 1)},
                     .inputs = {x}}.run();
  expect_near(values<float>(incl[0]), {0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1});
  auto g = OpTest{.op = "GlobalAveragePool", .inputs = {f32({1, 2, 1, 2}, {1, 3, 5, 9})}}.run();
  EXPECT_EQ(g[0].shape(), (std::vector<int64_t>{1, 2, 1, 1}));
  expect_near(values<float>(g[0]), {2, 7});
}

TEST(CpuBatchNorm, InferenceAndTraining) {
  const Tensor x = f32({2, 2, 1}, {1, 2, 3, 6});
  const Tensor scale = f32({2}, {1, 2}), bias = f32({2}, {0, 1}), mean = f32({2}, {1, 2}), var = f32({2}, {4, 1});
  auto y = OpTest{.op = "BatchNormalization", .opset = 15, .attrs = {Attribute::make_float("epsilon", 0)},
                  .inputs = {x, scale, bias, mean, var}}.run();
  expect_near(values<float>(y[0]), {0, 1, 1, 9});
  y = OpTest{.op = "BatchNormalization", .opset = 15,
             .attrs = {Attribute::make_float("epsilon", 0), Attribute::make_int("training_mode", 1),
                       Attribute::make_float("momentum", 0.5f)},
             .inputs = {x, scale, bias, mean, var}, .outputs = 3}.run();
  // Channel 0: values {1, 3}, mean 2, var 1; channel 1: {2, 6}, mean 4, var 4.
  expect_near(values<float>(y[0]), {-1, -1, 1, 3});
  expect_near(values<float>(y[1]), {1.5f, 3.0f});
  expect_near(values<float>(y[2]), {2.5f, 2.5f});
}

// --------------------------------------------------------------------------------------- tensor

TEST(CpuTensor, ReshapeFlattenSqueezeUnsqueezeAreViews) {
  const Tensor x = f32({2, 3, 1}, {1, 2, 3, 4, 5, 6});
  auto y = OpTest{.op = "Reshape", .opset = 14, .inputs = {x, i64({2}, {0, -1})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(y[0].raw_data(), x.raw_data());
  y = OpTest{.op = "Reshape", .opset = 14, .attrs = {Attribute::make_int("allowzero", 1)},
             .inputs = {f32({0, 3}, {}), i64({2}, {3, 0})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{3, 0}));
  EXPECT_THROW((OpTest{.op = "Reshape", .opset = 14, .inputs = {x, i64({2}, {4, -1})}}.run()), Error);
  y = OpTest{.op = "Flatten", .opset = 13, .attrs = {Attribute::make_int("axis", -1)}, .inputs = {x}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{6, 1}));
  y = OpTest{.op = "Squeeze", .opset = 13, .inputs = {x}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3}));
  y = OpTest{.op = "Squeeze", .opset = 11, .attrs = {Attribute::make_ints("axes", {-1})}, .inputs = {x}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_THROW((OpTest{.op = "Squeeze", .opset = 13, .inputs = {x, i64({1}, {0})}}.run()), Error);
  y = OpTest{.op = "Unsqueeze", .opset = 13, .inputs = {x, i64({2}, {0, -1})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{1, 2, 3, 1, 1}));
  y = OpTest{.op = "Unsqueeze", .opset = 11, .attrs = {Attribute::make_ints("axes", {1})}, .inputs = {x}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 1, 3, 1}));
}

TEST(CpuTensor, Transpose) {
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const Tensor x = f32({2, 3, 4}, v);
  for (const std::vector<int64_t>& perm : std::vector<std::vector<int64_t>>{{1, 0, 2}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {0, 1, 2}}) {
    auto y = OpTest{.op = "Transpose", .attrs = {Attribute::make_ints("perm", perm)}, .inputs = {x}, .threads = 2}.run();
    const std::vector<int64_t> in_dims = {2, 3, 4};
    std::vector<int64_t> od = {in_dims[perm[0]], in_dims[perm[1]], in_dims[perm[2]]};
    ASSERT_EQ(y[0].shape(), od);
    const auto got = values<float>(y[0]);
    for (int64_t a = 0; a < od[0]; ++a)
      for (int64_t b = 0; b < od[1]; ++b)
        for (int64_t c = 0; c < od[2]; ++c) {
          int64_t idx[3];
          idx[perm[0]] = a;
          idx[perm[1]] = b;
          idx[perm[2]] = c;
          EXPECT_EQ(got[(a * od[1] + b) * od[2] + c], v[(idx[0] * 3 + idx[1]) * 4 + idx[2]]);
        }
  }
  auto y = OpTest{.op = "Transpose", .inputs = {i64({2, 1, 3}, {1, 2, 3, 4, 5, 6})}}.run();  // default: reverse
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{3, 1, 2}));
  EXPECT_EQ(values<int64_t>(y[0]), (std::vector<int64_t>{1, 4, 2, 5, 3, 6}));
}

TEST(CpuTensor, ConcatAndGather) {
  auto y = OpTest{.op = "Concat", .attrs = {Attribute::make_int("axis", -1)},
                  .inputs = {f32({2, 1}, {1, 2}), f32({2, 2}, {3, 4, 5, 6}), f32({2, 0}, {})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 3}));
  expect_near(values<float>(y[0]), {1, 3, 4, 2, 5, 6});
  y = OpTest{.op = "Gather", .attrs = {Attribute::make_int("axis", 1)},
             .inputs = {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({2, 1}, {-1, 0})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2, 2, 1}));
  expect_near(values<float>(y[0]), {3, 1, 6, 4});
  y = OpTest{.op = "Gather", .inputs = {i64({3}, {7, 8, 9}), i32({}, {2})}}.run();
  EXPECT_EQ(y[0].rank(), 0u);
  EXPECT_EQ(values<int64_t>(y[0])[0], 9);
}

TEST(CpuTensor, GatherOutOfRangeIsAnErrorNamingNodeIndexAndDim) {
  try {
    OpTest{.op = "Gather", .inputs = {f32({3, 2}, {1, 2, 3, 4, 5, 6}), i64({2}, {1, 3})}}.run();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(msg.find("node 'n0'"), std::string::npos) << msg;  // the runtime names the node
    EXPECT_NE(msg.find("index 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("size 3"), std::string::npos) << msg;
  }
  EXPECT_THROW((OpTest{.op = "Gather", .inputs = {f32({3}, {1, 2, 3}), i64({1}, {-4})}}.run()), Error);
}

TEST(CpuTensor, ConstantShapeIdentityDropout) {
  auto y = OpTest{.op = "Constant", .attrs = {Attribute::make_floats("value_floats", {1.5f, 2.5f})}}.run();
  EXPECT_EQ(y[0].shape(), (std::vector<int64_t>{2}));
  expect_near(values<float>(y[0]), {1.5f, 2.5f});
  y = OpTest{.op = "Constant", .attrs = {Attribute::make_int("value_int", 7)}}.run();
  EXPECT_EQ(y[0].rank(), 0u);
  EXPECT_EQ(values<int64_t>(y[0])[0], 7);
  const Tensor x = f32({2, 3, 4, 5}, std::vector<float>(120));
  y = OpTest{.op = "Shape", .opset = 15, .attrs = {Attribute::make_int("start", 1), Attribute::make_int("end", -1)}, .inputs = {x}}.run();
  EXPECT_EQ(values<int64_t>(y[0]), (std::vector<int64_t>{3, 4}));
  y = OpTest{.op = "Shape", .opset = 13, .inputs = {x}}.run();
  EXPECT_EQ(values<int64_t>(y[0]), (std::vector<int64_t>{2, 3, 4, 5}));
  y = OpTest{.op = "Identity", .opset = 16, .inputs = {x}}.run();
  EXPECT_EQ(y[0].raw_data(), x.raw_data());
  y = OpTest{.op = "Dropout", .opset = 13, .inputs = {f32({2}, {1, 2})}, .outputs = 2}.run();
  expect_near(values<float>(y[0]), {1, 2});
  EXPECT_EQ(y[1].dtype(), DataType::kBool);
  EXPECT_TRUE(y[1].data<bool>()[0] && y[1].data<bool>()[1]);
}

TEST(CpuCast, NumbersHalvesAndStrings) {
  auto cast = [](Tensor x, DataType to) {
    return OpTest{.op = "Cast", .opset = 21, .attrs = {Attribute::make_int("to", static_cast<int64_t>(to))}, .inputs = {x}}.run()[0];
  };
  EXPECT_EQ(values<int32_t>(cast(f32({3}, {1.7f, -1.7f, 0}), DataType::kInt32)), (std::vector<int32_t>{1, -1, 0}));
  EXPECT_EQ(values<uint8_t>(cast(i64({2}, {300, -1}), DataType::kUInt8)), (std::vector<uint8_t>{44, 255}));
  // float16: 1.0 = 0x3c00; 65504 max; 1 + 2^-11 is a tie -> rounds to even (1.0); 2^-24 smallest subnormal.
  const Tensor h = cast(f32({5}, {1.0f, 65504.0f, 1.0f + 1.0f / 2048, 5.9604645e-08f, 1e6f}), DataType::kFloat16);
  EXPECT_EQ(values<uint16_t>(Tensor::view(DataType::kUInt16, h.shape(), const_cast<void*>(h.raw_data()))),
            (std::vector<uint16_t>{0x3c00, 0x7bff, 0x3c00, 0x0001, 0x7c00}));
  expect_near(values<float>(cast(h, DataType::kFloat)), {1.0f, 65504.0f, 1.0f, 5.9604645e-08f, INFINITY});
  const Tensor bf = cast(f32({2}, {1.0f, 1.00390625f /* 1 + 2^-8: tie -> even */}), DataType::kBFloat16);
  EXPECT_EQ(values<uint16_t>(Tensor::view(DataType::kUInt16, bf.shape(), const_cast<void*>(bf.raw_data()))),
            (std::vector<uint16_t>{0x3f80, 0x3f80}));
  const Tensor s = cast(f32({4}, {1.5f, NAN, -INFINITY, 0.1f}), DataType::kString);
  EXPECT_EQ(values<std::string>(s), (std::vector<std::string>{"1.5", "NaN", "-INF", "0.1"}));
  const Tensor back = cast(testing::make<std::string>(DataType::kString, {3}, {"2.5", "-INF", "1e-5"}), DataType::kFloat);
  expect_near(values<float>(back), {2.5f, -INFINITY, 1e-5f});
  EXPECT_THROW(cast(testing::make<std::string>(DataType::kString, {1}, {"abc"}), DataType::kFloat), Error);
}

}  // namespace
}  // namespace ferry::ep
