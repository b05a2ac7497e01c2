"""Op tests for the packed float paths of RNN, GRU and LSTM (rnn/rnn_fast.cc): constant weights
(packed at session creation) and weights fed at run time (packed per run), hidden sizes around the
16-unit block, batches around the 4-row GEMM tile, both directions, sequence_lens, initial states,
peepholes, clip, input_forget, linear_before_reset 0/1 and layout 1, at 1 and 2 intra-op threads,
against onnxruntime. Hidden sizes of a few hundred make each time step costly enough that the
recurrence runs on a team of threads (runtime/parallel_steps.h); those run at 1, 2 and 3 threads.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_rnn_fast.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import ferry

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
F32 = np.float32


def make_case(op, seq, batch, inp, hidden, dirs, const, lens=False, h0=False, c0=False, peep=False, seed=""):
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    g = GATES[op] * hidden
    scale = 1.0 / np.sqrt(hidden)
    arrays = {
        "X": rng.standard_normal((seq, batch, inp)).astype(F32),
        "W": (rng.standard_normal((dirs, g, inp)) * scale).astype(F32),
        "R": (rng.standard_normal((dirs, g, hidden)) * scale).astype(F32),
        "B": (rng.standard_normal((dirs, 2 * g)) * 0.5).astype(F32),
    }
    if lens:
        arrays["sequence_lens"] = rng.integers(0, seq + 1, batch).astype(np.int32)
        arrays["sequence_lens"][0] = seq
    if h0:
        arrays["initial_h"] = rng.standard_normal((dirs, batch, hidden)).astype(F32)
    if op == "LSTM":
        if c0:
            arrays["initial_c"] = rng.standard_normal((dirs, batch, hidden)).astype(F32)
        if peep:
            arrays["P"] = rng.standard_normal((dirs, 3 * hidden)).astype(F32)
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"][: 8 if op == "LSTM" else 6]
    names = [n if n in arrays else "" for n in order]
    while names[-1] == "":
        names.pop()
    consts = {"W", "R", "B", "P"} if const else set()
    return arrays, names, consts


def build(op, arrays, names, consts, attrs, n_out, layout=0):
    arrays = dict(arrays)
    if layout:
        arrays["X"] = np.ascontiguousarray(arrays["X"].transpose(1, 0, 2))
        for k in ("initial_h", "initial_c"):
            if k in arrays:
                arrays[k] = np.ascontiguousarray(arrays[k].transpose(1, 0, 2))
        attrs = {**attrs, "layout": 1}
    inputs = [helper.make_tensor_value_info(n, 6 if n == "sequence_lens" else 1, arrays[n].shape)
              for n in names if n and n not in consts]
    inits = [numpy_helper.from_array(arrays[n], n) for n in names if n and n in consts]
    outs = [helper.make_tensor_value_info(f"o{i}", 1, None) for i in range(n_out)]
    node = helper.make_node(op, names, [o.name for o in outs], **attrs)
    model = helper.make_model(helper.make_graph([node], "g", inputs, outs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    feed = {n: arrays[n] for n in names if n and n not in consts}
    return model.SerializeToString(), feed


def expected(op, arrays, names, attrs, n_out):
    model, feed = build(op, arrays, names, set(), attrs, n_out)
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feed)


def run_ferry(model, feed, threads):
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    return ferry.InferenceSession(model, so).run(None, feed)


CASES = []
for op in ["LSTM", "GRU", "RNN"]:
    for seq, batch, inp, hidden in [(7, 3, 5, 16), (6, 5, 9, 20), (4, 9, 3, 37), (3, 1, 17, 64), (5, 4, 8, 1), (3, 2, 48, 32)]:
        for direction, dirs in [("forward", 1), ("reverse", 1), ("bidirectional", 2)]:
            CASES.append((op, seq, batch, inp, hidden, direction, dirs))

IDS = [f"{c[0]}-s{c[1]}b{c[2]}i{c[3]}h{c[4]}-{c[5]}" for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("const", [True, False], ids=["const", "fed"])
@pytest.mark.parametrize("threads", [1, 2])
def test_shapes(case, const, threads):
    op, seq, batch, inp, hidden, direction, dirs = case
    n_out = 3 if op == "LSTM" else 2
    extra = {"linear_before_reset": hidden % 2} if op == "GRU" else {}
    attrs = {"hidden_size": hidden, "direction": direction, **extra}
    arrays, names, consts = make_case(op, seq, batch, inp, hidden, dirs, const, lens=batch > 1, h0=True, c0=True,
                                      peep=op == "LSTM", seed="-".join(map(str, case)))
    want = expected(op, arrays, names, attrs, n_out)
    model, feed = build(op, arrays, names, consts, attrs, n_out)
    got = run_ferry(model, feed, threads)
    for i, (g, e) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")


ATTR_CASES = [
    ("LSTM", {"clip": 0.9}),
    ("LSTM", {"input_forget": 1}),
    ("LSTM", {"activations": ["HardSigmoid", "Tanh", "Softsign"], "activation_alpha": [0.25],
              "activation_beta": [0.45]}),
    ("GRU", {"clip": 0.8, "linear_before_reset": 0}),
    ("GRU", {"clip": 0.8, "linear_before_reset": 1}),
    ("GRU", {"activations": ["Sigmoid", "Relu"], "linear_before_reset": 0}),
    ("RNN", {"clip": 0.5}),
    ("RNN", {"activations": ["Relu"]}),
]


@pytest.mark.parametrize("op,attrs", ATTR_CASES, ids=[f"{o}-{'-'.join(a)}" for o, a in ATTR_CASES])
@pytest.mark.parametrize("threads", [1, 2])
def test_attributes(op, attrs, threads):
    hidden, dirs = 33, 2
    n_out = 3 if op == "LSTM" else 2
    attrs = {"hidden_size": hidden, "direction": "bidirectional", **attrs}
    if "activations" in attrs:
        attrs["activations"] = attrs["activations"] * 2
        for k in ("activation_alpha", "activation_beta"):
            if k in attrs:
                attrs[k] = attrs[k] * 2
    arrays, names, consts = make_case(op, 6, 5, 7, hidden, dirs, True, lens=True, h0=True, c0=True,
                                      peep=op == "LSTM", seed=f"{op}{sorted(attrs.items())}")
    want = expected(op, arrays, names, attrs, n_out)
    model, feed = build(op, arrays, names, consts, attrs, n_out)
    got = run_ferry(model, feed, threads)
    for i, (g, e) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("threads", [1, 2])
def test_layout1_constant_weights(op, threads):
    """Batch-major X and states with packed weights, against onnxruntime on the layout-0 problem."""
    hidden, dirs = 24, 2
    n_out = 3 if op == "LSTM" else 2
    attrs = {"hidden_size": hidden, "direction": "bidirectional"}
    arrays, names, consts = make_case(op, 5, 6, 4, hidden, dirs, True, lens=True, h0=True, c0=True,
                                      peep=op == "LSTM", seed=f"layout1{op}")
    want = expected(op, arrays, names, attrs, n_out)
    model, feed = build(op, arrays, names, consts, attrs, n_out, layout=1)
    got = run_ferry(model, feed, threads)
    np.testing.assert_allclose(got[0], want[0].transpose(2, 0, 1, 3), rtol=1e-5, atol=1e-5)
    for i in range(1, n_out):
        np.testing.assert_allclose(got[i], want[i].transpose(1, 0, 2), rtol=1e-5, atol=1e-5)


# (op, seq, batch, input, hidden, direction, extra attributes): steps big enough to be split over
# threads (several hundred units; batches of 1 and 3 with sequence_lens), and one just below the
# split threshold (LSTM hidden 150 at batch 1).
TEAM_CASES = [
    ("LSTM", 9, 1, 13, 150, "forward", {}),
    ("LSTM", 7, 3, 10, 150, "bidirectional", {}),
    ("LSTM", 6, 1, 21, 257, "reverse", {"input_forget": 1}),
    ("GRU", 8, 1, 11, 200, "bidirectional", {"linear_before_reset": 1}),
    ("GRU", 8, 3, 11, 200, "bidirectional", {"linear_before_reset": 0}),
    ("GRU", 5, 2, 6, 241, "reverse", {"linear_before_reset": 0}),
    ("RNN", 6, 2, 7, 333, "forward", {}),
    ("RNN", 4, 1, 5, 400, "bidirectional", {}),
]


@pytest.mark.parametrize("case", TEAM_CASES, ids=[f"{c[0]}-s{c[1]}b{c[2]}h{c[4]}-{c[5]}-{c[6]}" for c in TEAM_CASES])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_recurrence_on_threads(case, threads):
    op, seq, batch, inp, hidden, direction, extra = case
    dirs = 2 if direction == "bidirectional" else 1
    n_out = 3 if op == "LSTM" else 2
    attrs = {"hidden_size": hidden, "direction": direction, **extra}
    arrays, names, consts = make_case(op, seq, batch, inp, hidden, dirs, True, lens=batch > 1, h0=True, c0=True,
                                      peep=op == "LSTM", seed=f"team{case}")
    want = expected(op, arrays, names, attrs, n_out)
    model, feed = build(op, arrays, names, consts, attrs, n_out)
    got = run_ferry(model, feed, threads)
    for i, (g, e) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")

def test_activation_range():
    """Vectorized sigmoid/tanh over the whole float range (tiny, large, saturating, +-0, odd lengths)
    through a one-step RNN with identity weights."""
    x = np.concatenate([np.linspace(-100, 100, 2001), np.logspace(-30, 2, 300), -np.logspace(-30, 2, 300),
                        [0.0, -0.0, 88.0, -88.0, 89.0, -89.0]]).astype(F32)
    n = x.size
    for act in ["Tanh", "Sigmoid"]:
        w = np.eye(n, dtype=F32)[None]
        r = np.zeros((1, n, n), F32)
        node = helper.make_node("RNN", ["x", "w", "r"], ["y"], hidden_size=n, activations=[act])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 1, n])],
                                  [helper.make_tensor_value_info("y", 1, None)],
                                  initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(r, "r")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        model.ir_version = 8
        got = ferry.InferenceSession(model.SerializeToString()).run(None, {"x": x[None, None]})[0].reshape(-1)
        xd = x.astype(np.float64)
        ref = np.tanh(xd) if act == "Tanh" else 1 / (1 + np.exp(-xd))
        np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-7, err_msg=act)


def dynamic_seq_model(op, hidden, inp, seed):
    """A constant-weight bidirectional `op` whose X has a free sequence length; returns the
    serialized model and a feed maker seq -> {"X": ...}."""
    arrays, names, consts = make_case(op, 2, 2, inp, hidden, 2, True, seed=seed)
    n_out = 3 if op == "LSTM" else 2
    x = helper.make_tensor_value_info("X", 1, ["seq", 2, inp])
    inits = [numpy_helper.from_array(arrays[n], n) for n in names if n in consts]
    outs = [helper.make_tensor_value_info(f"o{i}", 1, None) for i in range(n_out)]
    extra = {"linear_before_reset": 1} if op == "GRU" else {}
    node = helper.make_node(op, names, [o.name for o in outs], hidden_size=hidden, direction="bidirectional", **extra)
    model = helper.make_model(helper.make_graph([node], "g", [x], outs, initializer=inits),
                              opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    rng = np.random.default_rng(zlib.crc32(seed.encode()) + 1)
    return model.SerializeToString(), lambda seq: {"X": rng.standard_normal((seq, 2, inp)).astype(F32)}


@pytest.mark.parametrize("threads", [1, 2])
def test_run_buffers_reused_across_runs_and_kernels(threads):
    """The per-run arrays come from a per-thread buffer kept between runs (RunBuffers): runs whose
    sizes grow and shrink, of three kernels in turn, each match onnxruntime (stale contents of an
    earlier, larger or different run must not leak into a later one)."""
    cases = [dynamic_seq_model(op, hidden, 5, f"reuse{op}") for op, hidden in [("GRU", 40), ("LSTM", 33), ("RNN", 70)]]
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    sessions = [(ferry.InferenceSession(m, so), ort.InferenceSession(m, providers=["CPUExecutionProvider"]), mk)
                for m, mk in cases]
    for seq in [9, 2, 17, 1, 9]:
        for fs, os_, mk in sessions:
            feed = mk(seq)
            for g, e in zip(fs.run(None, feed), os_.run(None, feed)):
                np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"seq {seq}")


def test_run_buffers_concurrent_runs():
    """Several Python threads run one session at once: each run's arrays are its own."""
    import concurrent.futures

    model, mk = dynamic_seq_model("GRU", 48, 6, "concurrent")
    sess = ferry.InferenceSession(model)
    ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feeds = [mk(seq) for seq in [3, 11, 6, 14, 1, 8, 5, 12]]
    want = [ref.run(None, f) for f in feeds]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for _ in range(5):
            got = list(ex.map(lambda f: sess.run(None, f), feeds))
            for gs, es in zip(got, want):
                for g, e in zip(gs, es):
                    np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
