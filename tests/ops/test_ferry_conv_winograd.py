"""ferry.FusedConv on the Winograd F(2x2, 3x3) and F(4x4, 3x3) paths
(execution_providers/cpu/dnnl/conv_winograd.h) against onnxruntime: channels_last = 1, 3x3, stride
1, C and M >= 64, H and W known and >= 100 outputs per image, at most 48 MiB of transformed weights;
F(4x4) from 28x28 outputs with at most 8 MiB of its weights (conv_dnnl.cc, winograd_tile); odd H / W (clipped edge
tiles), pads 0, 1, 2, asymmetric and auto_pad, batch 1 and 3, C / M not multiples of 16, bias or
none, every activation the output transform computes (and those FusedConv applies after it),
the residual (Z given, and Z being X itself), 1 and 2 threads. _ferry.winograd_conv_runs(tile)
proves each case ran on the expected variant; convolutions outside the rule must not.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_conv_winograd.py -q
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import ferry
from ferry import _ferry
from test_ferry_conv_dnnl import F32, OPSET, TOL, build, conv_out_shape, ferry_session, ort_run, seeded, to_last

# (name, X NCHW, W, attrs, with bias, output tile the rule picks)
WINOGRAD = [
    ("c64_pad1", (1, 64, 14, 14), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}, True, 2),
    ("odd_c72_m67", (1, 72, 13, 11), (67, 72, 3, 3), {"pads": [1, 1, 1, 1]}, True, 2),
    ("pad0_b3", (3, 65, 12, 13), (80, 65, 3, 3), {}, False, 2),
    ("asym_pads", (1, 64, 11, 10), (70, 64, 3, 3), {"pads": [0, 1, 2, 1]}, True, 2),
    ("pad2", (2, 96, 8, 9), (64, 96, 3, 3), {"pads": [2, 2, 2, 2]}, True, 2),
    ("same_upper", (1, 69, 12, 9), (80, 69, 3, 3), {"auto_pad": "SAME_UPPER"}, False, 2),
    ("wide_c160", (1, 160, 10, 11), (96, 160, 3, 3), {"pads": [1, 1, 1, 1]}, True, 2),
    ("output_27x28_f2", (1, 64, 27, 28), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}, True, 2),
    ("f4_c64_28x28", (1, 64, 28, 28), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}, True, 4),
    ("f4_odd_c72_m67", (1, 72, 29, 31), (67, 72, 3, 3), {"pads": [1, 1, 1, 1]}, True, 4),
    ("f4_pad0_b3", (3, 65, 30, 31), (80, 65, 3, 3), {}, False, 4),
    ("f4_asym_pads", (1, 64, 30, 27), (70, 64, 3, 3), {"pads": [0, 1, 2, 1]}, True, 4),
    ("f4_same_upper", (2, 69, 29, 30), (80, 69, 3, 3), {"auto_pad": "SAME_UPPER"}, False, 4),
    ("f4_wide_c160", (1, 160, 30, 29), (96, 160, 3, 3), {"pads": [1, 1, 1, 1]}, True, 4),
    # 36 C M floats = 9 MiB, over the F(4x4) weight budget: F(2x2).
    ("f4_budget_c256", (1, 256, 28, 28), (256, 256, 3, 3), {"pads": [1, 1, 1, 1]}, True, 2),
]

# Activations that become post-ops (computed by the output transform) and those FusedConv applies
# itself afterwards (SiLU, Sigmoid, Tanh; Clip with min > max).
ACTS = [("Relu", []), ("LeakyRelu", [0.2]), ("Clip", [-0.5, 1.0]), ("Clip", [1.0, -0.5]), ("HardSigmoid", [0.3, 0.4]),
        ("SiLU", []), ("Sigmoid", []), ("", [])]


def channels_last_case(rng, x_shape, w_shape, attrs, bias, residual, act="", params=()):
    w = (rng.standard_normal(w_shape) / np.sqrt(9 * w_shape[1])).astype(F32)
    b = rng.standard_normal(w_shape[0]).astype(F32) if bias else None
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    z_shape = conv_out_shape(x_shape, w_shape, attrs) if residual else None
    if residual:
        feed["z"] = rng.standard_normal(z_shape).astype(F32)
    feed = {k: np.ascontiguousarray(v.transpose(to_last(4))) for k, v in feed.items()}
    fz = feed["z"].shape if residual else None
    kw = dict(act=act, params=params, channels_last=True)
    return (build("FusedConv", feed["x"].shape, w, b, fz, attrs, **kw),
            build("FusedConv", feed["x"].shape, w, b, fz, attrs, reference=True, **kw), feed)


def run_counted(model: bytes, feed: dict, threads: int, tile: int = 0):
    """Y and how many Winograd runs it took with output tile `tile` (0: either); with a tile, the
    other variant must not have run."""
    sess = ferry_session(model, threads)
    before = {t: _ferry.winograd_conv_runs(t) for t in (0, 2, 4)}
    got = sess.run(None, feed)[0]
    if tile:
        assert _ferry.winograd_conv_runs(6 - tile) == before[6 - tile]
    return got, _ferry.winograd_conv_runs(tile) - before[tile]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("name,x_shape,w_shape,attrs,bias,tile", WINOGRAD, ids=[s[0] for s in WINOGRAD])
def test_winograd_shapes(name, x_shape, w_shape, attrs, bias, tile, residual, threads):
    model, reference, feed = channels_last_case(seeded("wino" + name), x_shape, w_shape, attrs, bias, residual,
                                                act="Relu")
    got, runs = run_counted(model, feed, threads, tile)
    assert runs == 1
    expected = ort_run(reference, feed)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("tile,x_shape", [(2, (2, 64, 11, 10)), (4, (2, 64, 29, 28))], ids=["f2", "f4"])
@pytest.mark.parametrize("act,params", ACTS, ids=[f"{a or 'none'}{p}" for a, p in ACTS])
def test_winograd_activations(act, params, tile, x_shape, residual, threads):
    model, reference, feed = channels_last_case(seeded(f"winoact{act}{params}{residual}"), x_shape,
                                                (66, 64, 3, 3), {"pads": [1, 1, 1, 1]}, True, residual, act, params)
    got, runs = run_counted(model, feed, threads, tile)
    assert runs == 1
    np.testing.assert_allclose(got, ort_run(reference, feed), **TOL)


def test_winograd_residual_is_input():
    """Z is X itself (relu(x) then conv + that): Y may take X's buffer, which tiles still read."""
    rng = seeded("wino_self_residual")
    c = 64
    w = (rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c)).astype(F32)
    x_shape = (1, 15, 13, c)  # NHWC
    inputs = [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x_shape))]
    out = helper.make_empty_tensor_value_info("y")
    inits = [numpy_helper.from_array(w, "w")]
    fused = [helper.make_node("Relu", ["x"], ["x2"]),
             helper.make_node("FusedConv", ["x2", "w", "", "x2"], ["y"], domain="ferry", pads=[1, 1, 1, 1],
                              activation="Relu", channels_last=1)]
    plain = [helper.make_node("Relu", ["x"], ["x2"]), helper.make_node("Transpose", ["x2"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["xt", "w"], ["p"], pads=[1, 1, 1, 1]), helper.make_node("Add", ["p", "xt"], ["s"]),
             helper.make_node("Relu", ["s"], ["r"]), helper.make_node("Transpose", ["r"], ["y"], perm=[0, 2, 3, 1])]
    m = helper.make_model(helper.make_graph(fused, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)])
    r = helper.make_model(helper.make_graph(plain, "g", inputs, [out], initializer=inits),
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = r.ir_version = 8
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    for threads in (1, 2):
        got, runs = run_counted(m.SerializeToString(), feed, threads)
        assert runs == 1
        np.testing.assert_allclose(got, ort_run(r.SerializeToString(), feed), **TOL)


def test_winograd_changing_shapes():
    """One session, a dynamic batch: the transformed weights serve every batch."""
    rng = seeded("wino_shapes")
    w_shape = (80, 72, 3, 3)
    w = (rng.standard_normal(w_shape) / np.sqrt(9 * 72)).astype(F32)
    b = rng.standard_normal(80).astype(F32)
    attrs = {"pads": [1, 1, 1, 1]}
    fx = ("n", 13, 11, 72)
    sess = ferry_session(build("FusedConv", fx, w, b, None, attrs, act="Relu", channels_last=True), 2)
    reference = build("FusedConv", fx, w, b, None, attrs, act="Relu", channels_last=True, reference=True)
    for shape in [(1, 13, 11, 72), (3, 13, 11, 72), (2, 13, 11, 72)]:
        feed = {"x": rng.standard_normal(shape).astype(F32)}
        before = _ferry.winograd_conv_runs()
        got = sess.run(None, feed)[0]
        assert _ferry.winograd_conv_runs() - before == 1
        np.testing.assert_allclose(got, ort_run(reference, feed), **TOL)


# Outside the rule: these must stay on oneDNN's direct path.
DIRECT = [
    ("c63_below_min", (1, 63, 12, 12), (64, 63, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("m63_below_min", (1, 64, 12, 12), (63, 64, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("output_9x11", (1, 64, 9, 11), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("stride2", (1, 64, 24, 24), (64, 64, 3, 3), {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
    ("dilation2", (1, 64, 12, 12), (64, 64, 3, 3), {"pads": [2, 2, 2, 2], "dilations": [2, 2]}),
    ("group2", (1, 128, 12, 12), (128, 64, 3, 3), {"pads": [1, 1, 1, 1], "group": 2}),
    ("k5x5", (1, 64, 12, 12), (64, 64, 5, 5), {"pads": [2, 2, 2, 2]}),
    ("k1x1", (1, 64, 12, 12), (64, 64, 1, 1), {}),
]


@pytest.mark.parametrize("name,x_shape,w_shape,attrs", DIRECT, ids=[s[0] for s in DIRECT])
def test_outside_rule_stays_direct(name, x_shape, w_shape, attrs):
    model, reference, feed = channels_last_case(seeded("direct" + name), x_shape, w_shape, attrs, True, False, "Relu")
    got, runs = run_counted(model, feed, 1)
    assert runs == 0
    np.testing.assert_allclose(got, ort_run(reference, feed), **TOL)


def check_direct_channels_last(seed: str, w_shape, x_model, x_run):
    """A channels-last FusedConv (Relu, pads 1) with X declared as x_model and fed x_run: must not
    take the Winograd path, and must match onnxruntime."""
    rng = seeded(seed)
    w = (rng.standard_normal(w_shape) / np.sqrt(9 * w_shape[1])).astype(F32)
    attrs = {"pads": [1, 1, 1, 1]}
    feed = {"x": rng.standard_normal(x_run).astype(F32)}
    kw = dict(act="Relu", channels_last=True)
    got, runs = run_counted(build("FusedConv", x_model, w, None, None, attrs, **kw), feed, 1)
    assert runs == 0
    np.testing.assert_allclose(got, ort_run(build("FusedConv", x_model, w, None, None, attrs, reference=True, **kw),
                                            feed), **TOL)


def test_weights_over_the_cap_stay_direct():
    """C = M = 1024: 64 MiB of transformed weights, over conv_dnnl.cc's kWinogradMaxWeightBytes."""
    check_direct_channels_last("wino_cap", (1024, 1024, 3, 3), (1, 10, 10, 1024), (1, 10, 10, 1024))


def test_unknown_spatial_dims_stay_direct():
    """H and W unknown at creation: the rule cannot see the output size, so the direct path."""
    check_direct_channels_last("wino_symbolic", (64, 64, 3, 3), ("n", "h", "w", 64), (1, 16, 16, 64))


def test_nchw_stays_direct():
    """channels_last = 0 (the extended level does not convert the graph to channels last)."""
    rng = seeded("wino_nchw")
    x_shape, w_shape, attrs = (1, 64, 10, 10), (64, 64, 3, 3), {"pads": [1, 1, 1, 1]}
    w = (rng.standard_normal(w_shape) / 24).astype(F32)
    feed = {"x": rng.standard_normal(x_shape).astype(F32)}
    so = ferry.SessionOptions()
    so.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    sess = ferry.InferenceSession(build("FusedConv", x_shape, w, None, None, attrs, act="Relu"), so)
    before = _ferry.winograd_conv_runs()
    got = sess.run(None, feed)[0]
    assert _ferry.winograd_conv_runs() == before
    np.testing.assert_allclose(got, ort_run(build("FusedConv", x_shape, w, None, None, attrs, act="Relu",
                                                  reference=True), feed), **TOL)


def test_winograd_bad_residual_is_an_error():
    """A Z whose shape only the run shows (symbolic dims) that is not Y's: a clear error."""
    rng = seeded("wino_bad_z")
    w = (rng.standard_normal((64, 64, 3, 3)) / 24).astype(F32)
    model = build("FusedConv", (1, 12, 12, 64), w, None, ("z0", "z1", "z2", "z3"), {"pads": [1, 1, 1, 1]},
                  channels_last=True)
    feed = {"x": rng.standard_normal((1, 12, 12, 64)).astype(F32), "z": np.zeros((1, 11, 12, 64), F32)}
    with pytest.raises(ferry.FerryError, match="residual Z"):
        ferry_session(model, 1).run(None, feed)
