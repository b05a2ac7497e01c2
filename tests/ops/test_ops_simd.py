"""The vectorised float paths (execution_providers/cpu/simd/) against onnxruntime, at 1 and 2
intra-op threads: element-wise unary and binary ops, Softmax / LogSoftmax, LayerNormalization and
ReduceSum / ReduceMean / ReduceMax over trailing axes, Softplus.

Shapes are chosen to hit the vector loops and their tails (lengths that are not multiples of 16,
tensors large enough to be split between threads), every broadcasting form of the binary kernel
(same shape, row vector, scalar on either side, a middle dim broadcast), the fallbacks (a softmax
axis that is not the last one, reductions over leading axes), extreme values for exp, tanh, erf
and sigmoid (+-inf, NaN, overflow and underflow of exp, subnormals), and chains of nodes that
the runtime runs in place.
"""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import ferry

from op_harness import Case, In, Lit, build_model, random_input, tolerance

F32 = np.float32

# Values where exp/tanh/erf/sigmoid are easy to get wrong, padded to an odd length that spans a
# vector step and a tail.
def layer_norm_f64(x, scale, bias, epsilon=1e-5):
    xd = x.astype(np.float64)
    mean = xd.mean(axis=-1, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((xd - mean) / np.sqrt(var + epsilon) * scale + bias).astype(x.dtype)


EXTREME = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1e-45, 88.72, 88.73, 89.0, -87.0,
                    -103.0, -104.0, -200.0, 200.0, 1e30, -1e30, 0.625, -0.625, 0.927734375, -0.9277, 9.0,
                    -9.0, 20.0, -20.0, 44.0, 3.4e38, -3.4e38, 1.0, -1.0, 0.5, 1e-8, -1e-8, 4.0, -4.0, 0.3],
                   dtype=F32)

UNARY = ["Exp", "Erf", "Tanh", "Sigmoid", "Relu", "Softplus"]

CASES: list[Case] = []
for op in UNARY:
    CASES.append(Case(op, [In((1031,))], name="odd"))
    CASES.append(Case(op, [In((64, 1001))], name="parallel"))  # one thread since the cost is measured
    CASES.append(Case(op, [In((300, 4001))], name="split"))  # over 100 us even for Relu: split
    CASES.append(Case(op, [Lit(EXTREME)], name="extreme"))
for approx in ("none", "tanh"):
    CASES.append(Case("Gelu", [In((3, 517))], {"approximate": approx}, opsets=(20,), name=f"odd_{approx}"))
    CASES.append(Case("Gelu", [Lit(EXTREME[np.abs(EXTREME) < 1e30])], {"approximate": approx}, opsets=(20,),
                      name=f"extreme_{approx}"))

BINARY_SHAPES = {
    "same": [(7, 131), (7, 131)],
    "rowvec": [(9, 77), (77,)],
    "scalar_b": [(5, 33), (1,)],
    "scalar_a": [(), (5, 33)],
    "middle": [(4, 1, 17), (1, 3, 17)],
    "channel": [(2, 3, 4, 5), (3, 1, 1)],
    "large": [(64, 1000), (1000,)],
}
for op in ["Add", "Sub", "Mul", "Div"]:
    for name, (sa, sb) in BINARY_SHAPES.items():
        kind = "nonzero" if op == "Div" else "any"
        CASES.append(Case(op, [In(sa), In(sb, kind=kind)], name=name))
    CASES.append(Case(op, [Lit(EXTREME), Lit(EXTREME[::-1].copy())], name="extreme"))

for op in ["Softmax", "LogSoftmax"]:
    CASES.append(Case(op, [In((7, 37))], name="odd"))
    CASES.append(Case(op, [In((2, 3, 129))], name="rows"))
    CASES.append(Case(op, [In((4, 5, 6))], {"axis": 1}, name="inner_axis"))  # strided fallback
    CASES.append(Case(op, [In((300, 128))], name="parallel"))
    CASES.append(Case(op, [Lit(np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0]], F32))], name="extreme"))
    CASES.append(Case(op, [In((3, 4, 5))], {"axis": 1}, opsets=(11,), name="coerced_2d"))
    # Rows of kW + 1 and 197 (a last vector overlapping the previous one), with -inf (causal-style
    # masking) and large values in the overlapped lanes.
    CASES.append(Case(op, [In((5, 17))], name="tail_17"))
    CASES.append(Case(op, [In((6, 197))], name="tail_197"))
    masked = np.random.default_rng(3).standard_normal((19, 21)).astype(F32)
    masked[np.triu_indices(19, 3)] = -np.inf
    masked[0, 20] = masked[1, 4] = 80.0
    masked[18, :] = -np.inf
    masked[18, 17] = 2.0
    CASES.append(Case(op, [Lit(masked)], name="masked_tail"))

