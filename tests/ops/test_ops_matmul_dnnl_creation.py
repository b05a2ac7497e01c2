"""The oneDNN matmul primitives made at session creation are the ones the runs use
(execution_providers/cpu/dnnl/matmul_dnnl.h, DnnlShapeHint): a first run with the shapes the
model's inferred types give (symbolic dims as 1) makes no new primitive, for a rank-3 A over a
prepacked B, a Gemm with a per-column C (bias) and a Gemm classifier of one row (streamed over
the packed panels, no primitive at all). oneDNN's verbose log (ONEDNN_VERBOSE=2, in a child
process) lists each primitive made; results are checked against onnxruntime at batch 1 and 3.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_matmul_dnnl_creation.py -q
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

THREADS = (1, 2)

CHILD = textwrap.dedent("""
    import ctypes, os, sys
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    import ferry

    rng = np.random.default_rng(7)
    w = lambda *s: rng.standard_normal(s).astype(np.float32)
    inits = [numpy_helper.from_array(v, k) for k, v in
             {"W1": w(16, 40), "b1": w(40), "W2": w(40, 10), "c2": w(10), "W3": w(40, 24)}.items()]
    nodes = [
        helper.make_node("MatMul", ["X", "W1"], ["h"]),          # [batch, 7, 16] x [16, 40]
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["Y1"]),
        helper.make_node("MatMul", ["Y1", "W3"], ["Y3"]),        # rank-3 A, no bias
        helper.make_node("Gemm", ["Z", "W2", "c2"], ["Y2"]),     # [batch, 40] x [40, 10] + C
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("X", f, ["batch", 7, 16]), helper.make_tensor_value_info("Z", f, ["batch", 40])],
        [helper.make_tensor_value_info(n, f, None) for n in ("Y1", "Y2", "Y3")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()

    libc = ctypes.CDLL(None)
    def mark(text):
        sys.stdout.flush()
        libc.fflush(None)
        os.write(1, ("@@ " + text + "\\n").encode())

    so = ferry.SessionOptions()
    so.intra_op_num_threads = int(sys.argv[1])
    sess = ferry.InferenceSession(model, so)
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        feeds = {"X": w(batch, 7, 16), "Z": w(batch, 40)}
        mark(f"run batch {batch}")
        got = sess.run(None, feeds)
        mark("checked")
        for g, r in zip(got, ref.run(None, feeds)):
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)
    mark("done")
""")


def matmul_primitives_by_phase(log: str) -> dict:
    """Phase (the text after '@@ ') -> matmul primitives oneDNN made in it ('create' lines)."""
    phase, made = "creation", {}
    for line in log.splitlines():
        if line.startswith("@@ "):
            phase = line[3:]
        elif line.startswith("onednn_verbose,create") and ",matmul," in line:
            made[phase] = made.get(phase, 0) + 1
    return made


@pytest.mark.parametrize("threads", THREADS)
def test_first_run_uses_the_primitives_made_at_creation(threads):
    env = dict(os.environ, ONEDNN_VERBOSE="2")
    done = subprocess.run([sys.executable, "-c", CHILD, str(threads)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "@@ done" in done.stdout
    made = matmul_primitives_by_phase(done.stdout)
    assert made.get("creation", 0) >= 2, made          # the MatMuls' primitives (rank-3 A over packed B)
    assert made.get("run batch 1", 0) == 0, made       # the shapes creation foresaw: nothing new
    assert made.get("run batch 3", 0) >= 1, made       # other rows make their own (the log does show them)
