"""Models older than ai.onnx opset 7: Ferry reads them when every node's op has the same schema
version at the model's opset as at opset 7 (the op means the same there, so the opset-7 kernels
apply), and otherwise refuses with an error that names the node, the op and both versions."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import ferry


def model(op: str, opset: int, n_inputs: int, dtype: int = onnx.TensorProto.FLOAT, name: str = "n0") -> bytes:
    ins = [f"x{i}" for i in range(n_inputs)]
    node = helper.make_node(op, ins, ["y"], name=name)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(i, dtype, [2, 3]) for i in ins],
                              [helper.make_tensor_value_info("y", dtype, [2, 3])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 3
    return m.SerializeToString()


@pytest.mark.parametrize("op,opset,dtype", [("Not", 1, onnx.TensorProto.BOOL), ("Relu", 6, onnx.TensorProto.FLOAT),
                                            ("Tanh", 6, onnx.TensorProto.FLOAT)])
def test_unchanged_ops_load_and_run(op: str, opset: int, dtype: int) -> None:
    x = np.array([[True, False, True], [False, False, True]]) if dtype == onnx.TensorProto.BOOL else \
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    got = ferry.InferenceSession(model(op, opset, 1, dtype)).run(None, {"x0": x})[0]
    want = {"Not": np.logical_not, "Relu": lambda v: np.maximum(v, 0), "Tanh": np.tanh}[op](x)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_changed_op_is_refused_naming_node_op_and_versions() -> None:
    # Add: version 1 is in force at opset 5 (legacy broadcast attributes), version 7 at opset 7.
    with pytest.raises(ferry.FerryError) as e:
        ferry.InferenceSession(model("Add", 5, 2, name="the_add"))
    text = str(e.value)
    assert "the_add" in text and "Add" in text, text
    assert "version 1 is in force at opset 5" in text and "version 7 at opset 7" in text, text


def test_op_missing_at_the_old_opset_is_refused() -> None:
    with pytest.raises(ferry.FerryError, match="does not exist at opset 3"):
        ferry.InferenceSession(model("Shrink", 3, 1))
