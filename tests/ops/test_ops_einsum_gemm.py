"""Einsum on the sgemm path (execution_providers/cpu/nn/einsum_gemm.h) and the generic path it
declines to, against onnxruntime at 1 and 2 threads: batch labels, transposed operands (either side,
and the output), M or N labels that are no single block (looped), M = 1 / N = 1 / K = 1, size-1
labels, odd sizes, constant operands, and the equations that must fall back (repeated labels,
labels summed in one operand, broadcast ellipsis, three operands, double).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_einsum_gemm.py -q
"""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

THREADS = (1, 2)

# (name, equation, shapes, constant operand indices)
FAST = [
    ("matmul", "ij,jk->ik", [(33, 17), (17, 29)], ()),
    ("matmul_const_b", "ij,jk->ik", [(33, 17), (17, 29)], (1,)),
    ("a_transposed", "ji,jk->ik", [(17, 33), (17, 29)], ()),
    ("b_transposed", "ij,kj->ik", [(33, 17), (29, 17)], ()),
    ("both_transposed", "ji,kj->ik", [(17, 33), (29, 17)], ()),
    ("out_transposed", "ij,jk->ki", [(33, 17), (17, 29)], ()),
    ("attention_scores", "bhqd,bhkd->bhqk", [(2, 3, 7, 16), (2, 3, 9, 16)], ()),
    ("attention_context", "bhqk,bhkd->bqhd", [(2, 3, 7, 9), (2, 3, 9, 16)], ()),
    ("moe_in", "nd,nkdh->nkh", [(13, 24), (13, 2, 24, 40)], ()),
    ("moe_out", "nkh,nkhd->nkd", [(13, 2, 40), (13, 2, 40, 24)], ()),
    ("m_block", "bij,jk->bik", [(3, 5, 7), (7, 11)], (1,)),
    ("k_block", "abc,bcd->ad", [(4, 5, 6), (5, 6, 7)], ()),
    ("m_loop", "ibj,jk->bik", [(5, 3, 7), (7, 11)], ()),
    ("gemv", "ij,j->i", [(37, 19), (19,)], ()),
    ("vecmat", "j,jk->k", [(19,), (19, 23)], ()),
    ("outer", "i,j->ij", [(31,), (17,)], ()),
    ("dot", "i,i->", [(65,), (65,)], ()),
    ("batched_dot", "bi,bi->b", [(6, 33), (6, 33)], ()),
    ("size_one", "bij,bjk->bik", [(1, 5, 7), (1, 7, 3)], ()),
    ("ellipsis", "...ij,...jk->...ik", [(2, 3, 5, 7), (2, 3, 7, 4)], ()),
    ("big_k", "mk,nk->mn", [(64, 300), (48, 300)], ()),
]
FALLBACK = [
    ("repeated", "iij,jk->ik", [(4, 4, 5), (5, 3)], ()),
    ("summed_in_a", "ijz,jk->ik", [(3, 4, 2), (4, 5)], ()),
    ("summed_in_b", "ij,jkz->ik", [(3, 4), (4, 5, 2)], ()),
    ("bcast_batch", "bij,bjk->bik", [(1, 3, 4), (3, 4, 5)], ()),
    ("k_split", "abc,cbd->ad", [(2, 3, 4), (4, 3, 5)], ()),
    ("three", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)], ()),
]


def model(eq: str, shapes: list, const: tuple, dtype=np.float32) -> tuple[bytes, dict]:
    rng = np.random.default_rng(zlib.crc32(eq.encode()))
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    names = [f"x{i}" for i in range(len(shapes))]
    elem = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    feeds = {n: v for i, (n, v) in enumerate(zip(names, values)) if i not in const}
    inits = [numpy_helper.from_array(v, n) for i, (n, v) in enumerate(zip(names, values)) if i in const]
    graph = helper.make_graph([helper.make_node("Einsum", names, ["Y"], equation=eq)], "g",
                              [helper.make_tensor_value_info(n, elem, list(v.shape)) for n, v in feeds.items()],
                              [helper.make_tensor_value_info("Y", elem, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString(), feeds


def check(eq: str, shapes: list, const: tuple, threads: int, dtype=np.float32, broadcast=False) -> None:
    data, feeds = model(eq, shapes, const, dtype)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if broadcast:  # onnxruntime rejects labels that broadcast (1 vs 3); numpy is the reference there
        values = [feeds[f"x{i}"] for i in range(len(shapes))]
        expected = np.einsum(eq, *values)
    else:
        expected = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    fo = ferry.SessionOptions()
    fo.intra_op_num_threads = threads
    sess = ferry.InferenceSession(data, fo)
    for _ in range(2):  # a second run reuses the kernel
        got = sess.run(None, feeds)[0]
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("name,eq,shapes,const", FAST + FALLBACK, ids=[c[0] for c in FAST + FALLBACK])
def test_einsum(name, eq, shapes, const, threads):
    check(eq, shapes, const, threads, broadcast=name == "bcast_batch")


@pytest.mark.parametrize("threads", THREADS)
def test_einsum_double_uses_generic(threads):
    check("bhqd,bhkd->bhqk", [(2, 3, 7, 16), (2, 3, 9, 16)], (), threads, np.float64)
