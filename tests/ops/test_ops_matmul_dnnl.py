"""MatMul / Gemm / ferry.FusedGemm / ferry.FusedMatMul on the oneDNN path
(execution_providers/cpu/dnnl/matmul_dnnl.h) against onnxruntime, at 1 and 2 threads: constant
(prepacked) and fed B, transposes, batch broadcasting, 1-D operands, every Gemm C shape on both the
bias path (alpha == 1) and the sum path (alpha != 1), every fusable activation as post-ops, M = 1,
odd sizes, rank 8, an empty K (Eigen fallback), and a prepacked B reused across runs
of varying M, also from concurrent threads.

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_matmul_dnnl.py -q
"""

from __future__ import annotations

import threading
import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry
from test_ferry_fusion_ops import act_nodes

F32 = np.float32
THREADS = (1, 2)


def floats_attr(name: str, values: list):
    return helper.make_attribute(name, values, attr_type=onnx.AttributeProto.FLOATS)


def make_model(nodes, feeds: dict, consts: dict, domain_ferry: bool = False, extra_inits=()):
    inputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in feeds.items()]
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()] + list(extra_inits)
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("ferry", 1)] if domain_ferry else [])
    return helper.make_model(graph, opset_imports=opsets, ir_version=8).SerializeToString()


def ort_run(model: bytes, feeds: dict):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def ferry_session(model: bytes, threads: int):
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    return ferry.InferenceSession(model, so)


def arrays(name: str, shapes: list):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [rng.standard_normal(s).astype(F32) for s in shapes]


def split(names, values, const):
    feeds = {n: v for n, v, c in zip(names, values, const) if not c}
    consts = {n: v for n, v, c in zip(names, values, const) if c}
    return feeds, consts


# (name, A shape, B shape)
MATMULS = [
    ("linear", (2, 33, 70), (70, 45)), ("m1_decode", (1, 1, 64), (64, 96)), ("square", (128, 64), (64, 64)),
    ("qk", (1, 3, 16, 8), (1, 3, 8, 16)), ("bcast_b_batch", (2, 3, 5, 7), (1, 3, 7, 4)),
    ("bcast_both", (3, 1, 4, 6), (2, 6, 5)), ("bcast_a_2d", (5, 6), (3, 6, 4)), ("vec_a", (6,), (6, 5)),
    ("vec_b", (4, 6), (6,)), ("vec_vec", (9,), (9,)), ("batch_vec_b", (2, 3, 6), (6,)),
    ("empty_m", (0, 4), (4, 3)), ("empty_k", (3, 0), (0, 4)), ("odd", (7, 13), (13, 1)),
    ("rank8", (2, 1, 1, 1, 1, 2, 3, 4), (2, 1, 1, 1, 1, 2, 4, 5)),
]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("const_b", [False, True], ids=["fed_b", "const_b"])
@pytest.mark.parametrize("name,sa,sb", MATMULS, ids=[m[0] for m in MATMULS])
def test_matmul(name, sa, sb, const_b, threads):
    a, b = arrays(name, [sa, sb])
    feeds, consts = split(["A", "B"], [a, b], [False, const_b])
    model = make_model([helper.make_node("MatMul", ["A", "B"], ["Y"])], feeds, consts)
    got = ferry_session(model, threads).run(None, feeds)[0]
    want = ort_run(model, feeds)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# Gemm C shapes for M = 6, N = 5; alpha 1 puts C in oneDNN's bias, alpha != 1 in a sum post-op.
C_SHAPES = [("none", None), ("row", (5,)), ("row2d", (1, 5)), ("col", (6, 1)), ("full", (6, 5)), ("scalar", ()),
            ("one", (1, 1))]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("const", [False, True], ids=["fed", "const_bc"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (1.0, 0.5), (0.5, 2.0)], ids=["a1b1", "a1b05", "a05b2"])
