"""Session profiling (SessionOptions.enable_profiling / profile_file_prefix, end_profiling): a
Chrome-trace JSON file as onnxruntime writes, with session phases and one event per node run."""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry


@pytest.fixture(scope="module")
def model_bytes():
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "b"], ["h"], name="bias"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Softmax", ["r"], ["y"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 16])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return model.SerializeToString()


def _session(model_bytes, tmp_path, **opts):
    so = ferry.SessionOptions()
    so.graph_optimization_level = ferry.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep every node
    so.intra_op_num_threads = 1
    for k, v in opts.items():
        setattr(so, k, v)
    return ferry.InferenceSession(model_bytes, so)


def test_profile_has_an_event_per_node_run(model_bytes, tmp_path):
    sess = _session(model_bytes, tmp_path, enable_profiling=True, profile_file_prefix=str(tmp_path / "prof"))
    assert sess.get_profiling_start_time_ns() > 0
    x = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    runs = 2
    for _ in range(runs):
        sess.run(None, {"x": x})
    name = sess.end_profiling()
    assert os.path.basename(name).startswith("prof_") and name.endswith(".json")
    events = json.load(open(name))
    assert all(e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0 for e in events)
    session_names = {e["name"] for e in events if e["cat"] == "Session"}
    assert {"model_loading_uri", "session_initialization", "model_run"} <= session_names
    assert sum(e["name"] == "model_run" for e in events) == runs
    nodes = [e for e in events if e["cat"] == "Node"]
    assert len(nodes) == 4 * runs
    by_name = {}
    for e in nodes:
        by_name.setdefault(e["name"], []).append(e)
    assert set(by_name) == {f"{n}_kernel_time" for n in ("matmul", "bias", "relu", "softmax")}
    mm = by_name["matmul_kernel_time"][0]["args"]
    assert mm["op_name"] == "MatMul"
    assert mm["provider"] == "CPUExecutionProvider"
    assert mm["input_type_shape"] == [{"float": [3, 16]}, {"float": [16, 16]}]
    assert mm["output_type_shape"] == [{"float": [3, 16]}]
    # Node events of a run lie inside that run's model_run event, in graph order.
    first_run = min((e for e in events if e["name"] == "model_run"), key=lambda e: e["ts"])
    first = sorted((e for e in nodes if first_run["ts"] <= e["ts"] <= first_run["ts"] + first_run["dur"]),
                   key=lambda e: e["ts"])
    assert [e["args"]["op_name"] for e in first] == ["MatMul", "Add", "Relu", "Softmax"]
    # A second end_profiling names the same file and records nothing more.
    sess.run(None, {"x": x})
    assert sess.end_profiling() == name
    assert len(json.load(open(name))) == len(events)


def test_profiling_off_by_default(model_bytes, tmp_path):
    sess = _session(model_bytes, tmp_path)
    sess.run(None, {"x": np.ones((1, 16), np.float32)})
    assert sess.end_profiling() == ""
    assert sess.get_profiling_start_time_ns() == 0


def test_profiling_does_not_change_results(model_bytes, tmp_path):
    x = np.random.default_rng(2).standard_normal((5, 16)).astype(np.float32)
    plain = _session(model_bytes, tmp_path).run(None, {"x": x})[0]
    prof = _session(model_bytes, tmp_path, enable_profiling=True, profile_file_prefix=str(tmp_path / "p"))
    np.testing.assert_array_equal(prof.run(None, {"x": x})[0], plain)
    prof.end_profiling()
