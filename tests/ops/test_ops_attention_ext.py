"""Op tests for the newest-opset sequence-model ops: LinearAttention and CausalConvWithState
(opset 27, every update rule / activation, GQA and MQA, per-head and per-key-dim decay, scalar
beta, past states, float/float16/bfloat16), FlexAttention (ai.onnx.preview 1: scale, GQA,
score_mod / prob_mod subgraphs, softmax_precision, every element type) and Conv in float16 and
bfloat16. onnxruntime has no kernels for these ops, so onnx's reference evaluator is the reference.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_attention_ext.py -q
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import ferry
from op_harness import F32, F64, Case, In, Lit, make_test

F16 = np.float16
BF16 = ml_dtypes.bfloat16
PREVIEW = "ai.onnx.preview"
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


def make_model(op, inputs, n_out, attrs, opset, domain="", graph_attrs=None):
    """A one-node model over `inputs` (None: omitted) with untyped outputs, and its feeds."""
    names = [f"in{k}" if x is not None else "" for k, x in enumerate(inputs)]
    node = helper.make_node(op, names, [f"out{k}" for k in range(n_out)], domain=domain or None, **attrs)
    for name, g in (graph_attrs or {}).items():
        node.attribute.append(helper.make_attribute(name, g))
    feeds = {n: x for n, x in zip(names, inputs) if n}
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape) for n, x in feeds.items()],
        [helper.make_empty_tensor_value_info(f"out{k}") for k in range(n_out)])
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 10
    return model, feeds


def onnx_reference(op: str, opset: int, n_out: int = 1):
    def ref(*inputs, **attrs):
        model, feeds = make_model(op, inputs, n_out, attrs, opset)
        return [np.asarray(o) for o in ReferenceEvaluator(model).run(None, feeds)]
    return ref


# ---------------------------------------------------------------------------------------------
# LinearAttention: (B, T, H*D) packed inputs, state (B, Hkv, dk, dv).
LA_REF = onnx_reference("LinearAttention", 27, 2)
RNG = np.random.default_rng(27)
TOL = {F32: (1e-5, 1e-5), F16: (2e-3, 2e-3), BF16: (2e-2, 2e-2)}


def linear_attention(name, rule, b=2, t=5, hq=2, hkv=2, dk=4, dv=3, dt=F32, past=False, decay_per_head=False,
                     beta_last=None, state_dt=None, **attrs):
    gated, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
    ins = [In((b, t, hq * dk), dt), In((b, t, hkv * dk), dt), In((b, t, hkv * dv), dt)]
    ins.append(In((b, hkv, dk, dv), state_dt or dt) if past else None)
    # decay in log space (negative) and beta in (0, 1) keep the recurrence stable.
    decay = -np.abs(RNG.standard_normal((b, t, hkv if decay_per_head else hkv * dk))) * 0.3
    ins.append(Lit(np.asarray(decay, dtype=dt)) if gated else None)
    ins.append(Lit(np.asarray(RNG.uniform(0.1, 1.0, (b, t, beta_last or hkv)), dtype=dt)) if delta else None)
    while ins[-1] is None:
        ins.pop()
    rtol, atol = TOL[dt]
    add(Case("LinearAttention", ins, {"q_num_heads": hq, "kv_num_heads": hkv, "update_rule": rule, **attrs},
             opsets=(27,), outputs=2, name=name, rtol=rtol, atol=atol, reference=LA_REF))


for rule in ("linear", "gated", "delta", "gated_delta"):
    linear_attention(rule, rule)
    linear_attention(f"{rule}_past", rule, past=True)
    linear_attention(f"{rule}_gqa", rule, hq=4, hkv=2)
linear_attention("gated_per_head_decay", "gated", decay_per_head=True)
linear_attention("gated_delta_mqa_beta_scalar", "gated_delta", hq=3, hkv=1, beta_last=1)
linear_attention("decode_t1", "gated_delta", t=1, past=True)
linear_attention("explicit_scale", "linear", scale=0.25)
linear_attention("chunk_size_hint", "gated_delta", chunk_size=2)
linear_attention("dk_ne_dv", "gated_delta", dk=6, dv=2, hq=4, hkv=2, past=True)
linear_attention("f16", "gated_delta", dt=F16, past=True)
linear_attention("bf16", "gated", dt=BF16, past=True)
linear_attention("f16_state_f32", "gated_delta", dt=F16, past=True, state_dt=F32)

# ---------------------------------------------------------------------------------------------
# CausalConvWithState: input (B, C, L), depthwise weight (C, 1, k), bias (C), state (B, C, k-1).
CC_REF = onnx_reference("CausalConvWithState", 27, 2)


def causal_conv(name, b=2, c=3, length=6, k=4, dt=F32, bias=False, past=False, **attrs):
    ins = [In((b, c, length), dt), In((c, 1, k), dt), In((c,), dt) if bias else None,
           In((b, c, k - 1), dt) if past else None]
    while ins[-1] is None:
        ins.pop()
    rtol, atol = TOL[dt]
    add(Case("CausalConvWithState", ins, attrs, opsets=(27,), outputs=2, name=name, rtol=rtol, atol=atol,
             reference=CC_REF))


causal_conv("basic")
causal_conv("bias_past", bias=True, past=True)
causal_conv("past_only", past=True)
causal_conv("silu", activation="silu", bias=True)
causal_conv("swish_past", activation="swish", past=True)
causal_conv("none_explicit", activation="none")
causal_conv("k1", k=1, bias=True)
causal_conv("decode_l1", length=1, past=True, bias=True)
causal_conv("short_input", length=2, k=5)
causal_conv("f16_silu", dt=F16, activation="silu", bias=True, past=True)
causal_conv("bf16", dt=BF16, bias=True, past=True)

# ---------------------------------------------------------------------------------------------
# Conv in the half types (computed through float, rounded once).
CONV_REF = onnx_reference("Conv", 22)
for dt, rtol in ((F16, 2e-3), (BF16, 2e-2)):
    tag = "f16" if dt == F16 else "bf16"
    add(Case("Conv", [In((2, 4, 7, 6), dt), In((6, 2, 3, 3), dt), In((6,), dt)], {"group": 2, "pads": [1, 0, 1, 2]},
             opsets=(22,), name=f"{tag}_grouped_bias", rtol=rtol, atol=rtol, reference=CONV_REF),
        Case("Conv", [In((1, 3, 9), dt), In((3, 1, 4), dt)], {"group": 3, "strides": [2]},
             opsets=(22,), name=f"{tag}_depthwise_1d", rtol=rtol, atol=rtol, reference=CONV_REF))
add(Case("Conv", [In((1, 2, 5, 5), F16), In((3, 2, 1, 1), F16)], {}, opsets=(11,), name="f16_1x1_opset11",
         rtol=2e-3, atol=2e-3))

test_op = make_test(CASES)


# ---------------------------------------------------------------------------------------------
# FlexAttention lives in ai.onnx.preview and takes graph attributes, so its cases build their
# models here: (name, Q/K/V shapes, dtype, attrs, graph attrs).
def bias_graph(dt, value):
    return helper.make_graph([helper.make_node("Add", ["s", "c"], ["o"])], "bias",
                             [helper.make_tensor_value_info("s", dt, ["B", "H", "L", "S"])],
                             [helper.make_tensor_value_info("o", dt, ["B", "H", "L", "S"])],
                             [helper.make_tensor("c", dt, [], [value])])


def causal_graph(dt):
    nodes = [helper.make_node("Shape", ["s"], ["shape"]),
             helper.make_node("Gather", ["shape", "i2"], ["L"], axis=0),
             helper.make_node("Gather", ["shape", "i3"], ["S"], axis=0),
             helper.make_node("Range", ["zero", "L", "one"], ["qr"]),
             helper.make_node("Reshape", ["qr", "qs"], ["q"]),
             helper.make_node("Range", ["zero", "S", "one"], ["kr"]),
             helper.make_node("GreaterOrEqual", ["q", "kr"], ["mask"]),
             helper.make_node("Where", ["mask", "s", "ninf"], ["o"])]
    inits = [helper.make_tensor("zero", TensorProto.INT64, [], [0]), helper.make_tensor("one", TensorProto.INT64, [], [1]),
             helper.make_tensor("i2", TensorProto.INT64, [], [2]), helper.make_tensor("i3", TensorProto.INT64, [], [3]),
             helper.make_tensor("qs", TensorProto.INT64, [2], [-1, 1]),
             helper.make_tensor("ninf", dt, [], [float("-inf")])]
    return helper.make_graph(nodes, "causal", [helper.make_tensor_value_info("s", dt, ["B", "H", "L", "S"])],
                             [helper.make_tensor_value_info("o", dt, ["B", "H", "L", "S"])], inits)


def scale_graph(dt, value):
    return helper.make_graph([helper.make_node("Mul", ["p", "c"], ["o"])], "scale",
                             [helper.make_tensor_value_info("p", dt, ["B", "H", "L", "S"])],
                             [helper.make_tensor_value_info("o", dt, ["B", "H", "L", "S"])],
                             [helper.make_tensor("c", dt, [], [value])])


FL, DB = TensorProto.FLOAT, TensorProto.DOUBLE
FLEX_CASES = [
    ("default", (2, 4, 5, 8), (2, 4, 6, 8), (2, 4, 6, 8), F32, {}, {}),
    ("scaled", (1, 2, 3, 8), (1, 2, 7, 8), (1, 2, 7, 5), F32, {"scale": 0.3}, {}),
    ("gqa", (2, 6, 4, 8), (2, 2, 5, 8), (2, 2, 5, 3), F32, {}, {}),
    ("mqa_l1", (1, 4, 1, 16), (1, 1, 9, 16), (1, 1, 9, 16), F32, {}, {}),
    ("score_mod_bias", (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4), F32, {}, {"score_mod": bias_graph(FL, 0.7)}),
    ("causal", (2, 2, 6, 8), (2, 2, 6, 8), (2, 2, 6, 8), F32, {}, {"score_mod": causal_graph(FL)}),
    ("both_mods_gqa", (1, 4, 3, 8), (1, 2, 4, 8), (1, 2, 4, 8), F32, {},
     {"score_mod": bias_graph(FL, -1.5), "prob_mod": scale_graph(FL, 0.5)}),
    ("double", (2, 2, 4, 8), (2, 2, 5, 8), (2, 2, 5, 8), F64, {}, {"prob_mod": scale_graph(DB, 2.0)}),
    ("f16", (2, 2, 4, 16), (2, 2, 6, 16), (2, 2, 6, 16), F16, {}, {}),
    ("f16_score_mod", (1, 2, 4, 8), (1, 2, 4, 8), (1, 2, 4, 8), F16, {}, {"score_mod": causal_graph(FL)}),
    ("bf16_gqa", (1, 4, 3, 8), (1, 2, 5, 8), (1, 2, 5, 8), BF16, {}, {}),
    ("f32_softmax_double", (1, 2, 3, 8), (1, 2, 4, 8), (1, 2, 4, 8), F32, {"softmax_precision": DB},
     {"score_mod": bias_graph(DB, 0.25)}),
    ("f32_softmax_f16", (1, 2, 3, 8), (1, 2, 4, 8), (1, 2, 4, 8), F32, {"softmax_precision": TensorProto.FLOAT16},
     {"score_mod": bias_graph(TensorProto.FLOAT16, 0.25), "prob_mod": scale_graph(TensorProto.FLOAT16, 0.5)}),
]


@pytest.mark.parametrize("case", FLEX_CASES, ids=[c[0] for c in FLEX_CASES])
def test_flex_attention(case):
    name, qs, ks, vs, dt, attrs, graphs = case
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    q, k, v = (np.asarray(rng.standard_normal(s), dtype=dt) for s in (qs, ks, vs))
    model, feeds = make_model("FlexAttention", [q, k, v], 1, attrs, 26, PREVIEW, graphs)
    (expected,) = ReferenceEvaluator(model).run(None, feeds)
    (got,) = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    rtol = {F32: 1e-5, F64: 1e-10, F16: 2e-3, BF16: 2e-2}[F16 if attrs.get("softmax_precision") == 10 else dt]
    np.testing.assert_allclose(got.astype(F64), expected.astype(F64), rtol=rtol, atol=rtol)


def test_flex_attention_rejects_mismatched_heads():
    q = np.zeros((1, 3, 2, 4), F32)
    k = v = np.zeros((1, 2, 2, 4), F32)
    model, feeds = make_model("FlexAttention", [q, k, v], 1, {}, 26, PREVIEW)
    with pytest.raises(Exception, match="Hq a multiple of Hkv"):
        ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_linear_attention_rejects_missing_decay():
    x = np.zeros((1, 2, 4), F32)
    model, feeds = make_model("LinearAttention", [x, x, x], 2, {"q_num_heads": 1, "kv_num_heads": 1,
                                                                 "update_rule": "gated"}, 27)
    with pytest.raises(Exception, match="requires the decay input"):
        ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def test_causal_conv_rejects_bad_state():
    x = np.zeros((1, 2, 4), F32)
    w = np.zeros((2, 1, 3), F32)
    s = np.zeros((1, 2, 1), F32)
    model, feeds = make_model("CausalConvWithState", [x, w, None, s], 2, {}, 27)
    with pytest.raises(Exception, match=r"past_state must have shape \[1,2,2\]"):
        ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
