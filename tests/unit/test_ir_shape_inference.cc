#include <gtest/gtest.h>

#include "ferry/error.h"
#include "ir/shape_inference.h"

namespace ferry::ir {
namespace {

Dim sym(const char* s) { return Dim::symbol(s); }
Type f32(std::vector<Dim> d) { return Type::tensor(DataType::kFloat, Shape(std::move(d))); }
Tensor i64(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(DataType::kInt64, {n}, v);
}

struct Builder {
  Model m;
  explicit Builder(int64_t opset) { m.opset_imports[""] = opset; }
  Graph& g() { return m.graph(); }
  Value* input(const std::string& name, Type t) {
    Value* v = g().add_value(name, std::move(t));
    g().add_input(v);
    return v;
  }
  Node* node(const std::string& op, std::vector<Value*> in, std::vector<std::string> out,
             std::vector<Attribute> attrs = {}) {
    Node* n = g().add_node(op, in, out, "", op + "_" + out[0]);
    for (auto& a : attrs) n->set_attribute(std::move(a));
    return n;
  }
  std::string shape(const std::string& v) { return g().find_value(v)->shape().to_string(); }
  DataType dtype(const std::string& v) { return g().find_value(v)->dtype(); }
  std::string infer_error(InferenceOptions o = {}) {
    try {
      infer_shapes(m, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST(IrInfer, SymbolicBroadcasting) {
  Builder b(13);
  Value* x = b.input("x", f32({sym("batch"), 1, 4}));
  Value* y = b.input("y", f32({3, 1}));
  Value* p = b.input("p", f32({sym("n")}));
  Value* q = b.input("q", f32({sym("m")}));
  Value* s = b.input("s", f32({}));
  b.node("Add", {x, y}, {"xy"});
  b.node("Mul", {p, q}, {"pq"});  // n vs m: could be either (one may be 1): a fresh symbol
  b.node("Sub", {p, p}, {"pp"});
  b.node("Div", {x, s}, {"xs"});
  b.node("Add", {p, b.input("c5", f32({5}))}, {"p5"});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("xy"), "[batch,3,4]");
  EXPECT_EQ(b.shape("pq"), "[unk__0]");
  EXPECT_EQ(b.shape("pp"), "[n]");
  EXPECT_EQ(b.shape("xs"), "[batch,1,4]");
  EXPECT_EQ(b.shape("p5"), "[5]");
  EXPECT_EQ(b.dtype("xy"), DataType::kFloat);

  Builder bad(13);
  bad.node("Add", {bad.input("a", f32({2, 3})), bad.input("b", f32({4}))}, {"c"});
  EXPECT_EQ(bad.infer_error(),
            "node 'Add_c' (Add, opset 13): cannot broadcast shapes [2,3] and [4]: dimension 3 vs 4");
}

TEST(IrInfer, ShapeGatherConcatReshapeChainIsExact) {
  Builder b(13);
  Value* x = b.input("x", f32({sym("batch"), sym("seq"), 12}));
  b.node("Shape", {x}, {"shp"});
  b.g().add_initializer("i0", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {0}));
  b.g().add_initializer("i1", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {1}));
  b.g().add_initializer("ax", i64({0}));
  b.node("Gather", {b.g().find_value("shp"), b.g().find_value("i0")}, {"b0"});
  b.node("Gather", {b.g().find_value("shp"), b.g().find_value("i1")}, {"s0"});
  b.node("Unsqueeze", {b.g().find_value("b0"), b.g().find_value("ax")}, {"b1"});
  b.node("Unsqueeze", {b.g().find_value("s0"), b.g().find_value("ax")}, {"s1"});
  b.node("Constant", {}, {"heads"}, {Attribute::make_tensor("value", i64({3, -1}))});
  b.node("Concat", {b.g().find_value("b1"), b.g().find_value("s1"), b.g().find_value("heads")}, {"target"},
         {Attribute::make_int("axis", 0)});
  b.node("Reshape", {x, b.g().find_value("target")}, {"y"});
  // Shape arithmetic on values: seq * 2 via Mul, then a Reshape using it.
  b.g().add_initializer("two", i64({2}));
  b.node("Mul", {b.g().find_value("s1"), b.g().find_value("two")}, {"s2"});
  b.node("Constant", {}, {"neg"}, {Attribute::make_ints("value_ints", {-1})});
  b.node("Concat", {b.g().find_value("neg"), b.g().find_value("s2")}, {"t2"}, {Attribute::make_int("axis", 0)});
  b.node("Reshape", {x, b.g().find_value("t2")}, {"z"});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("shp"), "[3]");
  EXPECT_EQ(b.shape("b0"), "[]");
  EXPECT_EQ(b.shape("b1"), "[1]");
  EXPECT_EQ(b.shape("target"), "[4]");
  EXPECT_EQ(b.shape("y"), "[batch,seq,3,4]");
  EXPECT_EQ(b.shape("z"), "[6*batch,2*seq]");
  EXPECT_EQ(b.dtype("target"), DataType::kInt64);
}

TEST(IrInfer, ReshapeZeroMinusOneAndAllowzero) {
  Builder b(14);
  Value* x = b.input("x", f32({sym("n"), 4, 6}));
  b.g().add_initializer("t", i64({0, -1}));
  b.g().add_initializer("tz", i64({0, 24}));
  b.node("Reshape", {x, b.g().find_value("t")}, {"a"});
  Value* e = b.input("e", f32({0, 24}));
  b.node("Reshape", {e, b.g().find_value("tz")}, {"c"}, {Attribute::make_int("allowzero", 1)});
  Value* unknown = b.input("shape_in", Type::tensor(DataType::kInt64, Shape::from_ints({3})));
  b.node("Reshape", {x, unknown}, {"d"});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("a"), "[n,24]");
  EXPECT_EQ(b.shape("c"), "[0,24]");
  EXPECT_EQ(b.shape("d"), "[unk__0,unk__1,unk__2]");

