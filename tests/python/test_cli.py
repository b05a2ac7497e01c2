"""The `ferry` command line, run as `python -m ferry` in a subprocess: every subcommand's
output content, --help, and one-line errors with exit code 1 (never a traceback)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


def _cli(*args, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "ferry", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
         helper.make_node("Relu", ["h"], ["y"], name="relu"),
         helper.make_node("Cast", ["ids"], ["ids_f"], to=TensorProto.FLOAT, name="cast")],
        "cli_graph",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("ids_f", TensorProto.FLOAT, [2])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10,
                              producer_name="cli-test", producer_version="2.1")
    path = d / "small.onnx"
    onnx.save(model, path)
    return path


def test_help_for_every_subcommand():
    r = _cli("--help")
    assert r.returncode == 0
    for sub in ("run", "info", "bench"):
        assert sub in r.stdout
    for sub, needle in (("run", "NAME=FILE.npy"), ("info", "op histogram"), ("bench", "--warmup")):
        r = _cli(sub, "--help")
        assert r.returncode == 0, r.stderr
        assert needle in r.stdout


def test_run_default_model(tmp_path):
    r = _cli("run", env_extra={"FERRY_CACHE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "model: ferry-shapes-cnn (bundled default model" in out
    assert "input: 'image' float[batch,1,32,32], given the bundled sample float32[1,1,32,32]" in out
    top = re.findall(r"^\s+(\d)\. (.+?)\s+(\d+\.\d\d)%$", out, re.M)
    assert [t[0] for t in top] == ["1", "2", "3", "4", "5"]
    assert top[0][1] == "triangle"
    probs = [float(t[2]) for t in top]
    assert probs == sorted(probs, reverse=True) and 50 < probs[0] <= 100
    assert re.search(r"^latency: \d+\.\d\d ms$", out, re.M)


def test_run_model_with_and_without_inputs(model_path, tmp_path):
    x = np.array([[1, 0, 0, 0], [0, 0, 0, -1]], np.float32)
    np.save(tmp_path / "x.npy", x)
    r = _cli("run", str(model_path), "--input", f"x={tmp_path / 'x.npy'}", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "input 'ids': not given; using seeded random int64[2] (symbolic dims = 1)" in r.stdout
    assert "input 'x'" not in r.stdout
    assert "output 'y': float32[2,3]  min 0, max 0.2, mean 0.05; first: [0, 0.1, 0.2, 0, 0, 0]" in r.stdout
    assert "output 'ids_f': float32[2]" in r.stdout
    r = _cli("run", str(model_path))
    assert r.returncode == 0, r.stderr
    assert "input 'x': not given; using seeded random float[1,4] (symbolic dims = 1)" in r.stdout
    assert "output 'y': float32[1,3]" in r.stdout


def test_info(model_path):
    r = _cli("info", str(model_path))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("ir_version: 10", "opsets: ai.onnx 13", "producer: cli-test 2.1", "graph: cli_graph",
                   "  x: float[batch,4]", "  ids: int64[2]", "  y: float[batch,3]", "  ids_f: float[2]",
                   "nodes: 3", "parameters: 12 (48 B)"):
        assert needle in out, needle
    assert re.search(r"^  MatMul\s+1$", out, re.M) and re.search(r"^  Cast\s+1$", out, re.M)
    # --level shows the model as a session at that level runs it: MatMul and Relu fused.
    fused = _cli("info", str(model_path), "--level", "extended").stdout
    assert "opsets: ai.onnx 13, ferry 1" in fused and "nodes: 2" in fused, fused
    assert re.search(r"^  ferry:FusedMatMul\s+1$", fused, re.M), fused


def test_bench(model_path):
    r = _cli("bench", str(model_path), "--runs", "20", "--warmup", "2", "--threads", "1")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"^session creation: \d+\.\d\d ms$", out, re.M)
    assert re.search(r"^latency: p50 \d+\.\d+ ms, p90 \d+\.\d+ ms, p99 \d+\.\d+ ms, mean \d+\.\d+ ms$", out, re.M)
    assert re.search(r"^peak resident memory: \d+\.\d MiB$", out, re.M)
    assert re.search(r"^memory plan: peak \d+ B \(without reuse \d+ B\), \d+ planned", out, re.M)
    assert "runs: 20, warmup: 2" in out


@pytest.mark.parametrize("args,needle", [
    (("run", "/nonexistent/model.onnx"), "/nonexistent/model.onnx: no such file"),
    (("info", "/nonexistent/model.onnx"), "no such file"),
    (("bench", "/nonexistent/model.onnx"), "no such file"),
])
def test_missing_model_is_one_line_error(args, needle):
    r = _cli(*args)
    assert r.returncode == 1
    assert r.stderr.startswith("ferry: error: ") and needle in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_bad_model_and_bad_inputs_are_one_line_errors(model_path, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"definitely not onnx")
    r = _cli("info", str(bad))
    assert r.returncode == 1 and r.stderr.startswith("ferry: error: ") and "bad.onnx" in r.stderr
    assert "Traceback" not in r.stderr

    np.save(tmp_path / "wrong.npy", np.zeros((2, 5), np.float32))
    r = _cli("run", str(model_path), "--input", f"x={tmp_path / 'wrong.npy'}")
    assert r.returncode == 1
    assert "ferry: error: " in r.stderr
    assert "input 'x': expected float[batch,4], given float[2,5] (dim 1 is 5, the model requires 4)" in r.stderr
    assert "Traceback" not in r.stderr

    r = _cli("run", str(model_path), "--input", "x")
    assert r.returncode == 1 and "--input expects NAME=FILE.npy" in r.stderr
    r = _cli("run", str(model_path), "--input", f"x={tmp_path / 'absent.npy'}")
    assert r.returncode == 1 and "cannot read" in r.stderr and "Traceback" not in r.stderr
    r = _cli("run", str(model_path), "--input", f"nope={tmp_path / 'wrong.npy'}")
    assert r.returncode == 1 and "unknown input 'nope'" in r.stderr
