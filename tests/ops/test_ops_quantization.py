"""Op tests for the quantization family: QuantizeLinear / DequantizeLinear (per tensor, per axis,
blocked; integer, packed int4 and float8 types; saturate; output_dtype), MatMulInteger,
QLinearMatMul, ConvInteger, QLinearConv and DynamicQuantizeLinear, against onnxruntime (onnx's
reference evaluator where onnxruntime has no kernel).

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_quantization.py -q
"""

from __future__ import annotations

import ferry
import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from op_harness import onnx_reference, F32, I8, I16, I32, U8, U16, Case, In, Lit, make_test, onnx_type

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


F16 = np.float16
E4M3, E5M2 = ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2
E4M3UZ, E5M2UZ = ml_dtypes.float8_e4m3fnuz, ml_dtypes.float8_e5m2fnuz
INT4, UINT4 = ml_dtypes.int4, ml_dtypes.uint4


def matmul_integer_per_row_col(a, b, azp, bzp):
    return [np.matmul(a.astype(np.int32) - azp.astype(np.int32)[:, None], b.astype(np.int32) - bzp.astype(np.int32))]


def scale(v, dt=F32):
    return Lit(np.array(v, dt), const=True)


def zp(v, dt):
    return Lit(np.array(v, dt), const=True)


# --- QuantizeLinear -------------------------------------------------------------------------
# Values spread over and beyond the uint8/int8 ranges, with exact .5 ties (round half to even).
TIES = Lit(np.array([[-300.0, -2.5, -1.5, -0.5, 0.5, 1.5], [2.5, 3.5, 127.5, 128.5, 254.5, 600.0]], F32))
for dt, z in [(U8, 128), (I8, -3)]:
    name = np.dtype(dt).name
    add(Case("QuantizeLinear", [TIES, scale(1.0), zp(z, dt)], name=f"ties_{name}", opsets=(10, 13, 19, 21)))
    add(Case("QuantizeLinear", [In((3, 4, 5)), scale(0.02), zp(z, dt)], name=f"tensor_{name}", opsets=(10, 13, 21)))
add(Case("QuantizeLinear", [In((3, 4)), scale(0.05)], name="no_zero_point", opsets=(10, 13, 21)))
add(Case("QuantizeLinear", [In((6,)), scale([0.05])], name="one_element_scale", opsets=(13, 21)))
for axis, shape in [(0, (3, 4, 2)), (1, (2, 3, 4)), (-1, (2, 4, 3)), (2, (2, 2, 3))]:
    add(Case("QuantizeLinear", [In(shape), scale([0.01, 0.02, 0.05]), zp([0, 10, 250], U8)], {"axis": axis},
             name=f"axis{axis}", opsets=(13, 21)))
add(Case("QuantizeLinear", [In((2, 3)), scale([0.01, 0.02, 0.05]), zp([0, -10, 100], I8)], name="axis_default",
         opsets=(13,)))
for dt in [I16, U16]:
    add(Case("QuantizeLinear", [In((4, 5)), scale(1e-4), zp(7, dt)], name=f"{np.dtype(dt).name}", opsets=(21,)))
# Blocked (opset 21+): scale shape = x shape with ceil(D / block) on the axis, remainder block too.
add(Case("QuantizeLinear", [In((3, 8)), Lit(np.abs(np.linspace(0.01, 0.1, 6, dtype=F32)).reshape(3, 2), const=True),
                            zp(np.arange(6).reshape(3, 2), U8)], {"axis": 1, "block_size": 4}, name="blocked", opsets=(21,)))
add(Case("QuantizeLinear", [In((7, 2)), Lit(np.array([[0.02, 0.03], [0.04, 0.05], [0.06, 0.07]], F32), const=True),
                            zp([[1, 2], [3, 4], [5, 6]], I8)], {"axis": 0, "block_size": 3}, name="blocked_rem",
         opsets=(21,)))
# Packed 4-bit outputs.
# (onnxruntime's Python API cannot return int4 / float8 arrays: onnx's evaluator is the reference.)
add(Case("QuantizeLinear", [In((3, 5)), scale(0.3), zp(1, INT4)], name="int4", opsets=(21,),
         reference=onnx_reference("QuantizeLinear", 21)))
