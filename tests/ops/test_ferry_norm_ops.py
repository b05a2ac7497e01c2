"""Op table for the ferry domain's normalisations and activations (ir/ferry_schemas_norm.cc):
Gelu (exact / tanh, with and without bias), LayerNormalization, RMSNormalization,
SkipLayerNormalization (layer / simplified, with bias and Sum output) and Silu.

onnxruntime has no kernels for the ferry domain, so each case's reference is numpy in double
precision, written from the schema's doc string (the formulas the fusions replace).
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np
import pytest
from onnx import helper, numpy_helper, TensorProto

import ferry

from op_harness import onnx_type

F32, F64, F16 = np.float32, np.float64, np.float16


def gelu(v, approximate="none"):
    if approximate == "tanh":
        return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
    erf = np.vectorize(math.erf)
    return 0.5 * v * (1 + erf(v / math.sqrt(2)))


def layer_norm(s, scale, b=None, epsilon=1e-5, axis=-1):
    axes = tuple(range(axis % s.ndim, s.ndim))
    mean = s.mean(axis=axes, keepdims=True)
    var = ((s - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (s - mean) / np.sqrt(var + epsilon) * scale
    return y + b if b is not None else y


def rms_norm(s, scale, epsilon=1e-5, axis=-1):
    axes = tuple(range(axis % s.ndim, s.ndim))
    return s / np.sqrt((s ** 2).mean(axis=axes, keepdims=True) + epsilon) * scale


def skip_layer_norm(x, skip, scale, b=None, bias=None, epsilon=1e-5, simplified=0):
    s = x + skip + (bias if bias is not None else 0)
    s = s.astype(x.dtype).astype(np.float64)  # the Sum output rounds to X's type, as the Adds did
    y = rms_norm(s, scale, epsilon) if simplified else layer_norm(s, scale, b, epsilon)
    return [y, s]


@dataclasses.dataclass
class Case:
    op: str
    name: str
    shapes: list  # None for an omitted optional input
    reference: object
    attrs: dict = dataclasses.field(default_factory=dict)
    dtype: object = F32
    outputs: int = 1


CASES = [
    Case("Gelu", "exact", [(2, 3, 8)], lambda x: [gelu(x)]),
    Case("Gelu", "tanh", [(2, 3, 8)], lambda x, **a: [gelu(x, **a)], {"approximate": "tanh"}),
    Case("Gelu", "exact_bias", [(4, 8), (8,)], lambda x, b: [gelu(x + b)]),
    Case("Gelu", "tanh_bias", [(2, 3, 8), (8,)], lambda x, b, **a: [gelu(x + b, **a)], {"approximate": "tanh"}),
    Case("Gelu", "double", [(5, 7)], lambda x: [gelu(x)], dtype=F64),
    Case("Gelu", "float16_bias", [(3, 8), (8,)], lambda x, b: [gelu(x + b)], dtype=F16),
    Case("LayerNormalization", "last_axis", [(2, 3, 16), (16,), (16,)],
         lambda x, g, b, **a: [layer_norm(x, g, b, **a)], {"epsilon": 1e-12}),
    Case("LayerNormalization", "no_bias", [(4, 16), (16,)], lambda x, g, **a: [layer_norm(x, g, None, **a)]),
    Case("LayerNormalization", "axis1", [(2, 3, 4), (3, 4), (3, 4)],
         lambda x, g, b, **a: [layer_norm(x, g, b, **a)], {"axis": 1}),
    Case("RMSNormalization", "last_axis", [(2, 3, 16), (16,)],
         lambda x, g, **a: [rms_norm(x, g, **a)], {"epsilon": 1e-6}),
    Case("RMSNormalization", "double", [(4, 9), (9,)], lambda x, g, **a: [rms_norm(x, g, **a)], dtype=F64),
    Case("SkipLayerNormalization", "layer", [(2, 3, 16), (2, 3, 16), (16,), (16,)],
         lambda x, s, g, b, **a: skip_layer_norm(x, s, g, b, **a)[:1], {"epsilon": 1e-12}),
    Case("SkipLayerNormalization", "layer_bias_sum", [(2, 3, 16), (2, 3, 16), (16,), (16,), (16,)],
         lambda x, s, g, b, bias, **a: skip_layer_norm(x, s, g, b, bias, **a), outputs=2),
    Case("SkipLayerNormalization", "simplified_sum", [(4, 16), (4, 16), (16,)],
         lambda x, s, g, **a: skip_layer_norm(x, s, g, **a), {"simplified": 1, "epsilon": 1e-6}, outputs=2),
    Case("SkipLayerNormalization", "simplified_bias", [(4, 16), (4, 16), (16,), None, (16,)],
         lambda x, s, g, b, bias, **a: skip_layer_norm(x, s, g, None, bias, **a)[:1], {"simplified": 1}),
    Case("Silu", "float", [(3, 17)], lambda x: [x / (1 + np.exp(-x))]),
    Case("Silu", "double", [(3, 5)], lambda x: [x / (1 + np.exp(-x))], dtype=F64),
]


def make_model(case: Case, arrays: list):
    names = [f"in{i}" if a is not None else "" for i, a in enumerate(arrays)]
    while names and not names[-1]:
        names.pop()
    inputs = [helper.make_tensor_value_info(n, onnx_type(a.dtype), list(a.shape))
              for n, a in zip(names, arrays) if n]
    out_names = [f"out{k}" for k in range(case.outputs)]
    outputs = [helper.make_tensor_value_info(n, onnx_type(np.dtype(case.dtype)), None) for n in out_names]
    node = helper.make_node(case.op, names, out_names, domain="ferry", **case.attrs)
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ferry", 1)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.op}-{c.name}")
def test_ferry_norm_op(case: Case) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{case.op}/{case.name}".encode()))
    arrays = [None if s is None else rng.standard_normal(s).astype(case.dtype) for s in case.shapes]
    model = make_model(case, arrays)
    feeds = {f"in{i}": a for i, a in enumerate(arrays) if a is not None}
    got = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    want = case.reference(*[None if a is None else a.astype(np.float64) for a in arrays], **case.attrs)
    assert len(got) == len(want) == case.outputs
    tol = {F32: 1e-5, F64: 1e-10, F16: 2e-3}[case.dtype]
    for k, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        assert g.dtype == np.dtype(case.dtype), f"output {k}: dtype {g.dtype}"
        assert g.shape == w.shape, f"output {k}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g.astype(np.float64), w, rtol=tol, atol=tol, err_msg=f"output {k}")


def test_gelu_rejects_an_unknown_approximation() -> None:
    x = np.zeros((2, 3), F32)
    model = make_model(Case("Gelu", "bad", [(2, 3)], None, {"approximate": "sigmoid"}), [x])
    with pytest.raises(ferry.FerryError, match="approximate"):
        ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"in0": x})


def test_skip_layer_norm_rejects_a_skip_of_another_shape() -> None:
    x, skip, g = np.zeros((2, 4), F32), np.zeros((1, 4), F32), np.ones(4, F32)
    node = helper.make_node("SkipLayerNormalization", ["x", "skip", "g"], ["y"], domain="ferry")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
                                            helper.make_tensor_value_info("skip", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(g, "g")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ferry", 1)])
    model.ir_version = 8
    with pytest.raises(ferry.FerryError, match="Skip"):
        ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"x": x, "skip": skip})


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("scale_made_between", [False, True])
def test_skip_layer_norm_fusion_with_a_shape_reader_ahead(tmp_path, threads, scale_made_between) -> None:
    """ViT's pre-norm residual: s = Add(Add(h, bias), skip) feeds Shape (the next block's batch
    size) ahead of its LayerNormalization and the next residual Add. It fuses into
    SkipLayerNormalization at the Add when the norm's scale is an initializer, and stays unfused
    when a node between makes the scale; outputs match onnxruntime's either way."""
    import onnx
    import onnxruntime as ort

    nodes = [helper.make_node("Add", ["h", "bias"], ["hb"]), helper.make_node("Add", ["hb", "skip"], ["s"]),
             helper.make_node("Shape", ["s"], ["shape"]),
             helper.make_node("Gather", ["shape", "zero"], ["batch"], axis=0)]
    scale = "gamma"
    if scale_made_between:
        nodes.append(helper.make_node("Neg", ["g"], ["neg_gamma"]))  # from an input: not folded
        scale = "neg_gamma"
    nodes += [helper.make_node("LayerNormalization", ["s", scale, "beta"], ["n"], axis=-1, epsilon=1e-6),
              helper.make_node("Add", ["n", "s"], ["y"])]
    rng = np.random.default_rng(11)
    g = helper.make_graph(
        nodes, "prenorm",
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", 7, 40]),
         helper.make_tensor_value_info("skip", TensorProto.FLOAT, ["batch", 7, 40])]
        + ([helper.make_tensor_value_info("g", TensorProto.FLOAT, [40])] if scale_made_between else []),
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("batch", TensorProto.INT64, None)],
        initializer=[numpy_helper.from_array(rng.standard_normal(40).astype(F32), "bias"),
                     numpy_helper.from_array(rng.standard_normal(40).astype(F32), "gamma"),
                     numpy_helper.from_array(rng.standard_normal(40).astype(F32), "beta"),
                     numpy_helper.from_array(np.array(0, np.int64), "zero")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    data = m.SerializeToString()
    feeds = {"h": rng.standard_normal((3, 7, 40)).astype(F32), "skip": rng.standard_normal((3, 7, 40)).astype(F32)}
    if scale_made_between:
        feeds["g"] = rng.standard_normal(40).astype(F32)
    expected = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, feeds)
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.optimized_model_filepath = str(tmp_path / "opt.onnx")
    got = ferry.InferenceSession(data, opts).run(None, feeds)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[1], expected[1])
    ops = [n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node]
    assert ("SkipLayerNormalization" in ops) == (not scale_made_between), ops
