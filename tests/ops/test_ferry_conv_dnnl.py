"""Conv and ferry.FusedConv on their oneDNN path (execution_providers/cpu/dnnl/conv_dnnl.h) against
onnxruntime: sizes that reach oneDNN's blocked kernels, groups / depthwise, dilations, strides,
auto_pad, 1-D / 3-D, every activation with a residual, channels_last = 1 (reference: the NCHW
graph between Transposes), W and B given at run time instead of constant, several input shapes
through one session (the per-shape primitive cache and weight re-layout), 1 and 2 threads, and
the fallbacks (double, float16, 4 spatial dims).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_conv_dnnl.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import ferry
from test_ferry_fusion_ops import act_nodes

F32 = np.float32
OPSET = 17
TOL = dict(rtol=1e-4, atol=1e-4)

ACTS = [("Relu", []), ("LeakyRelu", [0.2]), ("Clip", [-0.5, 1.0]), ("Clip", [1.0, -0.5]), ("Sigmoid", []),
        ("Tanh", []), ("HardSigmoid", [0.3, 0.4]), ("SiLU", []), ("", [])]


def to_last(rank: int) -> list:
    return [0] + list(range(2, rank)) + [1]


def to_first(rank: int) -> list:
    return [0, rank - 1] + list(range(1, rank - 1))


def build(op: str, x_shape, w, b, z_shape, attrs: dict, const_w=True, dtype=onnx.TensorProto.FLOAT,
          channels_last=False, act="", params=(), reference=False):
    """A model with X (and Z) as inputs. Ferry: one Conv / FusedConv node. reference: the ONNX
    graph it stands for (Transposes around it for channels_last)."""
    rank = len(x_shape)
    inputs = [helper.make_tensor_value_info("x", dtype, list(x_shape))]
    inits, nodes = [], []
    names = ["x", "w"]
    if const_w:
        inits.append(numpy_helper.from_array(w, "w"))
    else:
        inputs.append(helper.make_tensor_value_info("w", dtype, list(w.shape)))
    if b is not None:
        names.append("b")
        if const_w:
            inits.append(numpy_helper.from_array(b, "b"))
        else:
            inputs.append(helper.make_tensor_value_info("b", dtype, list(b.shape)))
    if z_shape is not None:
        inputs.append(helper.make_tensor_value_info("z", dtype, list(z_shape)))
    out = helper.make_empty_tensor_value_info("y")
    if not reference:
        a = dict(attrs)
        domain = ""
        if op == "FusedConv":
            domain = "ferry"
            a["activation"] = act
            if params:
                a["activation_params"] = [float(v) for v in params]
            if channels_last:
                a["channels_last"] = 1
            if z_shape is not None:
                names += [""] * (3 - len(names)) + ["z"]
        nodes = [helper.make_node(op, names, ["y"], domain=domain, **a)]
        opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)]
    else:
        x, z = "x", "z"
        if channels_last:
            nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=to_first(rank)))
            x = "xt"
            if z_shape is not None:
                nodes.append(helper.make_node("Transpose", ["z"], ["zt"], perm=to_first(rank)))
                z = "zt"
        nodes.append(helper.make_node("Conv", [x] + names[1:], ["p"], **attrs))
        cur = "p"
        if z_shape is not None:
            nodes.append(helper.make_node("Add", ["p", z], ["pz"]))
            cur = "pz"
        an, ai = act_nodes(act, list(params), cur, "ya" if channels_last else "y")
        nodes += an
        inits += ai
        if channels_last:
            nodes.append(helper.make_node("Transpose", ["ya"], ["y"], perm=to_last(rank)))
        opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, [out], initializer=inits), opset_imports=opsets)
    model.ir_version = 8
    return model.SerializeToString()


def ferry_session(model: bytes, threads: int):
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    return ferry.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def ort_run(model: bytes, feed: dict):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]).run(None, feed)[0]


def conv_out_shape(x_shape, w_shape, attrs):
    """Y's NCHW shape, via onnxruntime on zeros (no hand-written shape logic)."""
    x = np.zeros(x_shape, F32)
    w = np.zeros(w_shape, F32)
    return ort_run(build("Conv", x_shape, w, None, None, attrs, reference=True), {"x": x}).shape