add(Case("QuantizeLinear", [In((7,)), scale(0.3), zp(3, UINT4)], name="uint4_odd", opsets=(21,),
         reference=onnx_reference("QuantizeLinear", 21)))
# float8 outputs: saturating and not.
BIG = Lit(np.array([0, 0.3, -1.7, 100, 448, 465, 1000, -1e6, 60000, 1e-5, np.inf, -np.inf], F32))
for dt in [E4M3, E5M2, E4M3UZ, E5M2UZ]:
    name = np.dtype(dt).name
    add(Case("QuantizeLinear", [BIG, scale(1.0), zp(0, dt)], name=f"{name}_sat", opsets=(19, 21),
             reference=onnx_reference("QuantizeLinear", 21)))
    if dt == E5M2:  # the others give NaN, which the table cannot compare: test_float8_no_saturate below
        add(Case("QuantizeLinear", [BIG, scale(1.0), zp(0, dt)], {"saturate": 0}, name=f"{name}_nosat",
                 opsets=(19,), reference=onnx_reference("QuantizeLinear", 21)))
# Scale types and output_dtype.
add(Case("QuantizeLinear", [In((3, 4), F16), scale(0.05, F16), zp(9, U8)], name="f16", opsets=(19, 21)))
add(Case("QuantizeLinear", [In((3, 4)), scale(0.05)], {"output_dtype": TensorProto.INT8}, name="output_dtype",
         opsets=(21,)))
add(Case("QuantizeLinear", [Lit(np.array([-70000, -5, 0, 3, 5, 70000], I32)), scale(2, I32), zp(1, I8)],
         name="int32_x", opsets=(19, 21), reference=onnx_reference("QuantizeLinear", 21)))

# --- DequantizeLinear -----------------------------------------------------------------------
for dt, z in [(U8, 128), (I8, -3)]:
    name = np.dtype(dt).name
    add(Case("DequantizeLinear", [In((3, 4, 5), dt), scale(0.02), zp(z, dt)], name=f"tensor_{name}",
             opsets=(10, 13, 19, 21)))
    add(Case("DequantizeLinear", [In((2, 3, 4), dt), scale([0.1, 0.2, 0.3]), zp([1, 2, 3], dt)], name=f"axis_{name}",
             opsets=(13, 21)))
add(Case("DequantizeLinear", [In((2, 4), U8), scale([0.1, 0.2, 0.3, 0.4]), zp([1, 2, 3, 4], U8)], {"axis": -1},
         name="axis_neg", opsets=(13,)))
add(Case("DequantizeLinear", [In((3, 4), I32), scale(0.5)], name="int32", opsets=(10, 13, 21)))
add(Case("DequantizeLinear", [In((3, 4), U8), scale(0.5)], name="no_zero_point", opsets=(10, 21)))
for dt in [I16, U16]:
    add(Case("DequantizeLinear", [In((4, 5), dt), scale(0.01), zp(7, dt)], name=np.dtype(dt).name, opsets=(21,)))
add(Case("DequantizeLinear", [In((3, 8), U8), Lit(np.linspace(0.01, 0.1, 6, dtype=F32).reshape(3, 2), const=True),
                              zp(np.arange(6).reshape(3, 2), U8)], {"axis": 1, "block_size": 4}, name="blocked",
         opsets=(21,)))
add(Case("DequantizeLinear", [In((7, 2), I8), Lit(np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.7]], F32), const=True),
                              zp([[1, 2], [3, 4], [5, 6]], I8)], {"axis": 0, "block_size": 3}, name="blocked_rem",
         opsets=(21,)))
add(Case("DequantizeLinear", [Lit(np.array([[-8, -1, 0, 7, 3]], INT4), const=True), scale(0.5), zp(1, INT4)],
         name="int4", opsets=(21,)))
add(Case("DequantizeLinear", [Lit(np.array([0, 1, 15, 9, 4, 2, 7], UINT4), const=True), scale(0.25)], name="uint4",
         opsets=(21,)))
FP8_VALUES = np.array([0, 0.5, -1.75, 3, 448, -240, 0.0078125, 0.001953125], F32)
for dt in [E4M3, E5M2, E4M3UZ, E5M2UZ]:
    add(Case("DequantizeLinear", [Lit(FP8_VALUES.astype(dt), const=True), scale(2.0)], name=np.dtype(dt).name,
             opsets=(19, 21)))
