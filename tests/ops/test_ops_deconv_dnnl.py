"""Float ConvTranspose on oneDNN deconvolution (execution_providers/cpu/dnnl/deconv_dnnl.h) and on
sgemm + col2im (nn/conv_transpose_gemm.h: kernel <= stride, groups) against
onnxruntime at 1 and 2 threads: constant (prepacked) and fed W and B, 1-D/2-D/3-D, groups and
depthwise, strides, dilations, asymmetric pads, output_padding, output_shape (larger than the full
output too), auto_pad SAME_UPPER / SAME_LOWER / VALID, odd channel counts, batch > 1, and a
prepacked W reused across runs of varying input shape (a primitive per shape).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_deconv_dnnl.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from test_ops_matmul_dnnl import ferry_session, ort_run

F32 = np.float32
THREADS = (1, 2)

# (name, X shape, W shape, attributes)
CASES = [
    ("unet_up", (1, 16, 8, 8), (16, 8, 2, 2), {"strides": [2, 2]}),
    ("1d", (2, 3, 7), (3, 5, 3), {"strides": [2]}),
    ("2d_odd", (2, 5, 6, 7), (5, 3, 3, 3), {}),
    ("3d", (1, 4, 3, 4, 3), (4, 3, 2, 3, 2), {"strides": [2, 1, 2]}),
    ("pads", (1, 4, 5, 5), (4, 6, 3, 3), {"strides": [2, 2], "pads": [1, 0, 1, 2]}),
    ("opad", (1, 4, 3, 3), (4, 4, 3, 3), {"strides": [3, 2], "output_padding": [1, 1]}),
    ("opad_pads", (1, 4, 4, 4), (4, 4, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 0]}),
    ("dil", (1, 4, 5, 5), (4, 4, 2, 3), {"dilations": [2, 2], "strides": [1, 2]}),
    ("group", (2, 6, 4, 4), (6, 2, 3, 3), {"group": 3, "strides": [2, 2]}),
    ("depthwise", (1, 8, 5, 5), (8, 1, 3, 3), {"group": 8, "strides": [2, 1]}),
    ("oshape", (1, 2, 3, 3), (2, 3, 3, 3), {"strides": [3, 2], "output_shape": [10, 8]}),
    ("oshape_large", (1, 2, 3, 3), (2, 3, 3, 3), {"strides": [2, 2], "output_shape": [8, 8]}),
    ("same_upper", (1, 3, 5, 5), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("same_lower", (1, 3, 5, 5), (3, 2, 4, 4), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("valid", (1, 3, 4, 4), (3, 2, 3, 3), {"strides": [2, 2], "auto_pad": "VALID"}),
    # kernel <= stride (the sgemm + col2im path) with the same attributes
    ("gemm_1d", (2, 3, 7), (3, 5, 2), {"strides": [3]}),
    ("gemm_3d", (1, 4, 3, 4, 3), (4, 3, 2, 2, 1), {"strides": [2, 2, 1]}),
    ("gemm_pads_opad", (1, 4, 5, 5), (4, 6, 2, 2), {"strides": [3, 2], "pads": [1, 0, 0, 1], "output_padding": [2, 1]}),
    ("gemm_dil", (1, 4, 5, 5), (4, 3, 2, 2), {"strides": [3, 3], "dilations": [2, 1]}),
    ("gemm_oshape", (1, 2, 3, 3), (2, 3, 2, 2), {"strides": [2, 2], "output_shape": [7, 7]}),
    ("gemm_same_lower", (1, 3, 5, 5), (3, 2, 2, 2), {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
]


def make(xs, ws, attrs, const_w: bool, bias: bool, name: str):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x = rng.standard_normal(xs).astype(F32)
    w = rng.standard_normal(ws).astype(F32)
    m = ws[1] * attrs.get("group", 1)
    b = rng.standard_normal(m).astype(F32)
    names = ["X", "W"] + (["B"] if bias else [])
    feeds = {"X": x}
    inits = []
    if const_w:
        inits.append(numpy_helper.from_array(w, "W"))
        if bias:
            inits.append(numpy_helper.from_array(b, "B"))
    else:
        feeds["W"] = w
        if bias:
            feeds["B"] = b
    node = helper.make_node("ConvTranspose", names, ["Y"], **attrs)
    inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in feeds.items()]
    graph = helper.make_graph([node], "g", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    return model, feeds


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("const_w,bias", [(True, True), (True, False), (False, True)], ids=["const_wb", "const_w", "fed_wb"])
@pytest.mark.parametrize("name,xs,ws,attrs", CASES, ids=[c[0] for c in CASES])
def test_conv_transpose(name, xs, ws, attrs, const_w, bias, threads):
    model, feeds = make(xs, ws, attrs, const_w, bias, name)
    expected = ort_run(model, feeds)
    sess = ferry_session(model, threads)
    for _ in range(2):
        got = sess.run(None, feeds)[0]
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
def test_prepacked_w_across_shapes(threads):
    # X's spatial dims are symbolic: the weights packed at creation serve every shape.
    rng = np.random.default_rng(7)
    w = rng.standard_normal((6, 4, 3, 3)).astype(F32)
    b = rng.standard_normal(4).astype(F32)
    node = helper.make_node("ConvTranspose", ["X", "W", "B"], ["Y"], strides=[2, 2], pads=[1, 1, 0, 0])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", 6, "h", "w"])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    sess = ferry_session(model, threads)
    for shape in [(1, 6, 5, 5), (2, 6, 3, 7), (1, 6, 1, 1), (1, 6, 5, 5)]:
        x = rng.standard_normal(shape).astype(F32)
        np.testing.assert_allclose(sess.run(None, {"X": x})[0], ort_run(model, {"X": x}), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("xs", [(1, 6, 0, 4), (0, 6, 3, 3)], ids=["empty_spatial", "empty_batch"])
def test_empty_input(xs, threads):
    model, feeds = make(xs, (6, 3, 3, 3), {"strides": [2, 2]}, True, True, "empty")
    feeds["X"] = np.zeros(xs, F32)
    got = ferry_session(model, threads).run(None, feeds)[0]
    np.testing.assert_allclose(got, ort_run(model, feeds), rtol=1e-5, atol=1e-6)
