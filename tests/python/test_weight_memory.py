"""Large weights of a model file: payloads aligned for their dtype alias the mapped file, the
others are copied into mappings of their own; MatMul weights are reordered straight from either
into their packed copy (or copied, when oneDNN keeps B's own layout) and the initializer is
released. Results must match onnxruntime at several row counts (a new M may need another packed
layout, made from the first) and threads, and the released bytes are exactly the weights that
only MatMuls read."""

from __future__ import annotations

import itertools

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

K = 256  # w_b (K x 4608 floats, 4.5 MiB) spans more than one 4 MiB copy chunk


def _model(rng, misalign: dict[str, int]):
    """MatMul chain over 2-D weights, a 1-D weight (B of one column), and a weight an Add also
    reads; each weight's raw_data starts at a byte offset whose remainder mod 4 is misalign[name]
    (found by padding the names)."""
    shapes = {"w_a": (K, K), "w_b": (K, 4608), "w_add": (4608,), "w_col": (4608,)}
    arrays = {n: (rng.standard_normal(s) / np.sqrt(s[0])).astype(np.float32) for n, s in shapes.items()}

    def build(pads):
        r = {n: n + "_" * p for n, p in zip(shapes, pads)}
        inits = [numpy_helper.from_array(arrays[n], r[n]) for n in shapes]
        nodes = [
            helper.make_node("MatMul", ["x", r["w_a"]], ["a"], name="m" * (1 + pads[-1])),
            helper.make_node("MatMul", ["a", r["w_b"]], ["b"]),
            helper.make_node("Add", ["b", r["w_add"]], ["c"]),
            helper.make_node("MatMul", ["c", r["w_add"]], ["d"]),  # w_add: packed by one reader, kept
            helper.make_node("MatMul", ["c", r["w_col"]], ["e"]),
        ]
        graph = helper.make_graph(
            nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", K])],
            [helper.make_tensor_value_info("d", TensorProto.FLOAT, ["n"]),
             helper.make_tensor_value_info("e", TensorProto.FLOAT, ["n"])], inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    for pads in itertools.product(range(4), repeat=len(shapes) + 1):
        data = build(pads).SerializeToString()
        if all(data.find(arrays[n].tobytes()) % 4 == misalign[n] for n in shapes):
            return data, arrays
    raise AssertionError("could not place the payloads")


@pytest.mark.parametrize("shift", [0, 1, 2])
def test_aliased_and_copied_weights_match_onnxruntime(tmp_path, shift):
    rng = np.random.default_rng(10 + shift)
    misalign = {"w_a": shift, "w_b": (shift + 1) % 4, "w_add": (shift + 3) % 4, "w_col": (shift + 2) % 4}
    data, arrays = _model(rng, misalign)
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    ref = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for threads in (1, 2):
        so = ferry.SessionOptions()
        so.intra_op_num_threads = threads
        sess = ferry.InferenceSession(str(path), so)
        for n in (1, 7, 64, 3):
            x = rng.standard_normal((n, K)).astype(np.float32)
            for got, want in zip(sess.run(None, {"x": x}), ref.run(None, {"x": x})):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        info = sess.model_info()
        only_matmul = sum(arrays[n].nbytes for n in ("w_a", "w_b", "w_col"))
        assert info["parameter_bytes"] == sum(a.nbytes for a in arrays.values())
        assert info["released_parameter_bytes"] == only_matmul
