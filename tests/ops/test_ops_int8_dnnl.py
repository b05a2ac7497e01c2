"""QLinearConv / ConvInteger / QLinearMatMul / MatMulInteger with constant weights, the shapes
the oneDNN int8 path takes (quantization/int8_dnnl.h: constant W/B whose centered values fit
int8, constant scales; VNNI CPUs) and ones it leaves to the reference loops (uint8 weights that
do not fit int8 once centered, non-constant scales), against onnxruntime, at 1 and 2 threads.
Integer outputs must match exactly; requantized uint8/int8 outputs too (both engines compute
(acc + bias) * multiplier in float32 and round half to even).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_int8_dnnl.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ferry

U8, I8, I32, F32 = np.uint8, np.int8, np.int32, np.float32
THREADS = (1, 2)


def onnx_dtype(dt) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def model(op: str, names: list, feeds: dict, consts: dict, attrs: dict, opset: int = 13) -> bytes:
    inputs = [helper.make_tensor_value_info(k, onnx_dtype(v.dtype), list(v.shape)) for k, v in feeds.items()]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()]
    node = helper.make_node(op, names, ["y"], **attrs)
    graph = helper.make_graph([node], "g", inputs, [helper.make_empty_tensor_value_info("y")], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m.SerializeToString()


def check(blob: bytes, feeds: dict, reference: str = "onnxruntime") -> None:
    """Ferry equals the reference exactly (onnxruntime, or onnx's reference evaluator for what
    onnxruntime has no kernel for), at each thread count, on a first and a second run."""
    if reference == "onnxruntime":
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        want = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    else:
        want = ReferenceEvaluator(onnx.load_from_string(blob)).run(None, feeds)[0]
    for threads in THREADS:
        fo = ferry.SessionOptions()
        fo.intra_op_num_threads = threads
        sess = ferry.InferenceSession(blob, fo)
        for _ in range(2):  # the second run reuses the cached primitive
            got = sess.run(None, feeds)[0]
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=f"threads {threads}")


def ints(rng, shape, dt, lo=None, hi=None):
    info = np.iinfo(dt)
    return rng.integers(info.min if lo is None else lo, (info.max if hi is None else hi) + 1, shape).astype(dt)


def rng_for(name: str):
    return np.random.default_rng(zlib.crc32(name.encode()))


# (name, x shape, w shape, attrs)
CONVS = [
    ("3x3_pad", (1, 16, 9, 9), (24, 16, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("1x1_stride", (2, 32, 8, 7), (16, 32, 1, 1), {"strides": [2, 2]}),
    ("group_dil", (1, 8, 11, 10), (12, 2, 3, 3), {"group": 4, "dilations": [2, 1], "pads": [2, 1, 0, 1]}),
    ("depthwise", (1, 16, 7, 7), (16, 1, 3, 3), {"group": 16, "pads": [1, 1, 1, 1]}),
    ("odd_same", (1, 3, 13, 6), (5, 3, 5, 2), {"auto_pad": "SAME_UPPER", "strides": [2, 1]}),
    ("conv1d", (2, 6, 17), (7, 6, 3), {"strides": [2], "pads": [1, 1]}),
    ("conv3d", (1, 4, 5, 6, 4), (6, 4, 3, 3, 2), {"pads": [1, 0, 1, 1, 0, 0]}),
    # oneDNN picks jit_int8 here, whose int32 result goes through a reorder (oneDNN 2.6's s32 -> u8
    # reorder drops a runtime zero point at this shape: the kernel adds it itself).
    ("c64_7x7", (1, 64, 7, 7), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}),
]
# (x type, w type, w zero point, per-channel) -> fast path when w - zp fits int8
WEIGHTS = [("u8x_s8w", U8, I8, 0, False), ("u8x_s8w_pc", U8, I8, 0, True), ("s8x_s8w", I8, I8, 0, False),
           ("s8x_s8w_zp", I8, I8, 3, True), ("u8x_u8w_zp128", U8, U8, 128, False),
           ("u8x_u8w_zp0_fallback", U8, U8, 0, False)]


@pytest.mark.parametrize("wcase", WEIGHTS, ids=lambda w: w[0])
@pytest.mark.parametrize("ccase", CONVS, ids=lambda c: c[0])
@pytest.mark.parametrize("bias", [False, True], ids=["nobias", "bias"])
def test_qlinear_conv(ccase, wcase, bias):
    cname, xs, ws, attrs = ccase
    wname, xdt, wdt, wzp, per_channel = wcase
    rng = rng_for(f"qconv/{cname}/{wname}/{bias}")
    m = ws[0]
    x = ints(rng, xs, xdt)
    w = ints(rng, ws, wdt, lo=0 if wdt == U8 else -100, hi=255 if wdt == U8 else 100)
    w_scale = (rng.uniform(0.002, 0.02, m) if per_channel else np.array(0.01)).astype(F32)
    w_zp = np.full(m, wzp, wdt) if per_channel else np.array(wzp, wdt)
    if per_channel and wdt == I8 and wzp:
        w_zp = rng.integers(-3, 4, m).astype(I8)
    consts = {"xs": np.array(0.03, F32), "xz": np.array(7 if xdt == U8 else -5, xdt), "w": w, "ws": w_scale,
              "wz": w_zp, "ys": np.array(0.9, F32), "yz": np.array(120 if xdt == U8 else 3, xdt)}
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    if bias:
        consts["b"] = rng.integers(-3000, 3000, m).astype(I32)
        names.append("b")
    check(model("QLinearConv", names, {"x": x}, consts, attrs, opset=10), {"x": x})


@pytest.mark.parametrize("wcase", WEIGHTS, ids=lambda w: w[0])
@pytest.mark.parametrize("ccase", CONVS[:3] + CONVS[5:], ids=lambda c: c[0])
def test_conv_integer(ccase, wcase):
    cname, xs, ws, attrs = ccase
    wname, xdt, wdt, wzp, per_channel = wcase
    rng = rng_for(f"convint/{cname}/{wname}")
    x, w = ints(rng, xs, xdt), ints(rng, ws, wdt)
    consts = {"w": w, "xz": np.array(9, xdt), "wz": np.array(wzp, wdt)}
    # onnxruntime's ConvInteger takes uint8 x and w only: int8 cases go to onnx's reference.
    reference = "onnx" if xdt == I8 or wdt == I8 else "onnxruntime"
    check(model("ConvInteger", ["x", "w", "xz", "wz"], {"x": x}, consts, attrs, opset=10), {"x": x}, reference)


def test_qlinear_conv_fed_zero_points():
    """x_zero_point / y_zero_point as graph inputs (oneDNN runtime zero points)."""
    rng = rng_for("qconv/fed_zp")
    x, w = ints(rng, (1, 8, 6, 6), U8), ints(rng, (8, 8, 3, 3), I8, -90, 90)
    consts = {"xs": np.array(0.02, F32), "w": w, "ws": np.array(0.01, F32), "wz": np.array(0, I8),
              "ys": np.array(0.5, F32)}
    feeds = {"x": x, "xz": np.array(200, U8), "yz": np.array(17, U8)}
    blob = model("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], feeds, consts, {"pads": [1, 1, 1, 1]}, 10)
    check(blob, feeds)


def test_qlinear_conv_fed_scale_falls_back():
    rng = rng_for("qconv/fed_scale")
    x, w = ints(rng, (1, 4, 5, 5), U8), ints(rng, (3, 4, 3, 3), I8, -90, 90)
    consts = {"xz": np.array(3, U8), "w": w, "ws": np.array(0.01, F32), "wz": np.array(0, I8),
              "ys": np.array(0.5, F32), "yz": np.array(5, U8)}
    feeds = {"x": x, "xs": np.array(0.02, F32)}
    check(model("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], feeds, consts, {}, 10), feeds)


# (name, A shape, B shape)
MATMULS = [("2d", (5, 64), (64, 48)), ("bcast3d", (2, 7, 96), (96, 33)), ("vec", (40,), (40, 9)),
           ("m1", (1, 1, 768), (768, 128)), ("odd", (3, 5, 13), (13, 3))]


@pytest.mark.parametrize("wcase", WEIGHTS, ids=lambda w: w[0])
@pytest.mark.parametrize("mcase", MATMULS, ids=lambda c: c[0])
def test_matmul_integer(mcase, wcase):
    mname, as_, bs = mcase
    wname, adt, bdt, bzp, per_column = wcase
    if adt == I8 and bdt == I8 and as_ == (1, 1, 768):
        pass
    rng = rng_for(f"mmint/{mname}/{wname}")
    a, b = ints(rng, as_, adt), ints(rng, bs, bdt, lo=0 if bdt == U8 else -100, hi=255 if bdt == U8 else 100)
    n = bs[1]
    b_zp = np.full(n, bzp, bdt) if per_column else np.array(bzp, bdt)
    consts = {"b": b, "bz": b_zp}
    feeds = {"a": a, "az": np.array(11 if adt == U8 else -7, adt)}
    check(model("MatMulInteger", ["a", "b", "az", "bz"], feeds, consts, {}, 10), feeds)


def test_matmul_integer_per_row_a_zero_point():
    """A per-row a_zero_point is compensated after the oneDNN product (checked against numpy:
    onnxruntime takes per-row zero points of A only as scalars)."""
    rng = rng_for("mmint/per_row")
    a, b = ints(rng, (6, 32), U8), ints(rng, (32, 10), I8, -100, 100)
    az = rng.integers(0, 255, 6).astype(U8)
    blob = model("MatMulInteger", ["a", "b", "az"], {"a": a, "az": az}, {"b": b}, {}, 10)
    want = (a.astype(np.int64) - az[:, None]) @ b.astype(np.int64)
    for threads in THREADS:
        fo = ferry.SessionOptions()
        fo.intra_op_num_threads = threads
        got = ferry.InferenceSession(blob, fo).run(None, {"a": a, "az": az})[0]
        np.testing.assert_array_equal(got, want.astype(I32))


@pytest.mark.parametrize("wcase", WEIGHTS, ids=lambda w: w[0])
@pytest.mark.parametrize("mcase", MATMULS, ids=lambda c: c[0])
def test_qlinear_matmul(mcase, wcase):
    mname, as_, bs = mcase
    wname, adt, bdt, bzp, per_column = wcase
    if adt != bdt and bdt == U8:
        pass
    rng = rng_for(f"qmm/{mname}/{wname}")
    a, b = ints(rng, as_, adt), ints(rng, bs, bdt, lo=0 if bdt == U8 else -100, hi=255 if bdt == U8 else 100)
    n = bs[1]
    b_scale = (rng.uniform(0.002, 0.02, n) if per_column else np.array(0.01)).astype(F32)
    b_zp = np.full(n, bzp, bdt) if per_column else np.array(bzp, bdt)
    consts = {"as": np.array(0.05, F32), "az": np.array(9 if adt == U8 else -4, adt), "b": b, "bs": b_scale,
              "bz": b_zp, "ys": np.array(2.5, F32), "yz": np.array(100 if adt == U8 else -2, adt)}
    feeds = {"a": a}
    check(model("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], feeds, consts, {}, 10), feeds)