  Builder bad(13);
  bad.g().add_initializer("t", i64({5, -1}));
  bad.node("Reshape", {bad.input("x", f32({2, 3})), bad.g().find_value("t")}, {"y"});
  EXPECT_EQ(bad.infer_error(),
            "node 'Reshape_y' (Reshape, opset 13): cannot reshape input [2,3] (6 elements) to [5,1] with -1 at "
            "position 1");
}

TEST(IrInfer, ConvAndPools) {
  Builder b(13);
  Value* x = b.input("x", f32({sym("N"), 3, 224, 224}));
  b.g().add_initializer("w", Tensor::zeros(DataType::kFloat, {64, 3, 7, 7}));
  b.node("Conv", {x, b.g().find_value("w")}, {"c"},
         {Attribute::make_ints("strides", {2, 2}), Attribute::make_ints("pads", {3, 3, 3, 3})});
  b.node("MaxPool", {b.g().find_value("c")}, {"p", "idx"},
         {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("strides", {2, 2}),
          Attribute::make_ints("pads", {1, 1, 1, 1})});
  b.node("AveragePool", {b.g().find_value("p")}, {"ap"},
         {Attribute::make_ints("kernel_shape", {2, 2}), Attribute::make_ints("strides", {2, 2}),
          Attribute::make_int("ceil_mode", 1)});
  b.node("GlobalAveragePool", {b.g().find_value("ap")}, {"gap"});
  b.node("Flatten", {b.g().find_value("gap")}, {"flat"});
  Value* s = b.input("s", f32({1, 8, sym("H"), sym("W")}));
  b.g().add_initializer("w2", Tensor::zeros(DataType::kFloat, {16, 4, 3, 3}));
  b.node("Conv", {s, b.g().find_value("w2")}, {"cs"},
         {Attribute::make_int("group", 2), Attribute::make_string("auto_pad", "SAME_UPPER"),
          Attribute::make_ints("strides", {2, 1})});
  b.node("Conv", {s, b.g().find_value("w2")}, {"cv"}, {Attribute::make_int("group", 2)});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("c"), "[N,64,112,112]");
  EXPECT_EQ(b.shape("p"), "[N,64,56,56]");
  EXPECT_EQ(b.shape("idx"), "[N,64,56,56]");
  EXPECT_EQ(b.dtype("idx"), DataType::kInt64);
  EXPECT_EQ(b.shape("ap"), "[N,64,28,28]");
  EXPECT_EQ(b.shape("gap"), "[N,64,1,1]");
  EXPECT_EQ(b.shape("flat"), "[N,64]");
  EXPECT_EQ(b.shape("cs"), "[1,16,ceil(H/2),W]");
  EXPECT_EQ(b.shape("cv"), "[1,16,H - 2,W - 2]");

  Builder bad(13);
  bad.g().add_initializer("w", Tensor::zeros(DataType::kFloat, {8, 4, 3, 3}));
  bad.node("Conv", {bad.input("x", f32({1, 3, 8, 8})), bad.g().find_value("w")}, {"y"});
  EXPECT_EQ(bad.infer_error(),
            "node 'Conv_y' (Conv, opset 13): input X has 3 channels [1,3,8,8] but W [8,4,3,3] with group 1 expects 4");
}

