"""Op tests for the reduce family: Reduce* (axes as attribute and as input, keepdims,
noop_with_empty_axes, empty reductions), ArgMax/ArgMin, CumSum, TopK, against onnxruntime
(onnx's reference evaluator where onnxruntime lacks a kernel).

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_reduce.py -q
"""

from __future__ import annotations

import numpy as np

from op_harness import F32, F64, I8, I16, I32, I64, U8, U32, U64, Case, In, Lit, make_test

F16 = np.float16
CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


REDUCES = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
           "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
AXES = [("all", None), ("a0", [0]), ("a1", [1]), ("last", [-1]), ("a02", [0, 2]), ("a12", [1, 2])]


def axes_input_since(op: str) -> int:
    return 13 if op == "ReduceSum" else 18


for op in REDUCES:
    kind = "pos" if op == "ReduceLogSum" else "any"
    since = axes_input_since(op)
    old = 13 if since == 18 else 11
    for name, axes in AXES:
        for keep in (0, 1):
            attrs = {"keepdims": keep}
            # Attribute form.
            add(Case(op, [In((2, 3, 4), kind=kind)], {**attrs, **({"axes": axes} if axes else {})},
                     name=f"attr_{name}_k{keep}", opsets=(11, old), rtol=1e-4, atol=1e-5))
            # Input form.
            ins = [In((2, 3, 4), kind=kind)]
            if axes is not None:
                ins.append(Lit(np.array(axes, I64)))
            add(Case(op, ins, attrs, name=f"input_{name}_k{keep}", opsets=(since,), rtol=1e-4, atol=1e-5))
    add(Case(op, [In((2, 3), kind=kind), Lit(np.array([], I64))], {"noop_with_empty_axes": 1}, name="noop",
             opsets=(since,)))
    add(Case(op, [In((3, 1, 5), F64, kind=kind), Lit(np.array([1, 2], I64))], name="f64", opsets=(since,)))
    add(Case(op, [In((1, 7), kind=kind)], {"axes": [1]}, name="rank2", opsets=(11,), rtol=1e-4, atol=1e-5))
    add(Case(op, [In((4, 3), F16, kind=kind), Lit(np.array([1], I64))], name="f16", opsets=(since,), rtol=2e-3,
             atol=2e-3))
    # Reducing over an empty axis gives the identity.
    if op not in ("ReduceMax", "ReduceMin", "ReduceMean"):
        add(Case(op, [In((2, 0, 4)), Lit(np.array([1], I64))], name="empty_axis", opsets=(since,)))
    add(Case(op, [In((2, 0, 4)), Lit(np.array([2], I64))], name="empty_out", opsets=(since,)))
    if op not in ("ReduceLogSum", "ReduceLogSumExp"):
        for dt in (I32, I64) + ((U32, U64) if op in ("ReduceSum", "ReduceMax", "ReduceMin") else ()):
            add(Case(op, [In((3, 4), dt), Lit(np.array([1], I64))], name=f"{np.dtype(dt).name}", opsets=(since,)))
for op in ("ReduceMax", "ReduceMin"):
    for dt in (I8, U8):
        add(Case(op, [In((3, 4, 2), dt), Lit(np.array([0, 2], I64))], name=f"{np.dtype(dt).name}", opsets=(18,)))
    add(Case(op, [Lit(np.array([[True, False], [False, False], [True, True]])), Lit(np.array([1], I64))], name="bool",
             opsets=(20,), reference=lambda x, a, _op=op: [(x.any if _op == "ReduceMax" else x.all)(axis=1, keepdims=True)]))
    add(Case(op, [Lit(np.zeros((2, 0), F32)), Lit(np.array([1], I64))], name="empty_identity", opsets=(18,),
             reference=lambda x, a, _op=op: [np.full((2, 1), -np.inf if _op == "ReduceMax" else np.inf, F32)]))
add(Case("ReduceMean", [Lit(np.array([[-7, 2], [5, 4]], I32)), Lit(np.array([1], I64))], name="int_trunc", opsets=(18,)))
add(Case("ReduceSum", [In((64, 33, 17)), Lit(np.array([0, 2], I64))], name="big", opsets=(13,), rtol=1e-4, atol=1e-4))
add(Case("ReduceLogSumExp", [Lit(np.array([[1000.0, 1001.0], [-1000, -999]], F32))], {"axes": [1]}, name="stable",
         opsets=(13,)))
add(Case("ReduceSum", [In((2, 3, 4)), Lit(np.array([0, 2], I64), const=True)], {"keepdims": 0}, name="const_axes",
         opsets=(13,)))

