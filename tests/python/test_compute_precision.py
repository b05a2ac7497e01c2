"""The opt-in "session.compute_precision" config entry: the default (and "f32") is float32,
bit-identical to a session without the entry; "bf16" lets the oneDNN Conv / MatMul kernels round
their operands to bfloat16 (float32 accumulation) on CPUs with AVX512-BF16 or AMX, within the
error bound that rounding implies; a bad value is an error naming the valid ones."""

from __future__ import annotations

import zlib

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ferry

F32 = np.float32
KEY = "session.compute_precision"


def cpu_has_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def one_node(op: str, x_shape: tuple, w: np.ndarray, attrs: dict) -> bytes:
    node = helper.make_node(op, ["x", "w"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def run_ferry(blob: bytes, x: np.ndarray, precision: str | None) -> np.ndarray:
    so = ferry.SessionOptions()
    so.intra_op_num_threads = 1
    if precision is not None:
        so.add_session_config_entry(KEY, precision)
    return ferry.InferenceSession(blob, so).run(None, {"x": x})[0]


def run_ort(blob: bytes, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(blob, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


# (name, op, x shape, w shape, attrs)
MODELS = [("conv", "Conv", (1, 32, 12, 12), (48, 32, 3, 3), {"pads": [1, 1, 1, 1]}),
          ("matmul", "MatMul", (4, 64, 256), (256, 96), {})]


def case(name: str, op: str, xs: tuple, ws: tuple, attrs: dict):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    x, w = rng.standard_normal(xs).astype(F32), rng.standard_normal(ws).astype(F32)
    return x, w, one_node(op, xs, w, attrs), one_node(op, xs, np.abs(w), attrs)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m[0])
def test_default_precision_is_float32(model):
    x, w, blob, _ = case(*model)
    default = run_ferry(blob, x, None)
    np.testing.assert_array_equal(run_ferry(blob, x, "f32"), default)
    np.testing.assert_allclose(default, run_ort(blob, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m[0])
def test_bf16_within_rounding_bound(model):
    if not cpu_has_bf16():
        print("skipped: this CPU has neither AVX512-BF16 nor AMX; bf16 mode computes in float32 here")
        pytest.skip("CPU without AVX512-BF16 / AMX")
    x, w, blob, abs_blob = case(*model)
    exact = run_ort(blob, x)
    got = run_ferry(blob, x, "bf16")
    # Rounding x and w to bfloat16 (8 significant bits, round to nearest) changes each by at most
    # 2^-9 relative, so each product x_i w_i by at most (1 + 2^-9)^2 - 1 < 2^-8 relative; the float32
    # accumulation adds ~K * 2^-24, negligible. Hence |y_bf16 - y| <= 2^-8 * sum |x_i| |w_i| per
    # output, which the same op computes on |x| and |w|; twice that is asserted.
    bound = 2.0 ** -7 * run_ort(abs_blob, np.abs(x)) + 1e-6
    assert np.all(np.abs(got - exact) <= bound), float(np.max(np.abs(got - exact) / bound))
    # The kernels really computed in bfloat16: rounding 32 x 9 or 256 random operands per output
    # moves the result off the float32 one.
    assert not np.array_equal(got, run_ferry(blob, x, "f32"))
    print(f"bf16 max |change| vs float32: {float(np.max(np.abs(got - exact))):.3g}")


def test_bad_precision_is_an_error():
    x, w, blob, _ = case(*MODELS[1])
    with pytest.raises(ferry.InvalidArgument, match=r"session.compute_precision.*valid: f32, bf16"):
        run_ferry(blob, x, "int4")


def test_entry_round_trips():
    so = ferry.SessionOptions()
    so.add_session_config_entry(KEY, "bf16")
    assert so.get_session_config_entry(KEY) == "bf16"
