"""Float Resize of channels-last images ([N, H, W, C] / [N, W, C] with N and C unchanged:
execution_providers/cpu/nn/resize.cc, channels_last_resize, and the gather path's whole-pixel
copies for nearest), as the layout pass makes it of an NCHW Resize in a channels-last conv chain.
The reference is onnxruntime on the NCHW model (transposed in and out), so cubic, which
onnxruntime resizes only on the last two axes, is checked too; nearest is also compared exactly
with onnxruntime run on the NHWC model. 1 and 2 threads; shapes that fall back (extrapolation, a
resized N or C) beside them.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_resize_channels_last.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

F32 = np.float32

# (name, NHWC shape, NHWC scales or None, NHWC sizes or None, attributes)
CASES = [
    ("linear_half_pixel_x2", (1, 8, 8, 256), [1, 2, 2, 1], None, {"mode": "linear"}),
    ("linear_odd_c", (2, 5, 7, 17), [1, 2, 2, 1], None, {"mode": "linear"}),
    ("linear_align_corners_sizes", (1, 7, 9, 3), None, [1, 13, 20, 3], {"mode": "linear", "coordinate_transformation_mode": "align_corners"}),
    ("linear_asymmetric_down", (1, 17, 15, 5), [1, 0.5, 0.6, 1], None, {"mode": "linear", "coordinate_transformation_mode": "asymmetric"}),
    ("linear_pytorch_c1", (1, 5, 1, 1), None, [1, 9, 3, 1], {"mode": "linear", "coordinate_transformation_mode": "pytorch_half_pixel"}),
    ("cubic", (1, 6, 7, 9), [1, 1.5, 2.25, 1], None, {"mode": "cubic"}),
    ("cubic_exclude", (1, 6, 7, 4), [1, 0.75, 1.5, 1], None, {"mode": "cubic", "exclude_outside": 1}),
    ("height_only", (2, 4, 5, 6), [1, 3, 1, 1], None, {"mode": "linear"}),
    ("rank3", (3, 5, 6), [1, 1.5, 1], None, {"mode": "linear"}),
    ("nearest_floor_x2", (1, 20, 20, 64), [1, 2, 2, 1], None, {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}),
    ("nearest_half_pixel_odd", (2, 9, 11, 7), [1, 1.7, 0.6, 1], None, {"mode": "nearest"}),
    # fall back to the general path
    ("tf_crop", (1, 6, 6, 2), [1, 2, 2, 1], None, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                                                   "extrapolation_value": 3.0}),
    ("channels_resized", (1, 4, 4, 6), [1, 2, 2, 0.5], None, {"mode": "nearest"}),
    ("batch_resized", (2, 3, 4, 5), [2, 1, 1.5, 1], None, {"mode": "nearest", "nearest_mode": "round_prefer_ceil"}),
]

NCHW = [0, 3, 1, 2]


def model(xs, scales, sizes, attrs, perm=None):
    """A one-node Resize; with perm, the model for X transposed by perm (per-axis inputs permuted)."""
    axes = perm if perm is not None else list(range(len(xs)))
    roi = np.array([0, 0.1, 0.2, 0, 1, 1.2, 0.9, 1], F32) if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize" \
        else np.array([], F32)
    if roi.size:
        roi = np.concatenate([roi[:4][axes], roi[4:][axes]])
    inits = [numpy_helper.from_array(roi, "roi"),
             numpy_helper.from_array(np.array([scales[a] for a in axes] if scales else [], F32), "scales")]
    names = ["X", "roi", "scales"]
    if sizes:
        inits.append(numpy_helper.from_array(np.array([sizes[a] for a in axes], np.int64), "sizes"))
        names.append("sizes")
    node = helper.make_node("Resize", names, ["Y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [xs[a] for a in axes])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def ort_run(data, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"]).run(None, {"X": x})[0]


@pytest.mark.parametrize("threads", (1, 2))
@pytest.mark.parametrize("name,xs,scales,sizes,attrs", CASES, ids=[c[0] for c in CASES])
def test_resize_channels_last(name, xs, scales, sizes, attrs, threads):
    x = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(xs).astype(F32)
    if len(xs) == 4:  # the same resize in NCHW through onnxruntime
        expected = ort_run(model(xs, scales, sizes, attrs, NCHW), x.transpose(NCHW)).transpose(0, 2, 3, 1)
    else:
        expected = ort_run(model(xs, scales, sizes, attrs, [0, 2, 1]), x.transpose(0, 2, 1)).transpose(0, 2, 1)
    fo = ferry.SessionOptions()
    fo.intra_op_num_threads = threads
    data = model(xs, scales, sizes, attrs)
    got = ferry.InferenceSession(data, fo).run(None, {"X": x})[0]
    assert got.shape == expected.shape
    if attrs["mode"] == "nearest":
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(got, ort_run(data, x))
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
