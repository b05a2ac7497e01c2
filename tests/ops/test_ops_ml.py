"""Op tests for the ai.onnx.ml kernels (LabelEncoder, TreeEnsemble, Binarizer,
ArrayFeatureExtractor): one-node models in the ai.onnx.ml domain, run by onnxruntime (the
reference) and by Ferry. Where onnxruntime has no kernel for a case, onnx's reference evaluator
is the reference; a case may carry its own numpy reference (LabelEncoder opset 1, which the
reference evaluator does not implement).

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_ml.py -q
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

import ferry

ML = "ai.onnx.ml"
F32, F64, I16, I32, I64 = np.float32, np.float64, np.int16, np.int32, np.int64


@dataclasses.dataclass
class MlCase:
    op: str
    name: str
    inputs: list  # numpy arrays
    attrs: dict
    opset: int
    reference: Callable | None = None  # f(*inputs) -> list of outputs


def tensor(name: str, dtype: int, values) -> onnx.TensorProto:
    values = list(values)
    return helper.make_tensor(name, dtype, (len(values),), values)


def build(case: MlCase, out_types: list[int] | None) -> onnx.ModelProto:
    names = [f"in{i}" for i in range(len(case.inputs))]
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype) if a.dtype != object
                                            else onnx.TensorProto.STRING, list(a.shape))
              for n, a in zip(names, case.inputs)]
    outputs = [helper.make_tensor_value_info("out0", out_types[0], None) if out_types else
               helper.make_empty_tensor_value_info("out0")]
    node = helper.make_node(case.op, names, ["out0"], domain=ML, **case.attrs)
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(ML, case.opset)])
    model.ir_version = 8
    return model


def expected_outputs(case: MlCase, feed: dict) -> list:
    if case.reference is not None:
        return case.reference(*case.inputs)
    model = build(case, None)
    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, feed)
    except Exception as e:  # noqa: BLE001 - onnxruntime lacks this kernel or type combination
        if "NOT_IMPLEMENTED" not in str(e) and "Could not find an implementation" not in str(e):
            raise
        return ReferenceEvaluator(model).run(None, feed)


def out_type(a: np.ndarray) -> int:
    return onnx.TensorProto.STRING if a.dtype.kind in "OU" else helper.np_dtype_to_tensor_dtype(a.dtype)


CASES: list[MlCase] = []
add = CASES.append

rng = np.random.default_rng(7)
STR_X = np.array([["a", "b", "zz"], ["c", "", "a"]], dtype=object)

# LabelEncoder opset 1: classes_strings both ways.
CLASSES = ["a", "b", "c"]
add(MlCase("LabelEncoder", "v1_string_to_int", [STR_X], {"classes_strings": CLASSES, "default_int64": 99}, 1,
           reference=lambda x: [np.vectorize(lambda s: CLASSES.index(s) if s in CLASSES else 99, otypes=[np.int64])(x)]))
add(MlCase("LabelEncoder", "v1_int_to_string", [np.array([0, 2, 5, -1, 1], I64)], {"classes_strings": CLASSES}, 1,
           reference=lambda x: [np.array([CLASSES[v] if 0 <= v < 3 else "_Unused" for v in x], dtype=object)]))
# opset 2: the list attributes.
add(MlCase("LabelEncoder", "v2_string_int", [STR_X], {"keys_strings": ["a", "b", "c"], "values_int64s": [7, 8, 9]}, 2))
add(MlCase("LabelEncoder", "v2_string_int_default", [STR_X],
           {"keys_strings": ["a", "c"], "values_int64s": [7, 9], "default_int64": -5}, 2))
add(MlCase("LabelEncoder", "v2_int_string", [np.array([[1, 2], [3, 42]], I64)],
           {"keys_int64s": [1, 2, 3], "values_strings": ["x", "y", "z"], "default_string": "?"}, 2))
add(MlCase("LabelEncoder", "v2_float_float", [np.array([0.5, -1.0, 2.0, 0.0, -0.0], F32)],
           {"keys_floats": [0.5, 2.0, 0.0], "values_floats": [10.0, 20.0, 30.0], "default_float": 1.5}, 2))
add(MlCase("LabelEncoder", "v2_string_float", [STR_X], {"keys_strings": ["a", "b"], "values_floats": [0.25, -4.0]}, 2))
add(MlCase("LabelEncoder", "v2_int_float_empty", [np.zeros((0, 3), I64)],
           {"keys_int64s": [1], "values_floats": [2.0]}, 2))
# opset 4: tensor attributes, more types, default_tensor.
add(MlCase("LabelEncoder", "v4_string_int16_tensor", [STR_X],
           {"keys_tensor": tensor("k", onnx.TensorProto.STRING, ["a", "b", "c"]),
            "values_tensor": tensor("v", onnx.TensorProto.INT16, [0, 1, 2]),
            "default_tensor": tensor("d", onnx.TensorProto.INT16, [42])}, 4))
add(MlCase("LabelEncoder", "v4_int32_double", [np.array([3, 1, 4, 1, 5], I32)],
           {"keys_tensor": tensor("k", onnx.TensorProto.INT32, [1, 3, 5]),
            "values_tensor": tensor("v", onnx.TensorProto.DOUBLE, [0.1, 0.3, 0.5]),
            "default_tensor": tensor("d", onnx.TensorProto.DOUBLE, [-1.0])}, 4))
add(MlCase("LabelEncoder", "v4_double_string", [np.array([[1.5, 2.5], [3.5, 1.5]], F64)],
           {"keys_tensor": tensor("k", onnx.TensorProto.DOUBLE, [1.5, 3.5]),
            "values_tensor": tensor("v", onnx.TensorProto.STRING, ["lo", "hi"]),
            "default_tensor": tensor("d", onnx.TensorProto.STRING, ["none"])}, 4))
add(MlCase("LabelEncoder", "v4_int16_int64", [np.array([7, -3, 2], I16)],
           {"keys_tensor": tensor("k", onnx.TensorProto.INT16, [-3, 7]),
            "values_tensor": tensor("v", onnx.TensorProto.INT64, [30, 70]),
            "default_tensor": tensor("d", onnx.TensorProto.INT64, [0])}, 4))
add(MlCase("LabelEncoder", "v4_strings_keys_tensor_values", [STR_X],
           {"keys_strings": ["a", "b", "c"], "values_tensor": tensor("v", onnx.TensorProto.INT16, [0, 1, 2]),
            "default_tensor": tensor("d", onnx.TensorProto.INT16, [42])}, 4))
add(MlCase("LabelEncoder", "v4_list_attrs", [np.array([1, 2, 9], I64)],
           {"keys_int64s": [1, 2], "values_strings": ["one", "two"]}, 4))

# Binarizer over every registered type.
for dt in (F32, F64, I64, I32):
    x = (rng.standard_normal((3, 4)) * 5).astype(dt)
    add(MlCase("Binarizer", f"{np.dtype(dt).name}", [x], {"threshold": 0.5}, 1))
# onnxruntime refuses NaN; the spec's comparison (and the reference evaluator) gives 0.
add(MlCase("Binarizer", "default_threshold_nan", [np.array([np.nan, -0.0, 0.0, 1e-30, -1.0], F32)], {}, 1,
           reference=lambda x: [(x > 0).astype(x.dtype)]))

# ArrayFeatureExtractor: ranks 1..3, every type, repeated indices.
for dt in (F32, F64, I64, I32):
    add(MlCase("ArrayFeatureExtractor", f"rank2_{np.dtype(dt).name}",
               [(rng.standard_normal((3, 5)) * 9).astype(dt), np.array([4, 0, 4], I64)], {}, 1))
add(MlCase("ArrayFeatureExtractor", "rank1", [np.arange(6, dtype=F32), np.array([5, 1], I64)], {}, 1))
add(MlCase("ArrayFeatureExtractor", "rank3", [rng.standard_normal((2, 3, 4)).astype(F32), np.array([[1, 3]], I64)], {}, 1))
add(MlCase("ArrayFeatureExtractor", "strings", [np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object),
                                                np.array([2, 0], I64)], {}, 1))


def tree_attrs(dtype: int, agg: int = 1, post: int = 0, n_targets: int = 2, round_to=None, **extra) -> dict:
    """A two-tree forest (one rooted at node 0, one at node 3) over 2 features; splits and
    weights rounded through `round_to` first when given."""
    np_dt = helper.tensor_dtype_to_np_dtype(dtype)

    def vals(a):
        return np.array(a, round_to or np_dt).astype(np_dt)
    attrs = dict(
        n_targets=n_targets, aggregate_function=agg, post_transform=post, tree_roots=[0, 3],
        nodes_modes=helper.make_tensor("m", onnx.TensorProto.UINT8, (5,), np.array([0, 2, 4, 1, 3], np.uint8)),
        nodes_featureids=[0, 1, 1, 1, 0],
        nodes_splits=helper.make_tensor("s", dtype, (5,), vals([0.2, -0.5, 1.0, 0.3, -0.1])),
        nodes_truenodeids=[1, 0, 2, 4, 4], nodes_trueleafs=[0, 1, 1, 0, 1],
        nodes_falsenodeids=[2, 1, 3, 5, 6], nodes_falseleafs=[0, 1, 1, 1, 1],
        leaf_targetids=[0, 1, 0, 1, 1, 0, 1],
        leaf_weights=helper.make_tensor("w", dtype, (7,), vals([1.5, -2.0, 0.25, 4.1, 3.3, -1.7, 0.5])))
    attrs.update(extra)
    return attrs


X_TREE = rng.standard_normal((9, 2))
for dt, t in ((F32, onnx.TensorProto.FLOAT), (F64, onnx.TensorProto.DOUBLE)):
    for agg in (0, 1, 2, 3):
        add(MlCase("TreeEnsemble", f"agg{agg}_{np.dtype(dt).name}", [X_TREE.astype(dt)], tree_attrs(t, agg), 5))


def erfinv(y: float) -> float:
    if abs(y) >= 1:
        return float("nan") if abs(y) > 1 else math.copysign(float("inf"), y)
    x = 0.0
    for _ in range(100):  # Newton on erf(x) = y
        x -= (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


def post_transform(post: int, scores: np.ndarray) -> np.ndarray:
    """The spec's post_transform values: 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO, 4 PROBIT.
    (onnxruntime 1.30 reads 1 as LOGISTIC and 2 as SOFTMAX, and its PROBIT is approximate, so
    these cases are checked against the untransformed scores with numpy.)"""
    s = scores.astype(np.float64)
    if post == 1:
        e = np.exp(s - s.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    elif post == 2:
        out = 1 / (1 + np.exp(-s))
    elif post == 3:
        e = np.where(s == 0, 0, np.exp(s - s.max(axis=1, keepdims=True)))
        out = e / e.sum(axis=1, keepdims=True)
    else:
        out = np.vectorize(lambda v: math.sqrt(2) * erfinv(2 * v - 1))(s)
    return out.astype(scores.dtype)


def transformed_reference(attrs: dict, post: int):
    def ref(x):
        plain = MlCase("TreeEnsemble", "plain", [x], {**attrs, "post_transform": 0}, 5)
        return [post_transform(post, np.asarray(expected_outputs(plain, {"in0": x})[0]))]
    return ref


for post in (1, 2, 3, 4):
    attrs = tree_attrs(onnx.TensorProto.FLOAT, 0, post)
    add(MlCase("TreeEnsemble", f"post{post}", [(X_TREE * 0.1).astype(F32)], attrs, 5,
               reference=transformed_reference(attrs, post)))
attrs = tree_attrs(onnx.TensorProto.FLOAT, 1, 4, leaf_weights=helper.make_tensor(
    "w", onnx.TensorProto.FLOAT, (7,), np.array([0.1, 0.2, 0.05, 0.3, 0.4, 0.25, 0.15], F32)))
add(MlCase("TreeEnsemble", "post4_in_range", [X_TREE.astype(F32)], attrs, 5, reference=transformed_reference(attrs, 4)))
# BRANCH_NEQ, and equality hits (X holds the split values exactly).
X_EQ = np.array([[0.2, 1.0], [0.5, 1.0], [-0.1, 0.3], [0.2, -0.5]], F32)
for modes in ([5, 4, 5, 0, 2], [1, 3, 4, 5, 0]):
    add(MlCase("TreeEnsemble", f"modes_{''.join(map(str, modes))}", [X_EQ], tree_attrs(
        onnx.TensorProto.FLOAT, nodes_modes=helper.make_tensor("m", onnx.TensorProto.UINT8, (5,),
                                                               np.array(modes, np.uint8))), 5))
# float16 X: the float32 forest with the same (float16-exact) splits, weights and inputs.
X_F16 = X_TREE.astype(np.float16)
F16_ATTRS = tree_attrs(onnx.TensorProto.FLOAT16, 1, 0, round_to=np.float16)
F32_OF_F16 = tree_attrs(onnx.TensorProto.FLOAT, 1, 0, round_to=np.float16)
add(MlCase("TreeEnsemble", "float16", [X_F16], F16_ATTRS, 5, reference=lambda x: [np.asarray(expected_outputs(
    MlCase("TreeEnsemble", "f32", [x.astype(F32)], F32_OF_F16, 5), {"in0": x.astype(F32)})[0]).astype(np.float16)]))
X_NAN = np.array([[np.nan, 0.0], [0.5, np.nan], [np.nan, np.nan]], F32)
add(MlCase("TreeEnsemble", "missing_tracks_true", [X_NAN],
           tree_attrs(onnx.TensorProto.FLOAT, nodes_missing_value_tracks_true=[1, 0, 1, 1, 0]), 5))
add(MlCase("TreeEnsemble", "set_membership", [np.array([1.2, 3.4, -0.12, np.nan, 12, 7], F32).reshape(-1, 1)], dict(
    n_targets=4, aggregate_function=1, tree_roots=[0],
    membership_values=helper.make_tensor("mv", onnx.TensorProto.FLOAT, (8,), [1.2, 3.7, 8, 9, np.nan, 12, 7, np.nan]),
    nodes_modes=helper.make_tensor("m", onnx.TensorProto.UINT8, (3,), np.array([0, 6, 6], np.uint8)),
    nodes_featureids=[0, 0, 0],
    nodes_splits=helper.make_tensor("s", onnx.TensorProto.FLOAT, (3,), np.array([11, 232344.0, np.nan], F32)),
    nodes_trueleafs=[0, 1, 1], nodes_truenodeids=[1, 0, 1], nodes_falseleafs=[1, 0, 1], nodes_falsenodeids=[2, 2, 3],
    leaf_targetids=[0, 1, 2, 3],
    leaf_weights=helper.make_tensor("w", onnx.TensorProto.FLOAT, (4,), [1, 10, 1000, 100])), 5))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.name}-op{c.opset}" for c in CASES])
def test_op(case: MlCase) -> None:
    feed = {f"in{i}": a for i, a in enumerate(case.inputs)}
    expected = expected_outputs(case, feed)
    model = build(case, [out_type(np.asarray(e)) for e in expected])
    got = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape, f"shape {g.shape} != {e.shape}"
        if e.dtype.kind in "OU":
            assert g.dtype.kind in "OU", g.dtype
            assert g.astype(str).tolist() == e.astype(str).tolist()
            continue
        assert g.dtype == e.dtype, f"dtype {g.dtype} != {e.dtype}"
        if e.dtype.kind == "f":
            tol = {np.dtype(np.float64): 1e-10, np.dtype(np.float16): 1e-3}.get(e.dtype, 1e-5)
            np.testing.assert_allclose(g, e, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(g, e)


def test_label_encoder_rejects_mismatched_input_type() -> None:
    case = MlCase("LabelEncoder", "bad", [np.array([1, 2], I64)], {"keys_strings": ["a"], "values_int64s": [1]}, 2)
    model = build(case, [onnx.TensorProto.INT64])
    with pytest.raises(ferry.FerryError, match="does not match the string keys"):
        ferry.InferenceSession(model.SerializeToString()).run(None, {"in0": case.inputs[0]})


def test_array_feature_extractor_rejects_out_of_range_index() -> None:
    case = MlCase("ArrayFeatureExtractor", "bad", [np.zeros((2, 3), F32), np.array([3], I64)], {}, 1)
    model = build(case, [onnx.TensorProto.FLOAT])
    with pytest.raises(ferry.FerryError, match="index 3, out of range"):
        ferry.InferenceSession(model.SerializeToString()).run(None, {"in0": case.inputs[0], "in1": case.inputs[1]})


def test_tree_ensemble_rejects_out_of_range_branch() -> None:
    attrs = tree_attrs(onnx.TensorProto.FLOAT, nodes_truenodeids=[1, 0, 2, 4, 40])
    case = MlCase("TreeEnsemble", "bad", [X_TREE.astype(F32)], attrs, 5)
    with pytest.raises(ferry.FerryError, match="out of range"):
        ferry.InferenceSession(build(case, [onnx.TensorProto.FLOAT]).SerializeToString())
