"""Bad input through the user-facing doors (Python API and the `ferry` CLI).

Each case must give one clear error naming what was wrong — the file, the node or tensor, the
input — and a non-zero exit from the CLI; never a crash, hang or unbounded allocation. The
same cases run in C++ under AddressSanitizer + UBSan in the unit suite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry


def _relu_model(**graph_overrides) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    nodes = graph_overrides.get("nodes", [helper.make_node("Relu", ["x"], ["y"], name="relu")])
    graph = helper.make_graph(nodes, "g", [x], [y], graph_overrides.get("initializer", []))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _valid_bytes() -> bytes:
    return _relu_model().SerializeToString()


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ferry", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ))


def _expect_clear_failure(path: str, *needles: str) -> str:
    """The Python API raises with every needle in the message; the CLI exits 1 with it too."""
    with pytest.raises(Exception) as info:
        ferry.InferenceSession(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in error message: {message}"
    proc = _cli("info", path)
    assert proc.returncode == 1, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().startswith("ferry: error:"), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    return message


def test_truncated_file(tmp_path):
    path = tmp_path / "truncated.onnx"
    path.write_bytes(_valid_bytes()[:-7])
    _expect_clear_failure(str(path), "truncated.onnx")


def test_random_bytes(tmp_path):
    path = tmp_path / "random.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_clear_failure(str(path), "random.onnx")


def test_missing_file(tmp_path):
    _expect_clear_failure(str(tmp_path / "nowhere.onnx"), "nowhere.onnx")


def test_graph_with_cycle(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second"),
             helper.make_node("Identity", ["b"], ["y"], name="out")]
    path = tmp_path / "cycle.onnx"
    path.write_bytes(_relu_model(nodes=nodes).SerializeToString())
    message = _expect_clear_failure(str(path), "cycle.onnx", "cycle")
    assert "first" in message or "second" in message


def test_undefined_input_name(tmp_path):
    nodes = [helper.make_node("Add", ["x", "nowhere"], ["y"], name="adder")]
    path = tmp_path / "undefined.onnx"
    path.write_bytes(_relu_model(nodes=nodes).SerializeToString())
    _expect_clear_failure(str(path), "undefined.onnx", "adder", "nowhere")


def test_missing_required_attribute(tmp_path):
    # Transpose has none required; Gather has none; Constant needs one of its value attributes,
    # and Cast requires 'to'.
    nodes = [helper.make_node("Cast", ["x"], ["y"], name="caster")]
    path = tmp_path / "noattr.onnx"
    path.write_bytes(_relu_model(nodes=nodes).SerializeToString())
    _expect_clear_failure(str(path), "noattr.onnx", "caster", "'to'")


def test_tensor_size_disagrees_with_data(tmp_path):
    bias = numpy_helper.from_array(np.ones(4, np.float32), "bias")
    bias.dims[:] = [5]  # declares 5 floats, holds 4
    nodes = [helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")]
    path = tmp_path / "size.onnx"
    path.write_bytes(_relu_model(nodes=nodes, initializer=[bias]).SerializeToString())
    _expect_clear_failure(str(path), "size.onnx", "bias")


def test_dim_of_two_to_the_62(tmp_path):
    huge = TensorProto(name="huge", data_type=TensorProto.FLOAT, dims=[2 ** 62], raw_data=b"\0" * 16)
    nodes = [helper.make_node("Add", ["x", "huge"], ["y"], name="add_huge")]
    path = tmp_path / "huge.onnx"
    path.write_bytes(_relu_model(nodes=nodes, initializer=[huge]).SerializeToString())
    _expect_clear_failure(str(path), "huge.onnx", "huge")


@pytest.mark.parametrize("location", ["/etc/passwd", "../outside.bin", "sub/../../outside.bin"])
def test_external_data_escaping_model_directory(tmp_path, location):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (tmp_path / "outside.bin").write_bytes(np.ones(4, np.float32).tobytes())
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [4], vals=np.ones(4, np.float32).tobytes(), raw=True)
    bias.ClearField("raw_data")
    bias.data_location = TensorProto.EXTERNAL
    entry = bias.external_data.add()
    entry.key, entry.value = "location", location
    nodes = [helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")]
    path = model_dir / "escape.onnx"
    path.write_bytes(_relu_model(nodes=nodes, initializer=[bias]).SerializeToString())
    _expect_clear_failure(str(path), "escape.onnx", "bias", location)


def test_bad_feeds_name_input_and_shapes():
    session = ferry.InferenceSession(_valid_bytes())
    good = np.ones((2, 4), np.float32)
    cases = [
        ({"nope": good}, ["nope"]),
        ({}, ["x"]),
        ({"x": good.astype(np.float64)}, ["x", "float", "double"]),
        ({"x": np.ones((2, 4, 1), np.float32)}, ["x", "rank"]),
        ({"x": np.ones((2, 5), np.float32)}, ["x", "[batch,4]", "[2,5]"]),
    ]
    for feed, needles in cases:
        with pytest.raises(Exception) as info:
            session.run(None, feed)
        for needle in needles:
            assert needle in str(info.value), (feed.keys(), str(info.value))
    # The session still works afterwards, and the caller's array was not touched.
    before = good.copy()
    (out,) = session.run(None, {"x": good})
    np.testing.assert_array_equal(good, before)
    np.testing.assert_array_equal(out, np.maximum(good, 0))


def test_cli_bad_input_file_arguments(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(_valid_bytes())
    np.save(tmp_path / "wrong.npy", np.ones((3, 3), np.float32))
    proc = _cli("run", str(path), "--input", f"x={tmp_path / 'wrong.npy'}")
    assert proc.returncode == 1 and "x" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = _cli("run", str(path), "--input", f"x={tmp_path / 'missing.npy'}")
    assert proc.returncode == 1 and "missing.npy" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
