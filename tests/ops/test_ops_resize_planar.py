"""Float Resize of the last two axes (execution_providers/cpu/nn/resize.cc, planar_resize) against
onnxruntime at 1 and 2 threads: linear and cubic, the coordinate transformations, up- and
downscaling by scales and by sizes, odd sizes, one axis only, rank 2, 3 and 5; and what falls back to
the general path (tf_crop_and_resize extrapolation, antialias).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_resize_planar.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

F32 = np.float32
THREADS = (1, 2)

# (name, X shape, scales or None, sizes or None, attributes, opset)
CASES = [
    ("linear_half_pixel_x2", (1, 8, 16, 16), [1, 1, 2, 2], None, {"mode": "linear"}, 17),
    ("linear_align_corners", (2, 3, 7, 9), None, [2, 3, 13, 20], {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, 17),
    ("linear_asymmetric_down", (1, 4, 17, 15), [1, 1, 0.5, 0.6], None, {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}, 17),
    ("linear_pytorch", (1, 2, 5, 1), None, [1, 2, 9, 3], {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}, 17),
    ("cubic", (1, 3, 6, 7), [1, 1, 1.5, 2.25], None, {"mode": "cubic"}, 17),
    ("cubic_exclude", (1, 3, 6, 7), [1, 1, 0.75, 1.5], None, {"mode": "cubic", "exclude_outside": 1}, 17),
    ("width_only", (2, 3, 4, 5), [1, 1, 1, 3], None, {"mode": "linear"}, 17),
    ("rank3", (3, 6, 5), [1, 2, 1.5], None, {"mode": "linear"}, 17),
    ("rank5", (1, 2, 3, 4, 5), [1, 1, 1, 2, 2], None, {"mode": "linear"}, 17),
    ("rank2", (6, 7), [1.5, 2], None, {"mode": "linear"}, 17),
    # general path
    ("tf_crop", (1, 2, 6, 6), [1, 1, 2, 2], None, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                                                   "extrapolation_value": 3.0}, 17),
    ("antialias", (1, 2, 12, 12), [1, 1, 0.4, 0.5], None, {"mode": "linear", "antialias": 1}, 18),
]


def model(xs, scales, sizes, attrs, opset):
    roi = np.array([0, 0, 0.1, 0.2, 1, 1, 1.2, 0.9], F32) if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize" \
        else np.array([], F32)
    inits = [numpy_helper.from_array(roi, "roi"),
             numpy_helper.from_array(np.array(scales if scales else [], F32), "scales")]
    names = ["X", "roi", "scales"]
    if sizes:
        inits.append(numpy_helper.from_array(np.array(sizes, np.int64), "sizes"))
        names.append("sizes")
    node = helper.make_node("Resize", names, ["Y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(xs))],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name,xs,scales,sizes,attrs,opset", CASES, ids=[c[0] for c in CASES])
def test_resize(name, xs, scales, sizes, attrs, opset, threads):
    data = model(xs, scales, sizes, attrs, opset)
    x = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(xs).astype(F32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]
    fo = ferry.SessionOptions()
    fo.intra_op_num_threads = threads
    got = ferry.InferenceSession(data, fo).run(None, {"X": x})[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