TEST(IrInfer, MatMulGemmAndNormalization) {
  Builder b(13);
  Value* a = b.input("a", f32({sym("B"), sym("S"), 64}));
  b.g().add_initializer("w", Tensor::zeros(DataType::kFloat, {64, 32}));
  b.node("MatMul", {a, b.g().find_value("w")}, {"mm"});
  Value* v = b.input("v", f32({64}));
  b.node("MatMul", {a, v}, {"mv"});
  b.node("MatMul", {v, b.g().find_value("w")}, {"vm"});
  Value* g1 = b.input("g1", f32({sym("M"), 10}));
  b.g().add_initializer("gw", Tensor::zeros(DataType::kFloat, {20, 10}));
  b.node("Gemm", {g1, b.g().find_value("gw")}, {"gemm"}, {Attribute::make_int("transB", 1)});
  b.node("Softmax", {b.g().find_value("mm")}, {"sm"});
  Value* bx = b.input("bx", f32({sym("N"), 16, 5, 5}));
  Value* c16 = b.input("c16", f32({16}));
  b.node("BatchNormalization", {bx, c16, c16, c16, c16}, {"bn"});
  b.node("Relu", {b.g().find_value("bn")}, {"r"});
  b.node("Transpose", {b.g().find_value("r")}, {"tr"}, {Attribute::make_ints("perm", {0, 2, 3, 1})});
  b.node("Transpose", {b.g().find_value("r")}, {"trd"});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("mm"), "[B,S,32]");
  EXPECT_EQ(b.shape("mv"), "[B,S]");
  EXPECT_EQ(b.shape("vm"), "[32]");
  EXPECT_EQ(b.shape("gemm"), "[M,20]");
  EXPECT_EQ(b.shape("sm"), "[B,S,32]");
  EXPECT_EQ(b.shape("bn"), "[N,16,5,5]");
  EXPECT_EQ(b.shape("tr"), "[N,5,5,16]");
  EXPECT_EQ(b.shape("trd"), "[5,5,16,N]");

  Builder bad(13);
  bad.node("MatMul", {bad.input("a", f32({2, 3})), bad.input("b", f32({4, 5}))}, {"y"});
  EXPECT_EQ(bad.infer_error(),
            "node 'MatMul_y' (MatMul, opset 13): inner dimensions of [2,3] and [4,5] differ: 3 vs 4");
}

TEST(IrInfer, SqueezeUnsqueezeAcrossOpsets) {
  for (int64_t opset : {11, 13}) {
    Builder b(opset);
    Value* x = b.input("x", f32({1, sym("n"), 1}));
    std::vector<Value*> sq_in = {x}, unsq_in = {x};
    std::vector<Attribute> sq_attr, unsq_attr;
    if (opset >= 13) {
      sq_in.push_back(b.g().add_initializer("sa", i64({0, -1})));
      unsq_in.push_back(b.g().add_initializer("ua", i64({0, 4})));
    } else {
      sq_attr.push_back(Attribute::make_ints("axes", {0, -1}));
      unsq_attr.push_back(Attribute::make_ints("axes", {0, 4}));
    }
    b.node("Squeeze", sq_in, {"sq"}, sq_attr);
    b.node("Unsqueeze", unsq_in, {"un"}, unsq_attr);
    b.node("Squeeze", {b.input("ones", f32({1, 3, 1}))}, {"all"});
    infer_shapes(b.m);
    EXPECT_EQ(b.shape("sq"), "[n]") << opset;
    EXPECT_EQ(b.shape("un"), "[1,1,n,1,1]") << opset;
    EXPECT_EQ(b.shape("all"), "[3]") << opset;
  }
}

TEST(IrInfer, ConstantCastDropoutShapeSlices) {
  Builder b(21);
  b.node("Constant", {}, {"f"}, {Attribute::make_floats("value_floats", {1, 2, 3})});
  b.node("Constant", {}, {"s"}, {Attribute::make_string("value_string", "hi")});
  b.node("Constant", {}, {"i"}, {Attribute::make_int("value_int", 7)});
  Value* x = b.input("x", f32({sym("b"), 3, 5}));
  b.node("Shape", {x}, {"tail"}, {Attribute::make_int("start", -2)});
  b.node("Cast", {b.g().find_value("tail")}, {"tailf"}, {Attribute::make_int("to", 1)});
  b.node("Dropout", {x}, {"d", "mask"});
  b.node("Identity", {b.g().find_value("tail")}, {"tail2"});
  b.node("Reshape", {x, b.g().find_value("tail2")}, {"r"});  // target [3,5] comes from values
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("f"), "[3]");
  EXPECT_EQ(b.dtype("s"), DataType::kString);
  EXPECT_EQ(b.shape("i"), "[]");
  EXPECT_EQ(b.shape("tail"), "[2]");
  EXPECT_EQ(b.dtype("tailf"), DataType::kFloat);
  EXPECT_EQ(b.dtype("mask"), DataType::kBool);
  EXPECT_EQ(b.shape("mask"), "[b,3,5]");
  EXPECT_EQ(b.shape("r"), "[3,5]");
}

