"""Op tests for the recurrent family: RNN, GRU (linear_before_reset 0/1) and LSTM (peepholes,
input_forget, clip) in every direction, with activations and their alpha/beta, sequence_lens,
initial states, optional outputs omitted, float and double, against onnxruntime. onnxruntime's CPU
kernels reject layout=1, so batch-major cases are checked against onnxruntime running the same
weights on the transposed (layout 0) problem.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_rnn.py -q
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from op_harness import F32, F64, I32, Case, In, Lit, make_test, onnx_type

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
SEQ, BATCH, INPUT, HIDDEN = 5, 3, 4, 6


def inputs(op, dirs=1, dt=F32, bias=True, lens=None, h0=False, c0=False, peep=False, batch_major=False):
    g = GATES[op] * HIDDEN
    x = (BATCH, SEQ, INPUT) if batch_major else (SEQ, BATCH, INPUT)
    state = (BATCH, dirs, HIDDEN) if batch_major else (dirs, BATCH, HIDDEN)
    ins = [In(x, dt), In((dirs, g, INPUT), dt), In((dirs, g, HIDDEN), dt)]
    ins.append(In((dirs, 2 * g), dt) if bias else None)
    ins.append(Lit(np.array(lens, I32)) if lens is not None else None)
    ins.append(In(state, dt) if h0 else None)
    if op == "LSTM":
        ins.append(In(state, dt) if c0 else None)
        ins.append(In((dirs, 3 * HIDDEN), dt) if peep else None)
    while ins[-1] is None:
        ins.pop()
    return ins


def layout0_reference(op, outputs, batch_major=True):
    """onnxruntime on the layout-0 form of a layout-1 case (X, initial_h/c and outputs transposed),
    with hidden_size always set (onnxruntime requires it)."""
    def ref(*arrays, **attrs):
        attrs = {k: v for k, v in attrs.items() if k != "layout"}
        attrs.setdefault("hidden_size", arrays[2].shape[2])
        arrays = list(arrays)
        if not batch_major:
            return ort_run(op, outputs, arrays, attrs)
        arrays[0] = np.ascontiguousarray(arrays[0].transpose(1, 0, 2))
        for i in (5, 6):
            if i < len(arrays) and arrays[i] is not None:
                arrays[i] = np.ascontiguousarray(arrays[i].transpose(1, 0, 2))
        res = ort_run(op, outputs, arrays, attrs)
        res[0] = np.ascontiguousarray(res[0].transpose(2, 0, 1, 3))
        for i in range(1, len(res)):
            res[i] = np.ascontiguousarray(res[i].transpose(1, 0, 2))
        return res
    return ref


def evaluator_reference(op, outputs):
    """onnx's reference evaluator (onnxruntime's GRU and LSTM have no double kernels)."""
    def ref(*arrays, **attrs):
        return ort_run(op, outputs, list(arrays), attrs, evaluator=True)
    return ref


def half_reference(op, outputs):
    """float16/bfloat16: onnxruntime in float on the same (already rounded) inputs, rounded back."""
    def ref(*arrays, **attrs):
        dt = arrays[0].dtype
        arrays = [a if a is None or a.dtype == I32 else a.astype(F32) for a in arrays]
        return [r.astype(dt) for r in ort_run(op, outputs, arrays, attrs)]
    return ref


def ort_run(op, outputs, arrays, attrs, evaluator=False):
    """onnxruntime (or onnx's reference evaluator) on one recurrent node (opset 14, layout 0)."""
    names = [f"i{i}" if a is not None else "" for i, a in enumerate(arrays)]
    vis = [helper.make_tensor_value_info(n, onnx_type(a.dtype), a.shape) for n, a in zip(names, arrays) if n]
    outs = [helper.make_empty_tensor_value_info(f"o{i}") for i in range(outputs)]
    node = helper.make_node(op, names, [o.name for o in outs], **attrs)
    model = helper.make_model(helper.make_graph([node], "g", vis, outs), opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    feed = {n: a for n, a in zip(names, arrays) if n}
    if evaluator:
        return ReferenceEvaluator(model).run(None, feed)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


TOL = {"rtol": 1e-5, "atol": 1e-5}
for op in ["RNN", "GRU", "LSTM"]:
    n_out = 3 if op == "LSTM" else 2
    for direction, dirs in [("forward", 1), ("reverse", 1), ("bidirectional", 2)]:
        a = {"hidden_size": HIDDEN, "direction": direction}
        add(Case(op, inputs(op, dirs), a, name=f"{direction}", opsets=(7, 14, 22), outputs=n_out, **TOL))
        add(Case(op, inputs(op, dirs, bias=False), a, name=f"{direction}_nobias", opsets=(14,), outputs=n_out, **TOL))
        add(Case(op, inputs(op, dirs, lens=[5, 2, 4], h0=True, c0=True), a, name=f"{direction}_lens_h0",
                 opsets=(7, 14), outputs=n_out, **TOL))
        add(Case(op, inputs(op, dirs, dt=F64, h0=True), a, name=f"{direction}_f64", opsets=(14,), outputs=n_out,
                 reference=None if op == "RNN" else evaluator_reference(op, n_out)))
        add(Case(op, inputs(op, dirs, h0=True, c0=True, lens=[3, 5, 1], batch_major=True), {**a, "layout": 1},
                 name=f"{direction}_layout1", opsets=(14, 22), outputs=n_out,
                 reference=layout0_reference(op, n_out), **TOL))
    add(Case(op, inputs(op), {"hidden_size": HIDDEN}, name="y_only", opsets=(14,), outputs=1, **TOL))
    for hdt in [np.float16, ml_dtypes.bfloat16]:
        add(Case(op, inputs(op, 2, dt=hdt, h0=True, c0=True, lens=[5, 3, 4]),
                 {"hidden_size": HIDDEN, "direction": "bidirectional"}, name=f"{np.dtype(hdt).name}", opsets=(22,),
                 outputs=n_out, reference=half_reference(op, n_out)))
    add(Case(op, inputs(op, 2), {"hidden_size": HIDDEN, "direction": "bidirectional", "clip": 0.7}, name="clip",
             opsets=(14,), outputs=n_out, **TOL))
    add(Case(op, inputs(op), {}, name="hidden_from_r", opsets=(14,), outputs=n_out,
             reference=layout0_reference(op, n_out, batch_major=False), **TOL))

# Activations with alpha/beta (consumed in order by the functions that use them).
RNN_ACTS = [(["Relu"], [], []), (["LeakyRelu"], [0.2], []), (["ThresholdedRelu"], [0.3], []),
            (["ScaledTanh"], [0.8], [1.3]), (["HardSigmoid"], [0.3], [0.4]), (["Elu"], [0.7], []),
            (["Softsign"], [], []), (["Softplus"], [], []), (["Affine"], [0.5], [0.1]), (["Sigmoid"], [], [])]
for acts, alpha, beta in RNN_ACTS:
    attrs = {"hidden_size": HIDDEN, "activations": acts}
    if alpha:
        attrs["activation_alpha"] = alpha
    if beta:
        attrs["activation_beta"] = beta
    add(Case("RNN", inputs("RNN"), attrs, name=f"act_{acts[0]}", opsets=(14,), outputs=2, **TOL))
add(Case("RNN", inputs("RNN", 2), {"hidden_size": HIDDEN, "direction": "bidirectional",
                                   "activations": ["LeakyRelu", "Tanh"], "activation_alpha": [0.3]},
         name="act_per_direction", opsets=(14,), outputs=2, **TOL))
add(Case("GRU", inputs("GRU", 2), {"hidden_size": HIDDEN, "direction": "bidirectional",
                                   "activations": ["HardSigmoid", "Softsign", "Sigmoid", "LeakyRelu"],
                                   "activation_alpha": [0.25, 0.05], "activation_beta": [0.45]},
         name="activations", opsets=(14,), outputs=2, **TOL))
add(Case("LSTM", inputs("LSTM", 1, peep=True), {"hidden_size": HIDDEN,
                                                "activations": ["HardSigmoid", "ScaledTanh", "Affine"],
                                                "activation_alpha": [0.2, 0.9, 0.6], "activation_beta": [0.5, 1.1, 0.1]},
         name="activations", opsets=(14,), outputs=3, **TOL))

# GRU: linear_before_reset; LSTM: peepholes, input_forget.
for lbr in [0, 1]:
    for direction, dirs in [("forward", 1), ("bidirectional", 2)]:
        add(Case("GRU", inputs("GRU", dirs, lens=[4, 5, 2], h0=True), {"hidden_size": HIDDEN, "direction": direction,
                                                                          "linear_before_reset": lbr},
                 name=f"lbr{lbr}_{direction}", opsets=(7, 14, 22), outputs=2, **TOL))
for direction, dirs in [("forward", 1), ("reverse", 1), ("bidirectional", 2)]:
    add(Case("LSTM", inputs("LSTM", dirs, lens=[5, 3, 4], h0=True, c0=True, peep=True),
             {"hidden_size": HIDDEN, "direction": direction}, name=f"peepholes_{direction}", opsets=(7, 14, 22),
             outputs=3, **TOL))
    add(Case("LSTM", inputs("LSTM", dirs, peep=True), {"hidden_size": HIDDEN, "direction": direction, "input_forget": 1},
             name=f"input_forget_{direction}", opsets=(14,), outputs=3, **TOL))

test_op = make_test(CASES)


def test_sequence_lens_out_of_range_is_an_error():
    """A length beyond the sequence is a clear error naming the entry, never an out-of-bounds read."""
    import ferry
    x = np.zeros((2, 1, 3), F32)
    w, r = np.zeros((1, 4, 3), F32), np.zeros((1, 4, 4), F32)
    node = helper.make_node("RNN", ["x", "w", "r", "", "lens"], ["y"], hidden_size=4)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, x.shape),
                                            helper.make_tensor_value_info("lens", 6, [1])],
                              [helper.make_tensor_value_info("y", 1, None)],
                              initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(r, "r")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    sess = ferry.InferenceSession(model.SerializeToString())
    with pytest.raises(ferry.FerryError, match=r"sequence_lens\[0\] is 3, valid: \[0, 2\]"):
        sess.run(None, {"x": x, "lens": np.array([3], I32)})
    assert sess.run(None, {"x": x, "lens": np.array([1], I32)})[0].shape == (2, 1, 1, 4)


def test_input_type_mismatch_is_an_error():
    """B in another type than X is rejected (it would otherwise be read with X's element size)."""
    import ferry
    x = np.zeros((2, 1, 3), F32)
    w, r, b = np.zeros((1, 4, 3), F32), np.zeros((1, 4, 4), F32), np.zeros((1, 8), F64)
    node = helper.make_node("RNN", ["x", "w", "r", "b"], ["y"], hidden_size=4)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, x.shape),
                                            helper.make_tensor_value_info("b", 11, b.shape)],
                              [helper.make_tensor_value_info("y", 1, None)],
                              initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(r, "r")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    with pytest.raises(ferry.FerryError, match=r"input 3 double\[1,8\] must have X's type float"):
        ferry.InferenceSession(model.SerializeToString()).run(None, {"x": x, "b": b})
