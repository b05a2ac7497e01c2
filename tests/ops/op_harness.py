"""The op-test harness shared by every tests/ops/test_ops_*.py table (STYLE.md item 12).

A case names the op, its attributes, its inputs (shape + dtype of seeded random data, or a
literal array; `const=True` makes the input an initializer) and the opsets it runs at. Each case
becomes a one-node ONNX model run by onnxruntime (the reference) and by Ferry; outputs are
compared with dtype-appropriate tolerances. Cases whose semantics onnxruntime does not provide
carry a numpy reference; where onnxruntime has no kernel for a case, onnx's reference evaluator
is the reference.

A table file declares `CASES = [...]` and `test_op = make_test(CASES)`.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Callable

import numpy as np
import onnx
import pytest
from onnx import helper

import onnxruntime as ort
from onnx.reference import ReferenceEvaluator

import ferry

F32, F64 = np.float32, np.float64
I8, U8, I16, U16, I32, U32, I64, U64 = (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                       np.int64, np.uint64)
BOOL = np.bool_


@dataclasses.dataclass
class In:
    """A random input: shape, dtype and value range ("any", "pos" > 0, "nonzero")."""
    shape: tuple
    dtype: Any = F32
    kind: str = "any"
    const: bool = False


@dataclasses.dataclass
class Lit:
    """A literal input."""
    value: np.ndarray
    const: bool = False


@dataclasses.dataclass
class Case:
    op: str
    inputs: list
    attrs: dict = dataclasses.field(default_factory=dict)
    opsets: tuple = (13,)
    outputs: int = 1
    name: str = ""
    rtol: float | None = None
    atol: float | None = None
    # numpy reference f(*inputs, **attrs) -> list of outputs, when onnxruntime cannot be used
    reference: Callable | None = None


def random_input(spec: In, rng: np.random.Generator) -> np.ndarray:
    dt = np.dtype(spec.dtype)
    if dt == np.bool_:
        return rng.integers(0, 2, spec.shape).astype(bool)
    if dt.kind in "iu":
        lo = 1 if spec.kind == "pos" else (0 if dt.kind == "u" else -20)
        hi = 20
        v = rng.integers(lo, hi, spec.shape).astype(dt)
        if spec.kind == "nonzero":
            v[v == 0] = 3
        return v
    v = rng.standard_normal(spec.shape)
    if spec.kind == "pos":
        v = np.abs(v) + 0.5
    elif spec.kind == "nonzero":
        v = np.where(np.abs(v) < 0.25, 0.5, v)
    return np.asarray(v, dtype=dt)  # 0-d stays an array (np.where/abs on 0-d give scalars)


def tolerance(dtype: np.dtype, case: Case) -> tuple[float, float]:
    if case.rtol is not None:
        return case.rtol, case.atol if case.atol is not None else case.rtol
    if dtype == np.float64:
        return 1e-10, 1e-10
    if dtype == np.float16:
        return 1e-3, 1e-3
    return 1e-5, 1e-5


def onnx_type(dt) -> int:
    if dt == object or dt == np.str_:
        return onnx.TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(np.dtype(dt))


def onnx_reference(op: str, opset: int, n_out: int = 1):
    """A reference function (Case.ref) from onnx's ReferenceEvaluator on the one-node model, for
    cases onnxruntime cannot run or rounds differently. None inputs are omitted optionals."""
    def ref(*arrays, **attrs):
        names = [f"i{k}" if a is not None else "" for k, a in enumerate(arrays)]
        node = onnx.helper.make_node(op, names, [f"o{k}" for k in range(n_out)], **attrs)
        feeds = {n: a for n, a in zip(names, arrays) if n}
        inputs = [onnx.helper.make_tensor_value_info(n, onnx_type(a.dtype), list(a.shape)) for n, a in feeds.items()]
        outputs = [onnx.helper.make_empty_tensor_value_info(f"o{k}") for k in range(n_out)]
        model = onnx.helper.make_model(onnx.helper.make_graph([node], "g", inputs, outputs),
                                       opset_imports=[onnx.helper.make_opsetid("", opset)])
        return [np.asarray(o) for o in ReferenceEvaluator(model).run(None, feeds)]
    return ref


def build_model(case: Case, opset: int, arrays: list, out_types: list | None) -> onnx.ModelProto:
    inputs, inits, names = [], [], []
    for i, (spec, arr) in enumerate(zip(case.inputs, arrays)):
        if spec is None:
            names.append("")
            continue
        name = f"in{i}"
        names.append(name)
        if spec.const:
            inits.append(onnx.numpy_helper.from_array(arr, name))
        else:
            inputs.append(helper.make_tensor_value_info(name, onnx_type(arr.dtype), list(arr.shape)))
    out_names = [f"out{i}" for i in range(case.outputs)]
    outputs = [helper.make_tensor_value_info(n, out_types[i], None) if out_types else
               helper.make_empty_tensor_value_info(n) for i, n in enumerate(out_names)]
    node = helper.make_node(case.op, names, out_names, **case.attrs)
    graph = helper.make_graph([node], "g", inputs, outputs, initializer=inits)
    opset_ids = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opset_ids)
    model.ir_version = min(helper.find_min_ir_version_for(opset_ids, ignore_unknown=True), 10)
    return model


def run_case(case: Case, opset: int, threads: int | None = None):
    """Runs the case on Ferry (with `threads` intra-op threads when given, else the default) and
    compares with onnxruntime, or the case's reference."""
    rng = np.random.default_rng(zlib.crc32(f"{case.op}/{case.name}/{opset}".encode()))
    arrays = []
    for spec in case.inputs:
        if spec is None:
            arrays.append(None)
        elif isinstance(spec, Lit):
            arrays.append(np.asarray(spec.value))
        else:
            arrays.append(random_input(spec, rng))
    feed = {f"in{i}": a for i, (s, a) in enumerate(zip(case.inputs, arrays)) if s is not None and not s.const}

    if case.reference is not None:
        expected = case.reference(*arrays, **case.attrs)
        model = build_model(case, opset, arrays, [onnx_type(e.dtype) for e in expected])
    else:
        untyped = build_model(case, opset, arrays, None)
        try:
            sess = ort.InferenceSession(untyped.SerializeToString(), providers=["CPUExecutionProvider"])
            expected = sess.run(None, feed)
        except Exception as e:  # noqa: BLE001 - onnxruntime lacks this kernel; use onnx's evaluator
            if "NOT_IMPLEMENTED" not in str(e):
                raise
            expected = ReferenceEvaluator(untyped).run(None, feed)
        model = build_model(case, opset, arrays, [onnx_type(e.dtype) for e in expected])

    opts = ferry.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = threads
    got = ferry.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]).run(None, feed)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        g, e = np.asarray(g), np.asarray(e)
        assert g.shape == e.shape, f"output {i}: shape {g.shape} != {e.shape}"
        assert g.dtype == e.dtype, f"output {i}: dtype {g.dtype} != {e.dtype}"
        if e.dtype.kind in "fc":
            rtol, atol = tolerance(e.dtype, case)
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"output {i}")
        else:
            np.testing.assert_array_equal(g, e, err_msg=f"output {i}")



MIN_OPSET = 7  # Ferry imports opset 7 and newer (DESIGN.md); older versions in a table run at 7


def make_test(cases: list[Case]):
    """A parametrized pytest function over every case x opset of the table."""
    def params():
        seen = set()
        for case in cases:
            for opset in sorted({max(o, MIN_OPSET) for o in case.opsets}):
                pid = f"{case.op}-{case.name}-op{opset}"
                assert pid not in seen, f"duplicate case id {pid}"
                seen.add(pid)
                yield pytest.param(case, opset, id=pid)

    @pytest.mark.parametrize("case,opset", list(params()))
    def test_op(case: Case, opset: int) -> None:
        run_case(case, opset)

    return test_op