CASES += [
    Case("LayerNormalization", [In((3, 37)), In((37,)), In((37,))], opsets=(17,), name="odd"),
    Case("LayerNormalization", [In((2, 5, 768)), In((768,)), In((768,))], opsets=(17,), name="bert"),
    Case("LayerNormalization", [In((40, 129)), In((129,))], opsets=(17,), name="no_bias"),
    Case("LayerNormalization", [In((2, 3, 4, 5)), In((4, 5)), In((4, 5))], {"axis": -2}, opsets=(17,),
         name="two_axes"),
    Case("LayerNormalization", [In((6, 10)), In((1,)), In((10,))], opsets=(17,), name="broadcast_scale"),
    # A large mean and a small spread: onnxruntime's float statistics lose digits here, so the
    # reference is numpy in double.
    Case("LayerNormalization",
         [Lit((1000.0 + np.random.default_rng(1).standard_normal((4, 33)) * 1e-2).astype(F32)), In((33,)),
          In((33,))], opsets=(17,), name="large_mean", reference=lambda x, s, b: [layer_norm_f64(x, s, b)]),
]

for op in ["ReduceSum", "ReduceMean", "ReduceMax"]:
    opset = 13 if op == "ReduceSum" else 18
    axes = lambda a: Lit(np.array(a, np.int64), const=True)  # noqa: E731
    CASES += [
        Case(op, [In((5, 37)), axes([-1])], opsets=(opset,), name="last"),
        Case(op, [In((3, 4, 33)), axes([1, 2])], {"keepdims": 0}, opsets=(opset,), name="last_two"),
        Case(op, [In((64, 1000)), axes([-1])], opsets=(opset,), name="parallel"),
        Case(op, [In((5, 37)), axes([0])], opsets=(opset,), name="leading"),  # fallback
        # (NaN is left out: onnxruntime's ReduceMax skips it, Ferry's propagates it, before and after.)
        Case(op, [Lit(np.array([[1.0, -0.0, 3.0], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, -np.inf]], F32)),
                  axes([-1])], opsets=(opset,), name="special"),
    ]


def run(case: Case, opset: int, threads: int) -> None:
    rng = np.random.default_rng(zlib.crc32(f"simd/{case.op}/{case.name}/{opset}".encode()))
    arrays = [np.asarray(s.value) if isinstance(s, Lit) else random_input(s, rng) for s in case.inputs]
    feed = {f"in{i}": a for i, (s, a) in enumerate(zip(case.inputs, arrays)) if not s.const}
    if case.reference is not None:
        expected = case.reference(*arrays, **case.attrs)
    else:
        untyped = build_model(case, opset, arrays, None)
        expected = ort.InferenceSession(untyped.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    model = build_model(case, opset, arrays, [helper.np_dtype_to_tensor_dtype(e.dtype) for e in expected])
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    got = ferry.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feed)
    for g, e in zip(got, expected):
        assert g.shape == e.shape and g.dtype == e.dtype
        rtol, atol = tolerance(e.dtype, case)
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol)


def params():
    for case in CASES:
        for opset in case.opsets:
            for threads in (1, 2):
                yield pytest.param(case, opset, threads, id=f"{case.op}-{case.name}-op{opset}-t{threads}")


@pytest.mark.parametrize("case,opset,threads", list(params()))
def test_simd_op(case: Case, opset: int, threads: int) -> None:
    run(case, opset, threads)