add(Case("DequantizeLinear", [In((3, 4), U8), scale(0.05, F16), zp(9, U8)], name="f16", opsets=(19, 21)))

# Newer opsets: output_dtype and precision (23), float8e8m0 scales (24), int2/uint2 (25), float4e2m1.
add(Case("DequantizeLinear", [In((3, 4), U8), scale(0.05), zp(9, U8)], {"output_dtype": TensorProto.FLOAT16},
         name="output_dtype_f16", opsets=(23,), reference=onnx_reference("DequantizeLinear", 23)))
add(Case("QuantizeLinear", [In((3, 4), F16), scale(0.07), zp(9, U8)], {"precision": TensorProto.FLOAT16},
         name="precision_f16", opsets=(23,), reference=onnx_reference("QuantizeLinear", 23)))
add(Case("DequantizeLinear", [In((2, 4), I8), Lit(np.array([0.5, 4.0], F32).astype(ml_dtypes.float8_e8m0fnu), const=True)],
         {"axis": 0, "output_dtype": TensorProto.FLOAT}, name="e8m0_scale", opsets=(24,),
         reference=onnx_reference("DequantizeLinear", 24)))
for dt in [ml_dtypes.int2, ml_dtypes.uint2]:
    add(Case("QuantizeLinear", [In((3, 5)), scale([0.5, 1.0, 2.0]), zp([0, 1, 1], dt)], {"axis": 0},
             name=np.dtype(dt).name, opsets=(25,), reference=onnx_reference("QuantizeLinear", 25)))
    add(Case("DequantizeLinear", [Lit(np.array([[0, 1, 1, 0, 1]], dt), const=True), scale(0.5), zp(1, dt)],
             name=np.dtype(dt).name, opsets=(25,), reference=onnx_reference("DequantizeLinear", 25)))
FP4 = ml_dtypes.float4_e2m1fn
add(Case("QuantizeLinear", [Lit(np.array([[0, 0.2, 0.8, 1.2, 2.6, 5.1, 7, -100, -0.3]], F32)), scale(1.0), zp(0, FP4)],
         name="float4e2m1", opsets=(23,), reference=onnx_reference("QuantizeLinear", 23)))
add(Case("DequantizeLinear", [Lit(np.array([0, 0.5, 1.5, -3, 6, -6, 4], F32).astype(FP4), const=True), scale(2.0)],
         name="float4e2m1", opsets=(23,), reference=onnx_reference("DequantizeLinear", 23)))

# --- MatMulInteger / QLinearMatMul ----------------------------------------------------------
MATMULS = [("2d", (3, 4), (4, 5)), ("batch", (2, 3, 4), (2, 4, 5)), ("bcast", (2, 3, 4), (4, 6)),
           ("vec", (4,), (4, 3)), ("k1", (5, 1), (1, 2))]
for name, a, b in MATMULS:
    for adt, bdt in [(U8, U8), (U8, I8), (I8, I8)]:
        tag = f"{name}_{np.dtype(adt).name}_{np.dtype(bdt).name}"
        add(Case("MatMulInteger", [In(a, adt), In(b, bdt), zp(3, adt), zp(5, bdt)], name=tag, opsets=(10,)))
add(Case("MatMulInteger", [In((3, 4), U8), In((4, 5), U8)], name="no_zero_points", opsets=(10,)))
add(Case("MatMulInteger", [In((3, 4), U8), In((4, 5), U8), zp([1, 2, 3], U8), zp([1, 2, 3, 4, 5], U8)],
         name="per_row_col", opsets=(10,), reference=matmul_integer_per_row_col))
for name, a, b in MATMULS[:3]:
    for dt in [U8, I8]:
        add(Case("QLinearMatMul", [In(a, dt), scale(0.05), zp(2, dt), In(b, dt), scale(0.04), zp(3, dt), scale(0.3),
                                   zp(1, dt)], name=f"{name}_{np.dtype(dt).name}", opsets=(10, 21),
                 reference=onnx_reference("QLinearMatMul", 21)))
add(Case("QLinearMatMul", [In((3, 4), U8), scale(0.05), zp(2, U8), In((4, 3), U8), scale([0.04, 0.05, 0.06]),
                           zp([3, 4, 5], U8), scale(0.3), zp(1, U8)], name="per_column", opsets=(10,)))

