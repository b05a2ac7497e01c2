"""Graph outputs of 64 KiB and more come from the session's recycled buffer pool
(runtime/kernel_context.cc): an output the caller still holds is never reused by a later run, a
dropped one is, and outputs outlive their session.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/python/test_output_buffers.py -q
"""

from __future__ import annotations

import gc

import numpy as np
from onnx import TensorProto, helper

import ferry


def _model() -> bytes:
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["n", 300])
    nodes = [helper.make_node("Relu", ["X"], ["R"]), helper.make_node("Concat", ["R", "X"], ["Y"], axis=0),
             helper.make_node("Neg", ["X"], ["Z"])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("Y", "Z")]
    graph = helper.make_graph(nodes, "g", [x], outs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def _want(x):
    return np.concatenate([np.maximum(x, 0), x]), -x


def test_held_outputs_survive_later_runs_and_the_session():
    rng = np.random.default_rng(7)
    sess = ferry.InferenceSession(_model())
    xs = [rng.standard_normal((n, 300)).astype(np.float32) for n in (200, 200, 100, 200, 200)]
    held = []
    for i, x in enumerate(xs):
        got = sess.run(None, {"X": x})
        if i % 2 == 0:
            held.append((x, got))  # kept: later runs must not write into these
        else:
            del got  # dropped: its blocks go back to the pool for the next run
            gc.collect()
    for x, (y, z) in held:
        want_y, want_z = _want(x)
        np.testing.assert_array_equal(y, want_y)
        np.testing.assert_array_equal(z, want_z)
    del sess
    gc.collect()
    for x, (y, z) in held:
        np.testing.assert_array_equal(y, _want(x)[0])
        np.testing.assert_array_equal(z, _want(x)[1])
