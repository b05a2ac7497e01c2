"""Op tests for the element-wise family (execution_providers/cpu/elementwise/): unary math,
predicates, logic, comparisons, broadcasting binary and variadic ops, Where, Clip, activations,
LogSoftmax and Hardmax. onnxruntime is the reference (onnx's evaluator where it has no kernel);
bfloat16 cases carry a numpy reference computed in float32, as the kernels compute half types.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_elementwise.py -q
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from op_harness import BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Case, In, Lit, make_test

F16 = np.float16
BF16 = ml_dtypes.bfloat16

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def name(dt) -> str:
    return np.dtype(dt).name


INTS = [I8, U8, I16, U16, I32, U32, I64, U64]
SIGNED = [I8, I16, I32, I64]
SHAPES = [(3, 4), (2, 3, 5), (1,), (), (0, 3)]


def bf16_ref(fn):
    """A reference computing fn in float32 and rounding to bfloat16, for every output."""
    def ref(*arrays, **attrs):
        outs = fn(*[a.astype(F32) if a is not None and a.dtype == BF16 else a for a in arrays], **attrs)
        return [o.astype(BF16) if o.dtype == F32 else o for o in outs]
    return ref


# float64 references in float64 where onnxruntime and onnx's evaluator compute these in float32.
_erf = np.vectorize(math.erf)
F64_REFERENCES = {
    "Erf": lambda x: [_erf(x)],
    "HardSwish": lambda x: [x * np.clip(x / 6 + 0.5, 0, 1)],
    "Gelu": lambda x, approximate="none": [
        0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))) if approximate == "tanh"
        else 0.5 * x * (1 + _erf(x / math.sqrt(2)))],
    "Shrink": lambda x, bias=0.0, lambd=0.5: [np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0.0))],
}

# Unary math: every float type, several shapes, the opsets where the types changed.
UNARY = {  # op: (input kind or literal values, opsets)
    "Abs": ("any", (6, 13)), "Neg": ("any", (6, 13)), "Sqrt": ("pos", (6, 13)), "Exp": ("any", (6, 13)),
    "Log": ("pos", (6, 13)), "Ceil": ("any", (6, 13)), "Floor": ("any", (6, 13)),
    "Reciprocal": ("nonzero", (6, 13)), "Sign": ("any", (9, 13)), "Erf": ("any", (9, 13)),
    "Sin": ("any", (7, 22)), "Cos": ("any", (7, 22)), "Tan": ("any", (7, 22)), "Atan": ("any", (7, 22)),
    "Sinh": ("any", (9, 22)), "Cosh": ("any", (9, 22)), "Asinh": ("any", (9, 22)),
    "Softplus": ("any", (7, 22)), "Softsign": ("any", (7, 22)), "HardSwish": ("any", (14, 22)),
    "Mish": ("any", (18, 22)),
}
UNIT = np.array([-0.99, -0.5, -0.1, 0.0, 0.3, 0.75, 0.999], F32)  # Asin Acos Atanh domain
for op, (kind, opsets) in UNARY.items():
    for shape in SHAPES:
        if shape == () and kind != "any":  # the harness draws such a 0-d input as a numpy scalar
            continue
        add(Case(op, [In(shape, F32, kind)], name=f"f32_{shape}", opsets=opsets))
    add(Case(op, [In((4, 7), F64, kind)], name="f64", opsets=opsets[-1:], reference=F64_REFERENCES.get(op)))
    add(Case(op, [In((4, 7), F16, kind)], name="f16", opsets=opsets[-1:], rtol=2e-3, atol=2e-3))
for op in ["Asin", "Acos", "Atanh"]:
    v = 7 if op != "Atanh" else 9
    add(Case(op, [Lit(UNIT)], name="f32", opsets=(v, 22)))
    add(Case(op, [Lit(UNIT.astype(F64))], name="f64", opsets=(22,)))
add(Case("Acosh", [Lit(np.array([1.0, 1.5, 2.0, 10.0, 100.0], F32))], name="f32", opsets=(9, 22)))
add(Case("Acosh", [Lit(np.array([1.0, 1.5, 2.0, 10.0, 100.0], F64))], name="f64", opsets=(22,)))
# Round: halves go to the even neighbour.
HALVES = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.4, -0.6, 1.2345, 1e7 + 0.5], F32)
add(Case("Round", [Lit(HALVES)], name="half_even", opsets=(11, 22)))
add(Case("Round", [Lit(HALVES.astype(F64))], name="half_even_f64", opsets=(22,)))
add(Case("Round", [Lit(HALVES[:-1].astype(F16))], name="half_even_f16", opsets=(22,)))
# Integer types of Abs, Neg, Sign (the most negative value wraps as in C).
for dt in INTS:
    add(Case("Abs", [In((3, 5), dt)], name=name(dt), opsets=(13,)))
    add(Case("Sign", [In((3, 5), dt)], name=name(dt), opsets=(9, 13)))
for dt in SIGNED:
    add(Case("Neg", [In((3, 5), dt)], name=name(dt), opsets=(13,)))
add(Case("Sign", [Lit(np.array([-3.0, -0.0, 0.0, 2.0, np.nan], F32))], name="nan", opsets=(13,)))
# bfloat16 through float.
for op, fn in [("Abs", np.abs), ("Neg", np.negative), ("Ceil", np.ceil), ("Floor", np.floor),
               ("Sign", np.sign)]:
    add(Case(op, [In((3, 6), BF16)], name="bf16", opsets=(13,), reference=bf16_ref(lambda x, fn=fn: [fn(x)])))

# Predicates and Not.
SPECIAL = np.array([1.0, -np.inf, np.inf, np.nan, 0.0, -2.5, np.nan, -0.0], F32)
for dt in [F32, F64, F16]:
    add(Case("IsNaN", [Lit(SPECIAL.astype(dt))], name=name(dt), opsets=(9, 13, 20)))
    for neg, pos in [(1, 1), (0, 1), (1, 0), (0, 0)]:
        add(Case("IsInf", [Lit(SPECIAL.astype(dt))], {"detect_negative": neg, "detect_positive": pos},
                 name=f"{name(dt)}_{neg}{pos}", opsets=(20,) if dt == F16 else (10, 20)))
add(Case("IsNaN", [Lit(SPECIAL.astype(BF16))], name="bf16", opsets=(20,),
         reference=lambda x: [np.isnan(x.astype(F32))]))
add(Case("IsInf", [Lit(SPECIAL.astype(BF16))], name="bf16", opsets=(20,),
         reference=lambda x: [np.isinf(x.astype(F32))]))
for shape in [(2, 3), (), (0,)]:
    add(Case("Not", [In(shape, BOOL)], name=f"{shape}", opsets=(7,)))
for dt in INTS:
    add(Case("BitwiseNot", [In((4, 3), dt)], name=name(dt), opsets=(18,)))

# Broadcasting patterns shared by the binary ops.
BROADCASTS = [
    ("same", (3, 5), (3, 5)), ("scalar_b", (2, 3, 4), ()), ("scalar_a", (), (7,)), ("row", (4, 6), (6,)),
    ("col", (4, 6), (4, 1)), ("outer", (5, 1), (1, 7)), ("middle", (2, 1, 3), (1, 4, 1)),
    ("rank_up", (3, 1, 5), (2, 1, 1, 5)), ("empty", (0, 3), (3,)),
]
for bname, a, b in BROADCASTS:
    base = Lit(np.array(1.7, F32)) if a == () else In(a, F32, "pos")
    add(Case("Pow", [base, In(b)], name=bname, opsets=(7, 12, 13, 15)))
    add(Case("Mod", [In(a, I32), In(b, I32, "nonzero")], name=f"{bname}_i32", opsets=(10, 13)))
    add(Case("Mod", [In(a, F32), In(b, F32, "nonzero")], {"fmod": 1}, name=f"{bname}_f32", opsets=(10, 13)))
    for op in ["And", "Or", "Xor"]:
        add(Case(op, [In(a, BOOL), In(b, BOOL)], name=bname, opsets=(7,)))
    for op in ["Equal", "Less", "Greater"]:
        add(Case(op, [In(a, I32), In(b, I32)], name=bname, opsets=(13,)))
    for op in ["LessOrEqual", "GreaterOrEqual"]:
        add(Case(op, [In(a, F32), In(b, F32)], name=bname, opsets=(12, 16)))
    add(Case("BitwiseAnd", [In(a, I32), In(b, I32)], name=bname, opsets=(18,)))

# Pow: integer and mixed base/exponent types.
for bt, et in [(F32, I32), (F32, I64), (F32, F64), (F64, F32), (F64, I8), (I32, I32), (I64, I64), (I32, F32),
               (I64, F32), (I32, U8), (F16, F32), (F32, F16), (F16, F16)]:
    pos = "pos" if np.dtype(bt).kind == "f" else "any"
    exp = Lit(np.array([0, 1, 2, 3], et)) if np.dtype(et).kind in "iu" else In((4,), et)
    tol = dict(rtol=2e-3, atol=2e-3) if F16 in (bt, et) else {}
    add(Case("Pow", [In((3, 4), bt, pos), exp], name=f"{name(bt)}_{name(et)}", opsets=(15,), **tol))
add(Case("Pow", [Lit(np.array([2, -3, 5, 1, -1, 0], I64)), Lit(np.array([10, 3, 0, -2, -3, 4], I64))],
         name="int_exact", opsets=(15,), reference=lambda a, b: [np.array([1024, -27, 1, 1, -1, 0], I64)]))

# Mod: integer sign rules for both fmod values, every integer type, floats with fmod=1.
MOD_A = np.array([-7, 7, -7, 7, 0, -1, 5, 6], I64)
MOD_B = np.array([3, 3, -3, -3, 4, 5, -5, 3], I64)
for dt in SIGNED:
    add(Case("Mod", [Lit(MOD_A.astype(dt)), Lit(MOD_B.astype(dt))], name=f"sign_{name(dt)}", opsets=(13,)))
    add(Case("Mod", [Lit(MOD_A.astype(dt)), Lit(MOD_B.astype(dt))], {"fmod": 1}, name=f"fmod_{name(dt)}",
             opsets=(13,)))
for dt in [U8, U16, U32, U64]:
    add(Case("Mod", [In((3, 4), dt), In((4,), dt, "pos")], name=name(dt), opsets=(13,)))
for dt in [F32, F64, F16]:
    add(Case("Mod", [Lit(np.array([-4.3, 7.2, 5.0, -1.5, 0.0], dt)), Lit(np.array([2.1, -3.4, 2.5, 1.5, 3.0], dt))],
             {"fmod": 1}, name=f"fmod_{name(dt)}", opsets=(13,)))
add(Case("Mod", [Lit(np.array([-4.25, 7.5, 5.0, -1.5, 0.0], F32)), Lit(np.array([2.0, -3.0, 2.5, 1.0, -3.0], F32))],
         name="python_f32", opsets=(13,), reference=lambda a, b: [np.mod(a, b)]))

# Comparisons over every type the spec allows, Equal on bool and string.
for dt in [F32, F64, F16] + INTS:
    for op in ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"]:
        v = {"Equal": 11, "Less": 9, "Greater": 9}.get(op, 12)
        a = Lit(np.array([[1, 2, 3, 4], [4, 3, 2, 1], [0, 5, 5, 0]], dt))
        b = Lit(np.array([2, 2, 5, 1], dt))
        add(Case(op, [a, b], name=name(dt), opsets=(v, 13) if op in ("Equal", "Less", "Greater") else (v, 16)))
add(Case("Equal", [In((3, 4), BOOL), In((4,), BOOL)], name="bool", opsets=(7, 13)))
add(Case("Equal", [Lit(np.array([["a", "bc"], ["", "x"]], object)), Lit(np.array(["a", "x"], object))],
         name="string", opsets=(19,), reference=lambda a, b: [a == b]))
add(Case("Less", [Lit(np.array([1.0, 2.0, -1.0], F32).astype(BF16)), Lit(np.array([2.0, 2.0, -3.0], F32).astype(BF16))],
         name="bf16", opsets=(13,), reference=lambda a, b: [a.astype(F32) < b.astype(F32)]))

# BitShift and the bitwise ops.
for dt in [U8, U16, U32, U64]:
    for d in ["LEFT", "RIGHT"]:
        add(Case("BitShift", [In((3, 4), dt), Lit(np.array([0, 1, 3, 5], dt))], {"direction": d},
                 name=f"{name(dt)}_{d}", opsets=(11,)))
SHIFT_X = np.array([-16, -1, 5, 100, -128, 3, 7, -7], I64)
SHIFT_Y = np.array([2, 1, 0, 3, 1, 70, -1, 64], I64)


def shift_ref(direction):
    def ref(x, y, direction=direction):
        bits = x.dtype.itemsize * 8
        out = []
        for a, b in zip(x.tolist(), y.tolist()):
            if b < 0 or b >= bits:
                out.append(-1 if direction == "RIGHT" and a < 0 else 0)
            elif direction == "RIGHT":
                out.append(a >> b)
            else:
                v = (a << b) & ((1 << bits) - 1)
                out.append(v - (1 << bits) if v >= 1 << (bits - 1) else v)
        return [np.array(out, x.dtype)]
    return ref


for dt in SIGNED:
    for d in ["LEFT", "RIGHT"]:
        x = np.clip(SHIFT_X, np.iinfo(dt).min, np.iinfo(dt).max).astype(dt)
        add(Case("BitShift", [Lit(x), Lit(SHIFT_Y.astype(dt))], {"direction": d}, name=f"{name(dt)}_{d}",
                 opsets=(28,), reference=shift_ref(d)))
for op in ["BitwiseAnd", "BitwiseOr", "BitwiseXor"]:
    for dt in INTS:
        add(Case(op, [In((2, 3, 4), dt), In((3, 1), dt)], name=name(dt), opsets=(18,)))

# Variadic Max, Min, Sum, Mean: 1..4 inputs with broadcasting.
VARIADIC = [("one", [(3, 4)]), ("two_same", [(3, 4), (3, 4)]), ("two_bcast", [(3, 1), (1, 4)]),
            ("three", [(2, 3, 4), (4,), (3, 1)]), ("four", [(5,), (), (2, 5), (1, 1, 5)]),
            ("scalars", [(), ()]), ("empty", [(0, 2), (2,)])]
for op in ["Max", "Min", "Sum", "Mean"]:
    for vname, shapes in VARIADIC:
        add(Case(op, [In(s) for s in shapes], name=vname, opsets=(8, 13)))
    add(Case(op, [In((3, 4), F64), In((4,), F64)], name="f64", opsets=(13,)))
    add(Case(op, [In((3, 4), F16), In((4,), F16), In((3, 1), F16)], name="f16", opsets=(13,)))
    add(Case(op, [In((3, 4), F32)] * 3, name="same_input_thrice", opsets=(13,)))
for op, fn in [("Max", np.maximum), ("Min", np.minimum)]:
    for dt in INTS:
        add(Case(op, [In((3, 4), dt), In((4,), dt)], name=name(dt), opsets=(12, 13)))
    add(Case(op, [In((3, 4), BF16), In((4,), BF16)], name="bf16", opsets=(13,),
             reference=bf16_ref(lambda a, b, fn=fn: [fn(a, b)])))
add(Case("Max", [Lit(np.array([1.0, np.nan, 3.0], F32)), Lit(np.array([np.nan, 2.0, 1.0], F32))], name="nan",
         opsets=(13,), reference=lambda a, b: [np.maximum(a, b)]))
add(Case("Sum", [In((3, 4), BF16), In((4,), BF16)], name="bf16", opsets=(13,),
         reference=bf16_ref(lambda a, b: [a + b])))

# Where: three-way broadcast, every value type, strings.
for wname, shapes in [("same", [(3, 4)] * 3), ("bcast", [(3, 1), (1, 4), (4,)]), ("scalar_xy", [(2, 3), (), ()]),
                      ("rank_up", [(2, 1, 3), (4, 1), (3,)]), ("empty", [(0, 3), (3,), (1,)])]:
    add(Case("Where", [In(shapes[0], BOOL), In(shapes[1]), In(shapes[2])], name=wname, opsets=(9, 16)))
for dt in [F64, F16, BOOL] + INTS:
    add(Case("Where", [In((2, 3), BOOL), In((2, 3), dt), In((3,), dt)], name=name(dt), opsets=(16,)))
add(Case("Where", [Lit(np.array([True, False, True])), Lit(np.array(["a", "b", "c"], object)),
                   Lit(np.array(["x"], object))], name="string", opsets=(16,),
         reference=lambda c, x, y: [np.where(c, x, y)]))
add(Case("Where", [In((2, 3), BOOL), In((2, 3), BF16), In((3,), BF16)], name="bf16", opsets=(16,),
         reference=lambda c, x, y: [np.where(c, x, y)]))

# Clip: attributes before 11, optional inputs from 11, integers from 12.
add(Case("Clip", [In((3, 4))], name="default", opsets=(6, 11, 13)))
add(Case("Clip", [In((3, 4))], {"min": -0.5, "max": 0.5}, name="attrs", opsets=(6,)))
add(Case("Clip", [In((3, 4))], {"min": -0.5}, name="attr_min", opsets=(6,)))
add(Case("Clip", [In((2, 5)), Lit(np.array(-0.5, F32)), Lit(np.array(0.3, F32))], name="inputs", opsets=(11, 12, 13)))
add(Case("Clip", [In((2, 5)), None, Lit(np.array(0.3, F32))], name="max_only", opsets=(11, 13)))
add(Case("Clip", [In((2, 5)), Lit(np.array(0.1, F32))], name="min_only", opsets=(11, 13)))
add(Case("Clip", [In((2, 5)), Lit(np.array(0.5, F32)), Lit(np.array(-0.5, F32))], name="min_gt_max", opsets=(13,)))
add(Case("Clip", [In((2, 5), F64), Lit(np.array(-0.5, F64)), Lit(np.array(0.3, F64))], name="f64", opsets=(13,)))
add(Case("Clip", [In((2, 5), F16), Lit(np.array(-0.5, F16)), Lit(np.array(0.3, F16))], name="f16", opsets=(13,)))
for dt in INTS:
    add(Case("Clip", [In((3, 4), dt), Lit(np.array(2, dt)), Lit(np.array(9, dt))], name=name(dt), opsets=(12, 13)))
add(Case("Clip", [In((3, 4), BF16), Lit(np.array(-0.5, BF16)), Lit(np.array(0.25, BF16))], name="bf16",
         opsets=(13,), reference=lambda x, lo, hi: [np.clip(x, lo, hi).astype(BF16)]))

# Activations with attributes.
ACTS = [
    ("LeakyRelu", {}, (6, 16)), ("LeakyRelu", {"alpha": 0.3}, (16,)), ("Elu", {}, (6, 22)),
    ("Elu", {"alpha": 0.5}, (22,)), ("Selu", {}, (6, 22)), ("Selu", {"alpha": 2.0, "gamma": 3.0}, (22,)),
    ("Celu", {}, (12,)), ("Celu", {"alpha": 2.0}, (12,)), ("HardSigmoid", {}, (6, 22)),
    ("HardSigmoid", {"alpha": 0.5, "beta": 0.6}, (22,)), ("ThresholdedRelu", {}, (10, 22)),
    ("ThresholdedRelu", {"alpha": 0.5}, (22,)), ("Gelu", {}, (20,)), ("Gelu", {"approximate": "tanh"}, (20,)),
    ("Shrink", {}, (9,)), ("Shrink", {"bias": 0.5, "lambd": 1.0}, (9,)),
]
for op, attrs, opsets in ACTS:
    an = "_".join(f"{k}{v}" for k, v in attrs.items()) or "default"
    for shape in [(3, 4), (2, 3, 5), (), (0, 2)]:
        add(Case(op, [In(shape)], attrs, name=f"{an}_{shape}", opsets=opsets))
    if op != "Celu":
        add(Case(op, [In((4, 5), F64)], attrs, name=f"{an}_f64", opsets=opsets[-1:], reference=F64_REFERENCES.get(op)))
        add(Case(op, [In((4, 5), F16)], attrs, name=f"{an}_f16", opsets=opsets[-1:], rtol=2e-3, atol=2e-3))
for dt in [I8, I32, I64, U8]:
    add(Case("Shrink", [In((3, 5), dt)], {"bias": 1.0, "lambd": 2.0}, name=name(dt), opsets=(9,)))
add(Case("LeakyRelu", [In((3, 6), BF16)], {"alpha": 0.25}, name="bf16", opsets=(16,),
         reference=bf16_ref(lambda x, alpha: [np.where(x >= 0, x, x * np.float32(alpha))])))

# PRelu: slope broadcast to X.
for pname, x, s in [("same", (2, 3, 4), (2, 3, 4)), ("channel", (2, 3, 4, 5), (3, 1, 1)), ("last", (3, 4), (4,)),
                    ("scalar", (2, 5), ()), ("one", (2, 5), (1,))]:
    add(Case("PRelu", [In(x), In(s)], name=pname, opsets=(7, 9, 16)))
for dt in [F64, F16, I32, I64]:
    add(Case("PRelu", [In((3, 4), dt), In((4,), dt)], name=name(dt), opsets=(16,)))
for dt in [U32, U64]:
    add(Case("PRelu", [In((3, 4), dt), In((4,), dt)], name=name(dt), opsets=(16,),
             reference=lambda x, s: [x]))

# LogSoftmax and Hardmax: 2-D coercion before 13, one axis from 13.
for op in ["LogSoftmax", "Hardmax"]:
    for axis in [None, 0, 1, 2, -1, -2]:
        attrs = {} if axis is None else {"axis": axis}
        add(Case(op, [In((2, 3, 5))], attrs, name=f"axis{axis}", opsets=(7, 11, 13)))
    add(Case(op, [In((3, 6), F64)], name="f64", opsets=(11, 13)))
    add(Case(op, [In((3, 6), F16)], name="f16", opsets=(13,)))
    add(Case(op, [In((4, 1))], name="dim1", opsets=(11, 13)))
    add(Case(op, [In((0, 3))], name="empty", opsets=(13,)))
    add(Case(op, [In((2, 3, 7, 5))], {"axis": 1}, name="axis1_4d", opsets=(13,)))
add(Case("Hardmax", [Lit(np.array([[1, 3, 3, 2], [5, 5, 5, 5]], F32))], name="ties_first", opsets=(13,)))
add(Case("LogSoftmax", [Lit(np.array([[1000, 1001, 999], [-1000, -1000, -1000]], F32))], name="large",
         opsets=(13,)))

test_op = make_test(CASES)


def _chain_model(nodes, inputs, out, opset=18):
    import onnx
    from onnx import helper
    graph = helper.make_graph(
        [helper.make_node(op, ins, [o], **attrs) for op, ins, o, attrs in nodes], "chain",
        [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT if dt == F32 else onnx.TensorProto.BOOL, s)
         for n, dt, s in inputs],
        [helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def test_in_place_chains() -> None:
    """Intermediates that the memory plan runs in place, the same value fed to several inputs."""
    import ferry
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4)).astype(F32)
    y = rng.standard_normal((4,)).astype(F32)
    c = rng.integers(0, 2, (3, 4)).astype(bool)
    nodes = [
        ("Neg", ["x"], "a", {}),                      # a = -x (fresh)
        ("Sum", ["a", "y", "a"], "b", {}),            # b may reuse a, which is read again by input 2
        ("Max", ["b", "b"], "m", {}),                 # both inputs the same value
        ("Abs", ["m"], "p", {}),
        ("Pow", ["p", "p"], "q", {}),
        ("Where", ["c", "q", "q"], "w", {}),
        ("Clip", ["w", "lo", ""], "k", {}),
        ("Mean", ["k", "y", "k"], "z", {}),
        ("LeakyRelu", ["z"], "out", {"alpha": 0.5}),
    ]
    lo = np.array(0.1, F32)
    model = _chain_model(nodes, [("x", F32, [3, 4]), ("y", F32, [4]), ("c", BOOL, [3, 4]), ("lo", F32, [])], "out")
    got = ferry.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x, "y": y, "c": c, "lo": lo})[0]
    a = -x
    b = a + y + a
    p = np.abs(b)
    q = np.power(p, p)
    k = np.maximum(np.where(c, q, q), lo)
    z = (k + y + k) / 3
    np.testing.assert_allclose(got, np.where(z >= 0, z, 0.5 * z), rtol=1e-5, atol=1e-6)


# float16 / bfloat16 for the foundation's Relu, Sigmoid, Tanh, Softmax, Add, Sub, Mul, Div (through float).
HALF_CASES: list[Case] = []
for op in ["Relu", "Sigmoid", "Tanh"]:
    HALF_CASES.append(Case(op, [In((3, 7), F16)], name="f16", opsets=(13, 14) if op == "Relu" else (13,)))
for axis in [None, 0, -1]:
    attrs = {} if axis is None else {"axis": axis}
    HALF_CASES.append(Case("Softmax", [In((2, 3, 5), F16)], attrs, name=f"f16_axis{axis}", opsets=(11, 13)))
HALF_CASES.append(Case("Softmax", [In((3, 5), BF16)], name="bf16", opsets=(13,),
                       reference=bf16_ref(lambda x: [np.exp(x - x.max(-1, keepdims=True)) /
                                                     np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)]),
                       rtol=8e-3, atol=8e-3))  # two bfloat16 ULPs, as the conformance runner allows
for op, fn in [("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply), ("Div", np.divide)]:
    HALF_CASES.append(Case(op, [In((3, 4), F16), In((4,), F16, "nonzero")], name="f16", opsets=(7, 13, 14)))
    HALF_CASES.append(Case(op, [In((2, 1, 4), BF16), In((3, 1), BF16, "nonzero")], name="bf16", opsets=(13, 14),
                           reference=bf16_ref(lambda a, b, fn=fn: [fn(a, b)])))
HALF_CASES.append(Case("Relu", [In((3, 4), BF16)], name="bf16", opsets=(14,),
                       reference=bf16_ref(lambda x: [np.maximum(x, 0)])))
test_half_foundation_ops = make_test(HALF_CASES)
