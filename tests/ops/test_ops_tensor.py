"""Op tests for the data-movement family (tensor_ext): Slice, Split, Tile, Expand, Pad, CenterCropPad,
ConstantOfShape, Range, Size, NonZero, OneHot, GatherElements, GatherND, Scatter, ScatterElements, ScatterND,
Trilu, DepthToSpace, SpaceToDepth, ReverseSequence, EyeLike, Compress, Unique, Col2Im, Cast/CastLike to and
from the small types. onnxruntime is the reference; onnx's reference evaluator where onnxruntime has no kernel.

    PYTHONPATH=build/python .venv/bin/python -m pytest tests/ops/test_ops_tensor.py -q
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from op_harness import (BOOL, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Case, In, Lit, make_test)

CASES: list[Case] = []


def add(*cases: Case) -> None:
    CASES.extend(cases)


ALL = [F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL, np.float16]


def nm(dt) -> str:
    return np.dtype(dt).name


def i64(*v):
    return Lit(np.array(v, I64), const=True)


# Slice: attributes before 10, inputs from 10; negatives, clamping, negative steps, axes.
add(Case("Slice", [In((4, 5, 6))], {"starts": [1, -4], "ends": [3, 100], "axes": [0, 2]}, opsets=(7,), name="attrs"))
add(Case("Slice", [In((4, 5, 6))], {"starts": [0], "ends": [-1]}, opsets=(7,), name="attrs_noaxes"))
for name, st, en, ax, sp in [
    ("basic", [1, 0], [3, 4], [0, 1], [1, 1]), ("neg", [-3], [-1], [2], [1]), ("clamp", [-100], [100], [1], [1]),
    ("negstep", [100], [-100], [2], [-1]), ("negstep2", [4], [0], [1], [-2]), ("step3", [0, 1], [6, 6], [2, 1], [3, 2]),
    ("empty", [3], [1], [0], [1]), ("negaxis", [1], [3], [-1], [1]), ("big", [0], [2**62], [0], [2**40]),
    ("int_min", [-(2**63)], [2**63 - 1], [2], [1]),
]:
    add(Case("Slice", [In((4, 5, 6)), i64(*st), i64(*en), i64(*ax), i64(*sp)], opsets=(10, 13), name=name))
add(Case("Slice", [In((4, 5, 6)), i64(1, 1), i64(3, 4)], opsets=(13,), name="no_axes"))
for dt in ALL:
    add(Case("Slice", [In((3, 7), dt), i64(1, -1), i64(3, 0), i64(0, 1), i64(1, -2)], opsets=(13,), name=f"dt_{nm(dt)}"))

# Split: equal, attribute, input, num_outputs with an uneven last chunk.
add(Case("Split", [In((6, 4))], {"axis": 0}, outputs=3, opsets=(7, 11, 13), name="equal"))
add(Case("Split", [In((2, 7))], {"axis": 1, "split": [2, 5]}, outputs=2, opsets=(7, 11), name="attr"))
add(Case("Split", [In((2, 7)), i64(3, 0, 4)], {"axis": -1}, outputs=3, opsets=(13, 18), name="input"))
add(Case("Split", [In((7, 3))], {"num_outputs": 3}, outputs=3, opsets=(18,), name="uneven"))
for dt in ALL:
    add(Case("Split", [In((4, 2), dt)], outputs=2, opsets=(13,), name=f"dt_{nm(dt)}"))

# Tile and Expand.
add(Case("Tile", [In((2, 3)), i64(2, 3)], opsets=(6, 13), name="basic"))
add(Case("Tile", [In((2, 1, 3)), i64(1, 4, 0)], opsets=(13,), name="zero"))
add(Case("Tile", [In(()), Lit(np.zeros((0,), I64), const=True)], opsets=(13,), name="scalar"))
for dt in ALL:
    add(Case("Tile", [In((3,), dt), i64(2)], opsets=(13,), name=f"dt_{nm(dt)}"))
add(Case("Expand", [In((3, 1)), i64(2, 1, 6)], opsets=(8, 13), name="bidir"))
add(Case("Expand", [In((1, 4)), i64(3, 1)], opsets=(13,), name="keep"))
add(Case("Expand", [In(()), i64(2, 3)], opsets=(13,), name="scalar"))
add(Case("Expand", [In((2, 3)), i64(0, 1, 1)], opsets=(13,), name="zero"))
for dt in ALL:
    add(Case("Expand", [In((2, 1), dt), i64(2, 3)], opsets=(13,), name=f"dt_{nm(dt)}"))

# Pad: every mode, attribute and input forms, negative pads, axes.
for mode in ["constant", "reflect", "edge"]:
    add(Case("Pad", [In((3, 4))], {"mode": mode, "pads": [1, 2, 2, 1]}, opsets=(7,), name=f"attr_{mode}"))
    add(Case("Pad", [In((2, 3, 4)), i64(0, 2, 1, 1, 1, 3)], {"mode": mode}, opsets=(11, 13, 18), name=f"in_{mode}"))
add(Case("Pad", [In((3, 4))], {"pads": [1, 1, 1, 1], "value": 2.5}, opsets=(7,), name="attr_value"))
add(Case("Pad", [In((3, 4)), i64(1, 0, 2, 1), Lit(np.array(3.5, F32))], opsets=(11, 13), name="value"))
add(Case("Pad", [In((3, 4)), i64(-1, 1, 1, -2)], opsets=(13,), name="negative"))
add(Case("Pad", [In((3, 4, 5)), i64(1, 2, 0, 3), None, i64(0, -1)], {"mode": "reflect"}, opsets=(18,), name="axes"))
add(Case("Pad", [In((3, 4)), i64(2, 3, 4, 5)], {"mode": "wrap"}, opsets=(19,), name="wrap"))
for dt in [F32, F64, I8, U8, I16, U16, I32, U32, I64, U64, BOOL, np.float16]:
    add(Case("Pad", [In((2, 3), dt), i64(1, 0, 0, 2)], {"mode": "edge"}, opsets=(18,), name=f"dt_{nm(dt)}"))
add(Case("CenterCropPad", [In((5, 6, 3)), i64(3, 8)], {"axes": [0, 1]}, opsets=(18,), name="crop_pad"))
add(Case("CenterCropPad", [In((4, 7)), i64(6, 2)], opsets=(18,), name="all_axes"))

# Generators.
for dt, v in [(F32, 1.5), (I64, 7), (I32, -2), (BOOL, True), (F64, 0.25), (U8, 9), (np.float16, 2.0)]:
    add(Case("ConstantOfShape", [i64(2, 3)], {"value": helper.make_tensor("v", helper.np_dtype_to_tensor_dtype(np.dtype(dt)), [1], [v])},
             opsets=(9, 20), name=f"v_{nm(dt)}"))
add(Case("ConstantOfShape", [i64(4, 0)], opsets=(9,), name="default_empty"))
for dt, (s, l, d) in [(F32, (1.0, 5.5, 0.75)), (F64, (5.0, -2.0, -1.5)), (I16, (1, 10, 3)), (I32, (10, 1, -4)),
                      (I64, (-5, 20, 7)), (I64, (3, 3, 1)), (I32, (0, 10, -1))]:
    add(Case("Range", [Lit(np.array(s, dt)), Lit(np.array(l, dt)), Lit(np.array(d, dt))], opsets=(11,),
             name=f"{nm(dt)}_{s}_{l}_{d}"))
for shape in [(), (0,), (2, 3, 4)]:
    add(Case("Size", [In(shape)], opsets=(7, 13, 19), name=f"s{len(shape)}_{shape[:1]}"))
add(Case("EyeLike", [In((3, 5))], {"k": 1}, opsets=(9, 22), name="k1"))
add(Case("EyeLike", [In((4, 3), I32)], {"k": -2, "dtype": TensorProto.DOUBLE}, opsets=(9,), name="dtype"))
add(Case("EyeLike", [In((3, 3), F64)], {"k": 5}, opsets=(9,), name="off"))
add(Case("OneHot", [Lit(np.array([[1, 9, -1], [0, 4, 2]], I64)), Lit(np.array(5, I64)), Lit(np.array([0, 3], F32))],
         opsets=(11,), name="neg"))
add(Case("OneHot", [Lit(np.array([1, 3, 0], I32)), Lit(np.array(4, F32)), Lit(np.array([2, 7], F32))], {"axis": 0},
         opsets=(9, 11), name="axis0"))

# Data-dependent sizes.
for dt in [F32, I32, BOOL, U8, np.float16, I64]:
    add(Case("NonZero", [In((3, 4), dt)], opsets=(9, 13), name=f"dt_{nm(dt)}"))
add(Case("NonZero", [Lit(np.zeros((2, 0), F32))], opsets=(13,), name="empty"))
add(Case("Compress", [In((3, 4)), Lit(np.array([True, False, True]))], {"axis": 0}, opsets=(9, 11), name="axis0"))
add(Case("Compress", [In((3, 4)), Lit(np.array([False, True]))], {"axis": -1}, opsets=(11,), name="short"))
add(Case("Compress", [In((2, 3), I64), Lit(np.array([True, False, False, True, True]))], opsets=(11,), name="flat"))
add(Case("Unique", [Lit(np.array([2, 1, 1, 3, 4, 3], I64))], outputs=4, opsets=(11,), name="sorted"))
add(Case("Unique", [Lit(np.array([2, 1, 1, 3, 4, 3], F32))], {"sorted": 0}, outputs=4, opsets=(11,), name="unsorted"))
add(Case("Unique", [Lit(np.array([[1, 0, 0], [1, 0, 0], [2, 3, 4]], I64))], {"axis": 0}, outputs=4, opsets=(11,),
         name="axis0"))
add(Case("Unique", [Lit(np.array([[1, 1, 0, 1], [2, 2, 1, 2]], I64))], {"axis": 1, "sorted": 0}, outputs=4,
         opsets=(11,), name="axis1"))

# Gathers and scatters.
add(Case("GatherElements", [In((3, 4)), Lit(np.array([[0, 2], [1, -1], [2, 0]], I64))], {"axis": 1},
         opsets=(11, 13), name="axis1"))
add(Case("GatherElements", [In((3, 4), I32), Lit(np.array([[2, 0, 1, 1]], I32))], opsets=(13,), name="axis0"))
add(Case("GatherND", [In((2, 3, 4)), Lit(np.array([[0, 1], [1, 2]], I64))], opsets=(11, 13), name="k2"))
add(Case("GatherND", [In((2, 3, 4), I64), Lit(np.array([[[1]], [[0]]], I64))], {"batch_dims": 1}, opsets=(12, 13),
         name="batch"))
add(Case("GatherND", [In((2, 3)), Lit(np.array([[-1, -3]], I64))], opsets=(13,), name="negative"))
add(Case("ScatterElements", [In((3, 4)), Lit(np.array([[1, 0], [3, 3]], I64)), In((2, 2))], {"axis": 1},
         opsets=(11, 13), name="basic"))
for red in ["add", "mul", "max", "min"]:
    add(Case("ScatterElements", [In((3, 4)), Lit(np.array([[1, 1], [0, -1]], I64)), In((2, 2))],
             {"axis": 1, "reduction": red}, opsets=(18,), name=f"red_{red}"))
    add(Case("ScatterND", [In((4, 3)), Lit(np.array([[1], [1], [3]], I64)), In((3, 3))], {"reduction": red},
             opsets=(18,), name=f"red_{red}"))
add(Case("ScatterND", [In((2, 3, 4)), Lit(np.array([[0, 1], [1, 2]], I64)), In((2, 4))], opsets=(11, 13, 16),
         name="k2"))
add(Case("Scatter", [In((3, 3)), Lit(np.array([[1, 0, 2]], I64)), In((1, 3))], opsets=(9,), name="basic"))

# Layout.
add(Case("Trilu", [In((3, 5))], opsets=(14,), name="upper"))
add(Case("Trilu", [In((2, 4, 3), I64), Lit(np.array(1, I64))], {"upper": 0}, opsets=(14,), name="lower_k"))
add(Case("Trilu", [In((4, 4)), Lit(np.array(-7, I64))], opsets=(14,), name="big_k"))
for mode in ["DCR", "CRD"]:
    add(Case("DepthToSpace", [In((2, 8, 3, 2))], {"blocksize": 2, "mode": mode}, opsets=(11, 13), name=mode))
add(Case("DepthToSpace", [In((1, 9, 2, 2))], {"blocksize": 3}, opsets=(7,), name="v1"))
add(Case("SpaceToDepth", [In((2, 3, 4, 6))], {"blocksize": 2}, opsets=(7, 13), name="b2"))

# Every element type through the type-agnostic kernels.
for dt in ALL:
    t = nm(dt)
    add(Case("GatherElements", [In((3, 4), dt), Lit(np.array([[0, 2, 1, 0]], I64))], opsets=(13,), name=f"dt_{t}"))
    add(Case("GatherND", [In((2, 3, 2), dt), Lit(np.array([[1, 2], [0, 0]], I64))], opsets=(13,), name=f"dt_{t}"))
    add(Case("ScatterND", [In((4, 2), dt), Lit(np.array([[3], [0]], I64)), In((2, 2), dt)], opsets=(13,), name=f"dt_{t}"))
    add(Case("ScatterElements", [In((3, 3), dt), Lit(np.array([[2, 0, 1]], I64)), In((1, 3), dt)], opsets=(13,),
             name=f"dt_{t}"))
    add(Case("Trilu", [In((3, 4), dt)], opsets=(14,), name=f"dt_{t}"))
    add(Case("DepthToSpace", [In((1, 4, 2, 3), dt)], {"blocksize": 2}, opsets=(13,), name=f"dt_{t}"))
    add(Case("SpaceToDepth", [In((1, 2, 2, 4), dt)], {"blocksize": 2}, opsets=(13,), name=f"dt_{t}"))
    add(Case("ReverseSequence", [In((3, 2, 2), dt), Lit(np.array([3, 1], I64))], opsets=(10,), name=f"dt_{t}"))
    add(Case("Compress", [In((3, 2), dt), Lit(np.array([False, True, True]))], {"axis": 0}, opsets=(11,),
             name=f"dt_{t}"))
    add(Case("Pad", [In((2, 2), dt), i64(1, 1, 0, 1), Lit(np.array(1, dt))], opsets=(18,), name=f"value_{t}"))


def scatter_elements_ref(data, indices, updates, axis=0, reduction="none"):
    """numpy ScatterElements in index order (onnxruntime rejects float16 add/mul at run time)."""
    out = data.copy()
    ops = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}
    for pos in np.ndindex(indices.shape):
        target = list(pos)
        target[axis] = indices[pos] % data.shape[axis]
        target = tuple(target)
        out[target] = updates[pos] if reduction == "none" else ops[reduction](out[target], updates[pos])
    return [out]


for dt in [F64, I32, I64, U8, np.float16]:
    for red in ["add", "mul", "max", "min"]:
        add(Case("ScatterElements", [In((2, 4), dt), Lit(np.array([[3, 3, 0]], I64)), In((1, 3), dt)],
                 {"axis": 1, "reduction": red}, opsets=(18,), name=f"red_{red}_{nm(dt)}",
                 reference=scatter_elements_ref if dt == np.float16 else None))

# Strings move like any other element type.
STR = Lit(np.array([["a", "bb", ""], ["ccc", "d", "ee"], ["f", "g", "hhhh"]], dtype=object))
add(Case("Slice", [STR, i64(-1), i64(-4), i64(1), i64(-1)], opsets=(13,), name="string"))
add(Case("Split", [STR], {"axis": 1, "num_outputs": 2}, outputs=2, opsets=(18,), name="string"))
add(Case("Tile", [STR, i64(2, 1)], opsets=(13,), name="string"))
add(Case("Expand", [Lit(np.array([["x"], ["yy"]], dtype=object)), i64(2, 3)], opsets=(13,), name="string"))
add(Case("Pad", [STR, i64(1, 0, 0, 1), Lit(np.array("pad", dtype=object))], opsets=(18,), name="string"))
add(Case("Compress", [STR, Lit(np.array([True, False, True]))], {"axis": 1}, opsets=(11,), name="string"))
add(Case("Unique", [Lit(np.array(["b", "a", "b", "c", "a"], dtype=object))], outputs=4, opsets=(11,), name="string"))
add(Case("GatherElements", [STR, Lit(np.array([[2, 0, 1]], I64))], opsets=(13,), name="string"))
add(Case("GatherND", [STR, Lit(np.array([[2, 1], [0, 0]], I64))], opsets=(13,), name="string"))
add(Case("ScatterND", [STR, Lit(np.array([[1]], I64)), Lit(np.array([["u", "v", "w"]], dtype=object))],
         opsets=(13,), name="string"))
# onnx's evaluator fills strings with the integer 0 (numpy's triu on objects); the empty string is the zero.
add(Case("Trilu", [STR], opsets=(14,), name="string",
         reference=lambda x: [np.where(np.triu(np.ones(x.shape, bool)), x, "").astype(object)]))


def depth_to_space_ref(x, blocksize, mode):
    n, c, h, w = x.shape
    b = blocksize
    if mode == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return [y.reshape(n, c // (b * b), h * b, w * b)]


def space_to_depth_ref(x, blocksize, mode):
    n, c, h, w = x.shape
    b = blocksize
    y = x.reshape(n, c, h // b, b, w // b, b)
    y = y.transpose(0, 3, 5, 1, 2, 4) if mode == "DCR" else y.transpose(0, 1, 3, 5, 2, 4)
    return [y.reshape(n, c * b * b, h // b, w // b)]


# Opset 28 (newer than onnxruntime): SpaceToDepth gains CRD mode; numpy references.
for mode in ["DCR", "CRD"]:
    add(Case("SpaceToDepth", [In((2, 3, 6, 9))], {"blocksize": 3, "mode": mode}, opsets=(28,), name=f"b3_{mode}",
             reference=space_to_depth_ref))
    add(Case("DepthToSpace", [In((2, 18, 2, 3))], {"blocksize": 3, "mode": mode}, opsets=(28,), name=f"b3_{mode}",
             reference=depth_to_space_ref))
add(Case("ReverseSequence", [In((4, 3, 2)), Lit(np.array([4, 1, 3], I64))], opsets=(10,), name="time0"))
add(Case("ReverseSequence", [In((3, 4)), Lit(np.array([1, 2, 4], I64))], {"time_axis": 1, "batch_axis": 0},
         opsets=(10,), name="time1"))
add(Case("Col2Im", [In((1, 4, 6)), i64(3, 4), i64(2, 2)], opsets=(18,), name="basic"))
add(Case("Col2Im", [In((2, 6, 9)), i64(5, 5), i64(1, 3)], {"strides": [2, 1], "pads": [0, 1, 0, 1],
                                                             "dilations": [1, 2]}, opsets=(18,), name="strided"))

add(Case("CastLike", [Lit(np.array([1.5, -2.25, 3], F32)), Lit(np.array([0], I32))], opsets=(15, 19), name="to_int"))
add(Case("CastLike", [Lit(np.array([1, 2, 300], I32)), Lit(np.array([0.5], F64))], opsets=(15,), name="to_double"))

test_op = make_test(CASES)


# Cast to the small types and back, against ml_dtypes (onnx's reference for these types). The harness's
# single-node models cannot carry them: numpy and onnxruntime's Python API have no float8 / int4 arrays.
CAST_VALUES = np.array([0.48, -0.25, 1.05, -3.5, 448, 464, 465, 500, 1e6, 1e-7, -1e-7, np.nan, np.inf, -np.inf,
                        -0.0, 0.0, 57344, 61440, -7, 6, 2.5, 0.01, 2**-9, 3 * 2**-10], F32)
SMALL = [("FLOAT8E4M3FN", "float8_e4m3fn"), ("FLOAT8E4M3FNUZ", "float8_e4m3fnuz"), ("FLOAT8E5M2", "float8_e5m2"),
         ("FLOAT8E5M2FNUZ", "float8_e5m2fnuz"), ("FLOAT4E2M1", "float4_e2m1fn"), ("INT4", "int4"), ("UINT4", "uint4"),
         ("INT2", "int2"), ("UINT2", "uint2")]


def _round_trip(x: np.ndarray, to: str, back: int, attrs: dict, opset: int) -> np.ndarray:
    import onnx
    import ferry
    to_code = getattr(TensorProto, to)
    nodes = [helper.make_node("Cast", ["x"], ["y"], to=to_code, **attrs),
             helper.make_node("Cast", ["y"], ["z"], to=back)]
    in_type = helper.np_dtype_to_tensor_dtype(x.dtype)
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", in_type, list(x.shape))],
                              [helper.make_tensor_value_info("z", back, list(x.shape))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    sess = ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize("to,ml", SMALL)
@pytest.mark.parametrize("saturate", [0, 1])
@pytest.mark.parametrize("src", [F32, np.float16, F64])
def test_cast_small_round_trip(to, ml, saturate, src):
    import ml_dtypes
    from onnx import numpy_helper
    t = getattr(ml_dtypes, ml)
    with np.errstate(over="ignore"):  # 1e6 and 61440 overflow float16 to inf on purpose
        x = (CAST_VALUES if not to.startswith(("INT", "UINT")) else np.arange(-9, 16, dtype=F32)).astype(src)
    is_f8 = to.startswith("FLOAT8")
    if is_f8 and saturate:
        expect = numpy_helper.saturate_cast(x.astype(F32), t).astype(F32)
    else:
        expect = x.astype(F32).astype(t).astype(F32) if src != F64 else x.astype(t).astype(F32)
    got = _round_trip(x, to, TensorProto.FLOAT, {"saturate": saturate} if is_f8 else {}, 21)
    np.testing.assert_array_equal(got, expect)


@pytest.mark.parametrize("to,ml", SMALL[5:])
def test_cast_int_to_packed(to, ml):
    import ml_dtypes
    x = np.array([-300, -9, -8, -3, -1, 0, 1, 2, 7, 8, 15, 16, 255, 1000], I32)
    expect = x.astype(getattr(ml_dtypes, ml)).astype(I32)
    np.testing.assert_array_equal(_round_trip(x, to, TensorProto.INT32, {}, 21), expect)


@pytest.mark.parametrize("mode", ["up", "down", "nearest"])
@pytest.mark.parametrize("saturate", [0, 1])
def test_cast_e8m0(mode, saturate):
    from onnx import numpy_helper
    x = np.array([0.0, 0.124, 0.25, 0.5, 1.1, 2.0, 3.0, 4.0, 1e-40, 3e38, -5.0, np.nan, np.inf, 0.75, 1.5, 1.75], F32)
    expect = numpy_helper.to_float8e8m0(x, saturate=bool(saturate), round_mode=mode).astype(F32)
    got = _round_trip(x, "FLOAT8E8M0", TensorProto.FLOAT, {"saturate": saturate, "round_mode": mode}, 24)
    np.testing.assert_array_equal(got, expect)


def test_data_dependent_sizes_are_bounded():
    """Absurd sizes from data (ConstantOfShape, Range, Tile, Expand) fail cleanly instead of allocating."""
    import ferry
    cases = [
        ("ConstantOfShape", [np.array([2**40, 2**40], I64)], {}),
        ("ConstantOfShape", [np.array([-1], I64)], {}),
        ("Range", [np.array(0, I64), np.array(2**62, I64), np.array(1, I64)], {}),
        ("Range", [np.array(0, F32), np.array(np.inf, F32), np.array(1, F32)], {}),
        ("Tile", [np.ones((2, 2), F32), np.array([2**62, 2**62], I64)], {}),
        ("Expand", [np.ones((1,), F32), np.array([2**33, 2**33], I64)], {}),
        ("Slice", [np.ones((3,), F32), np.array([0], I64), np.array([3], I64), np.array([0], I64), np.array([0], I64)], {}),
        ("GatherElements", [np.ones((3,), F32), np.array([3], I64)], {}),
        ("ScatterND", [np.ones((3,), F32), np.array([[5]], I64), np.ones((1,), F32)], {}),
        ("OneHot", [np.array([1], I64), np.array(-2, I64), np.array([0, 1], F32)], {}),
    ]
    for op, arrays, attrs in cases:
        names = [f"i{k}" for k in range(len(arrays))]
        for as_constants in [False, True]:  # run-time kernels, and load-time inference
            inits = [onnx_numpy_helper_from_array(a, n) for a, n in zip(arrays, names)] if as_constants else []
            inputs = [] if as_constants else [
                helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), list(a.shape))
                for a, n in zip(arrays, names)]
            node = helper.make_node(op, names, ["y"], **attrs)
            graph = helper.make_graph([node], "g", inputs, [helper.make_empty_tensor_value_info("y")], initializer=inits)
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
            model.ir_version = 8
            feed = {} if as_constants else dict(zip(names, arrays))
            with pytest.raises(ferry.FerryError):
                ferry.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)


def onnx_numpy_helper_from_array(a, name):
    from onnx import numpy_helper
    return numpy_helper.from_array(a, name)


# Type and shape inference against onnx.shape_inference (with data propagation) on symbolic inputs: element
# types and ranks exactly, concrete dims exactly, and onnx's free input symbols ("N") kept by name.
def _n(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=f"{op}_{outs[0]}", **attrs)


def _ints(name, values):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.array(values, I64), name)


def _inference_cases():
    X = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 6, 4])
    V = helper.make_tensor_value_info("v", TensorProto.FLOAT, ["N", 6])
    I = helper.make_tensor_value_info("i", TensorProto.INT64, ["N", 2])
    c = []
    c.append(("slice", 13, [_n("Slice", ["x", "s", "e", "a", "st"], ["y"])], [X],
              [_ints("s", [1, -1]), _ints("e", [7, 0]), _ints("a", [1, 3]), _ints("st", [2, -1])]))
    c.append(("slice_whole_n", 13, [_n("Slice", ["x", "s", "e"], ["y"])], [X], [_ints("s", [0]), _ints("e", [2**63 - 1])]))
    c.append(("slice_v1", 7, [_n("Slice", ["x"], ["y"], starts=[0, 2], ends=[100, 5], axes=[2, 1])], [X], []))
    c.append(("split", 13, [_n("Split", ["x", "sp"], ["y0", "y1"], axis=1)], [X], [_ints("sp", [3, 5])]))
    c.append(("split_equal", 13, [_n("Split", ["x"], ["y0", "y1"], axis=2)], [X], []))
    c.append(("split_18", 18, [_n("Split", ["x"], ["y0", "y1", "y2"], axis=1, num_outputs=3)], [X], []))
    c.append(("tile", 13, [_n("Tile", ["x", "r"], ["y"])], [X], [_ints("r", [1, 2, 3, 1])]))
    c.append(("expand", 13, [_n("Expand", ["v", "sh"], ["y"])], [V], [_ints("sh", [3, 1, 6])]))
    c.append(("pad", 13, [_n("Pad", ["x", "p"], ["y"])], [X], [_ints("p", [0, 1, 2, 0, 0, 1, -1, 3])]))
    c.append(("pad_axes", 18, [_n("Pad", ["x", "p", "", "ax"], ["y"], mode="edge")], [X],
              [_ints("p", [1, 2, 3, 4]), _ints("ax", [-1, 1])]))
    c.append(("pad_v2", 7, [_n("Pad", ["x"], ["y"], pads=[0, 0, 1, 1, 0, 0, 1, 1])], [X], []))
    c.append(("center_crop_pad", 18, [_n("CenterCropPad", ["x", "sh"], ["y"], axes=[1, 2])], [X], [_ints("sh", [5, 9])]))
    c.append(("constant_of_shape", 20, [_n("Shape", ["x"], ["s"]), _n("ConstantOfShape", ["s"], ["y"])], [X], []))
    c.append(("range", 11, [_n("Range", ["a", "b", "d"], ["y"])], [],
              [_ints("a", 2), _ints("b", 11), _ints("d", 3)]))
    c.append(("size", 13, [_n("Size", ["x"], ["y"])], [X], []))
    c.append(("nonzero", 13, [_n("NonZero", ["x"], ["y"])], [X], []))
    c.append(("onehot", 11, [_n("OneHot", ["i", "dep", "vals"], ["y"], axis=1)], [I],
              [_ints("dep", 5), helper.make_tensor("vals", TensorProto.FLOAT, [2], [0, 1])]))
    c.append(("gather_elements", 13, [_n("GatherElements", ["v", "i"], ["y"], axis=1)], [V, I], []))
    c.append(("gathernd", 13, [_n("GatherND", ["x", "i"], ["y"])], [X, I], []))
    c.append(("gathernd_batch", 13, [_n("GatherND", ["x", "ib"], ["y"], batch_dims=1)],
              [X, helper.make_tensor_value_info("ib", TensorProto.INT64, ["N", 3, 2])], []))
    c.append(("scatternd", 18, [_n("ScatterND", ["x", "i", "u"], ["y"], reduction="add")],
              [X, I, helper.make_tensor_value_info("u", TensorProto.FLOAT, ["N", 6, 4])], []))
    c.append(("scatter_elements", 16, [_n("ScatterElements", ["v", "i", "uv"], ["y"], axis=1)],
              [V, I, helper.make_tensor_value_info("uv", TensorProto.FLOAT, ["N", 2])], []))
    c.append(("trilu", 14, [_n("Trilu", ["x"], ["y"], upper=0)], [X], []))
    c.append(("depth_to_space", 13, [_n("DepthToSpace", ["x"], ["y"], blocksize=2, mode="CRD")], [X], []))
    c.append(("space_to_depth", 13, [_n("SpaceToDepth", ["x"], ["y"], blocksize=2)], [X], []))
    c.append(("reverse_sequence", 10, [_n("ReverseSequence", ["v", "l"], ["y"], batch_axis=0, time_axis=1)],
              [V, helper.make_tensor_value_info("l", TensorProto.INT64, ["N"])], []))
    c.append(("eyelike", 9, [_n("EyeLike", ["v"], ["y"], dtype=TensorProto.INT32)], [V], []))
    c.append(("compress", 11, [_n("Compress", ["x", "cond"], ["y"], axis=2)],
              [X, helper.make_tensor_value_info("cond", TensorProto.BOOL, [6])], []))
    c.append(("compress_flat", 11, [_n("Compress", ["x", "cond"], ["y"])],
              [X, helper.make_tensor_value_info("cond", TensorProto.BOOL, [6])], []))
    c.append(("unique", 11, [_n("Unique", ["v"], ["y", "idx", "inv", "cnt"])], [V], []))
    c.append(("unique_axis", 11, [_n("Unique", ["v"], ["y", "idx", "inv", "cnt"], axis=1)], [V], []))
    c.append(("col2im", 18, [_n("Col2Im", ["c", "img", "blk"], ["y"])],
              [helper.make_tensor_value_info("c", TensorProto.FLOAT, ["N", 12, 6])],
              [_ints("img", [3, 4]), _ints("blk", [2, 2])]))
    c.append(("castlike", 15, [_n("CastLike", ["x", "i"], ["y"])], [X, I], []))
    c.append(("cast_f8", 21, [_n("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E4M3FN)], [X], []))
    # Shape arithmetic through the ops that propagate integer values.
    c.append(("shape_chain", 13, [
        _n("Shape", ["x"], ["s"]), _n("Slice", ["s", "one", "three"], ["hw"]),
        _n("Tile", ["hw", "two"], ["hw2"]), _n("Size", ["x"], ["n"]), _n("Unsqueeze", ["n", "zero"], ["n1"]),
        _n("Range", ["z", "four", "o"], ["r"]), _n("ConstantOfShape", ["hw"], ["k"]),
        _n("Expand", ["one", "hw"], ["e"]), _n("Reshape", ["x", "rs"], ["flat"]),
    ], [X], [_ints("one", [1]), _ints("three", [3]), _ints("two", [2]), _ints("zero", [0]), _ints("z", 0),
             _ints("four", 4), _ints("o", 1), _ints("rs", [-1, 24])]))
    return c


@pytest.mark.parametrize("case", _inference_cases(), ids=lambda c: c[0])
def test_inference_matches_onnx(case):
    import itertools
    import onnx
    from ferry import _ferry
    name, opset, nodes, inputs, inits = case
    outs = [o for n in nodes for o in n.output]
    graph = helper.make_graph(nodes, name, inputs, [helper.make_empty_tensor_value_info(o) for o in outs],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = max(helper.find_min_ir_version_for([helper.make_opsetid("", opset)]), 7)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    theirs = {vi.name: vi.type for vi in itertools.chain(inferred.graph.value_info, inferred.graph.output)}
    free = {d.dim_param for vi in model.graph.input for d in vi.type.tensor_type.shape.dim if d.HasField("dim_param")}
    ours = _ferry.infer_types(model.SerializeToString())
    for value, tp in theirs.items():
        if not tp.HasField("tensor_type") or tp.tensor_type.elem_type == 0:
            continue
        type_string, shape = ours[value]
        assert type_string == "tensor(" + TensorProto.DataType.Name(tp.tensor_type.elem_type).lower() + ")", value
        if not tp.tensor_type.HasField("shape"):
            continue
        dims = list(tp.tensor_type.shape.dim)
        assert shape is not None and len(shape) == len(dims), f"{value}: {shape} vs rank {len(dims)}"
        for k, (mine, d) in enumerate(zip(shape, dims)):
            if d.HasField("dim_value"):
                assert mine == d.dim_value, f"{value} dim {k}: {mine} vs {d.dim_value}"
            elif d.HasField("dim_param") and d.dim_param in free:
                assert mine == d.dim_param, f"{value} dim {k}: {mine!r} vs {d.dim_param!r}"


def test_integer_values_propagate():
    """Shape -> Slice / Tile / Size / Range feeding ConstantOfShape, Expand and Reshape give exact shapes."""
    from ferry import _ferry
    X = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8, 6])
    nodes = [_n("Shape", ["x"], ["s"]), _n("Slice", ["s", "one", "three"], ["hw"]),
             _n("ConstantOfShape", ["hw"], ["k"]), _n("Expand", ["one", "hw"], ["e"]),
             _n("Tile", ["hw", "two"], ["hw2"]), _n("Reshape", ["k2", "hw2"], ["t"]),
             _n("Size", ["x"], ["n"]), _n("Unsqueeze", ["n", "zero"], ["n1"]), _n("Reshape", ["x", "n1"], ["flat"]),
             _n("Range", ["z", "three_s", "o"], ["r"]), _n("Gather", ["s", "r"], ["nhw"]),
             _n("ConstantOfShape", ["nhw"], ["full"])]
    inits = [_ints("one", [1]), _ints("three", [3]), _ints("two", [2]), _ints("zero", [0]), _ints("z", 0),
             _ints("three_s", 3), _ints("o", 1),
             helper.make_tensor("k2", TensorProto.FLOAT, [8, 6, 8, 6], np.zeros(8 * 6 * 8 * 6).tolist())]
    outs = ["k", "e", "t", "flat", "full"]
    graph = helper.make_graph(nodes, "g", [X], [helper.make_empty_tensor_value_info(o) for o in outs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    ours = _ferry.infer_types(model.SerializeToString())
    assert ours["k"][1] == [8, 6]
    assert ours["e"][1] == [8, 6]
    assert ours["t"][1] == [8, 6, 8, 6]
    assert ours["flat"][1] == ["48*N"]
    assert ours["full"][1] == ["N", 8, 6]
