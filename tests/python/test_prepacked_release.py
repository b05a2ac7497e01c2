"""Initializers whose every reader keeps a prepacked copy (KernelInfo::mark_prepacked) are freed
at session creation; ones another reader, a subgraph or the caller still needs are kept. The
freed storage is an inaccessible reservation, so a kernel reading it would crash: results over
several runs must match onnxruntime."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry


def _run_both(model, feeds, threads=1):
    data = model.SerializeToString()
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ferry.InferenceSession(data, so)
    ref = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = ref.run(None, feeds)
    for _ in range(3):
        for g, w in zip(sess.run(None, feeds), want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    return sess


def _weights(rng, *names, shape=(64, 64)):
    return [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), n) for n in names]


@pytest.mark.parametrize("threads", [1, 2])
def test_released_and_kept_initializers(threads):
    rng = np.random.default_rng(0)
    w_packed, w_shared, w_out = _weights(rng, "w_packed", "w_shared", "w_out")
    nodes = [
        helper.make_node("MatMul", ["x", "w_packed"], ["a"]),   # only a MatMul reads it
        helper.make_node("MatMul", ["a", "w_shared"], ["b"]),
        helper.make_node("Add", ["b", "w_shared"], ["c"]),      # an element-wise reader too
        helper.make_node("MatMul", ["c", "w_out"], ["y"]),      # w_out is also a graph output
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 64]),
                               helper.make_tensor_value_info("w_out", TensorProto.FLOAT, [64, 64])],
                              [w_packed, w_shared, w_out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    sess = _run_both(model, {"x": x}, threads)
    info = sess.model_info()
    # Never more than the one weight no other reader needs; the others stay.
    assert info["released_parameter_bytes"] in (0, 64 * 64 * 4)
    np.testing.assert_array_equal(sess.run(["w_out"], {"x": x})[0], numpy_helper.to_array(w_out))


def test_weight_read_by_a_subgraph_is_kept():
    rng = np.random.default_rng(1)
    (w,) = _weights(rng, "w")
    then_g = helper.make_graph([helper.make_node("MatMul", ["a", "w"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [64, 64])])
    else_g = helper.make_graph([helper.make_node("Identity", ["a"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [64, 64])])
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 64]),
                                           helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 64])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    x = rng.standard_normal((64, 64)).astype(np.float32)
    for cond in (True, False):
        sess = _run_both(model, {"x": x, "cond": np.array(cond)})
        assert sess.model_info()["released_parameter_bytes"] == 0


def test_prepacked_weights_of_a_model_file_are_released(tmp_path):
    rng = np.random.default_rng(2)
    ws = _weights(rng, "w1", "w2", "w3", shape=(128, 128))
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"]), helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["b"]), helper.make_node("MatMul", ["b", "w3"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 128])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 128])], ws)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    so = ferry.SessionOptions()
    sess = ferry.InferenceSession(str(path), so)
    ref = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 5):
        x = rng.standard_normal((n, 128)).astype(np.float32)
        np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref.run(None, {"x": x})[0], rtol=1e-4, atol=1e-4)
    info = sess.model_info()
    assert 0 <= info["released_parameter_bytes"] <= info["parameter_bytes"]
