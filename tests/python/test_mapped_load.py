"""Loading a model file maps it and lets large embedded weights alias the mapping (or be copied
out of it when misaligned) instead of copying them through protobuf: results must match
onnxruntime for weights at every alignment, in initializers, Constant attributes, sparse
initializers and subgraphs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry


def _model(pad: int):
    rng = np.random.default_rng(pad)
    # `pad` bytes of doc_string before the weights shift their payload's alignment in the file.
    w1 = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float32), "w1")
    w1.doc_string = "x" * pad
    w2 = numpy_helper.from_array(rng.standard_normal((64, 64)).astype(np.float64), "w2")
    idx = numpy_helper.from_array(rng.integers(0, 64, size=100).astype(np.int64), "idx")
    small = numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "small")
    const = helper.make_tensor("c", TensorProto.FLOAT, [64], rng.standard_normal(64).astype(np.float32).tobytes(),
                               raw=True)
    sparse_vals = numpy_helper.from_array(rng.standard_normal(80).astype(np.float32), "sp")
    sparse_idx = numpy_helper.from_array(np.arange(0, 4096, 51, dtype=np.int64)[:80], "")
    sparse = helper.make_sparse_tensor(sparse_vals, sparse_idx, [64, 64])
    then_w = numpy_helper.from_array(rng.standard_normal((64,)).astype(np.float32), "then_w")
    then_g = helper.make_graph([helper.make_node("Add", ["cv", "then_w"], ["o"])], "then", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [64])], [then_w])
    else_g = helper.make_graph([helper.make_node("Identity", ["cv"], ["o2"])], "else", [],
                               [helper.make_tensor_value_info("o2", TensorProto.FLOAT, [64])])
    nodes = [
        helper.make_node("Constant", [], ["cv"], value=const),
        helper.make_node("MatMul", ["x", "w1"], ["a"]),
        helper.make_node("Cast", ["w2"], ["w2f"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["a", "w2f"], ["b"]),
        helper.make_node("MatMul", ["b", "sp"], ["b2"]),
        helper.make_node("Gather", ["b2", "idx"], ["g"], axis=1),
        helper.make_node("ReduceSum", ["g"], ["s"], keepdims=0),
        helper.make_node("Greater", ["s", "zero"], ["cond"]),
        helper.make_node("If", ["cond"], ["branch"], then_branch=then_g, else_branch=else_g),
        helper.make_node("Mul", ["branch", "small_sum"], ["y1"]),
        helper.make_node("ReduceSum", ["small"], ["small_sum"], keepdims=0),
    ]
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [64]),
                               helper.make_tensor_value_info("g", TensorProto.FLOAT, [1, 100])],
                              [w1, w2, idx, small, zero], sparse_initializer=[sparse])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return onnx.shape_inference.infer_shapes(model)


@pytest.mark.parametrize("pad", [0, 1, 2, 3, 5, 7])
@pytest.mark.parametrize("level", [ferry.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                   ferry.GraphOptimizationLevel.ORT_ENABLE_ALL])
def test_mapped_weights_match_onnxruntime(tmp_path, pad, level):
    model = _model(pad)
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    x = np.random.default_rng(9).standard_normal((1, 64)).astype(np.float32)
    so = ferry.SessionOptions()
    so.graph_optimization_level = level
    got = ferry.InferenceSession(str(path), so).run(None, {"x": x})
    from_bytes = ferry.InferenceSession(path.read_bytes(), so).run(None, {"x": x})
    want = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    for g, b, w in zip(got, from_bytes, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(g, b)


def test_truncated_file_is_reported(tmp_path):
    path = tmp_path / "m.onnx"
    data = _model(0).SerializeToString()
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ferry.InvalidModel, match="protobuf parse failed"):
        ferry.InferenceSession(str(path))
