"""bench/ (make bench) works: the driver end to end on one smoke model, the FLOP counter on
hand-built graphs, the sgemm probe. Benchmarks themselves never run in make test."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("FERRY_BUILD_DIR", ROOT / "build"))
sys.path.insert(0, str(ROOT / "bench"))

import flops  # noqa: E402
import report  # noqa: E402


def _model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def test_flops_matmul_2x3_by_3x4():
    # 2 rows x 4 columns, each a dot product of length 3: 2*4*3 = 24 multiply-adds = 48 FLOPs.
    m = _model([helper.make_node("MatMul", ["a", "b"], ["y"])],
               [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    feeds = {"a": np.ones((2, 3), np.float32), "b": np.ones((3, 4), np.float32)}
    assert flops.count_flops(m, feeds) == {"total": 48, "by_op": {"MatMul": 48}}


def test_flops_conv_gemm_and_computed_shapes():
    # Conv: x [1, 2, 5, 5], w [4, 2, 3, 3], pads 1 -> y [1, 4, 5, 5]:
    #   each of 4*5*5 = 100 outputs sums 2*3*3 = 18 products: 1800 multiply-adds = 3600 FLOPs.
    # Grouped conv, group 2, stride 2, no pads: w [4, 2, 3, 3] on y [1, 4, 5, 5] -> [1, 4, 2, 2]:
    #   16 outputs x (4/2)*3*3 = 18 products: 288 multiply-adds = 576 FLOPs.
    # Flatten -> [1, 16] (a shape only known by running), Gemm with w [16, 10] (transB 0):
    #   10 outputs x 16 products = 160 multiply-adds = 320 FLOPs.
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bias"),
             numpy_helper.from_array(rng.standard_normal((16, 10)).astype(np.float32), "wg")]
    m = _model([helper.make_node("Conv", ["x", "w1", "bias"], ["c1"], pads=[1, 1, 1, 1]),
                helper.make_node("Conv", ["c1", "w2"], ["c2"], group=2, strides=[2, 2]),
                helper.make_node("Flatten", ["c2"], ["f"]),
                helper.make_node("Gemm", ["f", "wg"], ["y"])],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2, "h", "w"])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    counted = flops.count_flops(m, {"x": np.ones((1, 2, 5, 5), np.float32)})
    assert counted["by_op"] == {"Conv": 3600 + 576, "Gemm": 320}
    assert counted["total"] == 3600 + 576 + 320


def test_flops_batched_matmul_broadcast_and_einsum():
    # [2, 1, 3, 4] @ [5, 4, 6] broadcasts to batch [2, 5]: 10 * 3*6*4 = 720 multiply-adds.
    # Einsum "nd,ndh->nh" with n=3, d=4, h=6: 3*4*6 = 72 multiply-adds.
    m = _model([helper.make_node("MatMul", ["a", "b"], ["y"]),
                helper.make_node("Einsum", ["p", "q"], ["z"], equation="nd,ndh->nh")],
               [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 1, 3, 4]),
                helper.make_tensor_value_info("b", TensorProto.FLOAT, [5, 4, 6]),
                helper.make_tensor_value_info("p", TensorProto.FLOAT, [3, 4]),
                helper.make_tensor_value_info("q", TensorProto.FLOAT, [3, 4, 6])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    feeds = {"a": np.ones((2, 1, 3, 4), np.float32), "b": np.ones((5, 4, 6), np.float32),
             "p": np.ones((3, 4), np.float32), "q": np.ones((3, 4, 6), np.float32)}
    assert flops.count_flops(m, feeds)["by_op"] == {"MatMul": 1440, "Einsum": 144}


def test_flops_conv_transpose_and_lstm():
    # ConvTranspose x [1, 4, 3, 3], w [4, 2, 2, 2] (Cin 4, Cout 2), stride 2: every one of the
    # 4*3*3 = 36 input values is scattered to 2 channels x 2x2 taps: 288 multiply-adds.
    # LSTM over X [seq 5, batch 2, input 3], hidden 4 (W [1, 16, 3], R [1, 16, 4]): per step and
    # batch row, 16 gate values each from 3 inputs + 4 hidden: 5*2*16*7 = 1120 multiply-adds.
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 2, 2, 2)).astype(np.float32), "wt"),
             numpy_helper.from_array(rng.standard_normal((1, 16, 3)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.standard_normal((1, 16, 4)).astype(np.float32), "R")]
    m = _model([helper.make_node("ConvTranspose", ["x", "wt"], ["y"], strides=[2, 2]),
                helper.make_node("LSTM", ["s", "W", "R"], ["h"], hidden_size=4)],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 3, 3]),
                helper.make_tensor_value_info("s", TensorProto.FLOAT, [5, 2, 3])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                helper.make_tensor_value_info("h", TensorProto.FLOAT, None)], inits)
    feeds = {"x": np.ones((1, 4, 3, 3), np.float32), "s": np.ones((5, 2, 3), np.float32)}
    assert flops.count_flops(m, feeds)["by_op"] == {"ConvTranspose": 576, "LSTM": 2240}


def test_sgemm_probe_reports_positive_gflops():
    probe = BUILD / "ferry_sgemm_probe"
    if not probe.exists():
        pytest.skip(f"{probe} not built (cmake --build {BUILD} --target ferry_sgemm_probe)")
    proc = subprocess.run([str(probe), "--threads", "1", "--sizes", "128,256", "--reps", "2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["n"] for r in data["results"]] == [128, 256]
    assert all(r["gflops"] > 0 and r["seconds"] > 0 for r in data["results"])
    assert data["peak_gflops"]["1"] == max(r["gflops"] for r in data["results"])


def test_driver_on_a_smoke_model(tmp_path):
    env = dict(os.environ)
    env.setdefault("FERRY_ZOO_CACHE", str(BUILD / "model-zoo"))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run_bench.py"), "--models", "mobilenetv2",
                           "--size", "smoke", "--threads", "1", "--runs", "3", "--warmup", "1",
                           "--batch8-runs", "2", "--processes", "2", "--batch8-processes", "1", "--probe-sizes", "128", "--out", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "100%" in proc.stderr  # the progress bar reached the end

    results = json.loads((tmp_path / "results.json").read_text())
    entry = results["models"]["mobilenetv2"]
    assert set(entry["batches"]) == {"1", "8"}  # a vision recipe: batch-8 throughput too
    for batch, runs, pairs in (("1", 3, 2), ("8", 2, 1)):
        cell = entry["batches"][batch]["threads_1"]
        assert set(cell) == {"ferry", "onnxruntime"}
        for engine, s in cell.items():
            assert "error" not in s, (engine, s)
            assert s["runs"] == runs
            assert 0 < s["min_s"] <= s["p50_s"] <= s["p90_s"]
            assert s["creation_s"] > 0
            assert s["peak_rss_kb"] >= s["rss_before_session_kb"] > 0
            # `pairs` processes per engine; each figure is their median, the fastest run their minimum.
            assert s["processes"] == pairs and len(s["per_process"]) == pairs
            assert s["p50_s"] == pytest.approx(np.median([p["p50_s"] for p in s["per_process"]]))
            assert s["creation_s"] == pytest.approx(np.median([p["creation_s"] for p in s["per_process"]]))
            assert s["min_s"] == min(p["min_s"] for p in s["per_process"])
            assert all(p["runs"] == runs for p in s["per_process"])
        assert report.ratio(cell, "p50_s") == pytest.approx(cell["ferry"]["p50_s"] / cell["onnxruntime"]["p50_s"])
    assert entry["batches"]["1"]["flops"] > 0

    cell = entry["batches"]["1"]["threads_1"]
    table = (tmp_path / "RESULTS.md").read_text()
    assert "median over 2 fresh processes per engine (1 fresh process at batch 8)" in table
    p50 = f"{report.ratio(cell, 'p50_s'):.2f}"
    row = next(line for line in table.splitlines() if line.startswith("| mobilenetv2 |"))
    assert f"{cell['ferry']['p50_s'] * 1e3:.2f} | {cell['onnxruntime']['p50_s'] * 1e3:.2f} | {p50}" in row
    assert row.split(" | ")[5].endswith("✓" if float(p50) <= 0.9 else "✗")
    pair_ratios = [a["p50_s"] / b["p50_s"] for a, b in zip(cell["ferry"]["per_process"],
                                                          cell["onnxruntime"]["per_process"])]
    assert row.split(" | ")[6] == f"{min(pair_ratios):.2f}–{max(pair_ratios):.2f}"
    assert "## Session creation" in table and "## Peak resident memory" in table
    rate = entry["batches"]["1"]["flops"] / cell["ferry"]["p50_s"] / 1e9
    gflops_rows = table.split("## GEMM/conv arithmetic rate")[1].splitlines()
    assert any(r.startswith("| mobilenetv2 |") and f"| {rate:.1f} |" in r for r in gflops_rows)
    png = (tmp_path / "results.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
