"""ferry.ChannelsLastPool (execution_providers/cpu/nn/pool_channels_last.cc) against onnxruntime's
pool on the channels-first tensor: MaxPool / AveragePool over 1-D / 2-D / 3-D windows with pads,
strides, dilations, auto_pad, ceil_mode and count_include_pad, the global pools, channel counts
off the vector width and above the global pools' channel block, 1 and 2 threads. Also the float
MaxPool / AveragePool row path of nn/pool.cc at wide rows and stride 2 (the layout pass's input).

    FERRY_BUILD_DIR=build PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_channels_last_pool.py -q
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import ferry

OPSET = 22  # the op has the latest opset's semantics (ceil_mode's last window)


def to_first(rank: int) -> list:
    return [0, rank - 1] + list(range(1, rank - 1))


def model(op: str, shape, attrs: dict, domain: str = "") -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_empty_tensor_value_info("y")
    node = helper.make_node(op, ["x"], ["y"], domain=domain, **attrs)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("ferry", 1)] if domain else [])
    return helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=opsets,
                             ir_version=10).SerializeToString()


def session(mod, m: bytes, threads: int):
    so = mod.SessionOptions()
    so.intra_op_num_threads = threads
    return mod.InferenceSession(m, so, providers=["CPUExecutionProvider"])


CASES = [
    # (name, mode, channels-first shape, attributes)
    ("max_stem", "MaxPool", (1, 19, 17, 21), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("max_dil_asym", "MaxPool", (2, 5, 9, 11), {"kernel_shape": [2, 3], "dilations": [2, 1], "pads": [1, 0, 0, 2]}),
    ("max_ceil", "MaxPool", (1, 35, 7, 8), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                           "ceil_mode": 1}),
    ("max_same_lower", "MaxPool", (1, 16, 6, 7), {"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("max_1d", "MaxPool", (2, 33, 13), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
    ("max_3d", "MaxPool", (1, 7, 4, 5, 6), {"kernel_shape": [2, 3, 2], "strides": [1, 2, 2], "pads": [0, 1, 1, 1, 0, 0]}),
    ("avg_excl", "AveragePool", (1, 21, 9, 9), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ("avg_incl", "AveragePool", (2, 17, 8, 7), {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 1, 1, 0],
                                               "count_include_pad": 1}),
    ("avg_ceil_incl", "AveragePool", (1, 9, 7, 7), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1,
                                                   "count_include_pad": 1}),
    ("avg_same_upper", "AveragePool", (1, 40, 7, 7), {"kernel_shape": [3, 3], "strides": [2, 2],
                                                     "auto_pad": "SAME_UPPER"}),
    ("avg_valid_dil", "AveragePool", (1, 6, 10, 9), {"kernel_shape": [3, 2], "dilations": [2, 3], "auto_pad": "VALID"}),
    ("avg_1d", "AveragePool", (3, 5, 11), {"kernel_shape": [4], "pads": [2, 1]}),
    ("avg_3d", "AveragePool", (1, 18, 5, 4, 6), {"kernel_shape": [3, 2, 3], "pads": [1, 0, 1, 1, 1, 1]}),
    ("gap", "GlobalAveragePool", (2, 37, 9, 11), {}),
    ("gap_wide", "GlobalAveragePool", (1, 600, 5, 3), {}),
    ("gap_1d", "GlobalAveragePool", (2, 3, 17), {}),
    ("gmp", "GlobalMaxPool", (2, 300, 4, 6), {}),
    ("gmp_3d", "GlobalMaxPool", (1, 20, 3, 4, 5), {}),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name,mode,shape,attrs", CASES, ids=[c[0] for c in CASES])
def test_channels_last_pool_matches_onnxruntime(name, mode, shape, attrs, threads):
    rng = np.random.default_rng(len(name) * 31 + len(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    rank = len(shape)
    x_last = np.ascontiguousarray(x.transpose([0] + list(range(2, rank)) + [1]))
    want = session(ort, model(mode, shape, attrs), threads).run(None, {"x": x})[0]
    got = session(ferry, model("ChannelsLastPool", x_last.shape, dict(attrs, mode=mode), "ferry"), threads).run(
        None, {"x": x_last})[0]
    np.testing.assert_allclose(got.transpose(to_first(rank)), want, rtol=1e-5, atol=1e-6)


def test_channels_last_pool_rejects_unknown_mode():
    with pytest.raises(Exception, match="mode"):
        session(ferry, model("ChannelsLastPool", (1, 4, 4, 3), {"mode": "LpPool", "kernel_shape": [2, 2]}, "ferry"), 1)


ROW_CASES = [
    ("stem", (1, 8, 112, 112), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("stride1_wide", (1, 3, 9, 77), {"kernel_shape": [3, 5], "pads": [1, 2, 1, 2]}),
    ("stride2_even", (1, 2, 10, 66), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ("stride3", (1, 2, 9, 70), {"kernel_shape": [3, 3], "strides": [3, 3]}),
    ("ceil", (1, 2, 9, 67), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
]


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("name,shape,attrs", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_pool_row_path_matches_onnxruntime(op, name, shape, attrs):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    x[0, 0, 1, :5] = -np.inf  # windows of -inf only
    want = session(ort, model(op, shape, attrs), 2).run(None, {"x": x})[0]
    got = session(ferry, model(op, shape, attrs), 2).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
