"""Op tests for the ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum): one-node
models run by onnx's reference evaluator (onnxruntime has no kernels for this domain) and by
Ferry. Each case updates one or several tensors in one node, at a first step (T = 0, where Adam
and Momentum skip their bias correction / beta) and at a later one.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_training.py -q
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import ferry

DOMAIN = "ai.onnx.preview.training"
# (op, state tensors per X, attributes)
OPS = {
    "Adagrad": (1, [{}, {"decay_factor": 0.1, "epsilon": 1e-5, "norm_coefficient": 0.01}]),
    "Adam": (2, [{}, {"alpha": 0.95, "beta": 0.9, "epsilon": 1e-4, "norm_coefficient": 0.02,
                      "norm_coefficient_post": 0.01}]),
    "Momentum": (1, [{"alpha": 0.9, "beta": 0.1, "norm_coefficient": 0.001, "mode": "standard"},
                     {"alpha": 0.8, "beta": 0.5, "norm_coefficient": 0.0, "mode": "nesterov"}]),
}
SHAPES = [[(3,)], [(2, 3), (4,)], [(1, 1, 5), (), (2, 2)]]


def build(op: str, n: int, states: int, attrs: dict, dtype: int) -> onnx.ModelProto:
    groups = ["X", "G"] + [f"S{s}_" for s in range(states)]
    ins = ["R", "T"] + [f"{g}{k}" for g in groups for k in range(n)]
    outs = [f"{g}{k}_new" for g in ["X"] + groups[2:] for k in range(n)]
    node = helper.make_node(op, ins, outs, domain=DOMAIN, **attrs)
    inputs = [helper.make_tensor_value_info("R", dtype, []), helper.make_tensor_value_info("T", onnx.TensorProto.INT64, [])]
    inputs += [helper.make_tensor_value_info(name, dtype, None) for name in ins[2:]]
    outputs = [helper.make_tensor_value_info(name, dtype, None) for name in outs]
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, 1)])
    model.ir_version = 8
    return model


def params():
    for op, (states, attr_sets) in OPS.items():
        for a, attrs in enumerate(attr_sets):
            for shapes in SHAPES:
                for dt in (np.float32, np.float64):
                    for t in (0, 3):
                        yield pytest.param(op, states, attrs, shapes, dt, t,
                                           id=f"{op}-attrs{a}-n{len(shapes)}-{np.dtype(dt).name}-t{t}")


@pytest.mark.parametrize("op,states,attrs,shapes,dt,t", list(params()))
def test_op(op, states, attrs, shapes, dt, t) -> None:
    rng = np.random.default_rng(len(shapes) * 10 + t)
    n = len(shapes)
    model = build(op, n, states, attrs, helper.np_dtype_to_tensor_dtype(np.dtype(dt)))
    feed = {"R": np.array(0.1, dt), "T": np.array(t, np.int64)}
    for g in ["X", "G"] + [f"S{s}_" for s in range(states)]:
        for k, shape in enumerate(shapes):
            v = rng.standard_normal(shape).astype(dt)
            feed[f"{g}{k}"] = np.abs(v) if g.startswith("S") else v  # squared-gradient states are >= 0
    expected = ReferenceEvaluator(model).run(None, feed)
    got = ferry.InferenceSession(model.SerializeToString()).run(None, feed)
    assert len(got) == len(expected)
    # The reference evaluator returns float32 results even for double inputs (its arithmetic
    # mixes in the float32 attributes), so double cases are compared at float32 accuracy.
    tol = 1e-5
    for i, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e).astype(dt)
        assert g.shape == e.shape and g.dtype == e.dtype, (i, g.shape, e.shape, g.dtype, e.dtype)
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol, err_msg=f"output {i}")


def test_rejects_mismatched_state_shape() -> None:
    model = build("Adagrad", 1, 1, {}, onnx.TensorProto.FLOAT)
    feed = {"R": np.array(0.1, np.float32), "T": np.array(0, np.int64), "X0": np.zeros(3, np.float32),
            "G0": np.zeros(3, np.float32), "S0_0": np.zeros(4, np.float32)}
    with pytest.raises(ferry.FerryError, match="must match the tensor it updates"):
        ferry.InferenceSession(model.SerializeToString()).run(None, feed)
