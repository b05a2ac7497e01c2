"""Op tests for the losses NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss
(12, 13): every reduction, class weights, ignore_index (negative, absent, and on every element),
inputs [N, C] and [N, C, d1..dk], int32 and int64 targets, float/double/float16, and SCE's
optional log_prob output. onnxruntime is the reference; out-of-range targets must raise.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_loss.py -q
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import ferry
from op_harness import F32, F64, I32, I64, Case, In, Lit, make_test

F16 = np.float16
BF16 = ml_dtypes.bfloat16
CASES: list[Case] = []
OPSETS = {"NegativeLogLikelihoodLoss": (12, 13, 22), "SoftmaxCrossEntropyLoss": (12, 13)}


def targets(shape, classes, dtype=I64, ignore=None, seed=0):
    t = np.random.default_rng(seed).integers(0, classes, shape).astype(dtype)
    if ignore is not None:
        t.flat[::3] = ignore
    return Lit(t)


for op in OPSETS:
    tag = "nll" if op.startswith("Neg") else "sce"
    for red in ("none", "sum", "mean"):
        for dt, dname in ((F32, "f32"), (F64, "f64"), (F16, "f16")):
            CASES.append(Case(op, [In((4, 5), dt), targets((4,), 5)], {"reduction": red},
                              opsets=OPSETS[op], name=f"{tag}-NC-{red}-{dname}"))
        CASES += [
            Case(op, [In((3, 4, 5), F32), targets((3, 5), 4, I32)], {"reduction": red}, opsets=OPSETS[op],
                 name=f"{tag}-NCd1-int32-{red}"),
            Case(op, [In((2, 3, 4, 2, 3), F32), targets((2, 4, 2, 3), 3), In((3,), F32, "pos")], {"reduction": red},
                 opsets=OPSETS[op], name=f"{tag}-NCd1d2d3-weight-{red}"),
            Case(op, [In((3, 4, 5), F64), targets((3, 5), 4, ignore=-1), In((4,), F64, "pos")],
                 {"reduction": red, "ignore_index": -1}, opsets=OPSETS[op], name=f"{tag}-negative-ii-weight-{red}"),
            Case(op, [In((3, 4, 5), F32), targets((3, 5), 4, ignore=2)], {"reduction": red, "ignore_index": 2},
                 opsets=OPSETS[op], name=f"{tag}-ii-in-range-{red}"),
            Case(op, [In((2, 4), F32), targets((2,), 4, ignore=10)], {"reduction": red, "ignore_index": 10},
                 opsets=OPSETS[op], name=f"{tag}-ii-high-{red}"),
            Case(op, [In((2, 3, 4), F16), targets((2, 4), 3, I32, ignore=0), In((3,), F16, "pos")],
                 {"reduction": red, "ignore_index": 0}, opsets=OPSETS[op], name=f"{tag}-f16-weight-ii-{red}"),
        ]
    # Every target ignored: sum is 0; mean is 0/0 (NaN) as in the spec's reference.
    CASES.append(Case(op, [In((2, 3), F32), Lit(np.array([1, 1], dtype=I64))], {"reduction": "sum", "ignore_index": 1},
                      opsets=OPSETS[op], name=f"{tag}-all-ignored-sum"))
    CASES.append(Case(op, [In((2, 3), F32), Lit(np.array([1, 1], dtype=I64))], {"reduction": "mean", "ignore_index": 1},
                      opsets=OPSETS[op], name=f"{tag}-all-ignored-mean"))
    CASES.append(Case(op, [In((2, 3), F32), Lit(np.array([1, 1], dtype=I64))], {"reduction": "none", "ignore_index": 1},
                      opsets=OPSETS[op], name=f"{tag}-all-ignored-none"))
    CASES.append(Case(op, [In((3, 4), F32), targets((3,), 4, seed=5, dtype=I64)], {}, opsets=OPSETS[op],
                      name=f"{tag}-default-mean"))

# log_prob output.
for red in ("none", "mean"):
    for dt, dname in ((F32, "f32"), (F64, "f64"), (F16, "f16")):
        CASES.append(Case("SoftmaxCrossEntropyLoss", [In((2, 5, 3), dt), targets((2, 3), 5, ignore=-5), In((5,), dt, "pos")],
                          {"reduction": red, "ignore_index": -5}, opsets=(12, 13), outputs=2,
                          name=f"sce-log-prob-{red}-{dname}"))



def via_float32(op: str, n_out: int = 1):
    """bfloat16 reference: onnxruntime at opset 13 on the inputs widened to float32, rounded back."""
    def ref(*arrays, **attrs):
        arrays = [a.astype(F32) if a.dtype == BF16 else a for a in arrays]
        names = [f"i{k}" for k in range(len(arrays))]
        node = helper.make_node(op, names, [f"o{k}" for k in range(n_out)], **attrs)
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                                                for n, a in zip(names, arrays)],
                                  [helper.make_empty_tensor_value_info(f"o{k}") for k in range(n_out)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return [o.astype(BF16) for o in sess.run(None, dict(zip(names, arrays)))]
    return ref


# bfloat16 (NegativeLogLikelihoodLoss 22, SoftmaxCrossEntropyLoss 13), two bfloat16 ULPs.
for red in ("none", "sum", "mean"):
    CASES.append(Case("NegativeLogLikelihoodLoss", [In((3, 4, 2), BF16), targets((3, 2), 4, ignore=-1), In((4,), BF16, "pos")],
                      {"reduction": red, "ignore_index": -1}, opsets=(22,), name=f"nll-bf16-{red}",
                      reference=via_float32("NegativeLogLikelihoodLoss"), rtol=8e-3, atol=8e-3))
    CASES.append(Case("SoftmaxCrossEntropyLoss", [In((3, 4, 2), BF16), targets((3, 2), 4, ignore=1)],
                      {"reduction": red, "ignore_index": 1}, opsets=(13,), outputs=2, name=f"sce-bf16-{red}",
                      reference=via_float32("SoftmaxCrossEntropyLoss", 2), rtol=8e-3, atol=8e-3))

test_op = make_test(CASES)


@pytest.mark.parametrize("op", list(OPSETS))
@pytest.mark.parametrize("bad", [3, -1])
def test_out_of_range_target(op: str, bad: int) -> None:
    node = helper.make_node(op, ["x", "t"], ["y"], reduction="sum", ignore_index=7)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3]),
                                            helper.make_tensor_value_info("t", onnx.TensorProto.INT64, [2])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    with pytest.raises(Exception, match=rf"value {bad} .*3 classes"):
        sess.run(None, {"x": np.zeros((2, 3), F32), "t": np.array([0, bad], dtype=I64)})