def chain_model() -> onnx.ModelProto:
    """X -> Mul(c) -> Add(row) -> Tanh -> Sigmoid -> Erf -> Exp -> Sub(X) -> Div(c) -> Relu: every
    intermediate is dead after its consumer, so the runtime may run each node in place."""
    g = helper.make_graph(
        [helper.make_node("Mul", ["x", "c"], ["a"]), helper.make_node("Add", ["a", "row"], ["b"]),
         helper.make_node("Tanh", ["b"], ["t"]), helper.make_node("Sigmoid", ["t"], ["s"]),
         helper.make_node("Erf", ["s"], ["e"]), helper.make_node("Exp", ["e"], ["p"]),
         helper.make_node("Sub", ["p", "x"], ["d"]), helper.make_node("Div", ["d", "c"], ["q"]),
         helper.make_node("Relu", ["q"], ["y"])],
        "chain", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [33, 257])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(np.array([1.7], F32), "c"),
                     onnx.numpy_helper.from_array(np.linspace(-3, 3, 257, dtype=F32), "row")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


@pytest.mark.parametrize("threads", [1, 2])
def test_in_place_chain(threads: int) -> None:
    m = chain_model().SerializeToString()
    x = np.random.default_rng(7).standard_normal((33, 257)).astype(F32)
    expected = ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ferry.InferenceSession(m, opts, providers=["CPUExecutionProvider"])
    for _ in range(2):  # a second run reuses the planned (in-place) buffers
        got = sess.run(None, {"x": x})[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x, np.random.default_rng(7).standard_normal((33, 257)).astype(F32))


# ---- accuracy over the whole float range, against float64 numpy ---------------------------------

def _sweep() -> np.ndarray:
    """Every 4099th float32 bit pattern (both signs, subnormals, +-inf and NaN) plus the EXTREME values."""
    bits = np.arange(0, 2**32, 4099, dtype=np.uint64).astype(np.uint32)
    return np.concatenate([bits.view(F32), EXTREME])


def _silu_model() -> onnx.ModelProto:
    """x * Sigmoid(x): the optimizer fuses it into ferry.Silu (simd::silu)."""
    g = helper.make_graph([helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
                          "silu", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _unary_model(op: str) -> onnx.ModelProto:
    g = helper.make_graph([helper.make_node(op, ["x"], ["y"])], op,
                          [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _erf64(x: np.ndarray) -> np.ndarray:
    import math
    return np.array([math.erf(v) if np.isfinite(v) else np.sign(v) if not np.isnan(v) else np.nan for v in x])


SWEEP_REFERENCES = {
    "Exp": np.exp,
    "Sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "Tanh": np.tanh,
    "Erf": _erf64,
    "Silu": lambda x: x / (1.0 + np.exp(-x)),
    "Softplus": lambda x: np.logaddexp(0.0, x),
}


@pytest.mark.parametrize("op", list(SWEEP_REFERENCES))
def test_ulp_sweep(op: str) -> None:
    """Within 2.5 ulp of the float64 result everywhere (3.5 for Silu, which measures 3.1), subnormal
    results included; NaN where it is NaN, +-inf where the rounded result is."""
    x = _sweep()
    model = _silu_model() if op == "Silu" else _unary_model(op)
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = 2
    got = ferry.InferenceSession(model.SerializeToString(), opts).run(None, {"x": x})[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ref = SWEEP_REFERENCES[op](x.astype(np.float64))
        ref32 = ref.astype(F32)
    assert got.shape == x.shape and got.dtype == F32
    nan = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(got), nan)
    inf = np.isinf(ref32)
    np.testing.assert_array_equal(got[inf], ref32[inf])
    zero = ref == 0  # signed zeros keep their sign (tanh(-0), erf(-0), x sigmoid(x) underflowing)
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(ref[zero]))
    fin = ~nan & ~inf
    spacing = np.maximum(np.spacing(np.abs(ref32[fin])).astype(np.float64), 2.0**-149)
    err = np.abs(got[fin].astype(np.float64) - ref[fin]) / spacing
    worst = int(np.argmax(err))
    assert err[worst] <= (3.5 if op == "Silu" else 2.5), f"{op}({x[fin][worst]!r}) = {got[fin][worst]!r}, float64 {ref[fin][worst]!r}"
