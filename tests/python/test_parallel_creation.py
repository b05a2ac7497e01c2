"""Sessions of several threads create their kernels on as many threads (runtime/session.cc), and
weight copies released during creation lend their pages to the next packed weights
(ir/page_pool.h). Results, and which initializers are released, must not depend on either."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper, save

import ferry


def _chain_model(rng):
    """24 MatMul+Relu layers with 256x256 weights (256 KiB: own mappings), one weight read by
    two MatMuls (released once both packed it), one also read by an Add (kept), and a Conv
    chain (oneDNN convolutions packed on any thread)."""
    inits, nodes = [], []
    x = "x"
    for i in range(24):
        w = "shared" if i in (3, 17) else f"w{i}"
        if w != "shared" or i == 3:
            inits.append(numpy_helper.from_array(rng.standard_normal((256, 256)).astype(np.float32) / 16, w))
        nodes.append(helper.make_node("MatMul", [x, w], [f"m{i}"]))
        nodes.append(helper.make_node("Relu", [f"m{i}"], [f"r{i}"]))
        x = f"r{i}"
    nodes.append(helper.make_node("Add", [x, "w5"], ["y"]))  # w5 has a non-packing reader: kept
    c = "img"
    for i in range(6):
        inits.append(numpy_helper.from_array(rng.standard_normal((64, 64 if i else 3, 3, 3)).astype(np.float32) / 8,
                                             f"k{i}"))
        inits.append(numpy_helper.from_array(rng.standard_normal(64).astype(np.float32), f"b{i}"))
        nodes.append(helper.make_node("Conv", [c, f"k{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"cr{i}"]))
        c = f"cr{i}"
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [256, 256]),
         helper.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, 20, 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [256, 256]),
         helper.make_tensor_value_info(c, TensorProto.FLOAT, [1, 64, 20, 20])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("source", ["file", "bytes"])
def test_results_and_releases_do_not_depend_on_creation_threads(tmp_path, source):
    rng = np.random.default_rng(0)
    model = _chain_model(rng)
    path = tmp_path / "chain.onnx"
    save(model, str(path))
    feeds = {"x": rng.standard_normal((256, 256)).astype(np.float32),
             "img": rng.standard_normal((1, 3, 20, 20)).astype(np.float32)}
    want = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    released = {}
    for threads in (1, 2, 4):
        so = ferry.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ferry.InferenceSession(str(path) if source == "file" else model.SerializeToString(), so)
        for _ in range(2):
            for got, ref in zip(sess.run(None, feeds), want):
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
        released[threads] = sess.model_info()["released_parameter_bytes"]
    # Every MatMul weight but w5 (read by the Add too) and every Conv weight and bias.
    expected = 22 * 256 * 256 * 4 + 6 * 64 * 4 + 64 * 3 * 9 * 4 + 5 * 64 * 64 * 9 * 4
    assert released == {1: expected, 2: expected, 4: expected}
