"""NonMaxSuppression against onnxruntime at 1 and 2 intra-op threads: corner and center box
encodings, thresholds absent / present, tied scores and duplicate boxes (selection order), many
classes, batch > 1, max_output_boxes_per_class 0 / negative / larger than the box count, no boxes,
no candidate above the score threshold, and a detector-sized case (thousands of boxes, 80 classes).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_nms.py -q
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ferry


def nms_model(center: int, inputs: list[str]) -> bytes:
    node = helper.make_node("NonMaxSuppression", inputs, ["sel"], center_point_box=center)
    types = {"boxes": (TensorProto.FLOAT, None), "scores": (TensorProto.FLOAT, None),
             "max": (TensorProto.INT64, [1]), "iou": (TensorProto.FLOAT, [1]), "score": (TensorProto.FLOAT, [1])}
    ins = [helper.make_tensor_value_info(n, *types[n]) for n in inputs if n]
    graph = helper.make_graph([node], "g", ins, [helper.make_tensor_value_info("sel", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 8
    return model.SerializeToString()


def random_boxes(rng, b, n, center, grid=False):
    if grid:  # coordinates on a coarse grid: exact ties in IoU and duplicate boxes
        xy = rng.integers(0, 6, (b, n, 2)).astype(np.float32)
        wh = rng.integers(1, 4, (b, n, 2)).astype(np.float32)
    else:
        xy = (rng.random((b, n, 2)) * 100).astype(np.float32)
        wh = (rng.random((b, n, 2)) * 30 + 0.5).astype(np.float32)
    if center:
        return np.concatenate([xy, wh], -1)
    lo, hi = xy, xy + wh
    flip = rng.random((b, n, 1)) < 0.3  # corners given in either order
    y0 = np.where(flip, hi[..., :1], lo[..., :1]); y1 = np.where(flip, lo[..., :1], hi[..., :1])
    return np.concatenate([y0, lo[..., 1:], y1, hi[..., 1:]], -1).astype(np.float32)


CASES = [  # (name, batch, classes, boxes, center, max_out, iou, score, tied)
    ("corner_all", 1, 3, 40, 0, 10, 0.5, 0.3, False),
    ("center_all", 1, 3, 40, 1, 10, 0.5, 0.3, False),
    ("no_score", 1, 2, 50, 0, 100, 0.4, None, False),
    ("no_iou_no_score", 1, 2, 30, 1, 7, None, None, False),
    ("no_thresholds", 1, 2, 30, 0, None, None, None, False),
    ("ties", 2, 4, 60, 0, 20, 0.3, 0.2, True),
    ("ties_center", 2, 4, 60, 1, 60, 0.0, None, True),
    ("iou_one", 1, 3, 30, 0, 30, 1.0, None, True),
    ("many_classes", 1, 90, 200, 1, 5, 0.45, 0.5, False),
    ("batch3", 3, 5, 80, 0, 4, 0.6, 0.1, False),
    ("max0", 1, 3, 20, 0, 0, 0.5, 0.1, False),
    ("max_negative", 1, 3, 20, 0, -2, 0.5, 0.1, False),
    ("max_huge", 2, 2, 25, 1, 1000, 0.7, None, False),
    ("empty_boxes", 2, 3, 0, 0, 5, 0.5, 0.1, False),
    ("none_above", 1, 3, 20, 0, 5, 0.5, 2.0, False),
    ("detector", 1, 80, 4200, 1, 100, 0.45, 0.25, False),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("threads", [1, 2])
def test_nms(case, threads):
    name, b, c, n, center, max_out, iou, score, tied = case
    rng = np.random.default_rng(sum(map(ord, name)))
    boxes = random_boxes(rng, b, n, center, grid=tied)
    scores = rng.random((b, c, n)).astype(np.float32)
    if tied:
        scores = (np.round(scores * 4) / 4).astype(np.float32)
    if name == "detector":
        scores = (scores ** 6).astype(np.float32)  # most below the threshold, as after a sigmoid
    feed = {"boxes": boxes, "scores": scores}
    inputs = ["boxes", "scores"]
    for key, val, dt in (("max", max_out, np.int64), ("iou", iou, np.float32), ("score", score, np.float32)):
        if val is None:
            continue
        while len(inputs) < {"max": 2, "iou": 3, "score": 4}[key]:
            inputs.append("")
        inputs.append(key)
        feed[key] = np.array([val], dt)
    model = nms_model(center, inputs)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    want = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    fo = ferry.SessionOptions()
    fo.intra_op_num_threads = threads
    got = ferry.InferenceSession(model, fo).run(None, feed)[0]
    assert got.dtype == np.int64 and got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)
    if name in ("ties", "detector", "many_classes"):
        assert want.shape[0] > 10  # the case really selects boxes