# --- ConvInteger / QLinearConv --------------------------------------------------------------
CONVS = [("basic", (1, 2, 5, 5), (3, 2, 3, 3), {}),
         ("pads_strides", (2, 3, 6, 7), (4, 3, 3, 2), {"pads": [1, 0, 1, 2], "strides": [2, 1]}),
         ("dilations", (1, 2, 7, 7), (2, 2, 3, 3), {"dilations": [2, 2]}),
         ("group", (1, 4, 5, 5), (4, 2, 3, 3), {"group": 2}),
         ("same_upper", (1, 2, 5, 6), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER"}),
         ("conv1d", (2, 3, 9), (2, 3, 3), {"strides": [2]})]
for name, x, w, attrs in CONVS:
    add(Case("ConvInteger", [In(x, U8), In(w, U8), zp(4, U8), zp(2, U8)], attrs, name=name, opsets=(10,)))
    add(Case("QLinearConv", [In(x, U8), scale(0.05), zp(4, U8), In(w, U8), scale(0.1), zp(2, U8), scale(0.5),
                             zp(7, U8)], attrs, name=f"{name}_u8", opsets=(10,)))
add(Case("ConvInteger", [In((1, 2, 4, 4), I8), In((2, 2, 2, 2), I8), zp(-1, I8), zp([1, -2], I8)],
         name="per_channel_i8", opsets=(10,), reference=onnx_reference("ConvInteger", 21)))
add(Case("QLinearConv", [In((1, 2, 4, 4), I8), scale(0.05), zp(-1, I8), In((3, 2, 2, 2), I8),
                         scale([0.1, 0.2, 0.3]), zp(0, I8), scale(0.4), zp(2, I8),
                         Lit(np.array([5, -100, 40], I32), const=True)], name="bias_per_channel_i8", opsets=(10,)))

# --- DynamicQuantizeLinear ------------------------------------------------------------------
for name, x in [("mixed", In((3, 4))), ("positive", In((5,), kind="pos")),
                ("negative", Lit(np.array([-1.0, -2.5, -0.1], F32))), ("ties", Lit(np.array([0, 1, 2, 2.5, 255], F32)))]:
    add(Case("DynamicQuantizeLinear", [x], name=name, opsets=(11,), outputs=3))

test_op = make_test(CASES)


@pytest.mark.parametrize("dt", [E4M3, E4M3UZ, E5M2, E5M2UZ], ids=lambda d: np.dtype(d).name)
def test_float8_no_saturate(dt):
    """saturate=0: out-of-range values and infinities become NaN (inf for E5M2), as ml_dtypes casts."""
    x = np.array([0, 0.3, -1.7, 100, 240, 448, 465, 1000, -1e6, 60000, 61440, 1e-5, np.inf, -np.inf, np.nan], F32)
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"], saturate=0)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", onnx_type(np.dtype(dt)), x.shape)],
                              initializer=[numpy_helper.from_array(np.array(1.0, F32), "s"),
                                           numpy_helper.from_array(np.array(0, dt), "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    got = ferry.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    want = x.astype(dt)
    assert got.dtype == want.dtype
    g32, w32 = got.astype(F32), want.astype(F32)
    np.testing.assert_array_equal(np.isnan(g32), np.isnan(w32))
    np.testing.assert_array_equal(g32[~np.isnan(w32)], w32[~np.isnan(w32)])


@pytest.mark.parametrize("scale_shape,attrs,message", [
    ((3,), {"axis": 1}, r"must be a scalar or a 1-D tensor of length 4"),
    ((2, 3), {"axis": 1, "block_size": 2}, r"needs y_scale of the input's shape with ceil\(4/2\)"),
    ((2, 2), {"axis": 5, "block_size": 2}, r"attribute 'axis' 5 is out of range"),
])
def test_bad_scale_shapes_are_errors(scale_shape, attrs, message):
    x = np.zeros((2, 4), F32)
    node = helper.make_node("QuantizeLinear", ["x", "s"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                                            helper.make_tensor_value_info("s", TensorProto.FLOAT, scale_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    sess = ferry.InferenceSession(model.SerializeToString())
    with pytest.raises(ferry.FerryError, match=message):
        sess.run(None, {"x": x, "s": np.ones(scale_shape, F32)})
