"""Transpose (execution_providers/cpu/tensor/transpose.cc, simd/transpose_tiles.cc) against
onnxruntime at 1 and 2 intra-op threads, for every way the kernel reduces a permutation: a plain
copy (identity after dropping size-1 dims), contiguous runs (the innermost axis stays innermost:
long runs, runs of 8 or 16 bytes moved as one element, odd-sized runs), and the 2-D tile transpose
of the two innermost axes repeated over the others (2-D swaps, NCHW <-> NHWC with few and many
channels, head transposes, 5-D and 6-D permutations). Sizes include 1, 3, 17 and tile edges that
are not multiples of 8 or 16, tensors over 1 MB (split between threads), every element size
(1, 2, 4 and 8 bytes, bool, float16) and empty tensors.
"""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import ferry

from op_harness import In, random_input

F32, F16, F64 = np.float32, np.float16, np.float64
I8, U8, I16, I32, I64, BOOL = np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_

CASES = [
    # 2-D swaps (and batched ones after merging), odd edges, > 1 MB.
    ((1, 1), (1, 0)), ((3, 17), (1, 0)), ((17, 3), (1, 0)), ((33, 47), (1, 0)), ((1024, 16), (1, 0)),
    ((64, 64), (1, 0)), ((700, 513), (1, 0)), ((3, 5, 40, 33), (0, 1, 3, 2)),
    # NCHW -> NHWC and back, few and many channels.
    ((1, 3, 50, 61), (0, 2, 3, 1)), ((2, 3, 200, 300), (0, 2, 3, 1)), ((1, 16, 17, 19), (0, 2, 3, 1)),
    ((1, 84, 20, 20), (0, 2, 3, 1)), ((1, 192, 40, 41), (0, 2, 3, 1)), ((2, 2, 70, 70), (0, 2, 3, 1)),
    ((1, 50, 61, 3), (0, 3, 1, 2)), ((2, 200, 300, 3), (0, 3, 1, 2)), ((1, 17, 19, 96), (0, 3, 1, 2)),
    ((1, 20, 20, 84), (0, 3, 1, 2)), ((1, 112, 112, 7), (0, 3, 1, 2)), ((3, 9, 11, 5), (0, 3, 1, 2)),
    # Head transposes: contiguous runs of 64 floats, of 2 and 4 (one 8- or 16-byte element), of 3.
    ((2, 128, 12, 64), (0, 2, 1, 3)), ((1, 7, 3, 5), (0, 2, 1, 3)), ((2, 33, 4, 2), (0, 2, 1, 3)),
    ((2, 33, 5, 4), (0, 2, 1, 3)), ((2, 9, 5, 3), (0, 2, 1, 3)), ((1, 128, 12, 64), (0, 2, 3, 1)),
    ((1, 12, 128, 64), (0, 1, 3, 2)), ((4, 300, 8, 40), (0, 2, 1, 3)),
    # 5-D and 6-D.
    ((2, 3, 4, 5, 6), (4, 2, 0, 3, 1)), ((2, 8, 16, 16, 24), (0, 3, 1, 4, 2)), ((1, 4, 2, 2, 9, 11), (0, 1, 4, 2, 5, 3)),
    ((2, 3, 2, 3, 5, 7), (5, 4, 3, 2, 1, 0)), ((2, 3, 17, 2, 19, 3), (1, 3, 5, 0, 2, 4)),
    # Size-1 dims only, identity after dropping them, 1-D, empty.
    ((1, 1, 1), (2, 1, 0)), ((1, 5, 1, 7), (2, 1, 3, 0)), ((7,), (0,)), ((300, 1, 1000), (1, 0, 2)),
    ((0, 3, 4), (2, 0, 1)), ((2, 0, 5), (1, 2, 0)),
]
DTYPES = [F32, I64, U8, F16, BOOL, I8, I16, I32, F64]
# Every dtype runs the shapes that reach each path; float32 runs all of them.
DTYPE_SHAPES = [((3, 17), (1, 0)), ((700, 513), (1, 0)), ((2, 3, 200, 300), (0, 2, 3, 1)), ((1, 50, 61, 3), (0, 3, 1, 2)),
                ((1, 17, 19, 96), (0, 3, 1, 2)), ((2, 33, 4, 2), (0, 2, 1, 3)), ((2, 9, 5, 3), (0, 2, 1, 3)),
                ((2, 128, 12, 64), (0, 2, 1, 3)), ((2, 3, 17, 2, 19, 3), (1, 3, 5, 0, 2, 4)), ((0, 3, 4), (2, 0, 1))]

PARAMS = [(s, p, F32) for s, p in CASES] + [(s, p, dt) for dt in DTYPES[1:] for s, p in DTYPE_SHAPES]


def model(shape, perm, dtype):
    t = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", t, list(shape))],
                              [helper.make_tensor_value_info("y", t, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape,perm,dtype", PARAMS,
                         ids=[f"{np.dtype(d).name}-{s}-{p}".replace(" ", "") for s, p, d in PARAMS])
def test_transpose(shape, perm, dtype, threads):
    rng = np.random.default_rng(zlib.crc32(f"{shape}{perm}{np.dtype(dtype).name}".encode()))
    x = random_input(In(shape, dtype), rng)
    m = model(shape, perm, dtype)
    expected = ort.InferenceSession(m, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    so = ferry.SessionOptions()
    so.intra_op_num_threads = threads
    got = ferry.InferenceSession(m, so).run(None, {"x": x})[0]
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, np.transpose(x, perm))
