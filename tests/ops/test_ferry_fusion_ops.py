"""Op tests for the ferry domain's fusions (ir/ferry_schemas_fusion.cc): FusedConv, FusedGemm,
FusedMatMul and ElementwiseChain. Each case is a one-node ferry model run by Ferry; the reference is
the unfused ONNX subgraph it stands for, run by onnxruntime (with optimizations off, so that
onnxruntime does not fuse it itself).

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ferry_fusion_ops.py -q
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import ferry
from op_harness import F32, In, random_input

OPSET = 17


@dataclasses.dataclass
class FCase:
    name: str
    op: str                 # the ferry op
    inputs: list            # In specs; None = omitted optional input
    attrs: dict
    # The unfused subgraph: f(input names, output name) -> (nodes, initializers).
    unfused: Callable
    rtol: float = 1e-5
    atol: float = 1e-5


def act_nodes(act: str, params: list, x: str, y: str):
    """The ONNX nodes computing y = act(x), with their initializers."""
    if act == "Relu" or act == "Sigmoid" or act == "Tanh":
        return [helper.make_node(act, [x], [y])], []
    if act == "LeakyRelu":
        return [helper.make_node(act, [x], [y], alpha=params[0])], []
    if act == "HardSigmoid":
        return [helper.make_node(act, [x], [y], alpha=params[0], beta=params[1])], []
    if act == "Clip":
        inits = [numpy_helper.from_array(np.array(params[0], F32), "clip_lo"),
                 numpy_helper.from_array(np.array(params[1], F32), "clip_hi")]
        return [helper.make_node("Clip", [x, "clip_lo", "clip_hi"], [y])], inits
    if act == "SiLU":
        return [helper.make_node("Sigmoid", [x], ["silu_s"]), helper.make_node("Mul", [x, "silu_s"], [y])], []
    if act in ("Gelu", "GeluTanh"):  # opset 17 has no Gelu: written out
        c = lambda name, v: numpy_helper.from_array(np.array(v, F32), name)  # noqa: E731
        if act == "Gelu":
            nodes = [helper.make_node("Mul", [x, "g_rsqrt2"], ["g_s"]), helper.make_node("Erf", ["g_s"], ["g_t"])]
            inits = [c("g_rsqrt2", 0.7071067811865476)]
        else:
            nodes = [helper.make_node("Mul", [x, x], ["g_x2"]), helper.make_node("Mul", ["g_x2", x], ["g_x3"]),
                     helper.make_node("Mul", ["g_x3", "g_k"], ["g_kx3"]), helper.make_node("Add", [x, "g_kx3"], ["g_u"]),
                     helper.make_node("Mul", ["g_u", "g_c"], ["g_s"]), helper.make_node("Tanh", ["g_s"], ["g_t"])]
            inits = [c("g_k", 0.044715), c("g_c", 0.7978845608028654)]
        nodes += [helper.make_node("Add", ["g_t", "g_one"], ["g_1t"]), helper.make_node("Mul", [x, "g_1t"], ["g_x1t"]),
                  helper.make_node("Mul", ["g_x1t", "g_half"], [y])]
        return nodes, inits + [c("g_one", 1.0), c("g_half", 0.5)]
    assert act == ""
    return [helper.make_node("Identity", [x], [y])], []


def fused(op: str, onnx_op: str, act: str, params: list, residual: bool = False):
    """unfused() for a FusedConv / FusedGemm / FusedMatMul: the plain op, [+ Z], then act."""
    def unfused(names, out, attrs):
        plain = {k: v for k, v in attrs.items() if k not in ("activation", "activation_params")}
        nodes, inits = [], []
        if op == "FusedMatMul":
            a, b = names[0], names[1]
            rank = lambda i: len(CURRENT_SHAPES[i])  # noqa: E731
            if plain.get("transA"):
                perm = list(range(rank(0) - 2)) + [rank(0) - 1, rank(0) - 2]
                nodes.append(helper.make_node("Transpose", [a], ["at"], perm=perm))
                a = "at"
            if plain.get("transB"):
                perm = list(range(rank(1) - 2)) + [rank(1) - 1, rank(1) - 2]
                nodes.append(helper.make_node("Transpose", [b], ["bt"], perm=perm))
                b = "bt"
            nodes.append(helper.make_node("MatMul", [a, b], ["mm"]))
            inits.append(numpy_helper.from_array(np.array(plain.get("alpha", 1.0), F32), "alpha"))
            nodes.append(helper.make_node("Mul", ["mm", "alpha"], ["p"]))
        else:
            conv_inputs = [n for n in names[:3 if op == "FusedConv" else 3]]
            while conv_inputs and conv_inputs[-1] == "":
                conv_inputs.pop()
            nodes.append(helper.make_node(onnx_op, conv_inputs, ["p"], **plain))
        if residual:
            nodes.append(helper.make_node("Add", ["p", names[3]], ["pz"]))
        an, ai = act_nodes(act, params, "pz" if residual else "p", out)
        return nodes + an, inits + ai
    return unfused


CURRENT_SHAPES: list = []
CASES: list[FCase] = []

ACTS = [("Relu", []), ("LeakyRelu", [0.2]), ("Clip", [-0.5, 1.0]), ("Sigmoid", []), ("Tanh", []),
        ("HardSigmoid", [0.3, 0.4]), ("SiLU", []), ("Gelu", []), ("GeluTanh", []), ("", [])]

# FusedConv: every activation on a padded, strided 2-D conv with bias; residuals; groups, dilations,
# 1-D and 3-D, auto_pad; no bias.
for act, params in ACTS:
    CASES.append(FCase(f"conv2d_{act or 'none'}", "FusedConv", [In((2, 4, 7, 6)), In((6, 4, 3, 3), const=True),
                                                                 In((6,), const=True)],
                       {"kernel_shape": [3, 3], "pads": [1, 0, 1, 2], "strides": [2, 1], "activation": act,
                        "activation_params": params},
                       fused("FusedConv", "Conv", act, params), rtol=1e-4, atol=1e-4))
CASES += [
    FCase("conv2d_residual_relu", "FusedConv", [In((1, 4, 6, 6)), In((4, 2, 3, 3), const=True), In((4,), const=True),
                                                In((1, 4, 6, 6))],
          {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "group": 2, "activation": "Relu", "activation_params": []},
          fused("FusedConv", "Conv", "Relu", [], residual=True), rtol=1e-4, atol=1e-4),
    FCase("conv2d_residual_no_bias", "FusedConv", [In((1, 3, 8, 8)), In((5, 3, 3, 3), const=True), None,
                                                   In((1, 5, 4, 4))],
          {"dilations": [2, 2], "strides": [1, 1], "activation": "", "activation_params": []},
          fused("FusedConv", "Conv", "", [], residual=True), rtol=1e-4, atol=1e-4),
    FCase("conv2d_depthwise_silu", "FusedConv", [In((1, 6, 9, 9)), In((6, 1, 3, 3), const=True), In((6,), const=True)],
          {"group": 6, "auto_pad": "SAME_UPPER", "strides": [2, 2], "activation": "SiLU", "activation_params": []},
          fused("FusedConv", "Conv", "SiLU", []), rtol=1e-4, atol=1e-4),
    FCase("conv1d_clip", "FusedConv", [In((2, 3, 10)), In((4, 3, 3), const=True), In((4,), const=True)],
          {"pads": [1, 1], "activation": "Clip", "activation_params": [0.0, 6.0]},
          fused("FusedConv", "Conv", "Clip", [0.0, 6.0]), rtol=1e-4, atol=1e-4),
    FCase("conv3d_relu", "FusedConv", [In((1, 2, 4, 5, 3)), In((3, 2, 2, 2, 2), const=True), None],
          {"activation": "Relu", "activation_params": []},
          fused("FusedConv", "Conv", "Relu", []), rtol=1e-4, atol=1e-4),
    FCase("conv1x1_sigmoid", "FusedConv", [In((2, 8, 5, 5)), In((4, 8, 1, 1)), In((4,))],
          {"activation": "Sigmoid", "activation_params": []},
          fused("FusedConv", "Conv", "Sigmoid", []), rtol=1e-4, atol=1e-4),
]

# FusedGemm: transposes, alpha, beta, C broadcast from [N] and [M, 1], no C.
for act, params in ACTS:
    CASES.append(FCase(f"gemm_{act or 'none'}", "FusedGemm", [In((5, 7)), In((4, 7), const=True), In((4,), const=True)],
                       {"transB": 1, "alpha": 0.5, "beta": 2.0, "activation": act, "activation_params": params},
                       fused("FusedGemm", "Gemm", act, params), rtol=1e-4, atol=1e-4))
CASES += [
    FCase("gemm_transA_colC_relu", "FusedGemm", [In((7, 5)), In((7, 4)), In((5, 1))],
          {"transA": 1, "activation": "Relu", "activation_params": []},
          fused("FusedGemm", "Gemm", "Relu", []), rtol=1e-4, atol=1e-4),
    FCase("gemm_noC_tanh", "FusedGemm", [In((3, 6)), In((6, 2))],
          {"activation": "Tanh", "activation_params": []},
          fused("FusedGemm", "Gemm", "Tanh", []), rtol=1e-4, atol=1e-4),
]

# FusedMatMul: transposes of either operand, batch broadcasting, 1-D B, alpha, activation.
CASES += [
    FCase("matmul_transB_alpha", "FusedMatMul", [In((2, 3, 4, 8)), In((2, 3, 5, 8))],
          {"transB": 1, "alpha": 0.125}, fused("FusedMatMul", "MatMul", "", []), rtol=1e-5, atol=1e-5),
    FCase("matmul_transA_broadcast", "FusedMatMul", [In((3, 8, 4)), In((1, 8, 6))],
          {"transA": 1, "alpha": -2.0}, fused("FusedMatMul", "MatMul", "", []), rtol=1e-5, atol=1e-5),
    FCase("matmul_both_relu", "FusedMatMul", [In((2, 7, 3)), In((5, 7))],
          {"transA": 1, "transB": 1, "activation": "Relu", "activation_params": []},
          fused("FusedMatMul", "MatMul", "Relu", []), rtol=1e-5, atol=1e-5),
    FCase("matmul_vector_b", "FusedMatMul", [In((4, 6)), In((6,))],
          {"alpha": 3.0}, fused("FusedMatMul", "MatMul", "", []), rtol=1e-5, atol=1e-5),
    FCase("matmul_large_rows", "FusedMatMul", [In((130, 33)), In((20, 33))],
          {"transB": 1, "alpha": 0.5, "activation": "LeakyRelu", "activation_params": [0.05]},
          fused("FusedMatMul", "MatMul", "LeakyRelu", [0.05]), rtol=1e-4, atol=1e-4),
]
# SiLU runs as the kernel's own pass after the matmul (not a oneDNN post-op): one and two rows with
# a constant B (the few-row path), many rows, B given at run time, and SiLU / Sigmoid / Tanh on
# FusedGemm with a constant B of odd width.
for rows in (1, 2, 67):
    CASES.append(FCase(f"matmul_silu_rows{rows}", "FusedMatMul", [In((rows, 70)), In((70, 131), const=True)],
                       {"activation": "SiLU", "activation_params": []},
                       fused("FusedMatMul", "MatMul", "SiLU", []), rtol=1e-4, atol=1e-4))
CASES.append(FCase("matmul_silu_input_b", "FusedMatMul", [In((2, 9, 33)), In((33, 21))],
                   {"activation": "SiLU", "activation_params": []},
                   fused("FusedMatMul", "MatMul", "SiLU", []), rtol=1e-4, atol=1e-4))
# Gelu and GeluTanh run as the kernel's own pass too (the few-row path, many rows, B at run time).
for act in ("Gelu", "GeluTanh"):
    for rows in (1, 2, 67):
        CASES.append(FCase(f"matmul_{act}_rows{rows}", "FusedMatMul", [In((rows, 70)), In((70, 131), const=True)],
                           {"activation": act, "activation_params": []},
                           fused("FusedMatMul", "MatMul", act, []), rtol=1e-4, atol=1e-4))
    CASES.append(FCase(f"matmul_{act}_input_b", "FusedMatMul", [In((2, 9, 33)), In((33, 21))],
                       {"activation": act, "activation_params": []},
                       fused("FusedMatMul", "MatMul", act, []), rtol=1e-4, atol=1e-4))
for act in ("SiLU", "Sigmoid", "Tanh", "Gelu", "GeluTanh"):
    CASES.append(FCase(f"gemm_const_{act}", "FusedGemm", [In((37, 48)), In((48, 131), const=True),
                                                          In((131,), const=True)],
                       {"activation": act, "activation_params": []},
                       fused("FusedGemm", "Gemm", act, []), rtol=1e-4, atol=1e-4))


# ElementwiseChain: each step as the ONNX node(s) it stands for.
def chain_unfused(ops, constants):
    def unfused(names, out, attrs):
        nodes, inits, cur = [], [], names[0]
        for i, (op, c) in enumerate(zip(ops, constants)):
            nxt = out if i == len(ops) - 1 else f"s{i}"
            cname = f"c{i}"
            if op in ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"):
                inits.append(numpy_helper.from_array(np.array(c, F32), cname))
                nodes.append(helper.make_node(op, [cur, cname], [nxt]))
            elif op in ("RSub", "RDiv", "RPow"):
                inits.append(numpy_helper.from_array(np.array(c, F32), cname))
                nodes.append(helper.make_node(op[1:], [cname, cur], [nxt]))
            elif op in ("LeakyRelu", "Elu"):
                nodes.append(helper.make_node(op, [cur], [nxt], alpha=c))
            else:
                nodes.append(helper.make_node(op, [cur], [nxt]))
            cur = nxt
        return nodes, inits
    return unfused


CHAINS = [
    ("scale_shift_relu", ["Mul", "Add", "Relu"], [0.5, 1.0, 0.0], "any"),
    ("reversed", ["RSub", "RDiv", "Max", "Min"], [1.0, 2.0, -3.0, 3.0], "nonzero"),
    ("pow_sqrt", ["Abs", "Add", "Pow", "Sqrt", "Pow", "RPow"], [0, 0.5, 2.0, 0, 1.5, 2.0], "any"),
    ("transcendental", ["Sigmoid", "Tanh", "Exp", "Log", "Erf", "Sin", "Cos"], [0] * 7, "any"),
    ("rounding", ["Mul", "Floor", "Neg", "Ceil", "Reciprocal"], [3.7, 0, 0, 0, 0], "any"),
    ("activations", ["LeakyRelu", "Elu", "Softplus", "Softsign", "Sub", "Div"], [0.1, 0.7, 0, 0, 0.25, 4.0], "any"),
    ("softplus_scale", ["Mul", "Softplus", "Mul"], [40.0, 0, 8.0], "any"),  # large |x| both ways
]
for name, ops, consts, kind in CHAINS:
    CASES.append(FCase(f"chain_{name}", "ElementwiseChain", [In((3, 1000, 7), kind=kind)],
                       {"ops": ops, "constants": [float(c) for c in consts]}, chain_unfused(ops, consts),
                       rtol=1e-5, atol=1e-6))


def one_node_model(case: FCase, arrays: list) -> tuple[onnx.ModelProto, dict]:
    names, inputs, inits, feed = [], [], [], {}
    for i, (spec, arr) in enumerate(zip(case.inputs, arrays)):
        if spec is None:
            names.append("")
            continue
        names.append(f"in{i}")
        if spec.const:
            inits.append(numpy_helper.from_array(arr, f"in{i}"))
        else:
            inputs.append(helper.make_tensor_value_info(f"in{i}", onnx.TensorProto.FLOAT, list(arr.shape)))
            feed[f"in{i}"] = arr
    while names and names[-1] == "":
        names.pop()
    return names, inputs, inits, feed


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.name}" for c in CASES])
def test_fused_op(case: FCase, threads: int) -> None:
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    arrays = [None if s is None else random_input(s, rng) for s in case.inputs]
    CURRENT_SHAPES[:] = [None if a is None else a.shape for a in arrays]
    names, inputs, inits, feed = one_node_model(case, arrays)
    full_names = names + [""] * (len(case.inputs) - len(names))
    out = helper.make_empty_tensor_value_info("out")

    ref_nodes, ref_inits = case.unfused(full_names, "out", case.attrs)
    ref = helper.make_model(helper.make_graph(ref_nodes, "ref", inputs, [out], initializer=inits + ref_inits),
                            opset_imports=[helper.make_opsetid("", OPSET)])
    ref.ir_version = 8
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    expected = ort.InferenceSession(ref.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feed)[0]

    attrs = {k: v for k, v in case.attrs.items() if not (isinstance(v, list) and not v)}  # [] = the default
    node = helper.make_node(case.op, names, ["out"], domain="ferry", **attrs)
    model = helper.make_model(helper.make_graph([node], "g", inputs, [out], initializer=inits),
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)])
    model.ir_version = 8
    opts = ferry.SessionOptions()
    opts.intra_op_num_threads = threads
    got = ferry.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=case.atol)


# Bad attributes and inputs give a ferry error naming what is wrong.
BAD = [
    ("FusedConv", [np.zeros((1, 2, 4, 4), F32), np.zeros((3, 2, 3, 3), F32), np.zeros((3,), F32),
                   np.zeros((1, 3, 1, 1), F32)], {"activation": "Relu"}, r"residual Z .*\[1,3,1,1\]"),
    ("FusedConv", [np.zeros((1, 2, 4, 4), F32), np.zeros((3, 2, 3, 3), F32)], {"activation": "Swish"},
     "unknown activation 'Swish'"),
    ("FusedGemm", [np.zeros((2, 3), F32), np.zeros((3, 4), F32)],
     {"activation": "Clip", "activation_params": [0.0]}, "takes 2 activation_params"),
    ("FusedMatMul", [np.zeros((2, 3), F32), np.zeros((2, 4), F32)], {"transB": 1}, "inner dim"),
    ("ElementwiseChain", [np.zeros((4,), F32)], {"ops": ["Add", "Frobnicate"], "constants": [1.0, 0.0]},
     "unknown op 'Frobnicate'"),
    ("ElementwiseChain", [np.zeros((4,), F32)], {"ops": ["Add"], "constants": [1.0, 2.0]}, "one length"),
]


@pytest.mark.parametrize("op,inputs,attrs,message", BAD, ids=[f"{b[0]}-{b[3][:20]}" for b in BAD])
def test_bad_input(op, inputs, attrs, message):
    names = [f"i{k}" for k in range(len(inputs))]
    node = helper.make_node(op, names, ["o"], domain="ferry", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, x.shape)
                                            for n, x in zip(names, inputs)], [helper.make_empty_tensor_value_info("o")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("ferry", 1)])
    model.ir_version = 8
    with pytest.raises(ferry.FerryError, match=message):
        ferry.InferenceSession(model.SerializeToString()).run(None, dict(zip(names, inputs)))
