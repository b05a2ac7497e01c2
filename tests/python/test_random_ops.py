"""Property tests of the random generators (RandomNormal, RandomUniform, RandomNormalLike,
RandomUniformLike, Bernoulli, Multinomial): their values cannot be compared with another
engine's, so these check what every correct output satisfies — dtype and shape, reproducibility
under a seed (across runs and sessions), fresh streams without one, value ranges, and moments
within statistical bounds on large samples (bounds at about 6 standard errors, so a correct
generator fails them with negligible probability)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import ferry

F16, BF16 = onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16
REAL = [onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, F16, BF16]


def model(op: str, attrs: dict, inputs: list | None = None, opset: int = 22) -> bytes:
    inputs = inputs or []
    node = helper.make_node(op, [name for name, _, _ in inputs], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_empty_tensor_value_info("y")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m.SerializeToString()


def run(data: bytes, feed: dict | None = None) -> np.ndarray:
    return np.asarray(ferry.InferenceSession(data).run(None, feed or {})[0])


def as_float(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64)


@pytest.mark.parametrize("dtype", REAL)
@pytest.mark.parametrize("op", ["RandomNormal", "RandomUniform"])
def test_dtype_shape_and_seed_reproducibility(op: str, dtype: int) -> None:
    data = model(op, {"shape": [3, 4, 5], "dtype": dtype, "seed": 3.0})
    a, b = run(data), run(data)
    assert a.shape == (3, 4, 5)
    assert a.dtype == helper.tensor_dtype_to_np_dtype(dtype)
    np.testing.assert_array_equal(as_float(a), as_float(b))                  # same session, two runs
    np.testing.assert_array_equal(as_float(a), as_float(run(model(op, {"shape": [3, 4, 5], "dtype": dtype,
                                                                        "seed": 3.0}))))  # a new session
    other = run(model(op, {"shape": [3, 4, 5], "dtype": dtype, "seed": 4.0}))
    assert not np.array_equal(as_float(a), as_float(other))


@pytest.mark.parametrize("op", ["RandomNormal", "RandomUniform"])
def test_no_seed_gives_a_fresh_stream_per_run(op: str) -> None:
    data = model(op, {"shape": [64]})
    a, b = run(data), run(data)
    assert a.dtype == np.float32
    assert not np.array_equal(a, b)


def test_normal_moments() -> None:
    n = 200_000
    y = as_float(run(model("RandomNormal", {"shape": [n], "mean": 2.5, "scale": 0.5, "dtype": 11, "seed": 1.0})))
    assert abs(y.mean() - 2.5) < 6 * 0.5 / np.sqrt(n)
    assert abs(y.std() - 0.5) < 6 * 0.5 / np.sqrt(2 * n)
    assert abs(np.mean(((y - 2.5) / 0.5) ** 3)) < 6 * np.sqrt(6 / n)  # symmetric


@pytest.mark.parametrize("dtype", REAL)
def test_uniform_range_and_moments(dtype: int) -> None:
    n = 100_000
    low, high = -3.0, 5.0
    y = as_float(run(model("RandomUniform", {"shape": [n], "low": low, "high": high, "dtype": dtype, "seed": 9.0})))
    assert y.min() >= low and y.max() < high
    width = high - low
    spacing = 2.0 ** -7 * 8 if dtype == BF16 else 0.0  # bfloat16 rounding shifts the mean by < half a step
    assert abs(y.mean() - (low + high) / 2) < 6 * width / np.sqrt(12 * n) + spacing
    assert abs(y.var() - width ** 2 / 12) < 0.02 * width ** 2 / 12 + spacing * width


@pytest.mark.parametrize("op", ["RandomNormalLike", "RandomUniformLike"])
def test_like_ops_take_shape_and_dtype_from_the_input(op: str) -> None:
    x = np.zeros((2, 7), np.float64)
    y = run(model(op, {"seed": 1.0}, [("x", onnx.TensorProto.DOUBLE, [2, 7])]), {"x": x})
    assert y.shape == (2, 7) and y.dtype == np.float64
    y = run(model(op, {"seed": 1.0, "dtype": F16}, [("x", onnx.TensorProto.DOUBLE, [2, 7])]), {"x": x})
    assert y.shape == (2, 7) and y.dtype == np.float16
    if op == "RandomUniformLike":
        assert y.min() >= 0 and y.max() < 1


BERNOULLI_OUT = [onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, F16, BF16, onnx.TensorProto.INT8,
                 onnx.TensorProto.UINT8, onnx.TensorProto.INT16, onnx.TensorProto.UINT16, onnx.TensorProto.INT32,
                 onnx.TensorProto.UINT32, onnx.TensorProto.INT64, onnx.TensorProto.UINT64, onnx.TensorProto.BOOL]


@pytest.mark.parametrize("dtype", BERNOULLI_OUT)
def test_bernoulli_dtypes_values_and_seed(dtype: int) -> None:
    p = np.random.default_rng(0).uniform(0, 1, (10, 20)).astype(np.float32)
    data = model("Bernoulli", {"dtype": dtype, "seed": 5.0}, [("p", onnx.TensorProto.FLOAT, [10, 20])])
    y = run(data, {"p": p})
    assert y.shape == (10, 20) and y.dtype == helper.tensor_dtype_to_np_dtype(dtype)
    assert np.all((as_float(y) == 0) | (as_float(y) == 1))
    np.testing.assert_array_equal(as_float(y), as_float(run(data, {"p": p})))


@pytest.mark.parametrize("in_type", REAL)
def test_bernoulli_frequency_and_extremes(in_type: int) -> None:
    n = 100_000
    np_in = helper.tensor_dtype_to_np_dtype(in_type)
    p = np.full(n, 0.3).astype(np_in)
    p[:10], p[10:20] = 0, 1
    y = as_float(run(model("Bernoulli", {}, [("p", in_type, [n])]), {"p": p}))
    assert y.dtype == np.float64
    assert np.all(y[:10] == 0) and np.all(y[10:20] == 1)
    assert abs(y[20:].mean() - 0.3) < 6 * np.sqrt(0.3 * 0.7 / n)


@pytest.mark.parametrize("dtype", [onnx.TensorProto.INT32, onnx.TensorProto.INT64])
def test_multinomial_frequencies(dtype: int) -> None:
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    n = 60_000
    data = model("Multinomial", {"sample_size": n, "dtype": dtype, "seed": 2.0},
                 [("x", onnx.TensorProto.FLOAT, [2, 3])])
    with np.errstate(divide="ignore"):
        logits = np.log(probs).astype(np.float32)
    y = run(data, {"x": logits})
    assert y.shape == (2, n) and y.dtype == helper.tensor_dtype_to_np_dtype(dtype)
    assert y.min() >= 0 and y.max() <= 2
    for b in range(2):
        freq = np.bincount(y[b], minlength=3) / n
        bound = 6 * np.sqrt(probs[b] * (1 - probs[b]) / n) + 1e-12
        assert np.all(np.abs(freq - probs[b]) <= bound), (b, freq)
    np.testing.assert_array_equal(y, run(data, {"x": logits}))


def test_multinomial_default_is_int32_one_sample() -> None:
    y = run(model("Multinomial", {}, [("x", onnx.TensorProto.DOUBLE, [4, 5])], opset=7), {"x": np.zeros((4, 5))})
    assert y.shape == (4, 1) and y.dtype == np.int32


def test_negative_shape_is_an_error() -> None:
    with pytest.raises(ferry.FerryError, match="negative dim"):
        ferry.InferenceSession(model("RandomNormal", {"shape": [2, -1]}))
