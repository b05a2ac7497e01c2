"""Op tests for the foundation ops: one table of cases, each a one-node ONNX model run by onnxruntime (the reference)
and by Ferry, outputs compared with dtype-appropriate tolerances.

A case names the op, its attributes, its inputs (shape + dtype of seeded random data, or a
literal array; `const=True` makes the input an initializer) and the opsets it runs at. Cases
whose semantics onnxruntime does not provide (BatchNormalization training mode) carry a numpy
reference instead. Where onnxruntime has no kernel for a case (Relu on int16, AveragePool on
double), onnx's reference evaluator is the reference.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops -q
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from op_harness import (BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Case, In, Lit, make_test,
                        onnx_type)


CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


NUMERIC = [F32, F64, I8, U8, I16, U16, I32, U32, I64, U64]

# Binary element-wise ops: broadcasting patterns x dtypes x opsets.
BROADCASTS = [
    ("same", (3, 5), (3, 5)), ("scalar_b", (2, 3, 4), ()), ("scalar_a", (), (7,)), ("row", (4, 6), (6,)),
    ("col", (4, 6), (4, 1)), ("outer", (5, 1), (1, 7)), ("middle", (2, 1, 3), (1, 4, 1)),
    ("rank_up", (3, 1, 5), (2, 1, 1, 5)), ("ones", (1, 1, 1), (1,)), ("empty", (0, 3), (3,)),
    ("prime", (7, 11, 13), (11, 1)), ("batch", (2, 3, 17, 19), (3, 1, 19)),
]
for op in ["Add", "Sub", "Mul", "Div"]:
    for name, a, b in BROADCASTS:
        add(Case(op, [In(a), In(b, kind="nonzero")], name=f"{name}_f32", opsets=(7, 13, 14)))
    for dt in NUMERIC:
        add(Case(op, [In((3, 4), dt), In((4,), dt, kind="nonzero")], name=f"row_{np.dtype(dt).name}", opsets=(14,)))
        add(Case(op, [In((2, 1, 5), dt), In((3, 1), dt, kind="nonzero")], name=f"outer_{np.dtype(dt).name}", opsets=(14,)))
    add(Case(op, [In((2, 3), I32), In((2, 3), I32, kind="nonzero")], name="int32_v7", opsets=(7, 13)))
# Integer division truncates toward zero (C semantics, as onnxruntime).
add(Case("Div", [Lit(np.array([-7, 7, -8, 9, -1, 0], I32)), Lit(np.array([2, -2, 3, -4, 5, 3], I32))], name="trunc", opsets=(14,)))
add(Case("Div", [Lit(np.array([-7, 7, -8, 9], I64)), Lit(np.array([2, -2, 3, -4], I64))], name="trunc64", opsets=(14,)))
add(Case("Div", [Lit(np.array([-7, 7, -128, 127], I8)), Lit(np.array([2, -2, 3, -4], I8))], name="trunc8", opsets=(14,)))

# Unary activations.
for op in ["Relu", "Sigmoid", "Tanh"]:
    for shape in [(3, 4), (1,), (2, 3, 5, 7), (0, 4), ()]:
        add(Case(op, [In(shape)], name=f"f32_{shape}", opsets=(6, 13) + ((14,) if op == "Relu" else ())))
    add(Case(op, [In((4, 9), F64)], name="f64", opsets=(13,)))
    add(Case(op, [Lit(np.array([-50, -10, -1e-3, 0, 1e-3, 10, 50], F32))], name="extremes", opsets=(13,)))
for dt in [I8, I16, I32, I64]:
    add(Case("Relu", [In((3, 7), dt)], name=f"int_{np.dtype(dt).name}", opsets=(14,)))

# Softmax: 2-D coercion before 13, one axis from 13.
for axis in [None, 0, 1, 2, -1, -2]:
    attrs = {} if axis is None else {"axis": axis}
    add(Case("Softmax", [In((2, 3, 5))], attrs, opsets=(1, 11, 13), name=f"axis{axis}"))
add(Case("Softmax", [In((4, 1))], name="dim1", opsets=(11, 13)))
add(Case("Softmax", [In((3, 6), F64)], name="f64", opsets=(11, 13)))
add(Case("Softmax", [In((2, 3, 7, 5))], {"axis": 1}, name="axis1_4d", opsets=(13,)))
add(Case("Softmax", [Lit(np.array([[1000, 1001, 999], [-1000, -1000, -1000]], F32))], name="large", opsets=(13,)))

# MatMul: numpy semantics.
MATMULS = [
    ("2d", (3, 4), (4, 5)), ("vec_mat", (4,), (4, 5)), ("mat_vec", (3, 4), (4,)), ("vec_vec", (6,), (6,)),
    ("batch", (2, 3, 4), (2, 4, 5)), ("bcast_b", (2, 3, 4), (4, 5)), ("bcast_a", (3, 4), (2, 4, 5)),
    ("bcast_both", (2, 1, 3, 4), (1, 5, 4, 2)), ("vec_batch", (4,), (3, 4, 2)), ("batch_vec", (3, 2, 4), (4,)),
    ("prime", (13, 17), (17, 11)), ("big", (64, 96), (96, 80)), ("k1", (5, 1), (1, 6)), ("empty_m", (0, 4), (4, 3)),
    ("empty_k", (3, 0), (0, 4)), ("tall", (1, 300, 20), (20, 3)),
]
for name, a, b in MATMULS:
    add(Case("MatMul", [In(a), In(b)], name=name, opsets=(9, 13), rtol=1e-4, atol=1e-4))
for dt in [F64, I32, I64, U32, U64]:
    add(Case("MatMul", [In((2, 3, 4), dt), In((4, 5), dt)], name=np.dtype(dt).name, opsets=(13,)))
add(Case("MatMul", [In((3, 4)), In((4, 5), const=True)], name="const_b", opsets=(13,)))

# Gemm.
for ta in (0, 1):
    for tb in (0, 1):
        a = (4, 3) if ta else (3, 4)
        b = (5, 4) if tb else (4, 5)
        for cname, c in [("c_full", (3, 5)), ("c_row", (5,)), ("c_col", (3, 1)), ("c_scalar", ()), ("c_1x1", (1, 1))]:
            add(Case("Gemm", [In(a), In(b), In(c)], {"transA": ta, "transB": tb, "alpha": 0.5, "beta": 2.0},
                     name=f"t{ta}{tb}_{cname}", opsets=(7, 9, 11, 13), rtol=1e-4, atol=1e-4))
add(Case("Gemm", [In((3, 4)), In((4, 5))], name="no_c", opsets=(11, 13), rtol=1e-4, atol=1e-4))
add(Case("Gemm", [In((3, 4)), In((4, 5)), In((5,))], {"beta": 0.0}, name="beta0", opsets=(13,), rtol=1e-4, atol=1e-4))
add(Case("Gemm", [In((31, 67)), In((29, 67), const=True), In((29,), const=True)], {"transB": 1}, name="fc", opsets=(13,),
         rtol=1e-4, atol=1e-4))
add(Case("Gemm", [In((3, 4), F64), In((4, 5), F64), In((5,), F64)], name="f64", opsets=(13,)))

# Conv.
CONV = dict(rtol=1e-4, atol=1e-4)
CONVS = [
    ("basic", (1, 3, 7, 7), (4, 3, 3, 3), {}),
    ("pads", (2, 3, 8, 9), (5, 3, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("asym_pads", (1, 2, 6, 7), (3, 2, 3, 2), {"pads": [0, 1, 2, 0]}),
    ("strides", (1, 3, 11, 10), (4, 3, 3, 3), {"strides": [2, 3]}),
    ("dilations", (1, 2, 9, 9), (3, 2, 3, 3), {"dilations": [2, 2], "pads": [2, 2, 2, 2]}),
    ("group2", (2, 4, 6, 6), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    ("depthwise", (1, 8, 10, 10), (8, 1, 3, 3), {"group": 8, "pads": [1, 1, 1, 1]}),
    ("depthwise_mult", (1, 4, 7, 7), (8, 1, 3, 3), {"group": 4, "strides": [2, 2]}),
    ("pointwise", (2, 16, 5, 5), (8, 16, 1, 1), {}),
    ("pointwise_stride", (1, 4, 7, 7), (3, 4, 1, 1), {"strides": [2, 2]}),
    ("same_upper", (1, 3, 7, 8), (4, 3, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ("same_lower", (1, 3, 7, 8), (4, 3, 4, 4), {"auto_pad": "SAME_LOWER"}),
    ("valid", (1, 3, 7, 8), (4, 3, 3, 3), {"auto_pad": "VALID", "strides": [2, 1]}),
    ("kernel_shape", (1, 2, 5, 5), (2, 2, 3, 3), {"kernel_shape": [3, 3]}),
    ("1d", (2, 3, 17), (4, 3, 5), {"pads": [2, 1], "strides": [2]}),
    ("1d_dil", (1, 2, 20), (3, 2, 3), {"dilations": [3]}),
    ("3d", (1, 2, 5, 6, 7), (3, 2, 3, 3, 3), {"pads": [1, 0, 1, 1, 0, 1]}),
    ("3d_stride_group", (1, 4, 6, 6, 6), (4, 2, 2, 2, 2), {"strides": [2, 2, 2], "group": 2}),
    ("kernel_eq_input", (1, 3, 4, 4), (2, 3, 4, 4), {}),
    ("prime_channels", (1, 7, 13, 11), (5, 7, 3, 3), {"pads": [1, 1, 1, 1]}),
]
for name, x, w, attrs in CONVS:
    add(Case("Conv", [In(x), In(w, const=True), In((w[0],), const=True)], attrs, name=f"{name}_bias", opsets=(1, 11, 22), **CONV))
    add(Case("Conv", [In(x), In(w)], attrs, name=name, opsets=(11,), **CONV))
add(Case("Conv", [In((1, 3, 64, 64)), In((16, 3, 3, 3), const=True)], {"pads": [1, 1, 1, 1]}, name="larger", opsets=(11,), **CONV))

# Pools.
POOLS = [
    ("basic", (1, 2, 6, 6), {"kernel_shape": [2, 2]}),
    ("strides", (2, 3, 7, 9), {"kernel_shape": [3, 3], "strides": [2, 2]}),
    ("pads", (1, 2, 5, 5), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
    ("asym_pads", (1, 1, 6, 7), {"kernel_shape": [3, 2], "pads": [1, 0, 0, 1]}),
    ("same_upper", (1, 2, 7, 7), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("same_lower", (1, 2, 6, 6), {"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("valid", (1, 2, 7, 7), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "VALID"}),
    ("1d", (2, 3, 11), {"kernel_shape": [3], "strides": [2]}),
    ("3d", (1, 2, 5, 6, 7), {"kernel_shape": [2, 3, 2], "strides": [1, 2, 2]}),
    ("global_like", (1, 3, 5, 5), {"kernel_shape": [5, 5]}),
    # Wide rows: long runs of interior output columns (the float row path) between border ones.
    ("stem_like", (1, 3, 17, 38), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("stride3", (2, 2, 13, 41), {"kernel_shape": [3, 2], "strides": [3, 3], "pads": [0, 1, 1, 1]}),
    ("wide_1d", (1, 2, 53), {"kernel_shape": [4], "strides": [1], "pads": [2, 1]}),
]
POOLS_CEIL = [
    ("ceil", (1, 2, 7, 7), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),
    ("ceil_pads", (1, 1, 6, 6), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
]
for name, x, attrs in POOLS:
    add(Case("MaxPool", [In(x)], attrs, name=name, opsets=(8, 10, 11, 12, 22)))
    add(Case("AveragePool", [In(x)], attrs, name=name, opsets=(7, 10, 11, 19, 22)))
    if "pads" in attrs or "auto_pad" in attrs:
        add(Case("AveragePool", [In(x)], {**attrs, "count_include_pad": 1}, name=f"{name}_incl", opsets=(7, 11, 19)))
for name, x, attrs in POOLS_CEIL:
    add(Case("MaxPool", [In(x)], attrs, name=name, opsets=(10, 12, 22)))
    add(Case("AveragePool", [In(x)], attrs, name=name, opsets=(10, 19)))
    add(Case("AveragePool", [In(x)], {**attrs, "count_include_pad": 1}, name=f"{name}_incl", opsets=(10, 19)))
add(Case("MaxPool", [In((1, 2, 9, 9))], {"kernel_shape": [3, 3], "dilations": [2, 2]}, name="dilations", opsets=(10, 12)))
add(Case("MaxPool", [In((1, 2, 9, 9))], {"kernel_shape": [2, 2], "dilations": [2, 2], "pads": [1, 1, 1, 1],
                                         "strides": [2, 2]}, name="dil_pads", opsets=(12,)))
add(Case("AveragePool", [In((1, 2, 9, 9))], {"kernel_shape": [3, 3], "dilations": [2, 2]}, name="dilations", opsets=(19,)))
add(Case("AveragePool", [In((1, 2, 9, 9))], {"kernel_shape": [2, 2], "dilations": [2, 3], "pads": [1, 1, 1, 1],
                                             "count_include_pad": 1}, name="dil_incl", opsets=(19,)))
add(Case("MaxPool", [In((2, 3, 5, 5))], {"kernel_shape": [2, 2]}, outputs=2, name="indices", opsets=(8, 12)))
add(Case("MaxPool", [In((2, 3, 5, 5))], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2]}, outputs=2,
         name="indices_pads", opsets=(12,)))
add(Case("MaxPool", [In((1, 2, 4, 5))], {"kernel_shape": [2, 2], "storage_order": 1}, outputs=2, name="indices_colmajor",
         opsets=(8, 12)))
for dt in [F64, I8, U8]:
    add(Case("MaxPool", [In((1, 2, 6, 6), dt)], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, name=np.dtype(dt).name,
             opsets=(12, 22)))
add(Case("AveragePool", [In((1, 2, 6, 6), F64)], {"kernel_shape": [3, 3]}, name="f64", opsets=(11,)))
for x in [(1, 3, 5, 5), (2, 4, 7), (1, 2, 3, 4, 5), (2, 3, 1, 1)]:
    add(Case("GlobalAveragePool", [In(x)], name=str(x), opsets=(1, 22)))
add(Case("GlobalAveragePool", [In((1, 3, 4, 4), F64)], name="f64", opsets=(1,)))


# BatchNormalization.
def bn_training_reference(x, scale, b, mean, var, epsilon=1e-5, momentum=0.9, training_mode=1):
    axes = tuple(i for i in range(x.ndim) if i != 1)
    bshape = (1, -1) + (1,) * (x.ndim - 2)
    m, v = x.mean(axis=axes), x.var(axis=axes)
    y = (x - m.reshape(bshape)) / np.sqrt(v.reshape(bshape) + epsilon) * scale.reshape(bshape) + b.reshape(bshape)
    return [y.astype(x.dtype), (mean * momentum + m * (1 - momentum)).astype(mean.dtype),
            (var * momentum + v * (1 - momentum)).astype(var.dtype)]


for x in [(2, 3, 4, 5), (3, 4), (1, 2, 7), (2, 3, 2, 2, 2)]:
    c = x[1]
    add(Case("BatchNormalization", [In(x), In((c,)), In((c,)), In((c,)), In((c,), kind="pos")], name=str(x),
             opsets=(7, 9, 14, 15)))
    add(Case("BatchNormalization", [In(x), In((c,), const=True), In((c,), const=True), In((c,), const=True),
                                    In((c,), kind="pos", const=True)], {"epsilon": 1e-3}, name=f"{x}_const",
             opsets=(15,)))
    add(Case("BatchNormalization", [In(x), In((c,)), In((c,)), In((c,)), In((c,), kind="pos")],
             {"training_mode": 1, "momentum": 0.8}, outputs=3, name=f"{x}_train", opsets=(14, 15),
             reference=bn_training_reference, rtol=1e-4, atol=1e-4))
add(Case("BatchNormalization", [In((2, 3, 4), F64)] + [In((3,), F64)] * 3 + [In((3,), F64, kind="pos")], name="f64",
         opsets=(9, 15)))

# View ops.
for dt in [F32, I64, U8, BOOL, F64]:
    n = np.dtype(dt).name
    add(Case("Reshape", [In((2, 3, 4), dt), Lit(np.array([4, -1], I64), const=True)], name=f"infer_{n}", opsets=(5, 13, 14, 19, 21)))
    add(Case("Identity", [In((2, 3), dt)], name=n, opsets=(1, 13, 14, 16, 19, 21)))
    add(Case("Transpose", [In((2, 3, 4), dt)], {"perm": [2, 0, 1]}, name=n, opsets=(1, 13, 21)))
    add(Case("Concat", [In((2, 3), dt), In((2, 4), dt)], {"axis": 1}, name=n, opsets=(4, 11, 13)))
    add(Case("Gather", [In((5, 3), dt), Lit(np.array([4, 0, -1], I64))], name=n, opsets=(1, 11, 13)))
add(Case("Reshape", [In((2, 3, 4)), Lit(np.array([0, 12], I64), const=True)], name="copy_zero", opsets=(5, 13, 14)))
add(Case("Reshape", [In((2, 3, 4)), Lit(np.array([0, -1, 2], I64))], name="zero_infer_fed", opsets=(13, 14)))
add(Case("Reshape", [In((0, 3)), Lit(np.array([3, 0], I64), const=True)], {"allowzero": 1}, name="allowzero", opsets=(14,)))
add(Case("Reshape", [In((1, 1)), Lit(np.array([], I64), const=True)], name="to_scalar", opsets=(13, 14)))
add(Case("Reshape", [In((6,)), Lit(np.array([1, 2, 1, 3], I64), const=True)], name="add_ones", opsets=(13,)))
for axis in [0, 1, 2, 3, -1, -3]:
    add(Case("Flatten", [In((2, 3, 4))], {"axis": axis}, name=f"axis{axis}", opsets=(11, 13, 21) if axis < 0 else (1, 9, 11, 13, 21)))
add(Case("Flatten", [In((2, 3, 4), I64)], name="i64_default", opsets=(9, 13)))
for axes in [[0], [2], [0, 2], [-1], [-3, -1]]:
    add(Case("Squeeze", [In((1, 3, 1))], {"axes": axes}, name=f"attr{axes}", opsets=(1, 11)))
    add(Case("Squeeze", [In((1, 3, 1)), Lit(np.array(axes, I64), const=True)], name=f"input{axes}", opsets=(13, 21)))
add(Case("Squeeze", [In((1, 3, 1, 1))], name="all", opsets=(11, 13)))
for axes in [[0], [3], [-1], [0, 4], [1, -2]]:
    add(Case("Unsqueeze", [In((2, 3, 4))], {"axes": axes}, name=f"attr{axes}", opsets=(1, 11)))
    add(Case("Unsqueeze", [In((2, 3, 4)), Lit(np.array(axes, I64), const=True)], name=f"input{axes}", opsets=(13, 21)))
add(Case("Unsqueeze", [In((), I64), Lit(np.array([0], I64))], name="scalar", opsets=(13,)))

# Transpose.
TRANSPOSES = [
    ((3, 4), None), ((3, 4), [1, 0]), ((2, 3, 4), None), ((2, 3, 4), [0, 2, 1]), ((2, 3, 4), [1, 0, 2]),
    ((2, 3, 4, 5), [0, 2, 3, 1]), ((2, 3, 4, 5), [0, 3, 1, 2]), ((2, 3, 4, 5), [3, 1, 2, 0]), ((1, 5, 1, 7), [3, 2, 1, 0]),
    ((67, 45), [1, 0]), ((3, 1, 4), [2, 1, 0]), ((0, 3), [1, 0]), ((2, 3, 4, 5, 6), [4, 2, 0, 3, 1]), ((7,), [0]),
    # 2-D kernel: few input rows (NCHW -> NHWC) and 32x32 tiles with partial edges, both split over threads.
    ((1, 3, 50, 61), [0, 2, 3, 1]), ((2, 5, 3000), [0, 2, 1]), ((77, 1000), [1, 0]),
]
for shape, perm in TRANSPOSES:
    attrs = {} if perm is None else {"perm": perm}
    add(Case("Transpose", [In(shape)], attrs, name=f"{shape}_{perm}", opsets=(13,)))
add(Case("Transpose", [Lit(np.array([["a", "bc"], ["d", "e"]], dtype=object))], name="string", opsets=(13,)))

# Concat.
for axis, shapes in [(0, [(2, 3), (4, 3)]), (-1, [(2, 3), (2, 1), (2, 5)]), (1, [(2, 3, 4), (2, 1, 4)]),
                     (-2, [(2, 3, 4), (2, 2, 4)]), (2, [(1, 2, 3), (1, 2, 0), (1, 2, 2)]), (0, [(3,)]),
                     (0, [(0, 2), (3, 2)]),
                     # large blocks over few outer slices: one work item per (slice, input) block, split over threads
                     (0, [(3, 200, 300), (1, 200, 300), (2, 200, 300)]), (1, [(2, 3, 50000), (2, 1, 50000)])]:
    add(Case("Concat", [In(s) for s in shapes], {"axis": axis}, name=f"axis{axis}_{shapes}", opsets=(4, 11, 13) if axis >= 0 else (11, 13)))
add(Case("Concat", [Lit(np.array(["a", "b"], dtype=object)), Lit(np.array(["c"], dtype=object))], {"axis": 0}, name="string", opsets=(13,)))

# Gather.
for axis, data, idx in [(0, (5, 4), [[0, 4], [-5, 2]]), (1, (3, 6), [5, -6, 0]), (-1, (2, 3, 4), [[1], [3]]),
                        (1, (2, 3, 4), 2), (0, (6,), [0, 0, 5]), (2, (2, 3, 4), []), (0, (3, 2), [[]])]:
    for idt in [I64, I32]:
        add(Case("Gather", [In(data), Lit(np.array(idx, idt).reshape(np.array(idx).shape))], {"axis": axis},
                 name=f"axis{axis}_{data}_{np.dtype(idt).name}", opsets=(11, 13)))
add(Case("Gather", [In((4, 3), const=True), Lit(np.array([3, 1], I64))], name="const_data", opsets=(13,)))

# Constant.
add(Case("Constant", [], {"value": onnx.numpy_helper.from_array(np.arange(6, dtype=F32).reshape(2, 3))}, name="value", opsets=(9, 13, 19, 21)))
add(Case("Constant", [], {"value": onnx.numpy_helper.from_array(np.array([1, -2], I64))}, name="value_i64", opsets=(9, 13)))
add(Case("Constant", [], {"value_float": 2.5}, name="value_float", opsets=(12, 13)))
add(Case("Constant", [], {"value_floats": [1.0, 2.0]}, name="value_floats", opsets=(12, 13)))
add(Case("Constant", [], {"value_int": 7}, name="value_int", opsets=(12, 13)))
add(Case("Constant", [], {"value_ints": [1, 2, 3]}, name="value_ints", opsets=(12, 13)))
add(Case("Constant", [], {"value_string": "hi"}, name="value_string", opsets=(12, 13)))
add(Case("Constant", [], {"value_strings": ["a", "b"]}, name="value_strings", opsets=(12, 13)))
add(Case("Constant", [], {"sparse_value": helper.make_sparse_tensor(
    onnx.numpy_helper.from_array(np.array([1.5, 2.5], F32), "v"), onnx.numpy_helper.from_array(np.array([1, 4], I64), "i"),
    [2, 3])}, name="sparse", opsets=(11, 13),
    # onnxruntime hands a sparse_value Constant back as a sparse tensor; the spec's output is dense.
    reference=lambda **_: [np.array([[0, 1.5, 0], [0, 2.5, 0]], F32)]))

# Shape.
add(Case("Shape", [In((2, 3, 4))], name="basic", opsets=(1, 13, 15, 19, 21)))
add(Case("Shape", [In(())], name="scalar", opsets=(13, 15)))
add(Case("Shape", [In((0, 5), I64)], name="empty", opsets=(13,)))
for start, end in [(1, None), (None, -1), (-2, None), (1, 2), (3, 1), (-10, 10), (0, 0)]:
    attrs = {k: v for k, v in [("start", start), ("end", end)] if v is not None}
    add(Case("Shape", [In((2, 3, 4, 5))], attrs, name=f"start{start}_end{end}", opsets=(15, 21)))

# Cast.
CAST_TYPES = [F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL, np.float16]
for src in CAST_TYPES:
    for dst in CAST_TYPES:
        if src == dst:
            continue
        sn, dn = np.dtype(src).name, np.dtype(dst).name
        if np.dtype(src).kind == "f":
            # In range for every target and away from rounding ties.
            values = np.array([0.0, 1.25, -1.75, 3.5, 100.3, -100.7, 0.49, 0.0], src)
            if np.dtype(dst).kind == "u":
                values = np.abs(values)
        else:
            values = np.array([0, 1, 2, 5, 7, 100, 3, 1], src)
        add(Case("Cast", [Lit(values)], {"to": onnx_type(dst)}, name=f"{sn}_to_{dn}", opsets=(13,)))
    if src in (F32, F64):
        add(Case("Cast", [In((3, 5), src)], {"to": onnx_type(np.float16)}, name=f"{np.dtype(src).name}_to_f16_random",
                 opsets=(9, 13, 19, 21)))
add(Case("Cast", [Lit(np.array([1.5, -2.25, 1e-7, 3.4e38, np.nan, np.inf, -np.inf, 0.1, 123456789.0], F32))],
         {"to": onnx.TensorProto.STRING}, name="f32_to_string", opsets=(9, 13, 21)))
add(Case("Cast", [Lit(np.array([1 / 3, 1e-300, 2.5], F64))], {"to": onnx.TensorProto.STRING}, name="f64_to_string", opsets=(13,)))
add(Case("Cast", [Lit(np.array([-5, 7, 0], I64))], {"to": onnx.TensorProto.STRING}, name="i64_to_string", opsets=(13,)))
add(Case("Cast", [Lit(np.array([True, False]))], {"to": onnx.TensorProto.STRING}, name="bool_to_string", opsets=(13,)))
add(Case("Cast", [Lit(np.array(["1.5", "-inf", "NaN", "INF", "+INF", "1e-5", "-0"], dtype=object))],
         {"to": onnx.TensorProto.FLOAT}, name="string_to_f32", opsets=(9, 13, 21)))
add(Case("Cast", [Lit(np.array(["12", "-3", "0"], dtype=object))], {"to": onnx.TensorProto.INT32}, name="string_to_i32", opsets=(13,)))
add(Case("Cast", [Lit(np.array(["12", "0", "255"], dtype=object))], {"to": onnx.TensorProto.UINT8}, name="string_to_u8", opsets=(13,)))
add(Case("Cast", [Lit(np.array(["2.5", "-1e300"], dtype=object))], {"to": onnx.TensorProto.DOUBLE}, name="string_to_f64", opsets=(13,)))
add(Case("Cast", [In((0, 3))], {"to": onnx.TensorProto.INT64}, name="empty", opsets=(13,)))
add(Case("Cast", [Lit(np.array([1e-8, 65504, 65520, 70000, -1e-5, 6e-8, 3e-5], F32))], {"to": onnx.TensorProto.FLOAT16},
         name="f16_edges", opsets=(13,)))

# Dropout (inference: identity, mask all true).
add(Case("Dropout", [In((3, 4))], name="v7", opsets=(7, 10), outputs=1))
# onnxruntime fills the opset 7-11 mask with false; the spec's reference implementation (and
# Dropout-12's definition, true = kept) give all true, which Ferry follows.
add(Case("Dropout", [In((3, 4))], {"ratio": 0.3}, name="v10_mask", opsets=(10,), outputs=2,
         reference=lambda x, **_: [x, np.ones(x.shape, bool)]))
add(Case("Dropout", [In((3, 4))], name="v12_mask", opsets=(12, 13, 22), outputs=2))
add(Case("Dropout", [In((3, 4)), Lit(np.array(0.2, F32))], name="v13_ratio", opsets=(13,)))
add(Case("Dropout", [In((3, 4)), Lit(np.array(0.2, F32)), Lit(np.array(False))], name="v13_not_training", opsets=(13,), outputs=2))
add(Case("Dropout", [In((2, 5), F64)], name="f64", opsets=(13,)))



test_op = make_test(CASES)
