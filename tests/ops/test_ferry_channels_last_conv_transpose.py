"""ferry.ChannelsLastConvTranspose (execution_providers/cpu/nn/conv_transpose_channels_last.cc)
against onnxruntime's ConvTranspose on the channels-first tensor: kernel == strides in 1-D and 2-D,
square and not, with and without B, channels off the vector width, batch > 1, W and B fed as
inputs (packed per call) or constant (prepacked), 1 and 2 threads; and the layout pass taking a
U-Net style ConvTranspose between convs (level all) against onnxruntime.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_channels_last_conv_transpose.py -q
"""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

# (name, channels-first X shape, M, kernel (= strides), bias)
CASES = [
    ("unet_2x2", (1, 16, 8, 8), 8, [2, 2], True),
    ("rect_2x3", (2, 5, 3, 7), 3, [2, 3], True),
    ("no_bias", (1, 7, 5, 4), 9, [2, 2], False),
    ("k1", (1, 6, 4, 5), 4, [1, 1], True),
    ("m1", (1, 3, 6, 6), 1, [3, 3], True),
    ("wide", (1, 64, 4, 6), 32, [2, 2], True),
    ("1d", (2, 5, 9), 6, [4], True),
]


def to_first(rank):
    return [0, rank - 1] + list(range(1, rank - 1))


def to_last(rank):
    return [0] + list(range(2, rank)) + [1]


def model(op, x_shape, w, b, attrs, domain="", const=True):
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))]
    inits = []
    names = ["x", "w"] + (["b"] if b is not None else [])
    for name, v in (("w", w), ("b", b)):
        if v is None:
            continue
        if const:
            inits.append(numpy_helper.from_array(v, name))
        else:
            ins.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(v.shape)))
    node = helper.make_node(op, names, ["y"], domain=domain, **attrs)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("ferry", 1)] if domain else [])
    graph = helper.make_graph([node], "g", ins, [helper.make_empty_tensor_value_info("y")], inits)
    return helper.make_model(graph, opset_imports=opsets, ir_version=8).SerializeToString()


def session(mod, m, threads):
    so = mod.SessionOptions()
    so.intra_op_num_threads = threads
    return mod.InferenceSession(m, so, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("const", [True, False], ids=["const_w", "fed_w"])
@pytest.mark.parametrize("name,shape,m,k,bias", CASES, ids=[c[0] for c in CASES])
def test_channels_last_conv_transpose(name, shape, m, k, bias, const, threads):
    rng = np.random.default_rng(len(name) * 17 + m)
    rank = len(shape)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((shape[1], m, *k)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32) if bias else None
    feed = {"x": x} if const else {"x": x, "w": w, **({"b": b} if bias else {})}
    want = session(ort, model("ConvTranspose", shape, w, b, {"strides": k}, const=const), threads).run(None, feed)[0]
    x_last = np.ascontiguousarray(x.transpose(to_last(rank)))
    got = session(ferry, model("ChannelsLastConvTranspose", x_last.shape, w, b, {}, "ferry", const), threads).run(
        None, dict(feed, x=x_last))[0]
    np.testing.assert_allclose(got.transpose(to_first(rank)), want, rtol=1e-4, atol=1e-4)


def conv_deconv_conv(pads=None):
    """Conv 3x3 -> Relu -> ConvTranspose (k = s = 2, or with pads) -> Conv 1x1, NCHW."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in
             (("w1", (8, 3, 3, 3)), ("wt", (8, 6, 2, 2)), ("bt", (6,)), ("w2", (4, 6, 1, 1)))]
    attrs = {"strides": [2, 2]} if pads is None else {"strides": [2, 2], "pads": pads}
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r"]),
             helper.make_node("ConvTranspose", ["r", "wt", "bt"], ["u"], **attrs),
             helper.make_node("Conv", ["u", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 9, 10])],
                              [helper.make_empty_tensor_value_info("y")], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("pads,joins", [(None, True), ([1, 0, 0, 1], False)], ids=["k_eq_s", "padded"])
@pytest.mark.parametrize("threads", [1, 2])
def test_layout_pass_runs_conv_transpose_channels_last(pads, joins, threads, tmp_path):
    m = conv_deconv_conv(pads)
    x = np.random.default_rng(5).standard_normal((1, 3, 9, 10)).astype(np.float32)
    want = session(ort, m, threads).run(None, {"x": x})[0]
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "p")
    s = ferry.InferenceSession(m, so)
    got = s.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    ev = json.load(open(s.end_profiling()))
    ev = ev["traceEvents"] if isinstance(ev, dict) else ev
    ops = [e["args"].get("op_name") for e in ev if e.get("cat") == "Node"]
    assert ("ChannelsLastConvTranspose" in ops) == joins
    if joins:
        assert ops.count("Transpose") == 2  # x in, y out