@pytest.mark.parametrize("ta,tb", [(0, 0), (0, 1), (1, 0), (1, 1)], ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("cname,sc", C_SHAPES, ids=[c[0] for c in C_SHAPES])
def test_gemm(cname, sc, ta, tb, alpha, beta, const, threads):
    sa = (7, 6) if ta else (6, 7)
    sb = (5, 7) if tb else (7, 5)
    shapes = [sa, sb] + ([sc] if sc is not None else [])
    values = arrays(f"gemm/{cname}/{ta}{tb}", shapes)
    names = ["A", "B", "C"][:len(values)]
    feeds, consts = split(names, values, [False, const, const])
    node = helper.make_node("Gemm", names, ["Y"], transA=ta, transB=tb, alpha=alpha, beta=beta)
    model = make_model([node], feeds, consts)
    got = ferry_session(model, threads).run(None, feeds)[0]
    np.testing.assert_allclose(got, ort_run(model, feeds), rtol=1e-4, atol=1e-4)


ACTS = [("Relu", []), ("LeakyRelu", [0.2]), ("Clip", [-0.5, 1.0]), ("Sigmoid", []), ("Tanh", []),
        ("HardSigmoid", [0.3, 0.4]), ("SiLU", []), ("", [])]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("m", [1, 37])
@pytest.mark.parametrize("act,params", ACTS, ids=[a or "none" for a, _ in ACTS])
def test_fused_gemm(act, params, m, threads):
    a, b, c = arrays(f"fgemm/{act}/{m}", [(m, 19), (23, 19), (23,)])
    attrs = {"transB": 1, "alpha": 1.0, "beta": 1.0}
    fused = helper.make_node("FusedGemm", ["A", "B", "C"], ["Y"], domain="ferry", activation=act, **attrs)
    fused.attribute.append(floats_attr("activation_params", params))
    model = make_model([fused], {"A": a}, {"B": b, "C": c}, domain_ferry=True)
    an, ai = act_nodes(act, params, "p", "Y")
    ref = make_model([helper.make_node("Gemm", ["A", "B", "C"], ["p"], **attrs)] + an, {"A": a}, {"B": b, "C": c},
                     extra_inits=ai)
    got = ferry_session(model, threads).run(None, {"A": a})[0]
    np.testing.assert_allclose(got, ort_run(ref, {"A": a}), rtol=1e-4, atol=1e-4)


# (name, A shape, B shape, transA, transB, alpha, const B)
FUSED_MATMULS = [
    ("linear_const", (2, 9, 16), (16, 12), 0, 0, 1.0, True), ("m1_const", (1, 1, 16), (16, 12), 0, 0, 0.5, True),
    ("transB_const", (3, 10), (7, 10), 0, 1, 0.25, True), ("transA_batch_const", (2, 7, 3), (7, 5), 1, 0, 2.0, True),
    ("transA_transB_const", (2, 7, 3), (5, 7), 1, 1, 1.0, True), ("qk_fed", (1, 2, 8, 4), (1, 2, 8, 4), 0, 1, 0.5, False),
    ("bcast_fed", (3, 8, 4), (1, 8, 6), 1, 0, -2.0, False),
]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("act,params", [("", []), ("Relu", []), ("SiLU", []), ("HardSigmoid", [0.3, 0.4])],
                         ids=["none", "Relu", "SiLU", "HardSigmoid"])
@pytest.mark.parametrize("name,sa,sb,ta,tb,alpha,const_b", FUSED_MATMULS, ids=[c[0] for c in FUSED_MATMULS])
def test_fused_matmul(name, sa, sb, ta, tb, alpha, const_b, act, params, threads):
    a, b = arrays(f"fmm/{name}", [sa, sb])
    feeds, consts = split(["A", "B"], [a, b], [False, const_b])
    fused = helper.make_node("FusedMatMul", ["A", "B"], ["Y"], domain="ferry", transA=ta, transB=tb, alpha=alpha,
                             activation=act)
    fused.attribute.append(floats_attr("activation_params", params))
    model = make_model([fused], feeds, consts, domain_ferry=True)
    nodes, inits = [], [numpy_helper.from_array(np.array(alpha, F32), "alpha")]
    a_in, b_in = "A", "B"
    if ta:
        perm = list(range(len(sa)))
        perm[-1], perm[-2] = perm[-2], perm[-1]
        nodes.append(helper.make_node("Transpose", ["A"], ["At"], perm=perm))
        a_in = "At"
    if tb:
        perm = list(range(len(sb)))
        perm[-1], perm[-2] = perm[-2], perm[-1]
        nodes.append(helper.make_node("Transpose", ["B"], ["Bt"], perm=perm))
        b_in = "Bt"
    nodes += [helper.make_node("MatMul", [a_in, b_in], ["mm"]), helper.make_node("Mul", ["mm", "alpha"], ["p"])]
    an, ai = act_nodes(act, params, "p", "Y")
    ref = make_model(nodes + an, feeds, consts, extra_inits=inits + ai)
    got = ferry_session(model, threads).run(None, feeds)[0]
    np.testing.assert_allclose(got, ort_run(ref, feeds), rtol=1e-4, atol=1e-4)


def test_prepacked_b_across_m_and_concurrent_runs():
    """One session, a constant B, M varying by run (cached primitives, one packed B), runs from
    several Python threads at once."""
    (b,) = arrays("varying_m", [(48, 40)])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["Y"])], "g",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, ["batch", "seq", 48])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], [numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()
    sess = ferry_session(model, 2)
    feeds = [arrays(f"varying_m/{s}", [(2, s, 48)])[0] for s in (1, 3, 64, 17, 1, 200)]
    for a in feeds:
        np.testing.assert_allclose(sess.run(None, {"A": a})[0], a @ b, rtol=1e-4, atol=1e-4)
    errors = []

    def worker(i):
        try:
            for _ in range(5):
                a = feeds[(i + _) % len(feeds)]
                np.testing.assert_allclose(sess.run(None, {"A": a})[0], a @ b, rtol=1e-4, atol=1e-4)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


# One or two rows over a constant B run simd/gemv over oneDNN's packed panels (64 columns, K padded
# to 16); three rows, a Gemm with alpha != 1 and a C, or post-ops take oneDNN's primitive. Sizes
# give partial panels, K off the 16-row blocks and (K 300, N 2000) enough work to split over 2 threads.
# (name, A shape, B shape, transB, alpha, beta, C shape or None; Gemm when C or a transpose is given)
GEMV_CASES = [
    ("mm_m1", (1, 1, 100), (100, 200), 0, 1.0, 1.0, None), ("mm_m2", (2, 1, 100), (100, 200), 0, 1.0, 1.0, None),
    ("mm_m3", (3, 100), (100, 200), 0, 1.0, 1.0, None), ("mm_big", (1, 300), (300, 2000), 0, 1.0, 1.0, None),
    ("mm_k1", (1, 1), (1, 70), 0, 1.0, 1.0, None), ("mm_n1", (1, 33), (33, 1), 0, 1.0, 1.0, None),
    ("gemm_bias", (1, 77), (77, 130), 0, 1.0, 1.0, (130,)), ("gemm_bias_beta", (2, 77), (77, 130), 0, 1.0, 0.5, (130,)),
    ("gemm_tb", (1, 50), (190, 50), 1, 1.0, 1.0, (190,)), ("gemm_alpha", (1, 64), (64, 96), 0, 0.5, 1.0, None),
    ("gemm_alpha_c", (1, 64), (64, 96), 0, 0.5, 2.0, (96,)), ("gemm_full_c", (2, 64), (64, 96), 0, 1.0, 1.0, (2, 96)),
]


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name,sa,sb,tb,alpha,beta,sc", GEMV_CASES, ids=[c[0] for c in GEMV_CASES])
def test_few_rows_const_b(name, sa, sb, tb, alpha, beta, sc, threads):
    shapes = [sa, sb] + ([sc] if sc is not None else [])
    values = arrays(f"gemv/{name}", shapes)
    names = ["A", "B", "C"][:len(values)]
    feeds, consts = split(names, values, [False, True, True])
    gemm = sc is not None or tb or alpha != 1.0
    node = (helper.make_node("Gemm", names, ["Y"], transB=tb, alpha=alpha, beta=beta) if gemm
            else helper.make_node("MatMul", names, ["Y"]))
    model = make_model([node], feeds, consts)
    sess = ferry_session(model, threads)
    want = ort_run(model, feeds)
    for _ in range(2):  # the second run reuses the cached problem
        got = sess.run(None, feeds)[0]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