# ArgMax / ArgMin.
for op in ("ArgMax", "ArgMin"):
    for axis in (0, 1, -1, 2):
        for keep in (0, 1):
            add(Case(op, [In((3, 4, 5))], {"axis": axis, "keepdims": keep}, name=f"ax{axis}_k{keep}", opsets=(11, 13)))
    add(Case(op, [Lit(np.array([[2, 2, 1, 2], [1, 3, 3, 0]], F32))], {"axis": 1, "select_last_index": 1},
             name="last", opsets=(12,)))
    add(Case(op, [Lit(np.array([[2, 2, 1, 2], [1, 3, 3, 0]], F32))], {"axis": 1}, name="first", opsets=(12,)))
    for dt in (F64, I8, U8, I16, I32, I64, U32, U64):
        add(Case(op, [In((4, 6), dt)], {"axis": 1}, name=np.dtype(dt).name, opsets=(13,),
                 reference=lambda x, axis, _op=op: [(np.argmax if _op == "ArgMax" else np.argmin)(x, axis=axis)[:, None]
                                                    .astype(np.int64)]))
    add(Case(op, [In((5, 3), F16)], {"axis": 0}, name="f16", opsets=(13,)))

# CumSum.
for dt in (F32, F64, I32, I64):
    for ex in (0, 1):
        for rev in (0, 1):
            for axis in (0, 1, -1):
                add(Case("CumSum", [In((3, 4, 2), dt), Lit(np.array(axis, I64))], {"exclusive": ex, "reverse": rev},
                         name=f"{np.dtype(dt).name}_e{ex}_r{rev}_a{axis}", opsets=(11, 14)))
add(Case("CumSum", [In((5,)), Lit(np.array(0, I32))], name="1d_int32_axis", opsets=(14,)))
add(Case("CumSum", [In((5, 3), F16), Lit(np.array(0, I64))], name="f16", opsets=(14,),
         reference=lambda x, a, **_: [np.cumsum(x.astype(np.float32), axis=0).astype(F16)]))

# CumProd (26): onnxruntime has no kernel yet; numpy is the reference.
def cumprod_ref(x, a, exclusive=0, reverse=0):
    axis = int(a)
    v = np.flip(x, axis) if reverse else x
    c = np.cumprod(v, axis=axis, dtype=x.dtype)
    if exclusive:
        c = np.concatenate([np.ones_like(np.take(c, [0], axis)), np.take(c, range(c.shape[axis] - 1), axis)], axis)
    return [np.flip(c, axis) if reverse else c]


for dt in (F32, F64, I32, I64):
    for ex in (0, 1):
        for rev in (0, 1):
            add(Case("CumProd", [In((3, 4, 2), dt), Lit(np.array(1, I64))], {"exclusive": ex, "reverse": rev},
                     name=f"{np.dtype(dt).name}_e{ex}_r{rev}", opsets=(26,), reference=cumprod_ref, rtol=1e-5, atol=1e-5))

# TopK: k as attribute (1), as input (10+); largest/smallest; ties lower index first.
for axis in (0, 1, -1):
    add(Case("TopK", [In((4, 5, 6))], {"axis": axis, "k": 3}, outputs=2, name=f"attr_ax{axis}", opsets=(1,)))
    for largest in (0, 1):
        add(Case("TopK", [In((4, 5, 6)), Lit(np.array([3], I64))], {"axis": axis, "largest": largest}, outputs=2,
                 name=f"ax{axis}_l{largest}", opsets=(11, 24)))
add(Case("TopK", [In((3, 7)), Lit(np.array([2], I64))], outputs=2, name="v10", opsets=(10,)))
add(Case("TopK", [Lit(np.array([[1, 3, 3, 2, 3, 1]], F32)), Lit(np.array([4], I64))], outputs=2, name="ties",
         opsets=(11,)))
add(Case("TopK", [Lit(np.array([[1, 3, 3, 2, 3, 1]], F32)), Lit(np.array([4], I64))], {"largest": 0}, outputs=2,
         name="ties_small", opsets=(11,)))
add(Case("TopK", [In((3, 7)), Lit(np.array([0], I64))], outputs=2, name="k0", opsets=(11,)))
add(Case("TopK", [In((3, 7)), Lit(np.array([7], I64))], outputs=2, name="kall", opsets=(11,)))
add(Case("TopK", [In((3, 9), F16), Lit(np.array([4], I64))], outputs=2, name="f16", opsets=(11,)))
for dt in (F64, I32, I64):
    add(Case("TopK", [In((3, 9), dt), Lit(np.array([4], I64))], outputs=2, name=np.dtype(dt).name, opsets=(11,)))
for dt in (I8, U8, I16, U32, U64):
    add(Case("TopK", [In((3, 9), dt), Lit(np.array([4], I64))], outputs=2, name=np.dtype(dt).name, opsets=(11,),
             reference=lambda x, k, **_: (lambda idx: [np.take_along_axis(x, idx, 1), idx.astype(np.int64)])(
                 np.argsort(-x.astype(np.float64), axis=1, kind="stable")[:, :int(k[0])])))

test_op = make_test(CASES)