# (name, X NCHW, W, attrs): sizes reaching oneDNN's blocked / depthwise / 1x1 kernels and odd ones.
SHAPES = [
    ("c64_3x3", (1, 64, 14, 14), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("c3_7x7_s2", (2, 3, 30, 30), (16, 3, 7, 7), {"pads": [3, 3, 3, 3], "strides": [2, 2]}),
    ("c32_1x1", (1, 32, 9, 9), (48, 32, 1, 1), {}),
    ("c17_odd", (1, 17, 11, 13), (19, 17, 3, 3), {"pads": [1, 2, 0, 1]}),
    ("depthwise_c32", (1, 32, 15, 15), (32, 1, 3, 3), {"group": 32, "pads": [1, 1, 1, 1]}),
    ("depthwise_s2", (2, 24, 16, 16), (24, 1, 5, 5), {"group": 24, "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("depthwise_mult", (1, 16, 9, 9), (32, 1, 3, 3), {"group": 16}),
    ("group4", (1, 32, 10, 10), (64, 8, 3, 3), {"group": 4, "pads": [1, 1, 1, 1]}),
    ("dilation", (1, 16, 20, 20), (16, 16, 3, 3), {"dilations": [2, 3], "pads": [2, 3, 2, 3]}),
    ("same_lower", (1, 8, 9, 8), (16, 8, 4, 4), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    ("valid", (1, 8, 9, 8), (16, 8, 3, 2), {"auto_pad": "VALID", "strides": [1, 2]}),
    ("1d", (2, 16, 40), (32, 16, 5), {"pads": [2, 1], "strides": [2], "dilations": [2]}),
    # 1-D with >= 128 outputs (conv_dnnl.cc prefers jit over brgconv there), odd sizes.
    ("1d_long_s2", (1, 24, 301), (40, 24, 3), {"pads": [1, 1], "strides": [2]}),
    ("1d_long", (2, 19, 260), (33, 19, 3), {"pads": [1, 1]}),
    ("1d_long_dil", (1, 16, 300), (17, 16, 5), {"dilations": [3], "pads": [2, 4]}),
    ("1d_long_group", (1, 32, 200), (64, 8, 3), {"group": 4, "pads": [1, 1]}),
    ("1d_long_depthwise", (1, 32, 300), (32, 1, 7), {"group": 32, "pads": [3, 3]}),
    ("depthwise_7x7", (1, 40, 17, 19), (40, 1, 7, 7), {"group": 40, "pads": [3, 3, 3, 3]}),
    ("3d", (1, 8, 6, 7, 8), (16, 8, 3, 3, 3), {"pads": [1, 1, 1, 1, 1, 1], "strides": [1, 2, 1]}),
    ("3d_group", (1, 8, 5, 6, 6), (8, 2, 2, 2, 2), {"group": 4}),
    # Pointwise with M % 16 in 1..8 and M <= 96 (conv_dnnl.cc prefers jit_1x1:avx2 over
    # brgconv_1x1 there), batch 1 and 3; and beside that class (M % 16 = 13 or 4 with M = 100,
    # stride 2, pads, groups), which keeps oneDNN's first choice.
    ("pw_m84", (1, 64, 20, 20), (84, 64, 1, 1), {}),
    ("pw_m2_b3", (3, 24, 17, 9), (2, 24, 1, 1), {}),
    ("pw_m100", (1, 32, 6, 7), (100, 32, 1, 1), {}),
    ("pw_m24_s2", (1, 40, 15, 15), (24, 40, 1, 1), {"strides": [2, 2]}),
    ("pw_m13_pads", (1, 19, 7, 7), (13, 19, 1, 1), {"pads": [1, 0, 0, 1]}),
    ("pw_m40_group2", (1, 32, 9, 9), (40, 16, 1, 1), {"group": 2}),
]


def seeded(name: str):
    return np.random.default_rng(zlib.crc32(name.encode()))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("const_w", [True, False], ids=["const_w", "input_w"])
@pytest.mark.parametrize("name,x_shape,w_shape,attrs", SHAPES, ids=[s[0] for s in SHAPES])
def test_conv(name, x_shape, w_shape, attrs, const_w, threads):
    rng = seeded(name)
    w = rng.standard_normal(w_shape).astype(F32)
    b = rng.standard_normal(w_shape[0]).astype(F32)
    x = rng.standard_normal(x_shape).astype(F32)
    feed = {"x": x} if const_w else {"x": x, "w": w, "b": b}
    expected = ort_run(build("Conv", x_shape, w, b, None, attrs, const_w=const_w, reference=True), feed)
    got = ferry_session(build("Conv", x_shape, w, b, None, attrs, const_w=const_w), threads).run(None, feed)[0]
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("op", ["Conv", "FusedConv"])
def test_changing_shapes(op, threads):
    """One session, several batch / spatial sizes (dynamic dims): each shape's primitive is made
    on first use and may want the constant weights in another layout."""
    rng = seeded("changing" + op)
    w = rng.standard_normal((32, 16, 3, 3)).astype(F32)
    b = rng.standard_normal(32).astype(F32)
    attrs = {"pads": [1, 1, 1, 1]}
    dyn = ("n", 16, "h", "w")
    sess = ferry_session(build(op, dyn, w, b, None, attrs, act="Relu" if op == "FusedConv" else ""), threads)
    ref = build("Conv", dyn, w, b, None, attrs, reference=True, act="Relu" if op == "FusedConv" else "")
    # (1, 16, 32, 32) is the shape the kernel guesses for these dims and makes its primitive for
    # at creation: that primitive is then reused.
    for shape in [(1, 16, 8, 8), (3, 16, 5, 17), (1, 16, 32, 32), (1, 16, 8, 8), (2, 16, 32, 32), (1, 16, 1, 1)]:
        x = rng.standard_normal(shape).astype(F32)
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ort_run(ref, {"x": x}), **TOL)


FUSED = [s for s in SHAPES if s[0] in ("c64_3x3", "c17_odd", "depthwise_c32", "depthwise_s2", "1d", "1d_long_s2", "1d_long_depthwise", "3d",
                                        "group4", "pw_m84", "pw_m2_b3", "pw_m24_s2")]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("act,params", ACTS, ids=[f"{a or 'none'}{'_'.join(map(str, p))}" for a, p in ACTS])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
def test_fused_conv_activations(act, params, residual, threads):
    x_shape, w_shape, attrs = (2, 16, 9, 9), (24, 16, 3, 3), {"pads": [1, 1, 1, 1]}
    rng = seeded(f"act{act}{residual}")
    w = rng.standard_normal(w_shape).astype(F32) * 0.3
    b = rng.standard_normal(w_shape[0]).astype(F32)
    z_shape = conv_out_shape(x_shape, w_shape, attrs) if residual else None
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    if residual:
        feed["z"] = rng.standard_normal(z_shape).astype(F32)
    kw = dict(act=act, params=params)
    expected = ort_run(build("FusedConv", x_shape, w, b, z_shape, attrs, reference=True, **kw), feed)
    got = ferry_session(build("FusedConv", x_shape, w, b, z_shape, attrs, **kw), threads).run(None, feed)[0]
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("name,x_shape,w_shape,attrs", FUSED, ids=[s[0] for s in FUSED])
def test_fused_conv_layouts(name, x_shape, w_shape, attrs, channels_last, residual, threads):
    rng = seeded("fused" + name)
    rank = len(x_shape)
    w = rng.standard_normal(w_shape).astype(F32)
    b = rng.standard_normal(w_shape[0]).astype(F32)
    z_nchw = conv_out_shape(x_shape, w_shape, attrs) if residual else None
    x = rng.standard_normal(x_shape).astype(F32)
    feed = {"x": x}
    if residual:
        feed["z"] = rng.standard_normal(z_nchw).astype(F32)
    if channels_last:
        feed = {k: np.ascontiguousarray(v.transpose(to_last(rank))) for k, v in feed.items()}
    # Symbolic dims for channels_last: the model must not depend on the schema's shape inference
    # knowing the attribute (the kernel is what is tested here).
    sym = lambda t, shape: tuple(f"{t}{i}" for i in range(len(shape))) if channels_last else shape  # noqa: E731
    fx = sym("x", feed["x"].shape)
    fz = sym("z", feed["z"].shape) if residual else None
    kw = dict(act="SiLU", channels_last=channels_last)
    expected = ort_run(build("FusedConv", fx, w, b, fz, attrs, reference=True, **kw), feed)
    got = ferry_session(build("FusedConv", fx, w, b, fz, attrs, **kw), threads).run(None, feed)[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


OWN_PASS_ACTS = ["SiLU", "Sigmoid", "Tanh"]  # applied by FusedConv after the primitive (not post-ops)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("act", OWN_PASS_ACTS)
def test_fused_conv_own_pass_activations(act, residual, channels_last, threads):
    """An output of many pool blocks with an odd tail (37 x 45 x 47), a wide value range (large
    weights: the activations saturate), with and without the residual, in both layouts."""
    x_shape, w_shape, attrs = (1, 8, 45, 47), (37, 8, 3, 3), {"pads": [1, 1, 1, 1]}
    rng = seeded(f"own{act}{residual}")
    w = rng.standard_normal(w_shape).astype(F32) * 2.0
    b = rng.standard_normal(w_shape[0]).astype(F32)
    z_shape = conv_out_shape(x_shape, w_shape, attrs) if residual else None
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    if residual:
        feed["z"] = rng.standard_normal(z_shape).astype(F32) * 10.0
    rank = len(x_shape)
    if channels_last:
        feed = {k: np.ascontiguousarray(v.transpose(to_last(rank))) for k, v in feed.items()}
    sym = lambda t, shape: tuple(f"{t}{i}" for i in range(len(shape))) if channels_last else shape  # noqa: E731
    fx = sym("x", feed["x"].shape)
    fz = sym("z", feed["z"].shape) if residual else None
    kw = dict(act=act, channels_last=channels_last)
    expected = ort_run(build("FusedConv", fx, w, b, fz, attrs, reference=True, **kw), feed)
    got = ferry_session(build("FusedConv", fx, w, b, fz, attrs, **kw), threads).run(None, feed)[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("act", OWN_PASS_ACTS)
def test_fused_conv_residual_is_input_own_pass(act):
    """Z is an intermediate X (conv(x2) + x2, then the activation): Y may take X's buffer."""
    rng = seeded("self_residual_" + act)
    w = rng.standard_normal((8, 8, 3, 3)).astype(F32)
    x_shape = (1, 8, 33, 35)
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x_shape))]
    out = helper.make_empty_tensor_value_info("y")
    inits = [numpy_helper.from_array(w, "w")]
    fused = [helper.make_node("Relu", ["x"], ["x2"]),
             helper.make_node("FusedConv", ["x2", "w", "", "x2"], ["y"], domain="ferry", pads=[1, 1, 1, 1],
                              activation=act)]
    act_graph, _ = act_nodes(act, [], "s", "y")
    plain = [helper.make_node("Relu", ["x"], ["x2"]), helper.make_node("Conv", ["x2", "w"], ["p"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["p", "x2"], ["s"])] + act_graph
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    m = helper.make_model(helper.make_graph(fused, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)])
    r = helper.make_model(helper.make_graph(plain, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = r.ir_version = 8
    for threads in (1, 2):
        np.testing.assert_allclose(ferry_session(m.SerializeToString(), threads).run(None, feed)[0],
                                   ort_run(r.SerializeToString(), feed), **TOL)


def test_fused_conv_residual_is_input():
    """Z is X itself (conv(x) + x): the runtime may hand X's buffer over as Y."""
    rng = seeded("self_residual")
    w = rng.standard_normal((8, 8, 3, 3)).astype(F32)
    x_shape = (1, 8, 6, 6)
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x_shape))]
    out = helper.make_empty_tensor_value_info("y")
    inits = [numpy_helper.from_array(w, "w")]
    # x2 = Relu(x) is an intermediate (planned) value, dead after the conv: a candidate for reuse.
    fused = [helper.make_node("Relu", ["x"], ["x2"]),
             helper.make_node("FusedConv", ["x2", "w", "", "x2"], ["y"], domain="ferry", pads=[1, 1, 1, 1],
                              activation="Relu")]
    plain = [helper.make_node("Relu", ["x"], ["x2"]), helper.make_node("Conv", ["x2", "w"], ["p"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["p", "x2"], ["s"]), helper.make_node("Relu", ["s"], ["y"])]
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    m = helper.make_model(helper.make_graph(fused, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)])
    r = helper.make_model(helper.make_graph(plain, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = r.ir_version = 8
    np.testing.assert_allclose(ferry_session(m.SerializeToString(), 1).run(None, feed)[0],
                               ort_run(r.SerializeToString(), feed), **TOL)


def numpy_conv(x, w, pads):
    """Plain NCHW 2-D conv (group 1, stride 1) in float64."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))  # N,C,oh,ow,kh,kw
    return np.einsum("ncabij,mcij->nmab", win, w.astype(np.float64))


@pytest.mark.parametrize("dtype,np_dtype,tol", [(onnx.TensorProto.DOUBLE, np.float64, 1e-10),
                                                (onnx.TensorProto.FLOAT16, np.float16, 1e-2)],
                         ids=["double", "float16"])
def test_conv_fallback_types(dtype, np_dtype, tol):
    rng = seeded("fallback")
    w = rng.standard_normal((8, 4, 3, 3)).astype(np_dtype)
    x = rng.standard_normal((1, 4, 7, 7)).astype(np_dtype)
    got = ferry_session(build("Conv", x.shape, w, None, None, {"pads": [1, 1, 1, 1]}, dtype=dtype), 2).run(
        None, {"x": x})[0]
    assert got.dtype == np_dtype
    expected = numpy_conv(x, w, [1, 1, 1, 1])
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=tol, atol=tol * 10)


def test_conv_4d_spatial_fallback():
    """4 spatial dims: oneDNN takes at most 3, the im2col path runs (numpy reference)."""
    rng = seeded("4d")
    x = rng.standard_normal((1, 2, 4, 3, 4, 3)).astype(F32)
    w = rng.standard_normal((3, 2, 2, 2, 2, 2)).astype(F32)
    got = ferry_session(build("Conv", x.shape, w, None, None, {}), 1).run(None, {"x": x})[0]
    win = np.lib.stride_tricks.sliding_window_view(x[0], (2, 2, 2, 2), axis=(1, 2, 3, 4))  # C,o1..o4,k1..k4
    expected = np.einsum("cabdeijkl,mcijkl->mabde", win, w)[None]
    np.testing.assert_allclose(got, expected, **TOL)


SERIAL_CHILD = """
import os, sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper
import ferry

c, side = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(3)
w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
node = helper.make_node("Conv", ["x", "w"], ["y"], group=c, pads=[1, 1, 1, 1])
graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, side, side])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
so = ferry.SessionOptions()
so.intra_op_num_threads = 2
sess = ferry.InferenceSession(model, so)
x = rng.standard_normal((1, c, side, side)).astype(np.float32)
before = len(os.listdir("/proc/self/task"))
y = sess.run(None, {"x": x})[0]
after = len(os.listdir("/proc/self/task"))
xp = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
ref = sum(xp[:, i:i + side, j:j + side] * w[:, 0, i, j][:, None, None] for i in range(3) for j in range(3))
np.testing.assert_allclose(y[0], ref, rtol=1e-4, atol=1e-4)
print("threads", before, after)
"""


@pytest.mark.parametrize("c,side,serial", [(32, 14, True), (64, 96, False)], ids=["small_serial", "large_parallel"])
def test_small_conv_runs_on_the_calling_thread(c, side, serial):
    """A convolution of at most 4 MFLOP (conv_dnnl.cc, kSerialMaxFlops) in a 2-thread session is
    created for, and runs on, the calling thread: in a fresh process its run starts no OpenMP
    thread, while a large one does (positive control). Results against a numpy reference."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", SERIAL_CHILD, str(c), str(side)], capture_output=True, text=True,
                          timeout=300, env=dict(__import__("os").environ, OMP_WAIT_POLICY="passive"))
    assert done.returncode == 0, done.stderr[-3000:]
    before, after = map(int, done.stdout.split("threads")[1].split())
    if serial:
        assert after == before, done.stdout
    else:
        assert after > before, done.stdout
