"""Resize cases that take the direct-gather path (every output one input element: nearest in every
nearest_mode and coordinate mode, up and down, identity axes) in several element types, at 1 and 2
intra-op threads, against onnx's reference evaluator (onnxruntime rounds some downsampling
coordinates differently from the spec, e.g. half_pixel at scale 0.7); and linear /
tf_crop_and_resize extrapolation cases beside them that must keep the weighted path.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_resize_gather.py -q
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import ferry

CASES = []
for coord in ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]:
    for nearest in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]:
        CASES.append(({"mode": "nearest", "coordinate_transformation_mode": coord, "nearest_mode": nearest},
                      (2, 3, 17, 23), [1, 1, 2.0, 1.5]))
        CASES.append(({"mode": "nearest", "coordinate_transformation_mode": coord, "nearest_mode": nearest},
                      (2, 3, 40, 33), [1, 1, 0.5, 0.7]))
CASES.append(({"mode": "nearest"}, (3, 64, 32, 32), [1, 1, 2.0, 2.0]))
CASES.append(({"mode": "nearest"}, (1, 5, 7), [1, 3.0, 1]))
CASES.append(({"mode": "linear"}, (2, 3, 9, 11), [1, 1, 2.0, 2.0]))
CASES.append(({"mode": "nearest", "coordinate_transformation_mode": "tf_crop_and_resize",
               "extrapolation_value": 7.5}, (1, 2, 8, 8), [1, 1, 1.5, 1.5]))


# Integer inputs only with nearest mode: the weighted modes round on integers (test_ops_nn has them).
RESIZE_PARAMS = [(a, s, sc, dt) for a, s, sc in CASES for dt in (np.float32, np.uint8, np.int32)
                 if a["mode"] == "nearest" or dt == np.float32]


@pytest.mark.parametrize("attrs,shape,scales,dtype", RESIZE_PARAMS,
                         ids=[f"{i}-{p[0].get('mode')}-{np.dtype(p[3]).name}" for i, p in enumerate(RESIZE_PARAMS)])
@pytest.mark.parametrize("threads", [1, 2])
def test_resize(attrs, shape, scales, dtype, threads):
    rng = np.random.default_rng(len(shape) * 31 + int(sum(scales) * 10))
    x = (rng.standard_normal(shape) * 50).astype(dtype) if dtype == np.float32 else rng.integers(0, 200, shape).astype(dtype)
    roi = np.array([0, 0, 0.1, -0.2, 1, 1, 0.9, 1.3], np.float32) if "tf_crop" in str(attrs) else np.zeros(0, np.float32)
    t = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node("Resize", ["x", "roi", "s"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", t, shape),
                                            helper.make_tensor_value_info("roi", 1, roi.shape),
                                            helper.make_tensor_value_info("s", 1, [len(scales)])],
                              [helper.make_tensor_value_info("y", t, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    feed = {"x": x, "roi": roi, "s": np.array(scales, np.float32)}
    want = ReferenceEvaluator(model).run(None, feed)[0]
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    got = ferry.InferenceSession(model.SerializeToString(), so).run(None, feed)[0]
    assert got.shape == want.shape and got.dtype == want.dtype
    if attrs["mode"] == "nearest":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