TEST(IrInfer, DeclaredTypesMerge) {
  Builder b(13);
  Value* x = b.input("x", f32({sym("batch"), 4}));
  Node* r = b.node("Relu", {x}, {"y"});
  r->output(0)->set_type(f32({sym("rows"), 4}));  // a declared name wins over the inferred one
  Node* n = b.node("Relu", {x}, {"z"});
  n->output(0)->set_type(f32({sym("rows"), Dim::symbol("cols")}));
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("y"), "[rows,4]");
  EXPECT_EQ(b.shape("z"), "[rows,4]");  // a concrete inferred size beats a declared name

  Builder c(13);
  Node* bad = c.node("Relu", {c.input("x", f32({2, 4}))}, {"y"});
  bad->output(0)->set_type(f32({2, 5}));
  EXPECT_EQ(c.infer_error(),
            "node 'Relu_y' (Relu, opset 13): output 'y' is declared as float[2,5] but inference gives float[2,4]");
  InferenceOptions lenient;
  lenient.strict = false;
  EXPECT_EQ(c.infer_error(lenient), "");
  EXPECT_EQ(c.shape("y"), "[2,5]");
}

TEST(IrInfer, FreshSymbolsAvoidNamesInTheModel) {
  Builder b(13);
  Value* p = b.input("p", f32({sym("unk__4")}));
  Value* q = b.input("q", f32({sym("m")}));
  b.node("Add", {p, q}, {"y"});
  b.node("Foo", {p}, {"opaque"});  // no inference: stays unknown
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("y"), "[unk__5]");
  EXPECT_EQ(b.g().find_value("opaque")->type().kind, Type::Kind::kUnknown);
}

TEST(IrInfer, SubgraphsSeeOuterValues) {
  Builder b(13);
  Value* x = b.input("x", f32({sym("n"), 2}));
  Value* c = b.input("c", Type::tensor(DataType::kBool, Shape::from_ints({})));
  Node* iff = b.node("If", {c}, {"y"});
  auto body = std::make_shared<Graph>("then", &b.g());
  Node* inner = body->add_node("Relu", {x}, {"t"});
  body->add_output(inner->output(0));
  iff->set_attribute(Attribute::make_graph("then_branch", body));
  auto other = std::make_shared<Graph>("else", &b.g());
  Node* neg = other->add_node("Neg", {x}, {"u"});
  other->add_output(neg->output(0));
  iff->set_attribute(Attribute::make_graph("else_branch", other));
  infer_shapes(b.m);
  EXPECT_EQ(inner->output(0)->shape().to_string(), "[n,2]");
  EXPECT_EQ(iff->output(0)->shape().to_string(), "[n,2]");  // both branches agree
}

TEST(IrInfer, PartialValuesReachExpandButNotReshape) {
  // target = Concat(Shape(x)[0:1], k, [4]) with k computed (unknown value, known length 1).
  Builder b(21);
  Value* x = b.input("x", f32({2, 1, 4}));
  Value* k = b.input("k", Type::tensor(DataType::kInt64, Shape::from_ints({1})));
  b.node("Shape", {x}, {"n"}, {Attribute::make_int("start", 0), Attribute::make_int("end", 1)});
  b.g().add_initializer("four", i64({4}));
  b.node("Concat", {b.g().find_value("n"), k, b.g().find_value("four")}, {"target"}, {Attribute::make_int("axis", 0)});
  b.node("Expand", {x, b.g().find_value("target")}, {"e"});
  b.node("Reshape", {x, b.g().find_value("target")}, {"r"});
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("e"), "[2,unk__0,4]");  // the known pieces survive, the computed one is open
  EXPECT_EQ(b.shape("r"), "[unk__1,unk__2,unk__3]");  // no half-known target for Reshape (k may be -1 or 0)
}

TEST(IrInfer, TorchExpandMinusOneKeepsTheBatchSymbol) {
  // torch's cls.expand(B, -1, -1): Expand(cls, Where(Equal(t, -1 * ones), ones, t)) with
  // t = [B, -1, -1], then Concat with x on axis 1 ([B, n, 8]); then Range(0, seq, 1) and Range(0, seq, 2).
  Builder b(17);
  Value* x = b.input("x", f32({sym("batch"), sym("seq"), 8}));
  b.node("Shape", {x}, {"shp"});
  b.g().add_initializer("i0", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {0}));
  b.g().add_initializer("i1", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {1}));
  b.g().add_initializer("ax", i64({0}));
  b.g().add_initializer("m1", i64({-1, -1}));
  b.g().add_initializer("neg", i64({-1}));
  b.g().add_initializer("cls", Tensor::from_vector<float>(DataType::kFloat, {1, 1, 8}, std::vector<float>(8, 0.0f)));
  auto v = [&](const char* n) { return b.g().find_value(n); };
  b.node("Gather", {v("shp"), v("i0")}, {"b0"});
  b.node("Unsqueeze", {v("b0"), v("ax")}, {"b1"});
  b.node("Concat", {v("b1"), v("m1")}, {"t"}, {Attribute::make_int("axis", 0)});
  b.node("Shape", {v("t")}, {"tn"});
  b.node("ConstantOfShape", {v("tn")}, {"ones"}, {Attribute::make_tensor("value", i64({1}))});
  b.node("Mul", {v("ones"), v("neg")}, {"minus"});
  b.node("Equal", {v("t"), v("minus")}, {"eq"});
  b.node("Where", {v("eq"), v("ones"), v("t")}, {"target"});
  b.node("Expand", {v("cls"), v("target")}, {"e"});
  b.node("Concat", {v("e"), x}, {"joined"}, {Attribute::make_int("axis", 1)});
  b.g().add_initializer("two", Tensor::from_vector<int64_t>(DataType::kInt64, {}, {2}));
  b.node("Gather", {v("shp"), v("i1")}, {"s0"});
  b.node("Range", {v("i0"), v("s0"), v("i1")}, {"r1"});
  b.node("Range", {v("i0"), v("s0"), v("two")}, {"r2"});
  b.node("Range", {v("i1"), v("s0"), v("i1")}, {"r3"});  // may be empty: max(seq - 1, 0) is not a dim
  infer_shapes(b.m);
  EXPECT_EQ(b.shape("e"), "[batch,1,8]");
  EXPECT_EQ(b.shape("joined"), "[batch,seq + 1,8]");
  EXPECT_EQ(b.shape("r1"), "[seq]");
  EXPECT_EQ(b.shape("r2"), "[ceil(seq/2)]");
  EXPECT_EQ(b.shape("r3"), "[unk__0]");

  // A Concat of a fresh symbol and a bound one keeps the bound one, in either order.
  Builder c(17);
  Value* y = c.input("y", f32({sym("batch"), 4}));
  Value* k = c.input("k", Type::tensor(DataType::kInt64, Shape::from_ints({2})));
  c.g().add_initializer("z", Tensor::from_vector<float>(DataType::kFloat, {1, 1}, {0.0f}));
  c.node("Expand", {c.g().find_value("z"), k}, {"open"});  // [unk__0, unk__1]
  c.node("Concat", {c.g().find_value("open"), y}, {"j1"}, {Attribute::make_int("axis", 1)});
  c.node("Concat", {y, c.g().find_value("open")}, {"j2"}, {Attribute::make_int("axis", 1)});
  infer_shapes(c.m);
  EXPECT_EQ(c.shape("open"), "[unk__0,unk__1]");
  EXPECT_EQ(c.shape("j1"), "[batch,unk__1 + 4]");
  EXPECT_EQ(c.shape("j2"), "[batch,unk__1 + 4]");
}

TEST(IrInfer, RegistryCoversOpsAcrossOpsets) {
  for (const char* op : {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Sigmoid", "Tanh", "Softmax",
                         "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape",
                         "Transpose", "Concat", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze",
                         "Cast", "Dropout"}) {
    for (int64_t opset : {7, 13, 21}) EXPECT_TRUE(has_inference("", op, opset)) << op << " " << opset;
  }
  for (const char* op : {"If", "Loop", "Scan", "SequenceAt", "OptionalHasElement"})
    EXPECT_TRUE(has_inference("", op, 21)) << op;
  EXPECT_FALSE(has_inference("", "Add", 6));
  EXPECT_FALSE(has_inference("", "Scan", 7));  // Scan is opset 8 on
}

}  // namespace
}  // namespace ferry::ir
